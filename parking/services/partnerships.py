"""Partnerships between organizations: offering, accepting, declining and ending them, honouring a
partner's coupon at a covered lot under the monthly cap, and the settlement entries a redemption
writes (double entry, in the fee payment's transaction).

The cap's counter is one row per partnership and month (`PartnershipMonth`), moved by a
conditional UPDATE (`redemptions < cap`) and guarded by a CheckConstraint: two redemptions racing
for the last unit of a month serialize on that row, and the second one finds the cap reached."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from config.errors import DomainError

from ..models import Lot, ParkingPayment, Partnership, PartnershipMonth, SettlementEntry
from ..selectors import not_found, partnerships_honouring

S = Partnership.Status


def month_of(at: datetime) -> date:
    """The first day of `at`'s month in the product's time zone: the month a redemption counts in."""
    return timezone.localdate(at).replace(day=1)


# --- the partnership's life -------------------------------------------------------------------------


def partnership_offer_problems(
    *, organization: Organization, partner: Organization, lots: list[Lot], valid_from: datetime, valid_until: datetime
) -> dict[str, list[str]]:
    """What is wrong with an offer's terms, by field (the API and the admin form both ask)."""
    problems: dict[str, list[str]] = {}
    if partner.pk == organization.pk:
        problems["partner"] = [_("An organization cannot partner with itself.")]
    if not lots:
        problems["lots"] = [_("Name at least one lot.")]
    elif any(lot.organization_id != organization.pk for lot in lots):
        problems["lots"] = [_("Only your organization's lots can be covered.")]
    if valid_until <= valid_from:
        problems["valid_until"] = [_("Must be after valid_from.")]
    elif valid_until <= timezone.now():
        problems["valid_until"] = [_("Must be in the future.")]
    return problems


def partnership_live(*, organization: Organization, partner: Organization) -> bool:
    """Whether `organization` already offered `partner` a partnership that is offered or accepted."""
    return Partnership.objects.filter(
        offering=organization, partner=partner, status__in=[S.OFFERED, S.ACCEPTED]
    ).exists()


def partnership_offer(
    *,
    organization: Organization,
    user: AbstractBaseUser | None,
    partner: Organization,
    lots: list[Lot],
    benefit_types: list[str],
    settlement_price: int,
    valid_from: datetime,
    valid_until: datetime,
    monthly_cap: int,
) -> Partnership:
    """`organization` offers `partner` that its coupons are honoured at `lots` (all of them
    `organization`'s) on these terms. One live (offered or accepted) partnership per pair and
    direction: a second one is 409 `invalid_state`; end the first to change the terms."""
    problems = partnership_offer_problems(
        organization=organization, partner=partner, lots=lots, valid_from=valid_from, valid_until=valid_until
    )
    if problems:
        raise DomainError("validation_error", details=problems)
    if partnership_live(organization=organization, partner=partner):
        raise DomainError("invalid_state", _("A partnership with this organization is already offered or running."))
    try:
        with transaction.atomic():
            partnership = Partnership.objects.create(
                offering=organization,
                partner=partner,
                benefit_types=sorted(set(benefit_types)),
                settlement_price=settlement_price,
                valid_from=valid_from,
                valid_until=valid_until,
                monthly_cap=monthly_cap,
                offered_by=user,
            )
            partnership.lots.set(lots)
    except IntegrityError as exc:  # a concurrent offer to the same partner won
        raise DomainError(
            "invalid_state", _("A partnership with this organization is already offered or running.")
        ) from exc
    return partnership


def _locked(partnership_id: int, organization: Organization) -> Partnership:
    partnership = (
        Partnership.objects.select_for_update()
        .filter(Q(offering=organization) | Q(partner=organization), pk=partnership_id)
        .first()
    )
    if partnership is None:
        raise not_found("partnership")
    return partnership


