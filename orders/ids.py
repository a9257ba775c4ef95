"""Order ids are time-ordered UUIDs (UUIDv7 layout), made by the application before the order row
exists: the Redis gate hands a 202 answer an id that later becomes the row's primary key."""

import os
import time
import uuid


def new_order_id() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand >> 68 & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)
