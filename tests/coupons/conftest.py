from tests.seckill.conftest import _fresh_voucher_memory, db_gate, redis_gate  # noqa: F401
