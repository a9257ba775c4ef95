"""Reads that matter: scoped access helpers (the only way views fetch parking objects; anything
out of reach is DomainError `not_found`, 404), the pricing snapshot of a stay at a given moment
(pure once the rows are loaded), open debts and the lot report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from accounts.scoping import organization_of
from config.errors import DomainError
from config.ids import is_id

from .models import Lot, ParkingPayment, ParkingSession, Partnership, SettlementEntry, Tariff, Vehicle
from .tariffs import TariffRule, fee_for_stay, parse_rule

# --- access helpers -----------------------------------------------------------------------------


def not_found(what: str) -> DomainError:
    """The one way parking says something is not there (or not the caller's): 404 `not_found`."""
    return DomainError("not_found", f"No such {what}.", status=404)


def lot_for_operator(user, lot_id) -> Lot:
    """The operator's lot, or 404 (another organization's lot, unknown id, not an operator)."""
    org = organization_of(user)
    lot = (
        Lot.objects.filter(pk=lot_id, organization=org).prefetch_related("tariffs").first()
        if org is not None and is_id(lot_id)
        else None
    )
    if lot is None:
        raise not_found("lot")
    return lot


def lots_for_operator(user) -> QuerySet[Lot]:
    org = organization_of(user)
    if org is None:
        return Lot.objects.none()
    return Lot.objects.filter(organization=org).prefetch_related("tariffs").order_by("name")


def vehicle_for_customer(user, vehicle_id) -> Vehicle:
    vehicle = Vehicle.objects.filter(pk=vehicle_id, user=user).first() if is_id(vehicle_id) else None
    if vehicle is None:
        raise not_found("vehicle")
    return vehicle


def vehicles_for_customer(user) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(user=user).order_by("plate")


def _session_qs() -> QuerySet[ParkingSession]:
    return ParkingSession.objects.select_related("lot", "vehicle").prefetch_related(
        "lot__tariffs", Prefetch("payments", queryset=ParkingPayment.objects.order_by("created_at", "id"))
    )


def session_for_customer(user, session_id) -> ParkingSession:
    session = _session_qs().filter(pk=session_id, user=user).first() if is_id(session_id) else None
    if session is None:
        raise not_found("parking session")
    return session


def session_for_lot(lot: Lot, session_id) -> ParkingSession:
    session = _session_qs().filter(pk=session_id, lot=lot).first()
    if session is None:
        raise not_found("parking session")
    return session


def sessions_for_lot(lot: Lot, *, status: str | None = None) -> QuerySet[ParkingSession]:
    """A lot's sessions, newest first; `status` is open, closed or unpaid (closed with a fee due)."""
    qs = _session_qs().filter(lot=lot)
    if status == "unpaid":
        qs = qs.filter(payments__status=ParkingPayment.Status.UNPAID, status=ParkingSession.Status.CLOSED)
    elif status in (ParkingSession.Status.OPEN, ParkingSession.Status.CLOSED):
        qs = qs.filter(status=status)
    return qs.order_by("-entered_at", "-id")


def sessions_for_customer(user) -> QuerySet[ParkingSession]:
    return _session_qs().filter(user=user).order_by("-entered_at", "-id")


def payment_for_customer(user, payment_id) -> ParkingPayment:
    payment = (
        ParkingPayment.objects.select_related("session", "session__lot")
        .filter(pk=payment_id, session__user=user)
        .first()
        if is_id(payment_id)
        else None
    )
    if payment is None:
        raise not_found("parking payment")
    return payment


def coupons_for_session(user, session: ParkingSession) -> list:
    """The customer's paid coupons that apply to this session's lot and are still valid, oldest first."""
    from django.db.models import Q

    from orders.models import Order

    now = timezone.now()
    own = Q(organization_id=session.lot.organization_id) & (
        Q(voucher__lot__isnull=True) | Q(voucher__lot_id=session.lot_id)
    )
    for p in partnerships_honouring(session.lot, now):
        # a partner's coupons valid at all its lots, of a covered benefit type
        partner_coupons = Q(
            organization_id=p.partner_id, voucher__lot__isnull=True, voucher__benefit_type__in=p.benefit_types
        )
        if p.status == Partnership.Status.ENDED:
            partner_coupons &= Q(paid_at__lte=p.ended_at)
        own |= partner_coupons
    coupons = (
        Order.objects.select_related("voucher")
        .filter(own, user=user, status=Order.Status.PAID)
        .order_by("paid_at", "created_at")
    )
    return [c for c in coupons if not c.is_lapsed(now)]


@dataclass(frozen=True)
class Offer:
    """One coupon offered at a payment: what it takes off and what is left to pay with it."""

    coupon: object  # orders.Order (a paid coupon)
    discount: int
    amount: int
    best: bool = False


def payment_offers(user, session: ParkingSession, snap: Snapshot) -> list[Offer]:
    """The customer's coupons for paying what `snap` says is due, the best first and marked `best`.

    The best coupon is the one that saves the most now. On a tie the one that cost the customer
    less is used first (a ¥3-off and a free stay both save ¥3 on a ¥3 fee: the free stay is kept
    for a dearer stay), then the one bought first. A coupon that saves nothing is never the best."""
    from .services.payments import coupon_discount

    if snap.due <= 0:
        return []
    priced = []
    for coupon in coupons_for_session(user, session):
        discount = coupon_discount(
            voucher=coupon.voucher, fee=snap.due, session=session, covered=snap.covered, until=snap.at
        )
        priced.append((coupon, discount))
    priced.sort(key=lambda cd: (-cd[1], cd[0].amount, cd[0].paid_at or cd[0].created_at))
    return [
        Offer(coupon=c, discount=d, amount=snap.due - d, best=(i == 0 and d > 0)) for i, (c, d) in enumerate(priced)
    ]


def partnerships_honouring(lot: Lot, at: datetime) -> QuerySet[Partnership]:
    """The partnerships under which `lot` may honour another organization's coupons at `at`
    (accepted, or ended but still honouring coupons paid before the end)."""
    from django.db.models import Q

    S = Partnership.Status
    return (
        Partnership.objects.filter(offering_id=lot.organization_id, lots=lot, valid_from__lte=at, valid_until__gt=at)
        .filter(Q(status=S.ACCEPTED) | Q(status=S.ENDED, responded_at__isnull=False))
        .order_by("id")
    )


def open_debts(*, user_id: int | None = None) -> QuerySet[ParkingPayment]:
    """Unpaid payments of departed cars whose vehicle has auto_pay, oldest exit first."""
    qs = ParkingPayment.objects.filter(
        status=ParkingPayment.Status.UNPAID,
        session__status=ParkingSession.Status.CLOSED,
        session__user__isnull=False,
        session__vehicle__auto_pay=True,
        session__vehicle__user_id=F("session__user_id"),
    )
    if user_id is not None:
        qs = qs.filter(session__user_id=user_id)
    return qs.order_by("session__exited_at", "id")


def parse_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


# --- pricing --------------------------------------------------------------------------------------


def tariff_for(lot: Lot, vehicle_type: str) -> TariffRule:
    """The lot's rule for a vehicle type; falls back to the small-car tariff, then to the
    contract's example values (a lot created in the admin without a tariff)."""
    tariffs = {t.vehicle_type: t for t in lot.tariffs.all()}
    tariff = tariffs.get(vehicle_type) or tariffs.get(Tariff.VehicleType.SMALL)
    if tariff is None and tariffs:
        tariff = next(iter(tariffs.values()))
    return tariff.rule if tariff is not None else TariffRule()


def session_rule(session: ParkingSession) -> TariffRule:
    """The rule a stay is priced with: the tariff kept at entry, else the lot's current one."""
    if session.tariff:
        return parse_rule(session.tariff)
    return tariff_for(session.lot, session.vehicle_type)


@dataclass(frozen=True)
class Snapshot:
    """What a stay costs at a moment: `fee` the tariff price an exit at that moment would fix,
    `covered` the part of it paid payments already cover, `due = fee - covered`, `paid` the money
    charged, `discount` what coupons took off, `leave_by` the end of the grace period after the
    last payment (None when nothing was paid)."""

    fee: int
    covered: int
    due: int
    paid: int
    discount: int
    leave_by: datetime | None
    at: datetime


def snapshot(session: ParkingSession, at: datetime | None = None, *, payments=None) -> Snapshot:
    at = at or timezone.now()
    if payments is None:
        payments = list(session.payments.all())
    paid = [p for p in payments if p.status == ParkingPayment.Status.PAID]
    covered = sum(p.fee for p in paid)
    money = sum(p.amount for p in paid)
    discount = sum(p.discount for p in paid)
    last = max(paid, key=lambda p: p.priced_until) if paid else None
    leave_by = last.priced_until + timedelta(minutes=session.lot.grace_minutes) if last else None
    if session.status == ParkingSession.Status.CLOSED:
        fee = session.fee or 0
        at = session.exited_at
    elif leave_by is not None and at <= leave_by:
        fee = covered
    else:
        rule = session_rule(session)
        fee = max(covered, fee_for_stay(rule, session.entered_at, max(at, session.entered_at), tz=_tz()))
    return Snapshot(
        fee=fee, covered=covered, due=max(0, fee - covered), paid=money, discount=discount, leave_by=leave_by, at=at
    )


def _tz():
    return timezone.get_default_timezone()


# --- reports -----------------------------------------------------------------------------------------


def lot_daily_revenue(lot: Lot, *, days: int = 30, today=None) -> list[dict]:
    """Paid parking per local day for the last `days` days (days without revenue included), oldest
    first: `{"day", "revenue", "discount", "payments"}`."""
    return _daily_revenue(ParkingPayment.objects.filter(session__lot=lot), days=days, today=today)


def parking_revenue_by_day(*, organization_id: int | None, days: int = 30, today=None) -> list[dict]:
    """lot_daily_revenue over every lot of an organization (`None`: every organization's)."""
    payments = ParkingPayment.objects.all()
    if organization_id is not None:
        payments = payments.filter(session__lot__organization_id=organization_id)
    return _daily_revenue(payments, days=days, today=today)


def lots_occupancy(*, organization_id: int | None) -> list[Lot]:
    """The lots with their live occupancy and capacity, fullest first."""
    lots = Lot.objects.all()
    if organization_id is not None:
        lots = lots.filter(organization_id=organization_id)
    return sorted(lots.order_by("name"), key=lambda lot: -(lot.occupancy / lot.capacity if lot.capacity else 0))


def _daily_revenue(payments, *, days: int, today=None) -> list[dict]:
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncDate

    tz = _tz()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    rows = (
        payments.filter(status=ParkingPayment.Status.PAID, paid_at__gte=since)
        .annotate(day=TruncDate("paid_at", tzinfo=tz))
        .values("day")
        .annotate(revenue=Sum("amount"), discount=Sum("discount"), payments=Count("id"))
    )
    by_day = {r["day"]: r for r in rows}
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        r = by_day.get(day, {})
        out.append(
            {
                "day": day,
                "revenue": r.get("revenue") or 0,
                "discount": r.get("discount") or 0,
                "payments": r.get("payments") or 0,
            }
        )
    return out


# --- partnerships: each side sees its own side ------------------------------------------------------


def partnerships_for_operator(user) -> QuerySet[Partnership]:
    """The partnerships the operator's organization offered or was offered, newest first."""
    from django.db.models import Q

    org = organization_of(user)
    if org is None:
        return Partnership.objects.none()
    return (
        Partnership.objects.filter(Q(offering=org) | Q(partner=org))
        .select_related("offering", "partner")
        .prefetch_related("lots")
        .order_by("-created_at", "-id")
    )


def partnership_for_operator(user, partnership_id) -> Partnership:
    """A partnership of the operator's organization (either side), or 404."""
    partnership = partnerships_for_operator(user).filter(pk=partnership_id).first() if is_id(partnership_id) else None
    if partnership is None:
        raise not_found("partnership")
    return partnership


def statements(organization, partnership: Partnership) -> list[dict]:
    """The organization's side of a partnership, per month, newest first: how many redemptions and
    the net settlement (positive: owed to it; negative: owed by it)."""
    from django.db.models import Count, Sum

    rows = (
        SettlementEntry.objects.filter(organization=organization, partnership=partnership)
        .values("month")
        .annotate(redemptions=Count("id"), amount=Sum("amount"))
        .order_by("-month")
    )
    return [{"month": r["month"], "redemptions": r["redemptions"], "amount": r["amount"]} for r in rows]


def statement_entries(organization, partnership: Partnership, month) -> QuerySet[SettlementEntry]:
    """The organization's settlement entries of a partnership in one month, oldest first."""
    return (
        SettlementEntry.objects.filter(organization=organization, partnership=partnership, month=month)
        .select_related("payment__session__lot", "counterparty")
        .order_by("created_at", "id")
    )


# --- merchants: an organization sees its merchants; a merchant only itself ---------------------------


def merchant_access(user):
    """(merchant, role) for a merchant's user: its account is the `owner`, staff are `manager`
    or `clerk` (MerchantMember); None for anyone else or a suspended merchant."""
    from .models import Merchant, MerchantMember

    if not getattr(user, "is_authenticated", False):
        return None
    merchant = Merchant.objects.filter(account=user, active=True).select_related("organization").first()
    if merchant is not None:
        return merchant, "owner"
    member = (
        MerchantMember.objects.filter(user=user, merchant__active=True).select_related("merchant__organization").first()
    )
    return (member.merchant, member.role) if member is not None else None


def merchant_of(user):
    """The merchant `user` works for, or None."""
    access = merchant_access(user)
    return access[0] if access else None


def merchant_required(user, *, may_buy: bool = False):
    """The caller's merchant, or 403 `permission_denied` (the merchant API's gate). With
    `may_buy`, only the owner and managers pass (clerks issue coupons, they do not spend)."""
    access = merchant_access(user)
    if access is None:
        raise DomainError("permission_denied", "Merchants only.", status=403)
    if may_buy and access[1] not in ("owner", "manager"):
        raise DomainError("permission_denied", "Your role may issue coupons but not buy them.", status=403)
    return access[0]


def merchants_for_operator(user):
    from .models import Merchant

    org = organization_of(user)
    if org is None:
        return Merchant.objects.none()
    return Merchant.objects.filter(organization=org).select_related("account").prefetch_related("lots").order_by("name")


def merchant_for_operator(user, merchant_id):
    merchant = merchants_for_operator(user).filter(pk=merchant_id).first() if is_id(merchant_id) else None
    if merchant is None:
        raise not_found("merchant")
    return merchant


def quotas_of(merchant):
    return merchant.quotas.order_by("-created_at", "-id")


def issues_of(merchant):
    from .models import MerchantIssue

    return (
        MerchantIssue.objects.filter(quota__merchant=merchant)
        .select_related("payment__session__lot")
        .order_by("-created_at", "-id")
    )


def merchant_issue_for_session(session: ParkingSession, at: datetime):
    """The merchant coupon that would apply to this stay's next payment (read only; the payment
    takes it under lock: services.merchants.issue_find)."""
    from .models import MerchantIssue

    return (
        MerchantIssue.objects.filter(
            plate=session.plate,
            status=MerchantIssue.Status.ISSUED,
            quota__merchant__lots=session.lot_id,
            quota__merchant__active=True,
            quota__valid_from__lte=at,
            quota__valid_until__gt=at,
            quota__refunded_at__isnull=True,
        )
        .select_related("quota__merchant")
        .order_by("quota__valid_until", "id")
        .first()
    )
