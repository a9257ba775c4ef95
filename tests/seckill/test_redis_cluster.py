"""The Redis gate on a Redis Cluster of three primaries (started by the test on loopback ports):
flash sales of several vouchers spread over the shards, raced by real threads, sell exactly their
stock; the reconciliation finds the gate equal to the database on every shard."""

import subprocess
from collections import Counter

import pytest
from django.db.models import Count

from orders.models import Order
from seckill import gate
from seckill.purchase import voucher_purchase
from seckill.reconcile import reconcile_all
from tests.drills.harness import RedisServer, wait_until
from tests.factories import SeckillVoucherFactory

from .conftest import make_users, race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster():
    nodes = [
        RedisServer(
            f"cluster-{i}",
            extra=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"],
        )
        for i in range(3)
    ]
    try:
        subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes]]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for node in nodes:
            wait_until(
                lambda node=node: node.client().cluster("info").get("cluster_state") == "ok",
                timeout=30,
                what=f"cluster node {node.port} ready",
            )
        yield nodes
    finally:
        for node in nodes:
            node.destroy()


@pytest.fixture
def cluster_gate(cluster, redis_gate):
    redis_gate.SECKILL_REDIS_URL = cluster[0].url.removesuffix("/0")
    redis_gate.SECKILL_REDIS_CLUSTER = True
    yield cluster
    gate.client().flushall(target_nodes="primaries")


def _shard_of(voucher_id: int) -> int:
    c = gate.client()
    return c.get_node_from_key(gate.keys(voucher_id).stock).port


def test_sales_spread_over_three_shards_sell_exactly_their_stock(cluster_gate):
    vouchers = [SeckillVoucherFactory(stock=20, per_user_limit=2) for _ in range(6)]
    shards = Counter(_shard_of(v.pk) for v in vouchers)
    assert len(shards) >= 2, f"the vouchers' hash tags all fell on one shard: {shards}"
    users = make_users(60)
    # Every customer tries three times on each of two vouchers (limit 2): 360 attempts, 120 units.
    attempts = [(u, v) for i, u in enumerate(users) for v in (vouchers[i % 6], vouchers[(i + 1) % 6])] * 3
    results, codes = race(lambda u, v: voucher_purchase(voucher_id=v.pk, user=u), attempts)
    assert all(r.accepted_async for r in results)
    assert set(codes) <= {"sold_out", "purchase_limit_reached"}, codes
    for voucher in vouchers:
        voucher.refresh_from_db()
        live = Order.objects.filter(voucher=voucher, status__in=Order.LIVE)
        assert live.count() == voucher.initial_stock - voucher.stock == voucher.sold_count <= 20
        assert not live.values("user_id").annotate(n=Count("id")).filter(n__gt=2).exists()
        assert gate.peek(voucher.pk)[1] == voucher.stock
        assert gate.client().hlen(gate.keys(voucher.pk).pending) == 0
    assert len(results) == sum(v.initial_stock - v.stock for v in vouchers)
    # Each accepted order is found by its id alone (the index key lives on its own shard).
    assert all(gate.order_index(r.order.pk) is not None for r in results)
    reports = {r["voucher"]: r for r in reconcile_all(repair_now=True)}
    assert all(reports[v.pk].get("gate") == "ok" and not reports[v.pk].get("oversell") for v in vouchers), reports
