from django import template
from django.conf import settings

register = template.Library()


@register.filter
def money(value) -> str:
    """Minor units to a display amount: 1250 -> ¥12.50."""
    if value is None or value == "":
        return ""
    value = int(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{settings.CURRENCY_SYMBOL}{value // 100}.{value % 100:02d}"
