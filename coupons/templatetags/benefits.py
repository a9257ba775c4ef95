from django import template

from coupons.benefits import benefit_text

register = template.Library()


@register.filter
def benefit(voucher) -> str:
    """What a voucher takes off, in words (coupons.benefits.benefit_text)."""
    return benefit_text(voucher.benefit_type, voucher.benefit_value)
