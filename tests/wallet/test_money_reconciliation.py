"""The daily money reconciliation: a clean world reports clean; each kind of mismatch planted
behind the services' back (a raw UPDATE, as a bug or a hand edit would) is reported, naming its rows."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone

from coupons.models import Alert
from orders.models import Order
from orders.services import order_pay, order_refund
from parking.models import ParkingPayment
from parking.services import payments, stays, vehicles
from parking.tariffs import TariffRule
from seckill.purchase import voucher_purchase
from tests.factories import OperatorFactory, UserFactory, VoucherFactory
from wallet.models import LedgerEntry, MoneyReconciliationReport, TopUp, Wallet
from wallet.reconciliation import Finding, money_reconcile, register_check, registered_checks
from wallet.services import topup_start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    """Money moved only through the services: a top-up, a paid coupon, a refunded one, a paid stay."""
    operator = OperatorFactory()
    org = operator.organization
    customer = UserFactory()
    topup = topup_start(user=customer, amount=10_000, provider_name="sandbox")
    voucher = VoucherFactory(organization=org, price=1500, stock=10)
    paid = voucher_purchase(voucher_id=voucher.pk, user=customer).order
    order_pay(order_id=paid.pk, user=customer)
    other = VoucherFactory(organization=org, price=700, stock=10)
    refunded = voucher_purchase(voucher_id=other.pk, user=customer).order
    order_pay(order_id=refunded.pk, user=customer)
    order_refund(order_id=refunded.pk, user=customer)
    lot = stays.lot_create(organization=org, name="Central", capacity=10, tariff=TariffRule())
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    session = stays.session_enter(lot=lot, plate="粤B12345", at=timezone.now() - timedelta(minutes=100))
    parking = payments.session_pay(session_id=session.pk, user=customer)
    assert parking.amount > 0
    return {
        "org": org,
        "customer": customer,
        "wallet": Wallet.objects.get(user=customer),
        "topup": topup,
        "paid": paid,
        "refunded": refunded,
        "parking": parking,
    }


def _findings(report, check):
    return list(report.findings.filter(check_name=check))


def test_every_app_contributes_its_checks():
    assert {"wallet_balances", "topups", "order_payments", "order_refunds", "parking_payments"} <= set(
        registered_checks()
    )


def test_a_clean_world_reports_clean(world):
    report = money_reconcile()
    assert report.clean and report.finished_at is not None
    assert list(report.findings.all()) == []
    assert not Alert.objects.filter(kind=Alert.Kind.MONEY_MISMATCH).exists()


def test_the_command_exits_zero_when_clean_and_one_on_a_mismatch(world, capsys):
    call_command("reconcile_money")
    assert "money adds up" in capsys.readouterr().out
    Wallet.objects.filter(pk=world["wallet"].pk).update(balance=1)
    with pytest.raises(CommandError) as exc:
        call_command("reconcile_money")
    assert exc.value.returncode == 1
    assert f"wallet.wallet:{world['wallet'].pk}" in capsys.readouterr().out
    assert MoneyReconciliationReport.objects.count() == 2


def test_a_balance_that_is_not_its_ledger_sum(world):
    wallet = world["wallet"]
    Wallet.objects.filter(pk=wallet.pk).update(balance=wallet.balance + 1)
    [finding] = _findings(money_reconcile(), "wallet_balances")
    assert finding.rows == [f"wallet.wallet:{wallet.pk}"]
    assert finding.organization_id is None  # a customer's money: superusers only
    assert finding.details["balance"] - finding.details["ledger_sum"] == 1


def test_a_topup_credit_with_no_provider_transaction(world):
    TopUp.objects.filter(pk=world["topup"].pk).update(ledger_entry=None, status=TopUp.Status.FAILED)
    entry_id = world["topup"].ledger_entry_id
    [finding] = _findings(money_reconcile(), "topups")
    assert f"wallet.ledgerentry:{entry_id}" in finding.rows


def test_a_topup_credited_with_another_amount(world):
    entry = LedgerEntry.objects.filter(pk=world["topup"].ledger_entry_id)
    entry.update(amount=9_000, balance_after=F("balance_before") + 9_000)
    report = money_reconcile()
    [finding] = _findings(report, "topups")
    assert finding.rows == [f"wallet.topup:{world['topup'].pk}", f"wallet.ledgerentry:{world['topup'].ledger_entry_id}"]
    assert _findings(report, "wallet_balances")  # and the ledger no longer sums to the balance


def test_a_paid_order_without_its_debit(world):
    order = world["paid"]
    LedgerEntry.objects.filter(order_id=order.pk, kind="order_payment").update(order=None)
    report = money_reconcile()
    findings = _findings(report, "order_payments")
    missing = [f for f in findings if f.rows == [f"orders.order:{order.pk}"]]
    assert len(missing) == 1 and missing[0].organization_id == world["org"].pk
    assert any("is missing" in f.message for f in findings)  # and the detached debit is a stray


def test_a_debit_for_an_order_that_is_not_paid(world):
    order = world["paid"]
    Order.objects.filter(pk=order.pk).update(status=Order.Status.EXPIRED)
    [finding] = _findings(money_reconcile(), "order_payments")
    assert f"orders.order:{order.pk}" in finding.rows and finding.organization_id == world["org"].pk


def test_a_refund_without_its_credit(world):
    order = world["refunded"]
    credit = LedgerEntry.objects.filter(order_id=order.pk, kind="order_refund")
    credit.update(amount=1, balance_after=F("balance_before") + 1)
    report = money_reconcile()
    [finding] = _findings(report, "order_refunds")
    assert finding.rows == [f"orders.order:{order.pk}"] and finding.organization_id == world["org"].pk


def test_a_refund_credit_for_an_order_that_is_not_refunded(world):
    order = world["refunded"]
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    [finding] = _findings(money_reconcile(), "order_refunds")
    assert f"orders.order:{order.pk}" in finding.rows


def test_a_paid_parking_payment_without_its_debit(world):
    payment = world["parking"]
    ParkingPayment.objects.filter(pk=payment.pk).update(ledger_entry=None)
    report = money_reconcile()
    findings = _findings(report, "parking_payments")
    unpaid = [f for f in findings if f"parking.parkingpayment:{payment.pk}" in f.rows]
    assert len(unpaid) == 1 and unpaid[0].organization_id == world["org"].pk
    stray = [f for f in findings if f"wallet.ledgerentry:{payment.ledger_entry_id}" in f.rows]
    assert len(stray) == 1  # the debit nothing claims any more


def test_a_parking_debit_of_another_amount(world):
    payment = world["parking"]
    ParkingPayment.objects.filter(pk=payment.pk).update(fee=payment.fee + 100, amount=payment.amount + 100)
    [finding] = _findings(money_reconcile(), "parking_payments")
    assert f"wallet.ledgerentry:{payment.ledger_entry_id}" in finding.rows


def test_a_mismatch_raises_an_alert_to_the_organization_involved(world, caplog, mailoutbox, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    Order.objects.filter(pk=world["paid"].pk).update(status=Order.Status.EXPIRED)
    with caplog.at_level("ERROR", logger="parkmarket.reconciliation"):
        report = money_reconcile()
    alert = Alert.objects.get(kind=Alert.Kind.MONEY_MISMATCH)
    assert alert.organization_id == world["org"].pk and alert.details["report_id"] == report.pk
    assert any(f"report {report.pk}" in r.getMessage() for r in caplog.records)
    assert any("ops@example.com" in m.to for m in mailoutbox)


def test_a_later_app_adds_its_own_check(world, monkeypatch):
    """E.g. settlements between organizations summing to zero: a check registered by its app."""
    monkeypatch.setattr("wallet.reconciliation._CHECKS", dict(registered_checks()))
    register_check("settlements", lambda: [Finding(message="Settlements sum to 5.", rows=["x.settlement:1"])])
    report = money_reconcile()
    assert "settlements" in report.checks
    assert [f.rows for f in _findings(report, "settlements")] == [["x.settlement:1"]]


def test_findings_beyond_the_cap_are_counted(monkeypatch):
    monkeypatch.setattr("wallet.reconciliation.MAX_FINDINGS_PER_CHECK", 2)
    many = {"many": lambda: (Finding(message=str(i), rows=[f"x.y:{i}"]) for i in range(5))}
    report = money_reconcile(checks=many)
    assert report.findings_count == 3
    assert report.findings.get(details__not_listed=3)


def test_the_daily_task_is_scheduled():
    from config.celery import app

    schedule = {e["task"] for e in app.conf.beat_schedule.values()}
    assert "wallet.tasks.reconcile_money" in schedule


@pytest.fixture
def redeemed(world):
    """A partner's coupon honoured at a lot of the world's organization: a payment with its two
    settlement entries and the month's counter."""
    from parking.models import SettlementEntry
    from parking.services import partnerships

    lot_org, customer = world["org"], world["customer"]
    lot = stays.lot_create(organization=lot_org, name="Harbour", capacity=10, tariff=TariffRule())
    partner = OperatorFactory().organization
    p = partnerships.partnership_offer(
        organization=lot_org,
        user=None,
        partner=partner,
        lots=[lot],
        benefit_types=["amount"],
        settlement_price=250,
        valid_from=timezone.now() - timedelta(days=1),
        valid_until=timezone.now() + timedelta(days=30),
        monthly_cap=10,
    )
    partnerships.partnership_accept(partnership_id=p.pk, organization=partner)
    voucher = VoucherFactory(organization=partner, price=500, stock=10, benefit_type="amount", benefit_value=300)
    order = voucher_purchase(voucher_id=voucher.pk, user=customer).order
    order_pay(order_id=order.pk, user=customer)
    vehicles.vehicle_register(user=customer, plate="粤B67890")
    session = stays.session_enter(lot=lot, plate="粤B67890", at=timezone.now() - timedelta(minutes=100))
    payment = payments.payment_refresh(session=session)[1]
    paid = payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=order.pk)
    assert SettlementEntry.objects.filter(payment=paid).count() == 2
    return {"payment": paid, "partnership": p, "partner": partner}


