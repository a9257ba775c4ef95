"""A voucher's sale refusals, the same wherever a purchase is decided (the database gate in Python
or in its server-side function, the Redis gate, the sale's public state before the token check)."""

from datetime import datetime

from django.utils.translation import gettext_noop

from config.errors import DomainError


def voucher_not_on_sale() -> DomainError:
    return DomainError("not_found", gettext_noop("This voucher is not on sale."), status=404)


def sale_not_started(begins_at: datetime) -> DomainError:
    return DomainError("not_started", details={"begins_at": begins_at.isoformat()})


def sale_ended(ends_at: datetime) -> DomainError:
    return DomainError("ended", details={"ended_at": ends_at.isoformat()})
