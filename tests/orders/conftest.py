import pytest


@pytest.fixture(autouse=True)
def _database_gate(settings):
    """Order and wallet tests buy through the synchronous database gate, so every purchase is a
    written order at once; the Redis gate and its intake are tested with the seckill app."""
    settings.SECKILL_GATE = "db"


@pytest.fixture(autouse=True)
def _fresh_limit_rules():
    from orders.limits import rules_cache_clear
    from orders.placing import voucher_rules_forget

    rules_cache_clear()
    voucher_rules_forget()
    yield
    rules_cache_clear()
    voucher_rules_forget()
