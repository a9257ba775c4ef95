"""My orders page: the customer's orders with pay, cancel and refund buttons and the time left."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import DomainError

from .selectors import effective_status, has_overdue_orders, orders_of_customer
from .services import order_cancel, order_pay, order_refund, orders_expire_due

PAGE_SIZE = 100


@login_required
def my_orders(request):
    if has_overdue_orders(user=request.user):
        orders_expire_due(user_id=request.user.pk, reason="payment window closed (seen on read)")
    orders = list(orders_of_customer(user=request.user)[:PAGE_SIZE])
    for order in orders:
        order.shown_status = effective_status(order)
    from wallet.services import wallet_get_or_create

    wallet = wallet_get_or_create(user=request.user)
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
