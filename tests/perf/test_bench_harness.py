"""The benchmark harness's own arithmetic and bookkeeping (tests/perf/bench.py), without running it:
what /proc says, the customers' rotation, how slices become figures and ratios. No timing is
asserted; `make bench` itself is not a test."""

from pathlib import Path

import pytest

from tests.perf import bench


def _slice(rps: float, requests: int = 100, seconds: float = 1.0, **extra) -> dict:
    return {"requests": requests, "seconds": seconds, "rps": rps, "statuses": {"200": requests}, **extra}


def test_proc_stat_fields_after_a_command_name_with_spaces_and_parentheses():
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    line = "4242 (gunicorn: (worker) x) S 4200 4200 4200 0 -1 4194560 1 0 0 0 730 41 0 0 20 0 5 0"
    assert bench.parse_stat(line) == (4200, 771)


def test_rss_from_proc_status():
    text = "Name:\tgunicorn\nVmPeak:\t  200000 kB\nVmRSS:\t   97412 kB\nRssAnon:\t 50000 kB\n"
    assert bench.parse_rss_kb(text) == 97412
    assert bench.parse_rss_kb("Name:\tkthreadd\n") is None


def test_machine_busy_counts_idle_and_iowait_as_idle():
    busy, total = bench.parse_proc_stat("cpu  100 5 50 800 45 0 0 0 0 0\ncpu0 1 2 3 4\n")
    assert (busy, total) == (155, 1000)


def test_this_process_is_found_by_its_parent_with_its_memory_and_cpu():
    import os

    assert os.getpid() in bench.children(os.getppid())
    assert bench.rss_kb(os.getpid()) > 1000
    assert bench.cpu_seconds(os.getpid()) > 0


def test_the_procfile_is_read_as_make_run_reads_it():
    commands = bench.procfile_commands((Path(bench.ROOT) / "Procfile").read_text())
    assert set(commands) >= {"web", "worker", "beat"}
    assert "gunicorn" in commands["web"] and "worker" in commands["worker"] and "beat" in commands["beat"]
    assert bench.procfile_commands("# web: nothing\nweb: a b\n\n") == {"web": "a b"}


def test_customers_rotate_through_everyone_before_anyone_comes_back():
    crowd = bench.Customers([f"t{i}" for i in range(5)])
    reads = crowd.picker()
    assert [reads() for _ in range(7)] == ["t0", "t1", "t2", "t3", "t4", "t0", "t1"]
    assert crowd.take_min_gap() is not None
    assert crowd.take_min_gap() is None  # reset by the first call


def test_a_purchase_run_asks_each_customer_once_per_sale_and_then_stops():
    crowd = bench.Customers([f"t{i}" for i in range(4)])
    crowd.picker()()  # t0 read a wallet: the rotation moves on, t0 may still buy
    buys = crowd.picker(once_per="sale")
    assert [buys() for _ in range(3)] == ["t1", "t2", "t3"]
    again = crowd.picker(once_per="sale")  # a later slice of the same run
    assert again() == "t0"
    assert again() is None
    assert crowd.picker(once_per="another sale")() == "t1"


def test_answers_are_counted_by_status_and_error_code():
    body = b'{"error": {"code": "sold_out", "message": "Sold out.", "details": {}}}'
    assert bench.answer_key("", 409, body) == "409 sold_out"
    assert bench.answer_key("purchase", 202, b"{}") == "purchase 202"
    assert bench.answer_key("", 409, b"not json") == "409 ?"


def test_slices_merge_into_one_figure_with_cpu_per_request():
    parts = [
        _slice(100, requests=100, seconds=1.0, web_cpu_s=0.2, _latencies=[1.0] * 98 + [50.0, 60.0]),
        _slice(300, requests=300, seconds=1.0, web_cpu_s=0.4, _latencies=[2.0] * 300),
    ]
    figure = bench.merged(parts)
    assert figure["requests"] == 400 and figure["rps"] == 200.0
    assert figure["web_cpu_ms_per_request"] == 1.5
    assert figure["p50_ms"] == 2.0 and figure["p99_ms"] == 2.0
    assert figure["rounds_rps"] == [100, 300]
    assert "celery_cpu_ms_per_request" not in figure  # no slice measured it


