"""What the request-id and metrics middleware cost per request: /healthz answered in-process by
Django's test client, with and without them, best of three rounds. Not a test; prints one line.

    mkdir -p /tmp/pm-prom && PROMETHEUS_MULTIPROC_DIR=/tmp/pm-prom ALLOWED_HOSTS=testserver \\
        .venv/bin/python tests/perf/middleware_cost.py
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

N = 3000
OURS = ("config.middleware.RequestIdMiddleware", "config.middleware.RequestMetricsMiddleware")


def per_request_us() -> float:
    client = Client()
    for _ in range(200):
        client.get("/healthz")
    started = time.perf_counter()
    for _ in range(N):
        client.get("/healthz")
    return (time.perf_counter() - started) / N * 1e6


def main() -> None:
    full = list(settings.MIDDLEWARE)
    bare = [m for m in full if m not in OURS]
    with_, without = [], []
    for _ in range(3):
        with override_settings(MIDDLEWARE=full):
            with_.append(per_request_us())
        with override_settings(MIDDLEWARE=bare):
            without.append(per_request_us())
    mode = "multiprocess files" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "in-process registry"
    print(
        f"per request ({mode}): with {min(with_):.0f} us, without {min(without):.0f} us, "
        f"cost {min(with_) - min(without):.0f} us (best of 3 x {N})"
    )


if __name__ == "__main__":
    main()
