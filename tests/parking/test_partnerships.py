"""Partnerships: a partner's coupon honoured at a covered lot and refused elsewhere, the settlement
entries written with the fee payment (both or neither), the monthly cap, and the offer's life."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from orders.models import Order
from parking.models import ParkingPayment, Partnership, PartnershipMonth, SettlementEntry
from parking.services import partnerships, payments, stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, OrderFactory, UserFactory, VoucherFactory

from .conftest import ago, balance, fund

pytestmark = pytest.mark.django_db


def offer(a_lots, partner, **terms):
    """An accepted partnership: the lots' organization honours `partner`'s coupons."""
    org = a_lots[0].organization
    p = partnerships.partnership_offer(
        organization=org,
        user=None,
        partner=partner,
        lots=a_lots,
        benefit_types=terms.pop("benefit_types", ["amount", "free"]),
        settlement_price=terms.pop("settlement_price", 250),
        valid_from=terms.pop("valid_from", timezone.now() - timedelta(days=1)),
        valid_until=terms.pop("valid_until", timezone.now() + timedelta(days=30)),
        monthly_cap=terms.pop("monthly_cap", 10),
    )
    if terms.pop("accept", True):
        p = partnerships.partnership_accept(partnership_id=p.pk, organization=partner)
    return p


def coupon(user, org, *, benefit_type="amount", value=300, lot=None, paid_at=None):
    voucher = VoucherFactory(organization=org, lot=lot, benefit_type=benefit_type, benefit_value=value)
    return OrderFactory(user=user, voucher=voucher, status=Order.Status.PAID, paid_at=paid_at or timezone.now())


def unpaid(customer, lot, plate="粤B12345", minutes=100):
    if not customer.vehicles.filter(plate=plate).exists():
        vehicles.vehicle_register(user=customer, plate=plate)
    session = stays.session_enter(lot=lot, plate=plate, at=ago(minutes))
    return payments.payment_refresh(session=session)[1]


@pytest.fixture
def a_org(operator):
    return operator.organization


@pytest.fixture
def a_lot(a_org):
    return stays.lot_create(organization=a_org, name="Mall East", capacity=10, tariff=TariffRule())


@pytest.fixture
def b_org(db):
    return OperatorFactory().organization


def test_partner_coupon_is_honoured_at_a_covered_lot(customer, a_lot, b_org):
    p = offer([a_lot], b_org, settlement_price=250)
    fund(customer, 5000)
    payment = unpaid(customer, a_lot)
    order = coupon(customer, b_org, value=300)
    paid = payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=order.pk)
    assert (paid.fee, paid.discount, paid.amount, paid.status) == (900, 300, 600, "paid")
    assert balance(customer) == 4400
    order.refresh_from_db()
    assert order.status == Order.Status.USED
    entries = SettlementEntry.objects.filter(payment=paid)
    assert {(e.organization_id, e.counterparty_id, e.amount) for e in entries} == {
        (a_lot.organization_id, b_org.pk, 250),
        (b_org.pk, a_lot.organization_id, -250),
    }
    assert entries.aggregate(s=Sum("amount"))["s"] == 0
    month = PartnershipMonth.objects.get(partnership=p)
    assert (month.redemptions, month.amount, month.month) == (1, 250, partnerships.month_of(timezone.now()))


def test_partner_coupon_is_shown_on_the_pay_page_list(customer, a_lot, b_org):
    from parking.selectors import coupons_for_session

    offer([a_lot], b_org)
    payment = unpaid(customer, a_lot)
    covered = coupon(customer, b_org)
    coupon(customer, b_org, benefit_type="percent", value=10)  # type not covered
    coupon(customer, b_org, lot=stays.lot_create(organization=b_org, name="B1", capacity=3, tariff=TariffRule()))
    assert coupons_for_session(customer, payment.session) == [covered]


@pytest.mark.parametrize(
    "why",
    ["uncovered_lot", "benefit_type", "voucher_names_a_lot", "offered_only", "declined", "expired", "third_org"],
)
def test_partner_coupon_is_refused_elsewhere(customer, a_lot, b_org, why):
    other_lot = stays.lot_create(organization=a_lot.organization, name="Mall West", capacity=10, tariff=TariffRule())
    p = offer([a_lot], b_org, accept=why not in ("offered_only", "declined"))
    if why == "declined":
        partnerships.partnership_decline(partnership_id=p.pk, organization=b_org)
    fund(customer, 5000)
    lot = other_lot if why == "uncovered_lot" else a_lot
    payment = unpaid(customer, lot)
    kwargs = {}
    if why == "benefit_type":
        kwargs = {"benefit_type": "percent", "value": 10}
    if why == "voucher_names_a_lot":
        kwargs = {"lot": stays.lot_create(organization=b_org, name="B1", capacity=3, tariff=TariffRule())}
    if why == "expired":
        Partnership.objects.filter(pk=p.pk).update(valid_until=timezone.now() - timedelta(minutes=1))
    org = OperatorFactory().organization if why == "third_org" else b_org
    order = coupon(customer, org, **kwargs)
    with pytest.raises(Exception) as exc:
        payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=order.pk)
    assert exc.value.code == "invalid_state" and exc.value.details == {"coupon": "not_applicable"}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.PAID and payment.status == "unpaid"
    assert not SettlementEntry.objects.exists() and balance(customer) == 5000
    assert not PartnershipMonth.objects.filter(redemptions__gt=0).exists()


def test_a_short_wallet_writes_neither_payment_nor_settlement(customer, a_lot, b_org):
    offer([a_lot], b_org)
    fund(customer, 100)
    payment = unpaid(customer, a_lot)
    order = coupon(customer, b_org, value=300)
    with pytest.raises(Exception) as exc:
        payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=order.pk)
    assert exc.value.code == "insufficient_funds"
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == ParkingPayment.Status.UNPAID and order.status == Order.Status.PAID
    assert not SettlementEntry.objects.exists()
    assert not PartnershipMonth.objects.filter(redemptions__gt=0).exists()


def test_a_failing_settlement_undoes_the_payment(customer, a_lot, b_org, monkeypatch):
    offer([a_lot], b_org)
    fund(customer, 5000)
    payment = unpaid(customer, a_lot)
    order = coupon(customer, b_org)

    def broken(**kwargs):
        raise IntegrityError("settlement write failed")

    monkeypatch.setattr(payments, "settlement_record", broken)
    with pytest.raises(IntegrityError):
        payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=order.pk)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == "unpaid" and order.status == "paid" and balance(customer) == 5000


def test_the_monthly_cap_refuses_the_next_redemption(customer, a_lot, b_org):
    offer([a_lot], b_org, monthly_cap=1)
    fund(customer, 5000)
    first = unpaid(customer, a_lot)
    payments.payment_pay(payment_id=first.pk, user=customer, coupon_id=coupon(customer, b_org).pk)
    second = unpaid(customer, a_lot, plate="粤B54321")
    order = coupon(customer, b_org)
    with pytest.raises(Exception) as exc:
        payments.payment_pay(payment_id=second.pk, user=customer, coupon_id=order.pk)
    assert exc.value.code == "invalid_state" and exc.value.details == {"coupon": "partner_cap_reached"}
    assert SettlementEntry.objects.count() == 2


def test_the_cap_counter_cannot_pass_the_cap(a_lot, b_org):
    p = offer([a_lot], b_org, monthly_cap=1)
    counter = PartnershipMonth.objects.create(partnership=p, month=partnerships.month_of(timezone.now()), cap=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        PartnershipMonth.objects.filter(pk=counter.pk).update(redemptions=2)


def test_after_an_end_coupons_paid_before_keep_working(customer, a_lot, b_org):
    p = offer([a_lot], b_org)
    fund(customer, 5000)
    before = coupon(customer, b_org, paid_at=timezone.now() - timedelta(hours=1))
    partnerships.partnership_end(partnership_id=p.pk, organization=b_org)
    after = coupon(customer, b_org, paid_at=timezone.now() + timedelta(seconds=1))
    payment = unpaid(customer, a_lot)
    with pytest.raises(Exception) as exc:
        payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=after.pk)
    assert exc.value.code == "invalid_state"
    paid = payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=before.pk)
    assert paid.discount == 300 and SettlementEntry.objects.filter(payment=paid).count() == 2


def test_the_offer_life(a_lot, b_org):
    a_org = a_lot.organization
    p = offer([a_lot], b_org, accept=False)
    assert p.status == "offered"
    with pytest.raises(Exception) as exc:  # only the invited side answers
        partnerships.partnership_accept(partnership_id=p.pk, organization=a_org)
    assert exc.value.code == "invalid_state"
    with pytest.raises(Exception) as exc:  # one live partnership per pair
        offer([a_lot], b_org, accept=False)
    assert exc.value.code == "invalid_state"
    assert partnerships.partnership_accept(partnership_id=p.pk, organization=b_org).status == "accepted"
    with pytest.raises(Exception) as exc:
        partnerships.partnership_decline(partnership_id=p.pk, organization=b_org)
    assert exc.value.code == "invalid_state"
    ended = partnerships.partnership_end(partnership_id=p.pk, organization=a_org)
    assert ended.status == "ended" and ended.ended_by == a_org
    with pytest.raises(Exception) as exc:
        partnerships.partnership_end(partnership_id=p.pk, organization=b_org)
    assert exc.value.code == "invalid_state"
    third = OperatorFactory().organization
    with pytest.raises(Exception) as exc:  # a stranger does not see it
        partnerships.partnership_end(partnership_id=p.pk, organization=third)
    assert exc.value.code == "not_found"
    assert offer([a_lot], b_org).status == "accepted"  # a new offer after the end


def test_an_offer_checks_its_terms(a_lot, b_org):
    a_org = a_lot.organization
    b_lot = stays.lot_create(organization=b_org, name="Theirs", capacity=3, tariff=TariffRule())
    cases = [
        ({"partner": a_org}, "partner"),
        ({"lots": [b_lot]}, "lots"),
        ({"lots": []}, "lots"),
        ({"valid_until": timezone.now() - timedelta(days=2)}, "valid_until"),
        (
            {"valid_from": timezone.now() + timedelta(days=3), "valid_until": timezone.now() + timedelta(days=2)},
            "valid_until",
        ),
    ]
    for change, field in cases:
        terms = {
            "organization": a_org,
            "user": None,
            "partner": b_org,
            "lots": [a_lot],
            "benefit_types": ["amount"],
            "settlement_price": 100,
            "valid_from": timezone.now() - timedelta(days=1),
            "valid_until": timezone.now() + timedelta(days=1),
            "monthly_cap": 5,
        } | change
        with pytest.raises(Exception) as exc:
            partnerships.partnership_offer(**terms)
        assert exc.value.code == "validation_error" and field in exc.value.details
    assert not Partnership.objects.exists()


def test_other_customers_are_unaffected(a_lot, b_org):
    """Two customers, one partnership: each payment writes its own pair."""
    offer([a_lot], b_org)
    for i in range(2):
        user = UserFactory()
        from tests.factories import WalletFactory

        WalletFactory(user=user)
        fund(user, 5000, key=f"f{i}")
        payment = unpaid(user, a_lot, plate=f"粤B1000{i}")
        payments.payment_pay(payment_id=payment.pk, user=user, coupon_id=coupon(user, b_org).pk)
    assert SettlementEntry.objects.count() == 4
    assert SettlementEntry.objects.filter(organization=b_org).aggregate(s=Sum("amount"))["s"] == -500
