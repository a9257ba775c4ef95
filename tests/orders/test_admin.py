import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from accounts.models import Operator
from orders.models import CompensationRun, Order, PurchaseLimitRule
from orders.services import order_pay
from tests.factories import OperatorFactory, UserFactory, VoucherFactory
from wallet.models import LedgerEntry

from .helpers import balance, buy, customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs():
    mine, theirs = VoucherFactory(price=300, title="Mine"), VoucherFactory(price=300, title="Theirs")
    op = OperatorFactory(organization=mine.organization)
    a, b = customer(balance=1000), customer(balance=1000)
    oa, ob = buy(a, mine), buy(b, theirs)
    order_pay(order_id=oa.pk, user=a)
    order_pay(order_id=ob.pk, user=b)
    return op, (mine, theirs), (a, b), (oa, ob)


def test_operator_sees_only_their_orders_ledger_and_history(client, two_orgs):
    op, _, _, (oa, ob) = two_orgs
    client.force_login(op.user)
    html = client.get("/admin/orders/order/").content.decode()
    assert str(oa.pk) in html and str(ob.pk) not in html
    assert client.get(f"/admin/orders/order/{ob.pk}/change/").status_code == 302  # not found -> redirect
    detail = client.get(f"/admin/orders/order/{oa.pk}/change/").content.decode()
    assert "Transition history" in detail and "paid from wallet" in detail
    ledger = client.get("/admin/wallet/ledgerentry/").content.decode()
    mine_entry = LedgerEntry.objects.get(order=oa)
    their_entry = LedgerEntry.objects.get(order=ob)
    assert f"/admin/wallet/ledgerentry/{mine_entry.pk}/change/" in ledger
    assert f"/admin/wallet/ledgerentry/{their_entry.pk}/change/" not in ledger
    # the voucher filter offers only vouchers that appear in the operator's orders
    assert "Theirs" not in html


def test_operators_see_no_wallets_or_topups_superusers_do(client, two_orgs):
    op, *_ = two_orgs
    client.force_login(op.user)
    assert client.get("/admin/wallet/wallet/").status_code == 403
    assert client.get("/admin/wallet/topup/").status_code == 403
    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.get("/admin/wallet/wallet/").status_code == 200
    assert client.get("/admin/wallet/topup/").status_code == 200
    assert client.get("/admin/wallet/ledgerentry/").status_code == 200


def test_ledger_is_read_only_in_the_admin(client, two_orgs):
    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    entry = LedgerEntry.objects.first()
    client.post(f"/admin/wallet/ledgerentry/{entry.pk}/change/", {"amount": 999999})
    entry.refresh_from_db()
    assert entry.amount != 999999
    assert client.get("/admin/wallet/ledgerentry/add/").status_code == 403


