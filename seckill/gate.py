"""The Redis gate in front of the database (Lua script, buyer sets, intake hand-off)."""

import uuid


def gate_release(*, voucher_id: int, user_id: int, order_id: uuid.UUID) -> None:
    """Give a unit and the buyer's slot back to the Redis gate after a cancel, expiry or refund."""
    return None
