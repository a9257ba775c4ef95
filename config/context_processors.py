from django.conf import settings


def product(request):
    return {"CURRENCY": settings.CURRENCY, "CURRENCY_SYMBOL": settings.CURRENCY_SYMBOL}


def csp(request):
    """{{ csp_nonce }}: the nonce an inline <script> needs under the Content-Security-Policy."""
    from django.utils.functional import SimpleLazyObject

    from .middleware import csp_nonce

    return {"csp_nonce": SimpleLazyObject(lambda: csp_nonce(request))}
