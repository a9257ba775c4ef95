from tests.seckill.conftest import _fresh_auth_cache, db_gate, redis_gate  # noqa: F401
