import os

from django.conf import settings
from django.core.management.base import BaseCommand

from .seed_demo import ADMIN, CUSTOMER, OPERATOR


class Command(BaseCommand):
    help = "Print where the running product answers and the demo logins."

    def handle(self, *args, **options):
        base = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
        mode = "PostgreSQL" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "SQLite (embedded)"
        broker = "Redis" if settings.REDIS_URL else "local filesystem transport"
        metrics = "Bearer $METRICS_TOKEN" if settings.METRICS_TOKEN else "off: set METRICS_TOKEN to turn it on"
        lines = [
            "",
            "=" * 64,
            f"  ParkMarket  ({mode}; Celery on {broker}; seckill gate: {settings.SECKILL_GATE})",
            f"  Pages      {base}/",
            f"  Admin      {base}/admin/",
            f"  API docs   {base}/api/v1/docs/   schema: {base}/api/v1/schema/",
            f"  Health     {base}/healthz   ready: {base}/readyz",
            f"  Metrics    {base}/metrics ({metrics})",
            f"  Operator   {OPERATOR[0]} / {OPERATOR[1]}",
            f"  Driver     {CUSTOMER[0]} / {CUSTOMER[1]}",
            f"  Superuser  {ADMIN[0]} / {ADMIN[1]}",
            "=" * 64,
            "",
        ]
        self.stdout.write("\n".join(lines))
