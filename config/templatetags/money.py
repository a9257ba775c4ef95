from django import template

from config.money import format_money

register = template.Library()


@register.filter
def money(value) -> str:
    """Minor units to a display amount: 1250 -> ¥12.50."""
    return format_money(value)
