"""Benchmark the survey side: validating a script and walking a call through it.

Prints per-operation times and the ratio against a reference measured in the same
process (parsing the same TOML text with tomllib alone), so the figures compare across
machines. The TUI loads a script at the start of every call and calls the engine on every
keystroke that answers, so both must stay far below what a person can notice (~50 ms).

    python scripts/bench_survey.py [--rounds N]
"""

from __future__ import annotations

import argparse
import time
import tomllib
from datetime import UTC, date, datetime

from calls.models import Customer
from calls.survey import SurveySession, load_script, parse_script
from calls.survey.script import check_script_text, read_script_source

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
CUSTOMER = Customer(id=1, ref="C1", name="Ada Lovelace", company="Engines Ltd", owner="Dana",
                    tier="A", customer_since=date(2015, 5, 1), last_purchase=date(2026, 2, 1))
DETRACTOR = {"nps": "3", "going_well": None, "improve": "late deliveries", "problem_area": "1",
             "last_order_csat": "2", "contact_ok": "y", "need": "y", "need_detail": "racks",
             "send_info": "y", "info_topic": "price list", "anything_else": None}


def _time(fn, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds


def walk(script) -> None:
    s = SurveySession(script, CUSTOMER, "Sam", now=NOW)
    while (q := s.current()) is not None:
        raw = DETRACTOR[q.key]
        if raw is None:
            s.skip()
        else:
            s.answer(q.key, raw)
        s.path()
    s.go_to("nps")
    s.answer("nps", "10")                     # back-and-change re-runs the branching
    s.finish(NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds
    text, source = read_script_source("quarterly")
    script = load_script("quarterly")

    reference = _time(lambda: tomllib.loads(text), rounds)
    # check_script_text parses and validates every time; parse_script keeps the Script of
    # a text it has seen (what every call after the first pays): both are printed.
    validate = _time(lambda: check_script_text(text, source), rounds)
    again = _time(lambda: parse_script(text, source), rounds)
    call = _time(lambda: walk(script), rounds)
    steps = len(DETRACTOR) + 2

    print(f"reference: tomllib.loads of quarterly.toml  {reference * 1e3:8.3f} ms")
    print(f"load + validate quarterly                   {validate * 1e3:8.3f} ms  "
          f"({validate / reference:5.1f} x reference)")
    print(f"parse_script again (a text seen before)     {again * 1e3:8.3f} ms")
    print(f"one detractor call ({steps} answers, path after each,"
          f" back-and-change, finish)")
    print(f"                                            {call * 1e3:8.3f} ms  "
          f"({call / reference:5.1f} x reference), {call / steps * 1e3:.3f} ms per answer")


if __name__ == "__main__":
    main()
