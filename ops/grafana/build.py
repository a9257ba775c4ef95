"""Writes ops/grafana/parkmarket.json, the Grafana dashboard of the product's metrics (config/metrics.py).
Run `python ops/grafana/build.py` after changing a panel; the JSON is what Grafana imports."""

import json
from pathlib import Path

DS = {"type": "prometheus", "uid": "${datasource}"}


def panel(pid, title, exprs, *, x, y, w=12, h=8, kind="timeseries", unit="short", description=""):
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right"}} if kind == "timeseries" else {},
        "targets": [
            {"refId": chr(65 + i), "datasource": DS, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(exprs)
        ],
    }


def q(histogram, quantile, by="le"):
    return f"histogram_quantile({quantile}, sum by ({by}) (rate({histogram}_bucket[$__rate_interval])))"


PANELS = [
    # Row 1: is a sale going well right now?
    panel(
        1,
        "Purchases by outcome (per second)",
        [("sum by (outcome) (rate(parkmarket_purchases_total[$__rate_interval]))", "{{outcome}}")],
        x=0,
        y=0,
        unit="reqps",
        description="accepted: the Redis gate took a unit (202); written: the order row committed; sold_out, "
        "limit, refused: answered without a sale; failed: accepted but the database refused it or the intake gave up.",
    ),
    panel(
        2,
        "Intake: pending entries and lag",
        [
            ("max(parkmarket_seckill_gate_pending_entries)", "pending entries"),
            ("max(parkmarket_seckill_gate_oldest_pending_seconds)", "oldest pending (s)"),
            (q("parkmarket_seckill_intake_lag_seconds", 0.5), "lag p50 (s)"),
            (q("parkmarket_seckill_intake_lag_seconds", 0.99), "lag p99 (s)"),
        ],
        x=12,
        y=0,
        description="Orders accepted by the Redis gate and not written yet (seen each minute by the reconciliation), "
        "and the time from acceptance to the row committed.",
    ),
    panel(
        3,
        "Oversell alerts (must stay 0)",
        [("sum(increase(parkmarket_seckill_oversell_alerts_total[24h]))", "")],
        x=0,
        y=8,
        w=4,
        h=5,
        kind="stat",
    ),
    panel(
        4,
        "Gate repairs (24 h)",
        [("sum(increase(parkmarket_seckill_gate_repairs_total[24h]))", "")],
        x=4,
        y=8,
        w=4,
        h=5,
        kind="stat",
    ),
    panel(
        5,
        "Money mismatches (last reconciliation)",
        [("max(parkmarket_money_reconciliation_mismatches)", "")],
        x=8,
        y=8,
        w=4,
        h=5,
        kind="stat",
    ),
    panel(
        6,
        "Server errors (5xx share)",
        [
            (
                'sum(rate(parkmarket_http_requests_total{status=~"5.."}[$__rate_interval])) '
                "/ sum(rate(parkmarket_http_requests_total[$__rate_interval]))",
                "",
            )
        ],
        x=12,
        y=8,
        w=6,
        h=5,
        kind="stat",
        unit="percentunit",
    ),
    panel(
        7,
        "Order expiries (per minute)",
        [("sum(rate(parkmarket_order_expiries_total[$__rate_interval])) * 60", "")],
        x=18,
        y=8,
        w=6,
        h=5,
        kind="stat",
    ),
    # Row 2: HTTP
    panel(
        8,
        "Requests per second by status",
        [("sum by (status) (rate(parkmarket_http_requests_total[$__rate_interval]))", "{{status}}")],
        x=0,
        y=13,
        unit="reqps",
    ),
    panel(
        9,
        "Latency p99 by view (top 10)",
        [("topk(10, " + q("parkmarket_http_request_duration_seconds", 0.99, by="le, view") + ")", "{{view}}")],
        x=12,
        y=13,
        unit="s",
    ),
    # Row 3: money
    panel(
        10,
        "Wallet money moved (per minute, minor units)",
        [
            ("sum by (kind) (rate(parkmarket_wallet_credited_minor_units_total[$__rate_interval])) * 60", "+ {{kind}}"),
            ("-sum by (kind) (rate(parkmarket_wallet_debited_minor_units_total[$__rate_interval])) * 60", "- {{kind}}"),
        ],
        x=0,
        y=21,
    ),
    panel(
        11,
        "Parking auto-debits by outcome (per minute)",
        [("sum by (outcome) (rate(parkmarket_parking_autodebits_total[$__rate_interval])) * 60", "{{outcome}}")],
        x=12,
        y=21,
    ),
    # Row 4: Celery
    panel(
        12,
        "Celery task runs by state (per second)",
        [("sum by (task, state) (rate(parkmarket_celery_tasks_total[$__rate_interval]))", "{{task}} {{state}}")],
        x=0,
        y=29,
        unit="ops",
    ),
    panel(
        13,
        "Celery task duration p95",
        [(q("parkmarket_celery_task_duration_seconds", 0.95, by="le, task"), "{{task}}")],
        x=12,
        y=29,
        unit="s",
    ),
]

DASHBOARD = {
    "title": "ParkMarket",
    "uid": "parkmarket",
    "description": "Flash sales, intake, money and tasks (metrics of config/metrics.py). README: Operating it.",
    "tags": ["parkmarket"],
    "timezone": "browser",
    "schemaVersion": 39,
    "version": 1,
    "refresh": "10s",
    "time": {"from": "now-30m", "to": "now"},
    "templating": {
        "list": [
            {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus", "current": {}}
        ]
    },
    "panels": PANELS,
}

if __name__ == "__main__":
    out = Path(__file__).with_name("parkmarket.json")
    out.write_text(json.dumps(DASHBOARD, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
