"""The Grafana dashboard (ops/grafana/parkmarket.json) is what ops/grafana/build.py writes, and it
queries only metrics the product exports."""

import json
import re
import runpy
from pathlib import Path

from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def test_the_dashboard_is_up_to_date_with_its_builder():
    built = runpy.run_path(str(ROOT / "ops/grafana/build.py"))["DASHBOARD"]
    assert json.loads((ROOT / "ops/grafana/parkmarket.json").read_text()) == json.loads(json.dumps(built))


def test_every_queried_metric_is_exported():
    import config.metrics  # noqa: F401  (registers the catalogue)

    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
    exported = {m.name + end for m in REGISTRY.collect() for end in suffixes.get(m.type, [])}
    dashboard = json.loads((ROOT / "ops/grafana/parkmarket.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bparkmarket_[a-z_]+", target["expr"])
    }
    assert queried and queried - exported == set()
