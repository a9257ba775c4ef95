import pytest


@pytest.fixture(autouse=True)
def _database_gate(settings):
    """Order and wallet tests buy through the synchronous database gate, so every purchase is a
    written order at once; the Redis gate and its intake are tested with the seckill app."""
    settings.SECKILL_GATE = "db"