def test_a_redeemed_partner_coupon_reconciles(redeemed):
    report = money_reconcile()
    assert {"settlements", "partnership_months"} <= set(report.checks)
    assert report.clean, [f.message for f in report.findings.all()]


def test_a_settlement_entry_that_does_not_balance(redeemed):
    from parking.models import SettlementEntry

    payment = redeemed["payment"]
    owed = SettlementEntry.objects.get(payment=payment, amount__gt=0)
    SettlementEntry.objects.filter(pk=owed.pk).update(amount=300)
    report = money_reconcile()
    [finding] = _findings(report, "settlements")
    assert f"parking.parkingpayment:{payment.pk}" in finding.rows
    assert f"parking.settlemententry:{owed.pk}" in finding.rows
    assert finding.organization_id == payment.session.lot.organization_id
    [month] = _findings(report, "partnership_months")  # the counter says 250 owed, the entry 300
    assert f"parking.partnership:{redeemed['partnership'].pk}" in month.rows


def test_a_redemption_whose_settlement_is_missing(redeemed):
    from parking.models import SettlementEntry

    payment = redeemed["payment"]
    SettlementEntry.objects.filter(payment=payment).delete()
    report = money_reconcile()
    [finding] = _findings(report, "settlements")
    assert f"parking.parkingpayment:{payment.pk}" in finding.rows and "0 entries" in finding.message
    assert len(_findings(report, "partnership_months")) == 1  # counted once, no entries behind it


def test_settlement_entries_on_a_payment_with_no_partner_coupon(redeemed, world):
    from parking.models import SettlementEntry

    own = world["parking"]  # paid without a coupon
    entry = SettlementEntry.objects.filter(payment=redeemed["payment"]).first()
    SettlementEntry.objects.filter(pk=entry.pk).update(payment=own)
    report = money_reconcile()
    stray = [f for f in _findings(report, "settlements") if f"parking.parkingpayment:{own.pk}" in f.rows]
    assert len(stray) == 1 and "redeemed no partner's coupon" in stray[0].message
