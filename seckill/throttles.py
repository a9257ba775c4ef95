"""The per-customer purchase throttle, one Redis round trip per request.

DRF's UserRateThrottle keeps a pickled list of timestamps per customer in the cache (a GET and a
SET per request). With Redis configured this counts in a fixed window instead: INCR and EXPIRE NX
in one pipeline, the same rate setting (`purchase`, THROTTLE_PURCHASE); with the Redis gate on and
the gate not read yet (seckill/soldout.py reads it before the token check), the same round trip
also reads the voucher's gate (meta and stock), which the purchase then uses. A sold-out answer is
given before the throttle: it is neither counted nor refused.
Without Redis (the embedded default) it is DRF's throttle unchanged."""

import time

from django.conf import settings

from config.api import PurchaseThrottle


class FastPurchaseThrottle(PurchaseThrottle):
    def allow_request(self, request, view):
        if not settings.REDIS_URL:
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        from . import gate

        window = int(self.duration)
        self.now = time.time()
        bucket = int(self.now // window)
        self._window_end = (bucket + 1) * window
        pipe = gate.client().pipeline(transaction=False)
        redis_key = f"{settings.SECKILL_KEY_PREFIX}:thr:{key}:{bucket}"
        pipe.incr(redis_key)
        pipe.expire(redis_key, window + 1, nx=True)
        voucher_id = view.kwargs.get("voucher_id") if gate.enabled() else None
        if getattr(request._request, "gate_peek", None) is not None:
            voucher_id = None  # read already, before the token check (seckill/soldout.py)
        if voucher_id is not None:
            # The same round trip reads the sale's gate for the purchase that follows.
            k = gate.keys(voucher_id)
            pipe.hgetall(k.meta)
            pipe.get(k.stock)
        answers = pipe.execute()
        if voucher_id is not None:
            meta, stock = answers[2], answers[3]
            request._request.gate_peek = (meta, None if stock is None else int(stock))
        return answers[0] <= self.num_requests

    def wait(self):
        if not settings.REDIS_URL:
            return super().wait()
        return max(0.0, self._window_end - self.now)
