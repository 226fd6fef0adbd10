"""scripts/bench_compare.py: the order of its runs, its arithmetic, and that it reads the
figures the benchmark scripts print (a reworded line would drop a figure silently)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bc():
    spec = importlib.util.spec_from_file_location("bench_compare",
                                                  ROOT / "scripts" / "bench_compare.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_compare"] = module
    spec.loader.exec_module(module)
    return module


def read(bc, bench: str, text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for figure in bc.BENCHES[bench].figures:
        found.update(figure.read(text))
    return found


def test_runs_alternate_abba(bc):
    assert bc.abba(3) == ["old", "new", "new", "old", "old", "new"]


def test_summary_medians_ratios_and_rates(bc):
    ms = bc.Figure("page", "", unit="ms")
    rate = bc.Figure("rows/s", "", unit="rows/s", rate=True)
    owner = {"page": ms, "rows/s": rate, "only new": ms}
    rounds = [
        {"old": {"page": 10.0, "rows/s": 100.0}, "new": {"page": 11.0, "rows/s": 50.0}},
        {"old": {"page": 20.0, "rows/s": 100.0}, "new": {"page": 30.0, "rows/s": 80.0,
                                                          "only new": 1.0}},
        {"old": {"page": 12.0}, "new": {}},                  # a failed new run
    ]
    rows = {r["figure"]: r for r in bc.summarise(rounds, owner)}
    page = rows["page"]
    assert (page["old"], page["new"]) == (12.0, 20.5)
    assert page["ratio"] == pytest.approx(20.5 / 12.0)
    assert page["round_ratios"] == pytest.approx([1.1, 1.5])   # rounds with both sides only
    # A rate that halves is twice as slow: the ratio reads "slower" above 1 either way.
    assert rows["rows/s"]["ratio"] == pytest.approx(100.0 / 65.0)
    assert rows["rows/s"]["round_ratios"] == pytest.approx([2.0, 1.25])
    assert rows["only new"]["ratio"] is None and rows["only new"]["new"] == 1.0


QUEUE = """\
reference: plain indexed SELECT of 50 rows: 0.46 ms (median of 3)

first page of the queue (50 rows):
  Tue 15:00 UTC (Americas morning, Europe afternoon):   17.78 ms  ( 38.5x reference)  50 rows, \
reasons: callback, recovery, thank_you
  Sat 16:00 UTC (Saturday hours):   35.25 ms  ( 76.3x reference)  50 rows, reasons: callback

first page with each reason ranked first (Tue 15:00 UTC):
  callback        16.72 ms  ( 36.2x reference)  1 of 50 rows for this reason
  never_called    30.64 ms  ( 66.3x reference)  50 of 50 rows for this reason

next (claim the top customer, a write transaction):
  claim_next:    0.79 ms  (  1.7x reference)  last: C0002960

explain a random customer:    0.20 ms  (  0.4x reference)
  e.g. C0002474: callable now / A-tier care call 6 days overdue

Sunday 17:00 UTC: queue 0.24 ms (0 rows); next ones open at Sun 22:00 UTC, found in 3.67 ms
"""

TUI = """\
median of 10 calls            core alone     in the app    ratio
  queue page / app start          1542.5 ms      2077.1 ms     1.3x
  take next customer                30.3 ms      6475.3 ms   213.7x
"""

CLI = """\
  python -c pass                       CPU    27.2 ms   wall    30.1 ms
  carecall --help                      CPU    33.8 ms   wall   119.5 ms
  carecall --version                   CPU    33.0 ms   wall   100.0 ms
  carecall queue --limit 50 --json     CPU   251.2 ms   wall   861.8 ms
"""


def test_reads_queue_tui_and_cli_figures(bc):
    assert read(bc, "bench_queue", QUEUE) == {
        "reference SELECT 50": 0.46, "page Tue 15:00 UTC": 17.78, "page Sat 16:00 UTC": 35.25,
        "page callback first": 16.72, "page never_called first": 30.64, "claim_next": 0.79,
        "explain": 0.20, "Sunday 17:00 UTC queue": 0.24, "Sunday 17:00 UTC next opening": 3.67}
    assert read(bc, "bench_tui", TUI) == {
        "queue page / app start (core)": 1542.5, "queue page / app start (app)": 2077.1,
        "take next customer (core)": 30.3, "take next customer (app)": 6475.3}
    # --version is left out: the old revision had none.
    assert read(bc, "bench_cli", CLI) == {
        "python -c pass (cpu)": 27.2, "carecall --help (cpu)": 33.8,
        "carecall --help (wall)": 119.5, "carecall queue --limit 50 --json (cpu)": 251.2,
        "carecall queue --limit 50 --json (wall)": 861.8}


@pytest.mark.parametrize("bench, args", [
    ("bench_survey", ["--rounds", "2"]),
    ("bench_phones", ["--numbers", "200"]),
    ("bench_planner", ["--customers", "500"]),
])
def test_reads_every_figure_the_script_prints_now(bc, bench, args):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / f"{bench}.py"), *args],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    for figure in bc.BENCHES[bench].figures:
        assert figure.read(out), f"{figure.name} not found in:\n{out}"


def test_markdown_table_for_the_docs(bc):
    result = {"bench": "bench_survey:cpu", "args": ["--rounds", "300"], "loads": [6.0, 9.0],
              "figures": [
                  {"figure": "tomllib.loads", "reference": True, "ratio": 1.01, "old": 0.7,
                   "new": 0.707, "unit": "ms", "round_ratios": [0.98, 1.04]},
                  {"figure": "only new", "reference": False, "ratio": None, "old": None,
                   "new": 1.0, "unit": "ms", "round_ratios": []}]}
    text = bc.markdown([result], "e5863d6", "main")
    assert "**bench_survey:cpu** --rounds 300 — load 6.0-9.0 (median 7.5)" in text
    assert "| tomllib.loads (ref) | 0.7 ms | 0.707 ms | 1.01 | 0.98-1.04 |" in text
    assert "only new" not in text