def _respond(*, partnership_id: int, organization: Organization, to: str) -> Partnership:
    with transaction.atomic():
        partnership = _locked(partnership_id, organization)
        if partnership.partner_id != organization.pk:
            raise DomainError("invalid_state", _("Only the invited organization can answer an offer."))
        if partnership.status != S.OFFERED:
            raise DomainError(
                "invalid_state", _("This partnership is not an open offer."), details={"status": partnership.status}
            )
        if to == S.ACCEPTED and partnership.valid_until <= timezone.now():
            raise DomainError("invalid_state", _("This offer's validity has already passed."))
        partnership.status = to
        partnership.responded_at = timezone.now()
        partnership.save(update_fields=["status", "responded_at", "updated_at"])
    return partnership


def partnership_accept(*, partnership_id: int, organization: Organization) -> Partnership:
    """The invited organization accepts an open offer: its coupons are honoured from now on."""
    return _respond(partnership_id=partnership_id, organization=organization, to=S.ACCEPTED)


def partnership_decline(*, partnership_id: int, organization: Organization) -> Partnership:
    """The invited organization declines an open offer."""
    return _respond(partnership_id=partnership_id, organization=organization, to=S.DECLINED)


def partnership_end(*, partnership_id: int, organization: Organization) -> Partnership:
    """Either side ends an offered or accepted partnership. Coupons paid before the end keep
    being honoured until `valid_until`; coupons bought later are not."""
    with transaction.atomic():
        partnership = _locked(partnership_id, organization)
        if partnership.status not in (S.OFFERED, S.ACCEPTED):
            raise DomainError(
                "invalid_state", _("This partnership is already over."), details={"status": partnership.status}
            )
        partnership.status = S.ENDED
        partnership.ended_at = timezone.now()
        partnership.ended_by = organization
        partnership.save(update_fields=["status", "ended_at", "ended_by", "updated_at"])
    return partnership


# --- redemption (inside the fee payment's transaction) ----------------------------------------------


def partnership_honour(*, order, lot: Lot, at: datetime) -> tuple[Partnership, date]:
    """The partnership under which `lot`'s organization honours `order`, a coupon of another
    organization, with one redemption counted against this month's cap. Inside the caller's
    transaction; the counter row stays locked until it commits. A coupon no partnership covers is
    409 `invalid_state` (`not_applicable`); a month at its cap is 409 `invalid_state`
    (`partner_cap_reached`)."""
    candidates = []
    if order.paid_at is not None:
        candidates = [
            p
            for p in partnerships_honouring(lot, at).filter(partner_id=order.organization_id)
            if order.voucher.benefit_type in p.benefit_types and (p.status == S.ACCEPTED or order.paid_at <= p.ended_at)
        ]
    if not candidates:
        raise DomainError(
            "invalid_state", _("This coupon does not apply to this lot."), details={"coupon": "not_applicable"}
        )
    month = month_of(at)
    for partnership in candidates:
        counter, _created = PartnershipMonth.objects.get_or_create(
            partnership=partnership, month=month, defaults={"cap": partnership.monthly_cap}
        )
        moved = PartnershipMonth.objects.filter(pk=counter.pk, redemptions__lt=F("cap")).update(
            redemptions=F("redemptions") + 1, amount=F("amount") + partnership.settlement_price
        )
        if moved:
            return partnership, month
    raise DomainError(
        "invalid_state",
        _("This lot honours no more of this organization's coupons this month."),
        details={"coupon": "partner_cap_reached"},
    )


def settlement_record(*, partnership: Partnership, payment: ParkingPayment, coupon, month: date) -> None:
    """The two sides of a redemption's settlement: the lot's organization is owed the price, the
    coupon's organization owes it. Inside the fee payment's transaction (both or neither)."""
    price = partnership.settlement_price
    common = {"partnership": partnership, "payment": payment, "coupon": coupon, "month": month}
    SettlementEntry.objects.bulk_create(
        [
            SettlementEntry(
                organization_id=partnership.offering_id, counterparty_id=partnership.partner_id, amount=price, **common
            ),
            SettlementEntry(
                organization_id=partnership.partner_id, counterparty_id=partnership.offering_id, amount=-price, **common
            ),
        ]
    )
