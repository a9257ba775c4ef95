from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderEvent
from orders.services import order_cancel, order_expire, order_pay, order_refund, orders_expire_due
from orders.tasks import expire_due_orders
from tests.conftest import auth_client
from tests.factories import SeckillVoucherFactory, VoucherFactory
from wallet.models import LedgerEntry

from .helpers import assert_ledger_matches_balances, balance, buy, customer, stock

pytestmark = pytest.mark.django_db

S = Order.Status


def overdue(order: Order) -> Order:
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    order.refresh_from_db()
    return order


def transitions(order: Order) -> list[tuple[str, str]]:
    return list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status"))


# --- pay ---------------------------------------------------------------------------------------


def test_pay_debits_the_wallet_once_and_records_the_transition():
    v = VoucherFactory(price=700, stock=5)
    u = customer(balance=1000)
    order = buy(u, v)
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/pay", {"method": "wallet"}, format="json")
    assert res.status_code == 200, res.content
    assert res.json()["status"] == "paid"
    assert balance(u) == 300
    entry = LedgerEntry.objects.get(order=order)
    assert (entry.kind, entry.amount, entry.balance_before, entry.balance_after) == ("order_payment", -700, 1000, 300)
    ev = OrderEvent.objects.filter(order=order).last()
    assert (ev.from_status, ev.to_status, ev.actor_id) == ("pending_payment", "paid", u.pk)
    assert stock(v) == 4
    again = auth_client(u).post(f"/api/v1/orders/{order.pk}/pay", {"method": "wallet"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    assert balance(u) == 300
    assert_ledger_matches_balances()


def test_pay_without_enough_money_is_insufficient_funds_and_changes_nothing():
    v = VoucherFactory(price=700)
    u = customer(balance=699)
    order = buy(u, v)
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/pay", {"method": "wallet"}, format="json")
    assert res.status_code == 409
    body = res.json()["error"]
    assert body["code"] == "insufficient_funds"
    assert body["details"]["missing"] == 1
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT and order.paid_at is None
    assert balance(u) == 699
    assert transitions(order) == [("", "pending_payment")]


def test_another_customers_order_is_404_for_every_action():
    v = VoucherFactory()
    owner, other = customer(balance=5000), customer(balance=5000)
    order = buy(owner, v)
    client = auth_client(other)
    assert client.get(f"/api/v1/orders/{order.pk}").status_code == 404
    for action in ("pay", "cancel", "refund"):
        res = client.post(f"/api/v1/orders/{order.pk}/{action}", {}, format="json")
        assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    assert balance(other) == 5000


def test_pay_after_the_window_expires_the_order_and_takes_no_money():
    v = VoucherFactory(price=300, stock=2)
    u = customer(balance=1000)
    order = overdue(buy(u, v))
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/pay", {"method": "wallet"}, format="json")
    assert res.status_code == 409
    assert res.json()["error"]["details"]["status"] == "expired"
    order.refresh_from_db()
    assert order.status == S.EXPIRED and order.stock_released
    assert balance(u) == 1000
    assert stock(v) == 2


def test_pay_with_an_unknown_method_is_a_validation_error():
    v = VoucherFactory()
    u = customer(balance=5000)
    order = buy(u, v)
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/pay", {"method": "card"}, format="json")
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"
    assert "method" in res.json()["error"]["details"]


# --- cancel ------------------------------------------------------------------------------------


def test_cancel_returns_the_unit_once_and_frees_the_slot():
    v = SeckillVoucherFactory(stock=3)
    u = customer()
    order = buy(u, v)
    assert stock(v) == 2
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/cancel")
    assert res.status_code == 200 and res.json()["status"] == "cancelled"
    assert stock(v) == 3
    again = auth_client(u).post(f"/api/v1/orders/{order.pk}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    assert stock(v) == 3
    # the per-user slot is free again
    assert buy(u, v).status == S.PENDING_PAYMENT
    assert stock(v) == 2


def test_a_paid_order_cannot_be_cancelled():
    v = VoucherFactory(price=100)
    u = customer(balance=100)
    order = buy(u, v)
    order_pay(order_id=order.pk, user=u)
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/cancel")
    assert res.status_code == 409
    assert res.json()["error"]["details"] == {"status": "paid", "allowed": ["pending_payment"]}


# --- refund ------------------------------------------------------------------------------------


def test_refund_gives_money_and_stock_back_together():
    v = VoucherFactory(price=450, stock=4)
    u = customer(balance=1000)
    order = buy(u, v)
    order_pay(order_id=order.pk, user=u)
    assert (balance(u), stock(v)) == (550, 3)
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/refund")
    assert res.status_code == 200 and res.json()["status"] == "refunded"
    assert (balance(u), stock(v)) == (1000, 4)
    kinds = list(LedgerEntry.objects.filter(order=order).order_by("id").values_list("kind", "amount"))
    assert kinds == [("order_payment", -450), ("order_refund", 450)]
    again = auth_client(u).post(f"/api/v1/orders/{order.pk}/refund")
    assert again.status_code == 409
    assert (balance(u), stock(v)) == (1000, 4)
    assert transitions(order) == [("", "pending_payment"), ("pending_payment", "paid"), ("paid", "refunded")]
    assert_ledger_matches_balances()


@pytest.mark.parametrize("status", [S.USED, S.PENDING_PAYMENT, S.CANCELLED])
def test_only_paid_unused_orders_refund(status):
    v = VoucherFactory(price=100)
    u = customer(balance=100)
    order = buy(u, v)
    Order.objects.filter(pk=order.pk).update(status=status)
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/refund")
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_state"
    assert balance(u) == 100


def test_refund_service_refuses_a_used_coupon_under_the_lock():
    v = VoucherFactory(price=100)
    u = customer(balance=100)
    order = buy(u, v)
    order_pay(order_id=order.pk, user=u)
    Order.objects.filter(pk=order.pk).update(status=S.USED, used_at=timezone.now())
    from config.errors import DomainError

    with pytest.raises(DomainError) as err:
        order_refund(order_id=order.pk, user=u)
    assert err.value.code == "invalid_state"
    assert balance(u) == 0


# --- expiry ------------------------------------------------------------------------------------


def test_expiry_task_expires_due_orders_once_and_frees_slots():
    v = SeckillVoucherFactory(stock=10)
    users = [customer() for _ in range(5)]
    orders = [buy(u, v) for u in users]
    for o in orders[:3]:
        overdue(o)
    assert stock(v) == 5
    assert expire_due_orders.delay().get() == 3
    assert stock(v) == 8
    assert expire_due_orders.delay().get() == 0
    assert stock(v) == 8
    statuses = sorted(Order.objects.filter(voucher=v).values_list("status", flat=True))
    assert statuses == ["expired"] * 3 + ["pending_payment"] * 2
    ev = OrderEvent.objects.filter(order=orders[0]).last()
    assert (ev.from_status, ev.to_status, ev.actor_id) == ("pending_payment", "expired", None)
    assert buy(users[0], v).status == S.PENDING_PAYMENT


def test_expiry_runs_in_batches():
    v = VoucherFactory(stock=20, per_user_limit=20)
    u = customer()
    for _ in range(7):
        overdue(buy(u, v))
    assert orders_expire_due(batch_size=3) == 7
    assert stock(v) == 20
    assert Order.objects.filter(status=S.EXPIRED).count() == 7


def test_expire_does_nothing_to_an_order_still_in_its_window_or_paid():
    v = VoucherFactory(price=100)
    u = customer(balance=100)
    fresh = buy(u, v)
    assert order_expire(order_id=fresh.pk) is False
    order_pay(order_id=fresh.pk, user=u)
    assert order_expire(order_id=fresh.pk, now=timezone.now() + timedelta(days=1)) is False
    fresh.refresh_from_db()
    assert fresh.status == S.PAID


def test_reading_an_overdue_order_shows_it_expired_and_its_unit_back():
    v = VoucherFactory(stock=1)
    u = customer()
    order = overdue(buy(u, v))
    assert stock(v) == 0
    res = auth_client(u).get(f"/api/v1/orders/{order.pk}")
    assert res.status_code == 200 and res.json()["status"] == "expired"
    assert stock(v) == 1
    order.refresh_from_db()
    assert order.status == S.EXPIRED


def test_listing_orders_expires_the_overdue_ones():
    v = VoucherFactory(stock=3, per_user_limit=3)
    u = customer()
    late, fresh = overdue(buy(u, v)), buy(u, v)
    res = auth_client(u).get("/api/v1/orders")
    assert res.status_code == 200
    by_id = {o["id"]: o["status"] for o in res.json()}
    assert by_id == {str(late.pk): "expired", str(fresh.pk): "pending_payment"}
    assert stock(v) == 2


def test_serializer_shows_expired_before_anything_wrote_it():
    from orders.serializers import OrderSerializer

    v = VoucherFactory()
    order = overdue(buy(customer(), v))
    assert OrderSerializer(order).data["status"] == "expired"
    assert Order.objects.get(pk=order.pk).status == S.PENDING_PAYMENT


def test_cancel_of_an_overdue_order_expires_it():
    v = VoucherFactory(stock=1)
    u = customer()
    order = overdue(buy(u, v))
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/cancel")
    assert res.status_code == 409 and res.json()["error"]["details"]["status"] == "expired"
    assert stock(v) == 1
    with pytest.raises(Exception):  # noqa: B017 - DomainError, whatever the state
        order_cancel(order_id=order.pk, user=u)
    assert stock(v) == 1


# --- reads ---------------------------------------------------------------------------------------


def test_order_list_is_newest_first_and_only_mine(django_assert_max_num_queries):
    v = VoucherFactory(stock=20, per_user_limit=10)
    u, other = customer(), customer()
    mine = [buy(u, v) for _ in range(6)]
    buy(other, v)
    client = auth_client(u)
    with django_assert_max_num_queries(4):
        res = client.get("/api/v1/orders")
    ids = [o["id"] for o in res.json()]
    assert ids == [str(o.pk) for o in reversed(mine)]
    first = res.json()[0]
    assert {"id", "voucher", "status", "amount", "created_at", "expires_at"} <= set(first)


def test_order_detail_falls_back_to_the_gate_for_a_processing_order(monkeypatch):
    import uuid

    u = customer()
    oid = uuid.uuid4()
    seen = {}

    from django.utils import timezone

    from orders import selectors

    v = VoucherFactory()

    def fake_source(user_id, order_id):
        """A pending-order source (the flash-sale gate registers one): it knows this order."""
        seen.update(user_id=user_id, order_id=order_id)
        return selectors.processing_order(
            order_id=order_id,
            user_id=user_id,
            voucher_id=v.pk,
            organization_id=v.organization_id,
            amount=100,
            single_slot=True,
            accepted_at=timezone.now(),
        )

    monkeypatch.setattr(selectors, "_pending_sources", [fake_source])
    res = auth_client(u).get(f"/api/v1/orders/{oid}")
    assert res.status_code == 200
    assert res.json()["status"] == "processing" and res.json()["voucher"] == v.pk and res.json()["amount"] == 100
    assert seen == {"user_id": u.pk, "order_id": oid}


def test_unknown_order_is_404_in_the_contract_shape():
    import uuid

    res = auth_client(customer()).get(f"/api/v1/orders/{uuid.uuid4()}")
    assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"
    assert auth_client(customer()).get("/api/v1/orders/not-a-uuid").status_code == 404


def test_orders_need_a_token(api):
    assert api.get("/api/v1/orders").status_code == 401


def test_order_list_filters_by_status_and_refuses_unknown_ones():
    v = VoucherFactory(price=100, stock=5, per_user_limit=3)
    u = customer(balance=100)
    paid, unpaid = buy(u, v), buy(u, v)
    order_pay(order_id=paid.pk, user=u)
    client = auth_client(u)
    assert [o["id"] for o in client.get("/api/v1/orders?status=paid").json()] == [str(paid.pk)]
    assert [o["id"] for o in client.get("/api/v1/orders?status=pending_payment").json()] == [str(unpaid.pk)]
    res = client.get("/api/v1/orders?status=bogus")
    assert res.status_code == 400 and "status" in res.json()["error"]["details"]


def test_actions_on_a_processing_order_are_invalid_state_not_404(monkeypatch):
    import uuid

    u = customer(balance=1000)
    oid = uuid.uuid4()
    monkeypatch.setattr(
        "orders.api.pending_order",
        lambda *, user_id, order_id: {"id": str(order_id), "status": "processing"} if user_id == u.pk else None,
    )
    for action in ("pay", "cancel", "refund"):
        res = auth_client(u).post(f"/api/v1/orders/{oid}/{action}", {}, format="json")
        assert res.status_code == 409, action
        assert res.json()["error"]["details"] == {"status": "processing"}
        other = auth_client(customer()).post(f"/api/v1/orders/{oid}/{action}", {}, format="json")
        assert other.status_code == 404
    assert balance(u) == 1000


def test_a_free_coupon_pays_and_refunds_without_ledger_entries():
    v = VoucherFactory(price=0, stock=1)
    u = customer()
    order = buy(u, v)
    assert order_pay(order_id=order.pk, user=u).status == S.PAID
    assert order_refund(order_id=order.pk, user=u).status == S.REFUNDED
    assert not LedgerEntry.objects.filter(order=order).exists()
    assert stock(v) == 1


def test_reading_orders_writes_nothing_itself_and_asks_a_worker_to_expire(monkeypatch):
    """A GET is a read: an overdue order reads `expired`, its row is left to the expiry task, which
    the read asks for (for this customer) instead of waiting for the periodic run."""
    from orders import tasks

    asked = []
    monkeypatch.setattr(tasks.expire_due_orders, "delay", lambda **kw: asked.append(kw))
    v = VoucherFactory(stock=1)
    u = customer()
    order = overdue(buy(u, v))
    client = auth_client(u)
    assert client.get(f"/api/v1/orders/{order.pk}").json()["status"] == "expired"
    assert client.get("/api/v1/orders").json()[0]["status"] == "expired"
    client.force_login(u)
    assert client.get("/orders/").status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and stock(v) == 0
    assert asked == [{"user_id": u.pk}] * 3
