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

from .models import Lot, ParkingPayment, ParkingSession, Tariff, Vehicle
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
    """The customer's paid coupons that apply to this session's lot, oldest first."""
    from django.db.models import Q

    from orders.models import Order

    return list(
        Order.objects.select_related("voucher")
        .filter(user=user, status=Order.Status.PAID, organization_id=session.lot.organization_id)
        .filter(Q(voucher__lot__isnull=True) | Q(voucher__lot_id=session.lot_id))
        .order_by("paid_at", "created_at")
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
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncDate

    tz = _tz()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    rows = (
        ParkingPayment.objects.filter(session__lot=lot, status=ParkingPayment.Status.PAID, paid_at__gte=since)
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
