from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Voucher


def vouchers_on_sale() -> QuerySet[Voucher]:
    """Listed vouchers a customer can buy now or soon: normal ones while listed, flash sales until
    their window ends (upcoming ones are shown with a countdown)."""
    now = timezone.now()
    return (
        Voucher.objects.filter(status=Voucher.Status.LISTED)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("organization", "lot")
        .order_by("begins_at", "id")
    )
