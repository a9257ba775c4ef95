"""Signals higher apps listen to. `customer_registered` is sent inside the registration's
transaction, so what a listener writes (the wallet) commits or rolls back with the account."""

from django.dispatch import Signal

# kwargs: user
customer_registered = Signal()
