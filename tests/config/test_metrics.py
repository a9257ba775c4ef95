"""Prometheus metrics: /metrics answers only its token, and each metric moves when its event happens
(read from the process's registry before and after the event)."""

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from config.celery import app
from config.errors import DomainError
from orders.models import Order
from orders.placing import order_record_failed
from orders.services import order_pay, orders_expire_due
from seckill import gate, intake
from seckill.purchase import voucher_purchase
from seckill.reconcile import reconcile_all
from tests.factories import OrderFactory, SeckillVoucherFactory, UserFactory, VoucherFactory
from wallet.reconciliation import Finding, money_reconcile
from wallet.services import wallet_credit, wallet_debit

pytestmark = pytest.mark.django_db(transaction=True)


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Moves:
    """The change of one sample across a block."""

    def __init__(self, name: str, **labels):
        self.name, self.labels = name, labels

    def __enter__(self):
        self.before = value(self.name, **self.labels)
        return self

    def __exit__(self, *exc):
        self.by = value(self.name, **self.labels) - self.before


@app.task(name="tests.metrics.boom")
def boom():
    raise RuntimeError("boom")


# --- the endpoint -------------------------------------------------------------------------------------


def test_metrics_is_off_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_metrics_needs_the_bearer_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-token").status_code == 401
    res = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert res.status_code == 200 and res["Content-Type"].startswith("text/plain")
    assert b"parkmarket_http_requests_total" in res.content


def test_metrics_merges_every_process_in_multiprocess_mode(client, settings, tmp_path, monkeypatch):
    """Under gunicorn each worker writes its own file; the scrape reads the sum of them all."""
    import os
    import subprocess
    import sys

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    code = "from config import metrics; metrics.order_expiries.inc(3)"
    for _ in range(2):  # two processes, as two gunicorn workers
        subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ), cwd=settings.BASE_DIR)
    settings.METRICS_TOKEN = "t"
    res = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t")
    assert b"parkmarket_order_expiries_total 6.0" in res.content


# --- each metric moves with its event ------------------------------------------------------------------


def test_request_latency_and_status_by_view(client):
    count = Moves("parkmarket_http_requests_total", view="healthz", method="GET", status="200")
    latency = Moves("parkmarket_http_request_duration_seconds_count", view="healthz", method="GET")
    with count, latency:
        client.get("/healthz")
    assert count.by == 1 and latency.by == 1
    with Moves("parkmarket_http_requests_total", view="<unmatched>", method="GET", status="404") as unmatched:
        client.get("/no-such-page-anywhere")
    assert unmatched.by == 1


def test_purchases_written_sold_out_and_limit_through_the_database_gate(settings):
    settings.SECKILL_GATE = "db"
    voucher = VoucherFactory(stock=2, per_user_limit=1)
    buyer = UserFactory()
    with Moves("parkmarket_purchases_total", outcome="written") as written:
        voucher_purchase(voucher_id=voucher.pk, user=buyer)
    assert written.by == 1
    with Moves("parkmarket_purchases_total", outcome="limit") as limit, pytest.raises(DomainError):
        voucher_purchase(voucher_id=voucher.pk, user=buyer)
    assert limit.by == 1
    voucher_purchase(voucher_id=voucher.pk, user=UserFactory())  # the last unit
    with Moves("parkmarket_purchases_total", outcome="sold_out") as sold_out, pytest.raises(DomainError):
        voucher_purchase(voucher_id=voucher.pk, user=UserFactory())
    assert sold_out.by == 1


def test_purchases_accepted_by_the_redis_gate_and_the_intake_lag(settings):
    settings.SECKILL_GATE = "redis"
    voucher = SeckillVoucherFactory(stock=5)
    accepted = Moves("parkmarket_purchases_total", outcome="accepted")
    written = Moves("parkmarket_purchases_total", outcome="written")
    lag = Moves("parkmarket_seckill_intake_lag_seconds_count")
    with accepted, written, lag:
        result = voucher_purchase(voucher_id=voucher.pk, user=UserFactory())  # eager intake in tests
    assert result.accepted_async
    assert (accepted.by, written.by, lag.by) == (1, 1, 1)


def test_a_failed_intake_counts_as_failed():
    voucher = SeckillVoucherFactory(stock=5)
    with Moves("parkmarket_purchases_total", outcome="failed") as failed:
        order_record_failed(
            order_id=uuid.uuid4(),
            voucher=voucher,
            user_id=UserFactory().pk,
            accepted_at=timezone.now(),
            code="sold_out",
            reason="x",
        )
    assert failed.by == 1


def test_gate_pending_entries_and_their_age(settings):
    settings.SECKILL_GATE = "redis"
    settings.SECKILL_PENDING_STALE_SECONDS = 3600  # not re-enqueued: it stays pending
    voucher = SeckillVoucherFactory(stock=5)
    gate.gate_load(voucher)
    k = gate.keys(voucher.pk)
    accepted_ms = int(time.time() * 1000) - 30_000
    gate.client().hset(k.pending, str(uuid.uuid4()), f"{UserFactory().pk}:{accepted_ms}")
    reconcile_all()
    assert value("parkmarket_seckill_gate_pending_entries") == 1
    assert 30 <= value("parkmarket_seckill_gate_oldest_pending_seconds") < 60
    gate.client().delete(k.pending)
    reconcile_all()
    assert value("parkmarket_seckill_gate_pending_entries") == 0


