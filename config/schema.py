"""The OpenAPI schema tells the truth: strict integer fields keep their bounds, and every operation
lists the errors it can answer, in the contract's body."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .api import StrictIntegerField, StrictMoneyField


class StrictIntegerFieldExtension(OpenApiSerializerFieldExtension):
    """StrictMoneyField and StrictIntegerField are JSON integers, with their minimum and maximum."""

    target_class = StrictIntegerField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.INT)
        if self.target.min_value is not None:
            schema["minimum"] = self.target.min_value
        if self.target.max_value is not None:
            schema["maximum"] = self.target.max_value
        return schema


class StrictMoneyFieldExtension(StrictIntegerFieldExtension):
    target_class = StrictMoneyField


class ErrorSerializer(serializers.Serializer):
    """The contract's error: `{"error": {"code", "message", "details"}}`."""

    class ErrorDetail(serializers.Serializer):
        code = serializers.CharField(help_text="validation_error, not_authenticated, sold_out, ...")
        message = serializers.CharField()
        details = serializers.DictField(help_text="Per field for validation_error; {} or facts otherwise.")

    error = ErrorDetail()


ERRORS = {
    "400": "validation_error: the body, a query parameter or the request itself is not valid.",
    "401": "not_authenticated: no token, or a token that is revoked or wrong.",
    "403": "permission_denied: the token's user may not do this (e.g. a customer on an operator endpoint).",
    "404": "not_found: no such object, or it belongs to someone else.",
    "409": "A conflict with the state of things: sold_out, already_purchased, insufficient_funds, "
    "invalid_state, already_parked, not_parked, idempotency_conflict, ...",
    "429": "rate_limited: too many requests; Retry-After says when to come back.",
    "503": "service_unavailable: Redis or the broker is briefly unreachable; retry.",
}


class AutoSchema(SpectacularAutoSchema):
    """Every operation lists the errors it can answer, each with the contract's error body. The
    statuses follow from the view: 400 for all (a bad query or a NUL byte is refused anywhere), 401
    and 403 where a token is needed, 404 where the path names an object, 409 for writes, 429 and 503
    where a throttle (in Redis) counts. A view adds its own with `schema_errors = ("401",)`."""

    def _error_statuses(self) -> list[str]:
        view = self.view
        open_to_all = any(p is AllowAny or isinstance(p, AllowAny) for p in view.get_permissions())
        statuses = {"400", *getattr(view, "schema_errors", ())}
        if not open_to_all:
            statuses |= {"401", "403"}
        if "{" in self.path:
            statuses.add("404")
        if self.method != "GET" and not open_to_all:
            statuses.add("409")
        if view.get_throttles():
            statuses |= {"429", "503"}
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSerializer, status, direction=direction)
                responses[status]["description"] = ERRORS[status]
        return responses
