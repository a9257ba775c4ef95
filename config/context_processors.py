from django.conf import settings


def product(request):
    return {"CURRENCY": settings.CURRENCY, "CURRENCY_SYMBOL": settings.CURRENCY_SYMBOL}