def test_limit_rules_are_scoped_and_saved_to_the_operators_organization(client, two_orgs):
    op, (mine, theirs), *_ = two_orgs
    PurchaseLimitRule.objects.create(organization=theirs.organization, kind="min_account_age_days", value=99)
    client.force_login(op.user)
    res = client.post(
        "/admin/orders/purchaselimitrule/add/",
        {"kind": "min_account_age_days", "value": 5, "window_days": 30, "applies_to": "seckill", "active": "on"},
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    rule = PurchaseLimitRule.objects.get(value=5)
    assert rule.organization_id == mine.organization_id
    listing = client.get("/admin/orders/purchaselimitrule/").content.decode()
    assert "= 5" in listing and "= 99" not in listing


def test_compensation_action_through_the_admin(client, two_orgs):
    op, (mine, _), (a, b), (oa, ob) = two_orgs
    client.force_login(op.user)
    url = "/admin/orders/order/"
    form = client.post(url, {"action": "withdraw_and_compensate", ACTION_CHECKBOX_NAME: [str(oa.pk), str(ob.pk)]})
    assert form.status_code == 200 and "Message to the customers" in form.content.decode()
    data = {
        "action": "withdraw_and_compensate",
        ACTION_CHECKBOX_NAME: [str(oa.pk), str(ob.pk)],
        "apply": "1",
        "amount": "1.50",  # yuan
        "message": "Sorry: the lot is closed",
    }
    res = client.post(url, data, follow=True)
    assert "Compensation run" in res.content.decode()
    assert Order.objects.get(pk=oa.pk).status == "refunded"
    assert Order.objects.get(pk=ob.pk).status == "paid"  # another organization's order is out of reach
    assert balance(a) == 1000 + 150 and balance(b) == 700
    client.post(url, data)
    assert balance(a) == 1150
    run = CompensationRun.objects.first()
    assert run.organization_id == mine.organization_id and run.actor_id == op.user.pk
    runs = client.get("/admin/orders/compensationrun/").content.decode()
    assert f"/admin/orders/compensationrun/{run.pk}/change/" in runs


def test_cashiers_cannot_run_the_compensation(client, two_orgs):
    op, _, (a, _b), (oa, _ob) = two_orgs
    Operator.objects.filter(pk=op.pk).update(role=Operator.Role.CASHIER)
    client.force_login(op.user)
    client.post(
        "/admin/orders/order/",
        {
            "action": "withdraw_and_compensate",
            ACTION_CHECKBOX_NAME: [str(oa.pk)],
            "apply": "1",
            "amount": 1,
            "message": "x",
        },
    )
    assert Order.objects.get(pk=oa.pk).status == "paid"
    assert balance(a) == 700


@pytest.mark.parametrize("amount", ["-1", "abc", "10000000000000", "0.001"])
def test_compensation_form_refuses_bad_amounts(client, two_orgs, amount):
    op, _, (a, _b), (oa, _ob) = two_orgs
    client.force_login(op.user)
    res = client.post(
        "/admin/orders/order/",
        {
            "action": "withdraw_and_compensate",
            ACTION_CHECKBOX_NAME: [str(oa.pk)],
            "apply": "1",
            "amount": amount,
            "message": "x",
        },
    )
    assert res.status_code == 200 and "errorlist" in res.content.decode()
    assert Order.objects.get(pk=oa.pk).status == "paid" and balance(a) == 700


def test_operator_sees_only_their_transitions_and_compensation_runs(client, two_orgs):
    from orders.compensation import voucher_compensate
    from orders.models import OrderEvent

    op, (mine, theirs), _, (oa, ob) = two_orgs
    my_run = voucher_compensate(voucher_id=mine.pk, amount=1, message="Mine closed", actor=None)
    their_run = voucher_compensate(voucher_id=theirs.pk, amount=1, message="Theirs closed", actor=None)
    client.force_login(op.user)
    runs = client.get("/admin/orders/compensationrun/").content.decode()
    assert f"/admin/orders/compensationrun/{my_run.pk}/change/" in runs
    assert f"/admin/orders/compensationrun/{their_run.pk}/change/" not in runs
    assert client.get(f"/admin/orders/compensationrun/{their_run.pk}/change/").status_code == 302
    events = client.get("/admin/orders/orderevent/").content.decode()
    mine_ev = OrderEvent.objects.filter(order=oa).first()
    their_ev = OrderEvent.objects.filter(order=ob).first()
    assert f"/admin/orders/orderevent/{mine_ev.pk}/change/" in events
    assert f"/admin/orders/orderevent/{their_ev.pk}/change/" not in events
    their_entry = LedgerEntry.objects.filter(order=ob).first()
    assert client.get(f"/admin/wallet/ledgerentry/{their_entry.pk}/change/").status_code == 302


def test_operators_do_not_see_a_customers_wallet_balance_in_the_ledger(client, two_orgs):
    """The entries of the operator's orders are theirs; the balance around them is the customer's
    money across every organization (top-ups, parking and coupons elsewhere) and stays private."""
    op, _, (a, _b), (oa, _ob) = two_orgs
    entry = LedgerEntry.objects.get(order=oa)
    client.force_login(op.user)
    listing = client.get("/admin/wallet/ledgerentry/").content.decode()
    detail = client.get(f"/admin/wallet/ledgerentry/{entry.pk}/change/").content.decode()
    assert f"/admin/wallet/ledgerentry/{entry.pk}/change/" in listing
    for html in (listing, detail):
        assert "Balance after" not in html and "Balance before" not in html
    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    assert "Balance after" in client.get("/admin/wallet/ledgerentry/").content.decode()
