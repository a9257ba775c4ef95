"""Drill fixtures: one PostgreSQL of the drills' own for the session (a migrated template database,
copied for each drill), a Redis per drill, and the drill's processes, all stopped at the end."""

import itertools
import shutil

import psycopg
import pytest

from . import harness

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def drill_pg():
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is needed by the drills (apt-get install redis-server)")
    pg = harness.Postgres("pg")
    try:
        pg.createdb("drill_template")
        env = harness.product_env(database_url=pg.url("drill_template"), redis_url="")
        harness.manage(env, "migrate", "--noinput", "-v0")
        yield pg
    finally:
        pg.destroy()


class Drill:
    """One drill's world: a database copied from the template, a Redis of its own, processes."""

    def __init__(self, pg: harness.Postgres, *, appendfsync: str | None):
        self.pg = pg
        self.dbname = f"drill_{next(_numbers)}"
        with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.dbname} TEMPLATE drill_template")
        self.redis = harness.RedisServer(f"redis-{self.dbname}", appendfsync=appendfsync)
        self.env = harness.product_env(database_url=pg.url(self.dbname), redis_url=self.redis.url)
        self.procs: list[harness.Proc] = []

    def sql(self, query: str, *params):
        with psycopg.connect(self.pg.url(self.dbname), connect_timeout=3) as conn:
            return conn.execute(query, params).fetchall()

    def web(self, name: str = "web", **kw) -> tuple[harness.Proc, int]:
        port = harness.free_port()
        proc = harness.gunicorn(self.env, port=port, name=f"{self.dbname}-{name}", **kw)
        self.procs.append(proc)
        return proc, port

    def worker(self, name: str = "worker", **kw) -> harness.Supervised:
        """An intake worker under a supervisor (restarted when it exits, never when killed by
        the drill on purpose: the drill's SIGKILL is a crash the supervisor also answers)."""
        proc = harness.Supervised(lambda n: harness.worker(self.env, name=f"{self.dbname}-{name}-{n}", **kw))
        self.procs.append(proc)
        return proc

    def restarts(self) -> int:
        return sum(p.restarts for p in self.procs if isinstance(p, harness.Supervised))

    def beat(self, name: str = "beat") -> harness.Supervised:
        """A beat under a supervisor: beat too exits when Redis goes away under its lock."""
        proc = harness.Supervised(lambda n: harness.beat(self.env, name=f"{self.dbname}-{name}-{n}"))
        self.procs.append(proc)
        return proc

    def sale(self, *, stock: int, limit: int, buyers: int, vouchers: int = 1, threshold: int = 0):
        ids = harness.make_sale(self.env, stock=stock, limit=limit, vouchers=vouchers, threshold=threshold)
        tokens = harness.make_buyers(self.env, buyers, prefix=f"b{self.dbname.removeprefix('drill_')}x")
        return ids, tokens

    def written(self, voucher_ids: list[int]) -> int:
        return self.sql("SELECT count(*) FROM orders_order WHERE voucher_id = ANY(%s)", list(voucher_ids))[0][0]

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.redis.destroy()
        try:
            with psycopg.connect(self.pg.url("postgres"), autocommit=True, connect_timeout=3) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
        except psycopg.Error:
            pass


@pytest.fixture
def make_drill(drill_pg):
    drills: list[Drill] = []

    def make(*, appendfsync: str | None = "everysec") -> Drill:
        drill = Drill(drill_pg, appendfsync=appendfsync)
        drills.append(drill)
        return drill

    yield make
    for drill in drills:
        drill.close()