def test_a_ratio_is_the_median_of_the_rounds_ratios():
    a = [_slice(100), _slice(300), _slice(200)]
    b = [_slice(100), _slice(100), _slice(400)]
    assert bench.median_ratio(a, b) == 1.0  # 1.0, 3.0, 0.5
    assert bench.median_ratio([_slice(1)], [_slice(0)]) is None
    with pytest.raises(ValueError):
        bench.median_ratio(a, b[:2])


def test_every_run_is_compared_to_its_phases_wallet_and_no_op_and_db_to_pgbench():
    runs = {name: [_slice(100), _slice(100)] for w, o, others in bench.PHASES.values() for name in (w, o, *others)}
    runs["db"] = [_slice(60), _slice(80)]
    runs["pgbench"] = [_slice(100), _slice(200)]
    ratios, targets = bench.compute_ratios(runs)
    assert ratios["db"] == {"wallet": 0.7, "noop": 0.7, "pgbench": 0.5}
    assert ratios["redis_live"] == {"wallet": 1.0, "noop": 1.0}
    assert targets["redis"] == {"wallet": 1.5} and targets["db"] == {"wallet": 0.6, "pgbench": 0.6}
    runs["pgbench"] = [{**_slice(0), "statuses": {"error": 1}}] * 2  # pgbench failed: no ratio, no crash
    assert bench.compute_ratios(runs)[0]["db"]["pgbench"] is None


def test_memory_table_keeps_a_process_that_appears_late():
    table = bench.memory_table(
        [
            ("0", [{"role": "gunicorn worker", "pid": 10, "rss_kb": 1000}]),
            ("20k", [{"role": "gunicorn worker", "pid": 10, "rss_kb": 1500}, {"role": "x", "pid": 11, "rss_kb": 9}]),
        ]
    )
    assert table["points"] == ["0", "20k"]
    assert table["processes"] == [
        {"role": "gunicorn worker", "pid": 10, "rss_kb": [1000, 1500]},
        {"role": "x", "pid": 11, "rss_kb": [None, 9]},
    ]


def test_the_tables_name_every_run_ratio_target_and_failed_audit():
    runs = {name: [_slice(100), _slice(100)] for w, o, others in bench.PHASES.values() for name in (w, o, *others)}
    ratios, targets = bench.compute_ratios(runs)
    results = {name: bench.merged(parts) for name, parts in runs.items()}
    results["redis"].update(intake_drain={"seconds": 2.0, "seconds_from_first": 1.0}, intake_orders_per_second=200)
    results["redis_live"]["orders_written_per_second"] = 150.0
    results["stampede"] = bench.merged([_slice(500)])
    report = {
        "quick": True,
        "customers": 40000,
        "token_memory_seconds": 30,
        "results": results,
        "ratios": ratios,
        "targets": targets,
        "rounds": 2,
        "slice_seconds": 1.0,
        "loadavg_start": (0.1, 0.1, 0.1),
        "loadavg_end": (1.0, 1.0, 1.0),
        "cpus": 2,
        "memory": bench.memory_table([("0", [{"role": "celery beat", "pid": 7, "rss_kb": 2048}])]),
        "stampede": {"requests": 100000},
        "audits": {"redis": {"ok": True}, "stampede": {"ok": False}},
        "pgbench_error": None,
    }
    text = bench.render(report)
    assert "QUICK SMOKE RUN" in text and "MACHINE BUSY" not in text
    for name in ("wallet_live", "soldout_db", "pgbench", "stampede", "celery beat"):
        assert name in text
    assert "≥ 1.5" in text and "≥ 0.6" in text
    assert "audit stampede    FAIL" in text
    assert "MACHINE BUSY" in bench.render({**report, "loadavg_start": (3.5, 2.0, 1.0)})
