"""Pages answer a service's `not_found` the way Django answers Http404 (the 404 page), so every
layer says "not found" one way: DomainError("not_found"). The API's views never get here: DRF's
exception handler (config/api.py) answers their errors in the contract's JSON."""

from django.core.handlers.exception import response_for_exception
from django.http import Http404

from .errors import DomainError


class DomainNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError) and exception.status == 404:
            return response_for_exception(request, Http404(exception.message))
        return None
