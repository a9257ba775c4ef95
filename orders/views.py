"""My orders page: the customer's orders with pay, cancel and refund buttons and the time left."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError
from wallet.selectors import wallet_of

from .selectors import effective_status, effective_status_label, orders_of_customer
from .services import order_cancel, order_pay, order_refund
from .tasks import expire_soon

PAGE_SIZE = 100


@login_required
def my_orders(request):
    now = timezone.now()
    orders = list(orders_of_customer(user=request.user)[:PAGE_SIZE])
    for order in orders:
        order.shown_status = effective_status(order, now)
        order.shown_status_label = effective_status_label(order, now)
    if any(order.is_overdue(now) for order in orders):
        expire_soon(user_id=request.user.pk)
    wallet = wallet_of(user=request.user)
    return render(request, "orders/my_orders.html", {"orders": orders, "wallet": wallet})


def _run(request, fn, done_message: str):
    try:
        fn()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done_message)
    return redirect("my-orders")


@login_required
@require_POST
def order_pay_page(request, order_id: uuid.UUID):
    return _run(request, lambda: order_pay(order_id=order_id, user=request.user), _("Paid from your wallet."))


@login_required
@require_POST
def order_cancel_page(request, order_id: uuid.UUID):
    return _run(request, lambda: order_cancel(order_id=order_id, user=request.user), _("Order cancelled."))


@login_required
@require_POST
def order_refund_page(request, order_id: uuid.UUID):
    return _run(request, lambda: order_refund(order_id=order_id, user=request.user), _("Refunded to your wallet."))
