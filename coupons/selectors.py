"""Reads of vouchers that matter: what customers see on sale, what an operator may touch, and the
live figures of a sale (from the Redis gate when it holds the sale, else the database)."""

import time

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.scoping import operator_required

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


def voucher_on_sale(voucher_id: int) -> Voucher:
    """A listed voucher for a customer (ended ones included, so its page can say so); 404 otherwise."""
    voucher = (
        Voucher.objects.filter(pk=voucher_id, status=Voucher.Status.LISTED)
        .select_related("organization", "lot")
        .first()
    )
    if voucher is None:
        raise Http404
    return voucher


def vouchers_for_operator(user) -> QuerySet[Voucher]:
    op = operator_required(user)
    return Voucher.objects.filter(organization_id=op.organization_id).select_related("lot").order_by("-id")


def voucher_for_operator(user, voucher_id) -> Voucher:
    """The only way a view or admin fetches an operator's voucher: another organization's is a 404."""
    voucher = vouchers_for_operator(user).filter(pk=voucher_id).first()
    if voucher is None:
        raise Http404
    return voucher


def sale_state(voucher: Voucher) -> dict:
    """`stock_remaining` and the customer-facing `status` of a sale: upcoming, on_sale, sold_out,
    ended (or delisted). The remaining stock comes from the gate when it holds a flash sale."""
    from seckill import gate

    remaining = voucher.stock
    if gate.enabled() and voucher.kind == Voucher.Kind.SECKILL:
        try:
            _meta, gate_stock = gate.peek(voucher.pk)
        except Exception:
            gate_stock = None
        if gate_stock is not None:
            remaining = gate_stock
    now = time.time()
    if voucher.status != Voucher.Status.LISTED:
        status = "delisted"
    elif voucher.ends_at and now >= voucher.ends_at.timestamp():
        status = "ended"
    elif voucher.begins_at and now < voucher.begins_at.timestamp():
        status = "upcoming"
    elif remaining is not None and remaining <= 0:
        status = "sold_out"
    else:
        status = "on_sale"
    return {"stock_remaining": remaining, "status": status}
