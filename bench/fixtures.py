"""pytest plugin benchmark: what the fixtures cost a test (process runtime, its own temporary homes).

A generated test file runs in-process under ``pytest.main`` with the fake-azure plugin (pytest11 entry
point); a small plugin here collects each test's setup/call/teardown durations from its reports.
(a) ``aml_workspace`` overhead without a deploy: setup + teardown of BENCH_WS_TESTS trivial tests
    (the first one, which starts the session's daemon, is left out). Target: p50 < 20 ms.
(b) A test that deploys a trivial service with ``aml_service`` (default cluster, placeholder model),
    scores once and tears everything down: setup + call + teardown, BENCH_DEPLOY_TESTS times (the
    first also builds/caches the environment and is reported apart). Target: p50 < 2 s.
(c) ``ml_client`` (SDK v2) overhead: setup + teardown of BENCH_WS_TESTS trivial tests using it (the first
    one, which also imports azure.ai.ml, is left out and reported apart). Target: p50 < 100 ms.
Results: bench/results/fixtures.json. Run: .venv/bin/python bench/fixtures.py"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
WS_TESTS = int(os.environ.get("BENCH_WS_TESTS", "50"))
DEPLOY_TESTS = int(os.environ.get("BENCH_DEPLOY_TESTS", "6"))
TARGET_WS_P50_MS = 20.0
TARGET_DEPLOY_P50_S = 2.0
TARGET_ML_CLIENT_P50_MS = 100.0

TEST_FILE = '''
import json

import pytest


@pytest.mark.parametrize("i", range({ws_tests}))
def test_ws(aml_workspace, i):
    assert aml_workspace.name


@pytest.mark.parametrize("i", range({ws_tests}))
def test_ml_client(ml_client, i):
    assert ml_client.workspace_name


@pytest.mark.parametrize("i", range({deploy_tests}))
def test_deploy(aml_workspace, aml_service, i):
    service = aml_service("score.py")
    assert service.run(json.dumps({{"data": [i]}})) == {{"echo": [i]}}
'''

SCORE_PY = '''\
import json


def init():
    pass


def run(raw_data):
    return {"echo": json.loads(raw_data)["data"]}
'''


class Durations:
    def __init__(self) -> None:
        self.by_test: dict[str, dict[str, float]] = {}
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.by_test.setdefault(report.nodeid, {})[report.when] = report.duration
        if report.failed or report.when == "call":
            self.outcomes[report.nodeid] = report.outcome if report.failed or report.when == "call" else "?"


def p50(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fake-azure-bench-fixtures-") as tmp:
        work = Path(tmp)
        (work / "score.py").write_text(SCORE_PY)
        (work / "test_bench.py").write_text(TEST_FILE.format(ws_tests=WS_TESTS + 1, deploy_tests=DEPLOY_TESTS))
        durations = Durations()
        previous = os.getcwd()
        os.chdir(work)
        started = time.monotonic()
        try:
            code = pytest.main(["-q", "-p", "no:cacheprovider", f"--basetemp={work / 'bt'}", "-W",
                                "ignore::DeprecationWarning", "--fake-azure-runtime=process", "test_bench.py"],
                               plugins=[durations])
        finally:
            os.chdir(previous)
        wall = time.monotonic() - started
    if code != 0:
        print(f"bench/fixtures.py: the generated suite failed (exit {code})", file=sys.stderr)
        return 1
    ws = [d for nodeid, d in durations.by_test.items() if "test_ws[" in nodeid]
    first_ws, ws = ws[0], ws[1:]
    ws_ms = [1000 * (d["setup"] + d["teardown"]) for d in ws]
    ml = [d for nodeid, d in durations.by_test.items() if "test_ml_client[" in nodeid]
    first_ml, ml = ml[0], ml[1:]
    ml_ms = [1000 * (d["setup"] + d["teardown"]) for d in ml]
    deploys = [d for nodeid, d in durations.by_test.items() if "test_deploy[" in nodeid]
    deploy_s = [d["setup"] + d["call"] + d["teardown"] for d in deploys]
    warm = deploy_s[1:] or deploy_s
    teardown_s = [d["teardown"] for d in deploys[1:] or deploys]
    results: dict[str, Any] = {
        "aml_workspace_overhead_ms": {
            "p50": round(p50(ws_ms), 2), "p90": round(sorted(ws_ms)[int(0.9 * (len(ws_ms) - 1))], 2),
            "max": round(max(ws_ms), 2), "n": len(ws_ms), "target_p50_ms": TARGET_WS_P50_MS,
            "met": p50(ws_ms) < TARGET_WS_P50_MS,
            "session_start_s (first test: daemon start)": round(first_ws["setup"], 3),
        },
        "ml_client_overhead_ms": {
            "p50": round(p50(ml_ms), 2), "p90": round(sorted(ml_ms)[int(0.9 * (len(ml_ms) - 1))], 2),
            "max": round(max(ml_ms), 2), "n": len(ml_ms),
            "setup_p50": round(p50([1000 * d["setup"] for d in ml]), 2),
            "teardown_p50": round(p50([1000 * d["teardown"] for d in ml]), 2),
            "target_p50_ms": TARGET_ML_CLIENT_P50_MS, "met": p50(ml_ms) < TARGET_ML_CLIENT_P50_MS,
            "first_ms (azure.ai.ml imported)": round(1000 * (first_ml["setup"] + first_ml["teardown"]), 2),
        },
        "deploy_score_teardown_s": {
            "p50": round(p50(warm), 3), "max": round(max(warm), 3), "n": len(warm),
            "first (environment cache cold for this home)": round(deploy_s[0], 3),
            "teardown_p50": round(p50(teardown_s), 3),
            "target_p50_s": TARGET_DEPLOY_P50_S, "met": p50(warm) < TARGET_DEPLOY_P50_S,
        },
        "suite_wall_s": round(wall, 2),
        "runtime": "process",
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    out = ROOT / "bench" / "results" / "fixtures.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    w, m, d = (results["aml_workspace_overhead_ms"], results["ml_client_overhead_ms"],
               results["deploy_score_teardown_s"])
    print(f"aml_workspace overhead (setup+teardown, no deploy): p50 {w['p50']} ms, p90 {w['p90']} ms over "
          f"{w['n']} tests (target < {TARGET_WS_P50_MS} ms: {'met' if w['met'] else 'MISSED'})")
    print(f"ml_client overhead (setup+teardown): p50 {m['p50']} ms (setup {m['setup_p50']}, teardown "
          f"{m['teardown_p50']}), p90 {m['p90']} ms over {m['n']} tests, first {m['first_ms (azure.ai.ml imported)']} "
          f"ms (target < {TARGET_ML_CLIENT_P50_MS} ms: {'met' if m['met'] else 'MISSED'})")
    first = d["first (environment cache cold for this home)"]
    print(f"deploy + score once + teardown: p50 {d['p50']} s over {d['n']} tests, first {first} s "
          f"(target < {TARGET_DEPLOY_P50_S} s: {'met' if d['met'] else 'MISSED'})")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
