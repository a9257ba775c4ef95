"""Random stays (fee queries, payments, time passing, exit) keep the books straight: what paid
payments cover plus what is still due is the session's fee, and nobody pays more than the tariff's
price of the whole stay."""

import random
from datetime import timedelta

import pytest
from django.db.models import F, Sum
from django.utils import timezone

from parking.models import ParkingPayment, ParkingSession
from parking.selectors import tariff_for
from parking.services import payments, stays, vehicles
from parking.tariffs import fee_for_stay
from wallet.models import LedgerEntry

from .conftest import ago, fund

pytestmark = pytest.mark.django_db


def _time_passes(session, minutes):
    delta = timedelta(minutes=minutes)
    ParkingSession.objects.filter(pk=session.pk).update(entered_at=F("entered_at") - delta)
    ParkingPayment.objects.filter(session=session).update(
        priced_until=F("priced_until") - delta, paid_at=F("paid_at") - delta
    )


@pytest.mark.parametrize("seed", range(25))
def test_random_stay_keeps_the_books(customer, lot, seed):
    rng = random.Random(seed)
    fund(customer, 10**6)
    auto_pay = rng.random() < 0.5
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=auto_pay)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(rng.randint(0, 200)))
    for _ in range(rng.randint(0, 6)):
        _time_passes(session, rng.choice([1, 5, 14, 16, 29, 31, 90, 700]))
        if rng.random() < 0.6:
            _, payment = payments.payment_refresh(session=session)
            if payment is not None and payment.status == "unpaid" and rng.random() < 0.7:
                payments.payment_pay(payment_id=payment.pk, user=customer)
    result = stays.session_exit(lot=lot, plate="粤B12345", at=timezone.now())
    session.refresh_from_db()
    paid = ParkingPayment.objects.filter(session=session, status="paid")
    covered = paid.aggregate(s=Sum("fee"))["s"] or 0
    charged = paid.aggregate(s=Sum("amount"))["s"] or 0
    unpaid = ParkingPayment.objects.filter(session=session, status="unpaid").first()
    assert covered + (unpaid.amount if unpaid else 0) == session.fee == result.fee
    whole = fee_for_stay(
        tariff_for(lot, "small"), session.entered_at, session.exited_at, tz=timezone.get_default_timezone()
    )
    assert session.fee <= whole
    ledger = LedgerEntry.objects.filter(kind="parking_payment").aggregate(s=Sum("amount"))["s"] or 0
    assert -ledger == charged
    assert ParkingPayment.objects.filter(session=session, status="unpaid").count() <= 1
    assert (result.barrier == "open") == (result.due == 0)
    if auto_pay:  # the wallet always covers it here
        assert result.barrier == "open" and unpaid is None