def test_gate_repairs_and_oversell_alerts(settings):
    settings.SECKILL_GATE = "redis"
    voucher = SeckillVoucherFactory(stock=3)
    voucher_purchase(voucher_id=voucher.pk, user=UserFactory())
    gate.client().set(gate.keys(voucher.pk).stock, 42)
    with Moves("parkmarket_seckill_gate_repairs_total") as repairs:
        reconcile_all(repair_now=True)
    assert repairs.by == 1
    for _ in range(3):  # four live orders on three units
        OrderFactory(voucher=voucher, user=UserFactory())
    with Moves("parkmarket_seckill_oversell_alerts_total") as oversell:
        reconcile_all()
    assert oversell.by == 1


def test_order_expiries(settings):
    settings.SECKILL_GATE = "db"
    voucher = VoucherFactory(stock=5)
    for _ in range(2):
        voucher_purchase(voucher_id=voucher.pk, user=UserFactory())
    Order.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    with Moves("parkmarket_order_expiries_total") as expiries:
        assert orders_expire_due() == 2
    assert expiries.by == 2


def test_wallet_credits_and_debits_by_kind_and_amount():
    user = UserFactory()
    credits = Moves("parkmarket_wallet_credits_total", kind="topup")
    credited = Moves("parkmarket_wallet_credited_minor_units_total", kind="topup")
    with credits, credited:
        wallet_credit(user_id=user.pk, amount=500, kind="topup", idempotency_key="a")
        wallet_credit(user_id=user.pk, amount=500, kind="topup", idempotency_key="a")  # a replay moves nothing
    assert (credits.by, credited.by) == (1, 500)
    order = OrderFactory(user=user, amount=200)
    debits = Moves("parkmarket_wallet_debits_total", kind="order_payment")
    debited = Moves("parkmarket_wallet_debited_minor_units_total", kind="order_payment")
    with debits, debited:
        order_pay(order_id=order.pk, user=user)
    assert (debits.by, debited.by) == (1, 200)
    with Moves("parkmarket_wallet_debits_total", kind="adjustment") as refused, pytest.raises(DomainError):
        wallet_debit(user_id=user.pk, amount=10_000, kind="adjustment", idempotency_key="b")
    assert refused.by == 0  # insufficient funds: nothing was debited


def test_parking_autodebits_by_outcome():
    from parking.services import payments, stays, vehicles
    from parking.tariffs import TariffRule
    from tests.factories import OperatorFactory

    lot = stays.lot_create(organization=OperatorFactory().organization, name="L", capacity=5, tariff=TariffRule())
    customer = UserFactory()
    wallet_credit(user_id=customer.pk, amount=5000, kind="adjustment", idempotency_key="fund")
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    stays.session_enter(lot=lot, plate="粤B12345", at=timezone.now() - timedelta(minutes=101))
    with Moves("parkmarket_parking_autodebits_total", outcome="paid") as paid:
        result = stays.session_exit(lot=lot, plate="粤B12345", at=timezone.now() - timedelta(minutes=1))
    assert result.payment.status == "paid" and paid.by == 1
    with Moves("parkmarket_parking_autodebits_total", outcome="already_paid") as again:
        payments.payment_autodebit(payment_id=result.payment.pk)
    assert again.by == 1


def test_money_reconciliation_runs_and_mismatches():
    with Moves("parkmarket_money_reconciliation_runs_total", result="mismatch") as runs:
        money_reconcile(checks={"planted": lambda: [Finding(message="off", rows=["x.y:1"])] * 2})
    assert runs.by == 1 and value("parkmarket_money_reconciliation_mismatches") == 2
    money_reconcile(checks={})
    assert value("parkmarket_money_reconciliation_mismatches") == 0


def test_celery_task_runs_failures_and_durations():
    ok = Moves("parkmarket_celery_tasks_total", task="config.ping", state="success")
    took = Moves("parkmarket_celery_task_duration_seconds_count", task="config.ping")
    with ok, took:
        assert app.tasks["config.ping"].delay().get() == "pong"
    assert (ok.by, took.by) == (1, 1)
    # As a worker runs it (a failure is recorded, not raised into the caller; the tests' eager mode
    # propagates errors, and Celery then sends no signal at all).
    with Moves("parkmarket_celery_tasks_total", task="tests.metrics.boom", state="failure") as failed:
        assert boom.apply(throw=False).failed()
    assert failed.by == 1


def test_an_intake_write_observes_its_lag():
    voucher = SeckillVoucherFactory(stock=5)
    accepted_ms = int(time.time() * 1000) - 2_000
    with Moves("parkmarket_seckill_intake_lag_seconds_sum") as lag_sum:
        order = intake.intake_write(
            order_id=str(uuid.uuid4()), voucher_id=voucher.pk, user_id=UserFactory().pk, accepted_ms=accepted_ms
        )
    assert order.status == Order.Status.PENDING_PAYMENT
    assert 2 <= lag_sum.by < 30
