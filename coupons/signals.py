"""What coupons tells the apps above it, always after the commit of the change (a listener that
fails is logged, never raised into the caller whose write has committed). The flash-sale gate
(seckill) listens to keep its copy of a sale in step with the database."""

import logging

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger("parkmarket.coupons")

# kwargs: voucher_id. A voucher was published: its sale's rules and stock are ready to load.
voucher_published = Signal()
# kwargs: voucher_id. A listed voucher's rules changed (window, limit, price, status: a delist too).
voucher_changed = Signal()
# kwargs: voucher_id, quantity. A restock put `quantity` more units on sale.
units_added = Signal()
# kwargs: voucher_id, user_id, order_id. An order's unit came back (cancel, expiry, refund).
unit_returned = Signal()


def announce_on_commit(signal: Signal, **kwargs) -> None:
    def send():
        for receiver, result in signal.send_robust(sender=None, **kwargs):
            if isinstance(result, Exception):
                log.error("listener %r of a coupons signal failed (%s)", receiver, kwargs, exc_info=result)

    transaction.on_commit(send)
