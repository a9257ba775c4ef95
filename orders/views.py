"""My orders page: the customer's orders with pay, cancel and refund buttons and the time left."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError, page_message
from wallet.selectors import wallet_of

from .selectors import coupons_of_customer, effective_status, effective_status_label, orders_of_customer
from .services import order_cancel, order_pay, order_pay_topping_up, order_refund
from .tasks import expire_soon

PAGE_SIZE = 20


@login_required
def my_orders(request):
    now = timezone.now()
    page = Paginator(orders_of_customer(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    orders = list(page.object_list)
    for order in orders:
        order.shown_status = effective_status(order, now)
        order.shown_status_label = effective_status_label(order, now)
    if any(order.is_overdue(now) for order in orders):
        expire_soon(user_id=request.user.pk)
    wallet = wallet_of(user=request.user)
    balance = wallet.balance if wallet else 0
    for order in orders:
        order.shortfall = max(0, order.amount - balance)
    context = {"orders": orders, "page": page, "wallet": wallet, "token": uuid.uuid4().hex}
    return render(request, "orders/my_orders.html", context)


def _run(request, fn, done_message: str):
    try:
        fn()
    except DomainError as exc:
        messages.error(request, page_message(exc))
    else:
        messages.success(request, done_message)
    return redirect("my-orders")


@login_required
@require_POST
def order_pay_page(request, order_id: uuid.UUID):
    return _run(request, lambda: order_pay(order_id=order_id, user=request.user), _("Paid from your wallet."))


@login_required
@require_POST
def order_topup_pay_page(request, order_id: uuid.UUID):
    token = request.POST.get("token", "")
    if not (len(token) == 32 and all(c in "0123456789abcdef" for c in token)):
        messages.error(request, _("This form has expired. Reload the page and try again."))
        return redirect("my-orders")
    return _run(
        request,
        lambda: order_pay_topping_up(order_id=order_id, user=request.user, reference=f"pay:{token}"),
        _("Topped up and paid."),
    )


@login_required
@require_POST
def order_cancel_page(request, order_id: uuid.UUID):
    return _run(request, lambda: order_cancel(order_id=order_id, user=request.user), _("Order cancelled."))


@login_required
@require_POST
def order_refund_page(request, order_id: uuid.UUID):
    return _run(request, lambda: order_refund(order_id=order_id, user=request.user), _("Refunded to your wallet."))


@login_required
def my_coupons(request):
    """The customer's coupons: valid (what each takes off, until when), used and expired."""
    groups = coupons_of_customer(user=request.user)
    show = request.GET.get("show") if request.GET.get("show") in groups else "valid"
    labels = {"valid": _("Valid"), "used": _("Used"), "expired": _("Expired")}
    return render(
        request,
        "orders/my_coupons.html",
        {
            "groups": [(key, labels[key], groups[key]) for key in ("valid", "used", "expired")],
            "show": show,
            "coupons": groups[show],
        },
    )
