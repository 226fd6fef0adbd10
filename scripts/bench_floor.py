"""A simulated call floor: many seats work one database through the core call session.

Each run copies a prepared database (the queue benchmark's generator, 100,000 customers
by default; built once in bench-out/) and starts:

- caller processes, each hosting ``--seats-per-proc`` seats (50), each seat with its own
  connection, run as ``carecall shift`` runs (``checkpoint_in_background()``). With
  ``--shape loop`` (the default) a process runs its seats' steps one at a time in one
  thread, each when it is due, as a server's event loop would; with ``--shape threads``
  each seat has a thread (switch interval 1 ms). A seat does what a caller
  does, through ``calls.session.CallSession`` only: take the next customer, dial, connect
  (4 in 5) or an outcome for nobody answering, eight answers (each written at once), a
  note, an outcome (kept at once), now and then a follow-up by hand or a callback, the
  wrap-up (one transaction), next. Between steps a seat waits a compressed human pause
  (``--speed``: 20 means a step every 0.75 s per seat instead of 15 s);
- one supervisor process refreshing the dashboard (``calls.reports.build_dashboard``)
  every ``--dashboard-every`` seconds;
- one import process importing a list of ``--import-rows`` new customers (staged, merged
  in chunks, re-tiered), again ``--import-pause`` seconds after each one ends.

The latency of a step is what a caller feels: from the moment the step was due (a step
that started late because its process was busy counts its lag) to the end of the core
call; printed with the core call alone and its parts: the CPU time the step's own thread
used, and the time it waited for the write lock. The shift's start (``--warmup``, two
pauses: every seat takes its first customer) is reported apart. The load is stated
beside every run: the load average, the machine's busy share during the run, and the
share the simulator's own processes used (the rest is other work on the machine).

It prints per-step p50/p99 latency, calls per second, and three counts that must be 0:
customers handed to two seats at once, writes lost (a call or answer a seat was told was
saved and the database does not hold) and "database is locked" errors reaching a caller.
The reference in the same run: the same core steps by one seat alone on the same data;
each step's p50 and p99 are also given as a multiple of the reference's median.

    python scripts/bench_floor.py [--seats 50,100,200,400] [--seats-per-proc 50]
                                  [--shape loop|threads] [--seconds 30] [--speed 20]
                                  [--warmup S] [--customers 100000] [--import-rows 20000]
                                  [--import-pause 5] [--reference-calls 30] [--rebuild]
                                  [--flow steps|app]

``--flow app`` works the calls as the shift's screens do: the wrap-up screen reads the next
customer ahead while it shows (``read_ahead`` in the table: no caller waits for it), and
Enter wraps up and takes them as one step (the ``wrap_up`` row is then "wrap-up Enter ->
next customer"). ``--seats 0`` runs the reference alone (``--reference-calls 300``: a lone seat's steps and
write-lock holds, with the CPU used while holding the lock, to compare two trees).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import faulthandler
import gc
import heapq
import importlib.util
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Self

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from calls.errors import UserError
from calls.lawful import check_voicemail
from calls.outcomes import Outcome
from calls.policy import DEFAULT_POLICY
from calls.session import CallSession
from calls.store import Store, checkpoint_in_background, is_locked_error
from calls.survey import AnswerError
from calls.survey.types import question_type

OUT = HERE.parent / "bench-out"
STEPS = ("take", "connect", "answer", "note", "outcome", "followup", "wrap_up", "read_ahead")
# Work no caller waits for (``--flow app``: the wrap-up screen reads the next customer in
# the background while the caller reads it): in the table, never the "worst felt" step.
UNFELT = ("read_ahead",)
HUMAN_STEP_SECONDS = 15.0   # a caller's step every ~15 s: a 3-4 minute call of ~14 steps
STALL_SECONDS = 2.0         # a step this late: its process's stacks are kept (loop shape)
# Every process schedules and times on the monotonic clock: one clock for the whole
# machine (Linux), which a step of the wall clock does not move.
_now = time.monotonic

# Time this thread spent waiting for the write lock (Store._begin_immediate), so that a
# step's wall time can be split into its own CPU, lock waits and waiting for a CPU.
_waits = threading.local()


def _measure_lock_waits() -> None:
    """Wrap ``Store._begin_immediate`` to add its duration to this thread's total."""
    begin = Store._begin_immediate

    def timed(self):
        t0 = time.perf_counter()
        try:
            return begin(self)
        finally:
            _waits.total = getattr(_waits, "total", 0.0) + time.perf_counter() - t0

    Store._begin_immediate = timed


def _thread_switches() -> tuple[int, int, int]:
    """This thread's (voluntary, involuntary) context switches and major page faults so
    far (Linux ``RUSAGE_THREAD``; zeros elsewhere)."""
    who = getattr(resource, "RUSAGE_THREAD", None)
    if who is None:
        return 0, 0, 0
    usage = resource.getrusage(who)
    return usage.ru_nvcsw, usage.ru_nivcsw, usage.ru_majflt


def _measure_lock_holds(holds: list, label: bool = False) -> None:
    """Wrap ``Store.write`` to record how long each outermost transaction held the lock
    (from ``BEGIN IMMEDIATE`` to the end of ``COMMIT``); ``label``: with the name of the
    function that opened it, the CPU its thread used meanwhile, when it began (monotonic)
    and what its thread waited for meanwhile, as ``(seconds, name, cpu seconds, began,
    voluntary switches, involuntary switches, major faults)``: a hold much longer than its
    CPU waited, for the disk or a lock (voluntary switches) or for a CPU (involuntary)."""
    write = Store.write

    @contextlib.contextmanager
    def timed(self):
        outer = not (self._write_depth or self.db.conn.in_transaction)
        locked_at = 0.0
        with write(self) as db:
            if outer:
                # While this connection holds the write lock: no other transaction
                # commits between this moment and its own, so such moments order the
                # floor's claims and releases exactly (see Seat.locked_at). The hold is
                # said to begin at this same moment (one reading of the clock: a thread
                # that lost its CPU between two readings made them ms apart).
                locked_at = self.floor_locked_at = _now()
                self.floor_locks = [*getattr(self, "floor_locks", ())[-15:], locked_at]
            t0 = time.perf_counter()
            c0 = time.thread_time()
            s0 = _thread_switches() if label else None
            yield db
        if outer:
            held = time.perf_counter() - t0
            if label:
                s1 = _thread_switches()
                holds.append((held, sys._getframe(2).f_code.co_name,
                              time.thread_time() - c0, locked_at,
                              *(b - a for a, b in zip(s0, s1))))
            else:
                holds.append(held)

    Store.write = timed


class MachineWatch:
    """Pauses of the whole machine and steps of its wall clock during a run, seen by a
    thread of the parent process that does nothing else but tick every ``every`` s.

    The parent idles while the floor runs, so a tick that comes more than ``threshold``
    seconds late means no process ran: the (virtual) machine itself was stopped, e.g. while
    its host took a snapshot of it (Linux logs "crng reseeded due to virtual machine fork"
    when such a machine resumes). Every step due meanwhile counts the pause as its lag:
    that is the machine, not carecall, so ``touches`` tells which steps to leave out of the
    table (they are counted and shown apart). A wall clock that moves apart from the
    monotonic one was stepped (the figures, on the monotonic clock, do not move with it)."""

    def __init__(self, every: float = 0.02, threshold: float = 1.0):
        self.every, self.threshold = every, threshold
        self.pauses: list[tuple[float, float]] = []        # (from, to), monotonic seconds
        self.clock_steps: list[tuple[float, float]] = []   # (when, seconds stepped)
        self._last: tuple[float, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tick(self, mono: float, wall: float) -> None:
        """One look at both clocks."""
        if self._last is not None:
            mono0, wall0 = self._last
            if mono - mono0 > self.threshold:
                self.pauses.append((mono0, mono))
            stepped = (wall - wall0) - (mono - mono0)
            if abs(stepped) > self.threshold:
                self.clock_steps.append((mono, stepped))
        self._last = (mono, wall)

    def touches(self, due: float, felt: float) -> bool:
        """Whether a step due at ``due`` that took ``felt`` seconds overlaps a pause."""
        return any(due <= end and due + felt >= begin for begin, end in self.pauses)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.tick(time.monotonic(), time.time())

    def __enter__(self) -> Self:
        self.tick(time.monotonic(), time.time())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _bench_queue():
    spec = importlib.util.spec_from_file_location("bench_queue", HERE / "bench_queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answer_for(question, rng: random.Random):
    """A plausible answer a customer gives, as a caller would type it."""
    unit = question_type(question.type)
    if unit.pad == "scale" and unit.scale:
        low, high = unit.scale
        return str(rng.choice(range(low, high + 1)))
    if unit.pad == "yes_no":
        return rng.choice(["y", "n"])
    if unit.pad == "choice":
        return str(rng.randint(1, len(question.options)))
    if question.type == "number":
        return str(rng.randint(int(question.min or 0), int(question.max or 100)))
    if question.type == "date":
        return "2026-04-01"
    return rng.choice(["fine", "quick delivery", "price went up", "nothing", "the new range"])


def _new_log() -> dict:
    """A seat's record. ``steps``: per step, ``(due, felt, core, cpu, lock wait)`` in
    seconds (``due`` on the monotonic clock); ``lag``: ``(due, late)``; ``start``: the
    shift's start, ``(due, felt)``."""
    return {"steps": {s: [] for s in STEPS}, "locked": 0, "errors": [], "taken": [],
            "released": [], "calls": [], "answers": 0, "empty": 0, "abandoned": 0, "lag": [],
            "start": []}


class Seat:
    """One caller working calls through the session, one step per ``step()``."""

    def __init__(self, name: str, db: Path, clock, rng: random.Random, log: dict,
                 flow: str = "steps"):
        self.name = name
        # "steps": a take is a step of its own after the wrap-up; "app": as the shift's
        # screens do it, the wrap-up screen reads the next customer ahead while it shows
        # (CallSession.read_next) and Enter wraps up and takes them as one step
        # (CallSession.wrap_up_and_take_next with that reading).
        self.flow = flow
        self.ahead = None
        self.store = Store.open(db)
        self.clock = clock
        self.rng = rng
        self.log = log
        self.session: CallSession | None = None
        self.plan: list[str] = []
        # How late this step started (its process was busy with other seats' steps, or
        # the thread waited for a CPU): the caller waits for it too.
        self.late = 0.0
        # False during the shift's start (every seat takes its first customer within one
        # pause): those steps are counted apart, in log["start"].
        self.counting = True

    def _timed(self, step: str, fn, *args, **kwargs):
        _waits.total = 0.0
        c0 = time.thread_time()
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if is_locked_error(exc):
                self.log["locked"] += 1
            else:
                self.log["errors"].append(f"{step}: {type(exc).__name__}: {exc}")
            raise
        finally:
            wall = time.perf_counter() - t0
            due = _now() - wall - self.late
            if not self.counting:
                self.log["start"].append((due, self.late + wall))
            else:
                self.log["steps"][step].append((due, self.late + wall, wall,
                                                time.thread_time() - c0, _waits.total))

    def step(self) -> None:
        """The next thing this caller does."""
        now = self.clock()
        try:
            if self.session is None:
                self._take(now)
            else:
                self._next(now)
        except Exception:  # noqa: BLE001 - logged in _timed; drop the call, take another
            if self.session is not None and self.session.call_id is not None \
                    and not self.session.ended:
                self.log["abandoned"] += 1
            self.session = None

    def _take(self, now) -> None:
        session = self._timed("take", CallSession.take_next, self.store, self.name, now,
                              DEFAULT_POLICY, "quarterly")
        if session is None:
            self.log["empty"] += 1
            return
        self._begin(session, self.locked_at())

    def _begin(self, session: CallSession, taken_at: float) -> None:
        """The call with ``session``'s customer, claimed at ``taken_at``: what the caller
        will do in it."""
        self.session = session
        self.log["taken"].append((session.customer.id, self.name, taken_at))
        connect = self.rng.random() < 0.8
        self.plan = ["connect", *["answer"] * 8, "note"] if connect else ["no_contact"]
        if connect and self.rng.random() < 0.1:
            self.plan.append("followup")
        self.plan.append("outcome")
        self.plan.append("wrap_up")

    def _next(self, now) -> None:
        s = self.session
        action = self.plan.pop(0)
        if action == "connect":
            self._timed("connect", s.connect, self.store, now)
        elif action == "answer":
            question = s.current()
            if question is None:
                return
            value = _answer_for(question, self.rng)
            try:
                change = s.answer(question.key, value)
            except AnswerError:
                change = s.skip(question.key) if not question.required else None
            if change is not None:
                self._timed("answer", s.save, self.store, change, now)
                self.log["answers"] += 1
        elif action == "note":
            self._timed("note", s.save_notes, self.store, "customer in a good mood", now)
        elif action == "followup":
            self._timed("followup", s.add_followup, self.store, "send_info", now,
                        owner=self.name, due_at=now + timedelta(days=1), note="price list")
        elif action in ("outcome", "no_contact"):
            if action == "no_contact":
                outcome = self.rng.choice([Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL])
                if outcome is Outcome.VOICEMAIL:
                    try:   # one message per care cycle: a caller told so picks no answer
                        check_voicemail(self.store, s.customer.id, DEFAULT_POLICY)
                    except UserError:
                        outcome = Outcome.NO_ANSWER
                chosen = s.choose(outcome)
            elif self.rng.random() < 0.08:
                chosen = s.choose(Outcome.CALLBACK, callback_at=now + timedelta(days=1))
            elif s.current() is None:
                chosen = s.choose(Outcome.COMPLETED)
            else:
                chosen = s.choose(Outcome.PARTIAL)
            self._timed("outcome", s.keep_outcome, self.store, chosen)
            if self.flow == "app":
                # The wrap-up screen shows and reads the next customer in the background:
                # timed apart (no caller waits for it), its CPU still the process's.
                late, self.late = self.late, 0.0
                try:
                    self.ahead = self._timed("read_ahead", s.read_next, self.store, now)
                finally:
                    self.late = late
            if action == "no_contact":
                self.plan = ["wrap_up"]
        elif action == "wrap_up" and self.flow == "app":
            self.store.floor_locks = []
            ahead, self.ahead = self.ahead, None
            step = self._timed("wrap_up", s.wrap_up_and_take_next, self.store, now,
                               script="quarterly", ahead=ahead)
            # The wrap-up's transaction is the step's first; the claim, its last.
            locks = self.store.floor_locks or [_now()]
            self._wrapped_up(s, step.saved, locks[0])
            if step.refused is not None:
                if is_locked_error(step.refused):
                    self.log["locked"] += 1
                else:
                    self.log["errors"].append(
                        f"take: {type(step.refused).__name__}: {step.refused}")
            elif step.next is None:
                self.log["empty"] += 1
            else:
                self._begin(step.next, locks[-1])
        elif action == "wrap_up":
            result = self._timed("wrap_up", s.wrap_up, self.store, now)
            self._wrapped_up(s, result, self.locked_at())

    def _wrapped_up(self, s: CallSession, result, released_at: float) -> None:
        self.log["calls"].append((result.call.id, s.customer.id, self.name,
                                  result.call.outcome.value, len(s.answer_lines())))
        self.log["released"].append((s.customer.id, self.name, released_at))
        self.session = None

    def locked_at(self) -> float:
        """When this seat's last write transaction held the write lock (monotonic; set by
        ``_measure_lock_holds``). A take's last transaction is its claim and a wrap-up's
        is the wrap-up: stamped inside the lock, two seats' claims and releases are in
        the order SQLite committed them. (Stamped after the step returned, a release
        could come after another seat's claim of the same customer whenever the
        releasing process lost its CPU between its commit and the stamp: 17 ms apart in
        one run at load 5, counted as "handed out twice" though the database had it
        right.)"""
        return getattr(self.store, "floor_locked_at", None) or _now()

    def close(self) -> None:
        self.store.close()


def _start(ready, start) -> float:
    """Wait until every process is ready; the moment all of them begin."""
    ready.wait()
    ready.wait()              # the parent has written the start time in between
    t0 = start.value
    time.sleep(max(0.0, t0 - _now()))
    return t0


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _work_seat(seat: Seat, t0: float, end: float, pause: float, rng: random.Random,
               warmup: float) -> None:
    """One seat's shift in its own thread: a step, a human pause, the next step."""
    due = t0 + rng.uniform(0, pause)      # the first step at a random moment of a pause
    while due < end:
        _step_when_due(seat, due, t0 + warmup)
        due = _now() + rng.uniform(0.5, 1.5) * pause


def _step_when_due(seat: Seat, due: float, counted_from: float) -> None:
    wait = due - _now()
    if wait > 0:
        time.sleep(wait)
    seat.late = max(0.0, -wait)
    seat.counting = due >= counted_from
    if seat.counting:
        seat.log["lag"].append((due, seat.late))
    seat.step()


def _work_seats_in_turn(team: list[Seat], t0: float, end: float, pause: float,
                        warmup: float, stalls=None) -> None:
    """Every seat of a process in one thread, each step when it is due, one at a time (as a
    server's event loop would run them): a step never shares its process while it holds
    the write lock; a step due while another runs starts late, and that lag counts.
    ``stalls``: a file that gets every thread's stack whenever a step is not done
    ``STALL_SECONDS`` after it was due (what the process was doing instead)."""
    rngs = [random.Random(i) for i in range(len(team))]
    due = [(t0 + rng.uniform(0, pause), i) for i, rng in enumerate(rngs)]
    heapq.heapify(due)
    while due:
        when, i = heapq.heappop(due)
        if when >= end:
            continue
        if stalls is not None:
            faulthandler.dump_traceback_later(max(0.0, when - _now()) + STALL_SECONDS,
                                              file=stalls)
        _step_when_due(team[i], when, t0 + warmup)
        heapq.heappush(due, (_now() + rngs[i].uniform(0.5, 1.5) * pause, i))
    faulthandler.cancel_dump_traceback_later()


def _caller_process(index: int, seats: int, db: str, seconds: float, speed: float,
                    base_iso: str, shape: str, warmup: float, ready, start,
                    out: str, flow: str = "steps") -> None:
    from calls.clock import from_iso

    sys.setswitchinterval(0.001)
    checkpoint_in_background()           # as `carecall shift` does
    _measure_lock_waits()
    holds: list[tuple] = []
    _measure_lock_holds(holds, label=True)
    base = from_iso(base_iso)
    t0 = 0.0

    def clock():
        return base + timedelta(seconds=(_now() - t0) * speed)

    pause = HUMAN_STEP_SECONDS / speed
    team = [Seat(f"p{index}s{i}", Path(db), clock, random.Random(1000 * index + i), _new_log(),
                 flow) for i in range(seats)]
    # A shift starts by loading the queue: each seat reads it once (calendars, the script,
    # its connection's pages) before the floor opens.
    for seat in team:
        seat.store.one("SELECT count(*) FROM customers")
        warm = CallSession.take_next(seat.store, seat.name, base, DEFAULT_POLICY, "quarterly")
        if warm is not None:
            warm.give_back(seat.store, base)
    # Python's cyclic collector scans every object a process holds: 50 seats' sessions in
    # one process made its full collections 80-140 ms, stalling all 50 (and the lock when
    # one fell inside a transaction). A real seat's process holds one seat's objects: the
    # simulator keeps that cost of its own shape out, as a server does after start-up.
    gc.freeze()
    cpu0 = _own_cpu()
    t0 = _start(ready, start)
    holds.clear()                      # only the floor's own transactions count
    if shape == "loop":
        with open(Path(out).with_suffix(".stalls"), "w") as stalls:
            _work_seats_in_turn(team, t0, t0 + seconds, pause, warmup, stalls)
    else:
        threads = [threading.Thread(target=_work_seat,
                                    args=(seat, t0, t0 + seconds, pause, random.Random(i),
                                          warmup))
                   for i, seat in enumerate(team)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    cpu = _own_cpu() - cpu0
    log = _new_log()
    for seat in team:
        seat.close()
        for key, value in seat.log.items():
            if isinstance(value, dict):
                for step, values in value.items():
                    log[key][step] += values
            else:
                log[key] += value
    log["cpu_s"] = cpu
    log["holds"] = holds
    Path(out).write_text(json.dumps(log))


def _supervisor_process(db: str, seconds: float, every: float, speed: float, base_iso: str,
                        ready, start, out: str) -> None:
    from calls.clock import from_iso
    from calls.reports import build_dashboard

    base = from_iso(base_iso)
    store = Store.open(Path(db))
    cpu0 = _own_cpu()
    t0 = _start(ready, start)
    lat, locked, errors = [], 0, []
    while _now() < t0 + seconds:
        now = base + timedelta(seconds=(_now() - t0) * speed)
        began = time.perf_counter()
        try:
            build_dashboard(store, now, DEFAULT_POLICY)
        except Exception as exc:  # noqa: BLE001
            locked += is_locked_error(exc)
            errors.append(str(exc))
        lat.append(time.perf_counter() - began)
        time.sleep(every)
    store.close()
    Path(out).write_text(json.dumps({"lat": lat, "locked": locked, "errors": errors,
                                     "cpu_s": _own_cpu() - cpu0}))


def write_import_list(path: Path, n: int, rows: int) -> None:
    """List ``n`` of the import loop: ``rows`` new customers with valid New York numbers."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ref", "name", "company", "phone", "revenue"])
        for i in range(rows):
            k = n * rows + i
            w.writerow([f"N{n:02d}{i:06d}", f"New {n}-{i}", "Newco",
                        f"+1212{2_000_000 + k % 7_000_000:07d}", 100 + i % 900])


def _import_process(db: str, seconds: float, rows: int, pause: float, speed: float,
                    base_iso: str, ready, start, out: str) -> None:
    from calls.clock import from_iso
    from calls.ingest.customers import ImportOptions, import_customers

    base = from_iso(base_iso)

    holds: list[tuple] = []
    _measure_lock_holds(holds, label=True)
    store = Store.open(Path(db))
    folder = Path(out).parent
    lists = [folder / f"import-{n}.csv" for n in range(20)]
    for n, path in enumerate(lists):
        write_import_list(path, n, rows)
    cpu0 = _own_cpu()
    t0 = _start(ready, start)
    holds.clear()
    lat, locked, errors, inserted, n = [], 0, [], 0, 0
    time.sleep(min(2.0, seconds / 10))          # the floor is busy when the import comes
    while _now() < t0 + seconds and n < len(lists):
        began = time.perf_counter()
        try:
            # The floor's clock: the callers' claims are live then, so the import sees
            # a floor at work and merges in chunks (as it would at a real shift).
            now = base + timedelta(seconds=(_now() - t0) * speed)
            result = import_customers(store, lists[n], ImportOptions(workers=1), now)
            inserted += result.inserted
        except Exception as exc:  # noqa: BLE001
            locked += is_locked_error(exc)
            errors.append(f"{type(exc).__name__}: {exc}")
        lat.append(time.perf_counter() - began)
        n += 1
        time.sleep(pause)
    store.close()
    Path(out).write_text(json.dumps({"lat": lat, "locked": locked, "errors": errors,
                                     "imports": n, "inserted": inserted, "holds": holds,
                                     "cpu_s": _own_cpu() - cpu0}))


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k] * 1000


def _handed_twice(taken: list, released: list) -> int:
    """Customers two seats held at the same time (a take before the other's release)."""
    events = [(t, 0, c, s) for c, s, t in taken] + [(t, 1, c, s) for c, s, t in released]
    holder: dict[int, str] = {}
    twice = 0
    for _t, kind, customer, seat in sorted(events):
        if kind == 0:
            if customer in holder and holder[customer] != seat:
                twice += 1
            holder[customer] = seat
        elif holder.get(customer) == seat:
            del holder[customer]
    return twice


def _lost_writes(db: Path, calls: list) -> int:
    """Calls a seat was told were wrapped up that the database lacks or holds otherwise."""
    store = Store.open(db)
    lost = 0
    for call_id, customer_id, seat, outcome, answers in calls:
        row = store.one("SELECT customer_id, caller, outcome, ended_at FROM calls WHERE id = ?",
                        (call_id,))
        if (row is None or row["customer_id"] != customer_id or row["caller"] != seat
                or row["outcome"] != outcome or row["ended_at"] is None):
            lost += 1
            continue
        held = store.scalar("SELECT count(*) FROM answers WHERE call_id = ?", (call_id,))
        if held != answers:
            lost += 1
    store.close()
    return lost


def reference(db: Path, base, calls: int = 30, flow: str = "steps"
              ) -> tuple[dict[str, float], dict]:
    """The same steps by one seat alone: median ms per step, and its write-lock holds by
    what opened them (count, p50 ms, p99 ms, p50 of the CPU its thread used while holding
    the lock, ms: what the load on the machine moves least)."""
    log = _new_log()
    seat = Seat("ref", db, lambda: base, random.Random(1), log, flow)
    holds: list[tuple] = []
    write = Store.write
    _measure_lock_holds(holds, label=True)
    try:
        while len(log["calls"]) < calls:
            seat.step()
            if log["empty"] > 5:
                break
    finally:
        Store.write = write
    seat.close()
    cpu: dict[str, list[float]] = {}
    for _held, name, used, *_rest in holds:
        cpu.setdefault(name, []).append(used)
    return ({s: statistics.median(x[2] for x in v) * 1000
             for s, v in log["steps"].items() if v},
            {name: (*figures, _pct(cpu[name], 0.5))
             for name, figures in _by_label(holds, 0.99).items()})


def _by_label(holds: list, top: float = 1.0) -> dict[str, tuple[int, float, float]]:
    """Lock holds per function that opened the transaction: (count, p50 ms, the ``top``
    quantile in ms: the longest by default)."""
    out: dict[str, list[float]] = {}
    for held, name, *_rest in holds:
        out.setdefault(name, []).append(held)
    return {name: (len(v), _pct(v, 0.5), _pct(v, top)) for name, v in out.items()}


def _by_second(series: list, t0: float, width: float = 2.0) -> list[tuple]:
    """Felt latency over the run per ``width`` seconds, from steps ``(due, felt, core, cpu,
    lock wait)``: (from second, felt p99 ms, steps, p99 of the lag (felt less the core
    call: waiting for its process), p99 of the lock wait, p99 of the step's CPU)."""
    buckets: dict[int, list] = {}
    for step in series:
        buckets.setdefault(int((step[0] - t0) // width), []).append(step)
    return [(k * width, _pct([x[1] for x in v], 0.99), len(v),
             _pct([x[1] - x[2] for x in v], 0.99), _pct([x[4] for x in v], 0.99),
             _pct([x[3] for x in v], 0.99))
            for k, v in sorted(buckets.items())]


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (Linux /proc/stat; zeros elsewhere)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def run(db: Path, seats: int, procs: int, seconds: float, speed: float, base,
        dashboard_every: float, import_rows: int, import_pause: float,
        shape: str = "loop", warmup: float = 0.0, flow: str = "steps") -> dict:
    from calls.clock import to_iso

    work = db.parent / f"floor-run-{seats}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    copy = work / "floor.db"
    shutil.copy(db, copy)
    procs = max(1, min(procs, seats))
    per = [seats // procs + (1 if i < seats % procs else 0) for i in range(procs)]
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(procs + 2 + (1 if import_rows else 0))
    start = ctx.Value("d", 0.0)
    children = [ctx.Process(target=_caller_process,
                            args=(i, n, str(copy), seconds, speed, to_iso(base), shape,
                                  warmup, ready, start, str(work / f"caller-{i}.json"),
                                  flow))
                for i, n in enumerate(per)]
    children.append(ctx.Process(target=_supervisor_process,
                                args=(str(copy), seconds, dashboard_every, speed, to_iso(base),
                                      ready, start, str(work / "supervisor.json"))))
    if import_rows:
        children.append(ctx.Process(target=_import_process,
                                    args=(str(copy), seconds, import_rows, import_pause,
                                          speed, to_iso(base), ready, start,
                                          str(work / "import.json"))))
    for child in children:
        child.start()
    ready.wait(timeout=600)        # every process has opened its connections
    with MachineWatch() as watch:
        start.value = _now() + 0.5   # everyone starts together
        busy0, total0 = _cpu_ticks()
        load_before = os.getloadavg()[0]
        ready.wait(timeout=60)
        for child in children:
            child.join(timeout=seconds + 300)
            if child.is_alive():
                child.kill()
    busy1, total1 = _cpu_ticks()
    load = os.getloadavg()[0]
    steps: dict[str, list[list[float]]] = {s: [] for s in STEPS}
    locked, errors, taken, released, calls, lag, begun = 0, [], [], [], [], [], []
    answers = empty = abandoned = 0
    sim_cpu = 0.0
    holds: list[tuple] = []
    stalls = []
    for i in range(procs):
        path = work / f"caller-{i}.json"
        dumps = path.with_suffix(".stalls")
        kept_at = db.parent / f"floor-stalls-{seats}-caller-{i}.txt"
        kept_at.unlink(missing_ok=True)
        if dumps.exists() and dumps.stat().st_size:
            shutil.copy(dumps, kept_at)
            stalls.append((i, dumps.read_text().count("Timeout ("), str(kept_at)))
        if not path.exists():
            errors.append(f"caller process {i} left no result")
            continue
        log = json.loads(path.read_text())
        for s in STEPS:
            steps[s] += log["steps"][s]
        locked += log["locked"]
        errors += log["errors"]
        taken += log["taken"]
        released += log["released"]
        calls += log["calls"]
        lag += log["lag"]
        begun += log["start"]
        answers += log["answers"]
        empty += log["empty"]
        abandoned += log["abandoned"]
        sim_cpu += log["cpu_s"]
        holds += log["holds"]
    nothing = {"lat": [], "locked": 0, "errors": [], "cpu_s": 0.0}
    sup = json.loads((work / "supervisor.json").read_text()) \
        if (work / "supervisor.json").exists() else nothing
    imp = json.loads((work / "import.json").read_text()) \
        if (work / "import.json").exists() else {**nothing, "imports": 0, "inserted": 0,
                                                  "holds": []}
    cores = os.cpu_count() or 1
    # Steps that overlap a pause of the whole machine count the pause as their lag: shown
    # apart (how many, their worst), not in the table.
    kept = {s: [x for x in v if not watch.touches(x[0], x[1])] for s, v in steps.items()}
    paused = [x for v in steps.values() for x in v if watch.touches(x[0], x[1])]
    result = {
        "seats": seats, "procs": procs, "seconds": seconds, "speed": speed, "shape": shape,
        "calls": len(calls), "calls_per_s": len(calls) / seconds, "answers": answers,
        "steps": sum(len(v) for v in steps.values()),
        "lat": {s: (_pct([x[2] for x in v], 0.5), _pct([x[2] for x in v], 0.99), len(v))
                for s, v in kept.items()},
        "felt": {s: (_pct([x[1] for x in v], 0.5), _pct([x[1] for x in v], 0.99))
                 for s, v in kept.items()},
        "parts": {s: (_pct([x[3] for x in v], 0.5), _pct([x[3] for x in v], 0.99),
                      _pct([x[4] for x in v], 0.99)) for s, v in kept.items()},
        "machine_pauses": [(a - start.value, b - a) for a, b in watch.pauses],
        "clock_steps": [(t - start.value, d) for t, d in watch.clock_steps],
        "stalls": stalls,
        "paused_steps": (len(paused), max((x[1] for x in paused), default=0.0) * 1000),
        "dashboard": (_pct(sup["lat"], 0.5), _pct(sup["lat"], 0.99), len(sup["lat"])),
        "import": (_pct(imp["lat"], 0.5), max(imp["lat"] or [0]) * 1000, len(imp["lat"]),
                   imp["inserted"], len(imp["holds"])),
        "import_holds": _by_label(imp["holds"]),
        # the import's longest hold: (ms held, its CPU ms): far apart, it waited for a CPU
        # (or the disk) while holding the lock
        "import_longest": max(((h[0] * 1000, h[2] * 1000) for h in imp["holds"]),
                              default=(0.0, 0.0)),
        "holds": (_pct([h[0] for h in holds], 0.5), _pct([h[0] for h in holds], 0.99),
                  sum(h[0] for h in holds) / seconds, _pct([h[2] for h in holds], 0.99)),
        "seat_holds": _by_label(holds, 0.99),
        # the longest holds of the run, seats' and import's: (ms held, what opened it, who,
        # CPU ms, from second, voluntary / involuntary context switches, major faults)
        "longest_holds": [(h[0] * 1000, h[1], who, h[2] * 1000, h[3] - start.value, *h[4:])
                          for h, who in heapq.nlargest(
                              6, [(h, "seat") for h in holds]
                              + [(h, "import") for h in imp["holds"]],
                              key=lambda x: x[0][0])],
        "lag_p99": _pct([late for due, late in lag if not watch.touches(due, late)], 0.99)
        if lag else 0.0,
        "start": (warmup, _pct([x[1] for x in begun], 0.5), _pct([x[1] for x in begun], 0.99),
                  len(begun)),
        "series": _by_second([x for v in steps.values() for x in v], start.value),
        "handed_twice": _handed_twice(taken, released),
        "lost": _lost_writes(copy, calls),
        "locked": locked + sup["locked"] + imp["locked"],
        "errors": errors + sup["errors"] + imp["errors"],
        "empty": empty, "abandoned": abandoned,
        "machine_busy": (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0,
        "callers_cpu": sim_cpu / (seconds * cores),
        "others_cpu": (sup["cpu_s"] + imp["cpu_s"]) / (seconds * cores),
        "load": load, "load_before": load_before,
    }
    shutil.rmtree(work, ignore_errors=True)
    return result


def report(r: dict, ref: dict[str, float]) -> float:
    """Print one run; returns its worst step p99 (ms): as the caller feels it (from the
    moment the step was due, so a step that started late counts its lag)."""
    worst = max(r["felt"][s][1] for s, (_p50, _p99, n) in r["lat"].items()
                if n and s not in UNFELT)
    shape = ("one thread per process, seats in turn" if r["shape"] == "loop"
             else "one thread per seat")
    print(f"== {r['seats']} seats ({r['procs']} caller processes, {shape}; x{r['speed']:g} "
          f"pace, the write load of {r['seats'] * r['speed']:,.0f} real seats): {r['calls']} "
          f"calls, {r['calls_per_s']:.1f} calls/s, {r['steps']} steps, {r['answers']} answers")
    print(f"  load: 1-min load average {r['load_before']:.1f} at the start, {r['load']:.1f} at "
          f"the end; machine busy {r['machine_busy']:.0%} of its CPUs, of which the caller "
          f"processes {r['callers_cpu']:.0%}, dashboard and import {r['others_cpu']:.0%}, "
          "the rest other work")
    if r["calls"]:
        # CPU time moves much less with other work on the machine than latency does.
        print(f"  the caller processes' CPU a call (every thread, steps and all): "
              f"{r['callers_cpu'] * r['seconds'] * (os.cpu_count() or 1) * 1000 / r['calls']:.1f}"
              " ms")
    print("  step       felt p50 felt p99   core p50 core p99      n  p99/ref   cpu p50  "
          "cpu p99  lock wait p99")
    for s, (p50, p99, n) in r["lat"].items():
        if n:
            f50, f99 = r["felt"][s]
            c50, c99, w99 = r["parts"][s]
            base = ref.get(s, p50)
            print(f"  {s:<10} {f50:8.2f} {f99:8.2f}   {p50:8.2f} {p99:8.2f} {n:6d} "
                  f"{f99 / base:7.1f}x  {c50:7.2f}  {c99:7.2f}  {w99:8.2f}")
    d50, d99, dn = r["dashboard"]
    i50, imax, inum, inserted, chunks = r["import"]
    h50, h99, busy, hcpu99 = r["holds"]
    print(f"  dashboard  {d50:7.1f} {d99:8.1f} {dn:6d}   (supervisor refresh)")
    if inum:
        print(f"  import     {i50:7.0f} {imax:8.0f} {inum:6d}   (median / longest, ms; "
              f"{inserted:,} customers in, {chunks} write transactions)")
        _held, its_cpu = r["import_longest"]
        print("    its write-lock holds: " + "; ".join(
            f"{name} {n} x, p50 {p50:.1f} ms, longest {longest:.1f} ms"
            for name, (n, p50, longest) in r["import_holds"].items())
              + f"; the longest used {its_cpu:.1f} ms of CPU")
    print(f"  the seats' write-lock holds: p50 {h50:.2f} ms, p99 {h99:.1f} ms (their CPU "
          f"p99 {hcpu99:.1f} ms); the lock "
          f"was held by seats {busy:.0%} of the time; by what opened them (p50 / p99 ms): "
          + ", ".join(f"{name} {p50:.2f} / {p99:.1f}"
                      for name, (n, p50, p99) in sorted(r["seat_holds"].items(),
                                                        key=lambda kv: -kv[1][2])[:6]))
    print("  the longest write-lock holds (ms held: what, its CPU ms, from second; switches "
          "while held, voluntary (waits for the disk or a lock) / involuntary (waits for a "
          "CPU); major page faults): " + "; ".join(
              f"{held:.0f}: {who} {name}, {cpu:.1f} CPU, s{at:.0f}, {vcs}/{ics}, {flt}"
              for held, name, who, cpu, at, vcs, ics, flt in r["longest_holds"]))
    w, s50, s99, sn = r["start"]
    if sn:
        print(f"  the shift's start (steps due in the first {w:g} s, not in the table): "
              f"{sn} steps, felt p50 {s50:.0f} ms, p99 {s99:.0f} ms")
    for at, paused in r["machine_pauses"]:
        n, longest = r["paused_steps"]
        print(f"  THE MACHINE STOPPED for {paused:.1f} s at second {at:.0f}: no process ran, "
              "this script's own idle ticker included (a pause of the (virtual) machine, not "
              f"carecall's work); the {n} steps due during it (longest {longest:.0f} ms) are "
              "left out of the table")
    for proc, times, path in r["stalls"]:
        print(f"  caller process {proc}: a step over {STALL_SECONDS:g} s late {times} x; "
              f"the stacks of its threads each time: {path}")
    for at, stepped in r["clock_steps"]:
        print(f"  the wall clock was stepped by {stepped:+.1f} s at second {at:.0f} "
              "(the figures are on the monotonic clock)")
    print("  felt p99 over the run (from second: ms): " + ", ".join(
        f"{t:g}: {p99:.0f}" for t, p99, *_rest in r["series"]))
    print("    its parts' p99 (from second: lag / lock wait / CPU ms, steps): " + ", ".join(
        f"{t:g}: {lag:.0f}/{wait:.0f}/{cpu:.1f} {n}"
        for t, _p99, n, lag, wait, cpu in r["series"]))
    print(f"  steps started late by p99 {r['lag_p99']:.0f} ms; queue empty {r['empty']}; "
          f"calls dropped by an error {r['abandoned']}")
    print(f"  handed out twice: {r['handed_twice']}   writes lost: {r['lost']}   "
          f"'database is locked' reaching a caller: {r['locked']}   other errors: "
          f"{len(r['errors'])}")
    for line in r["errors"][:5]:
        print(f"    {line}")
    print(f"  worst step p99 (felt): {worst:.1f} ms -> "
          f"{'over' if worst > 100 else 'within'} 100 ms\n", flush=True)
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seats", default="50,100,200,400")
    ap.add_argument("--seats-per-proc", type=int, default=50,
                    help="seats each caller process hosts (threads, one per seat)")
    ap.add_argument("--procs", type=int, default=0,
                    help="caller processes (default: seats / --seats-per-proc, rounded up)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds of shift start (every seat takes its first customer) "
                         "reported apart from the table (default: two pauses)")
    ap.add_argument("--shape", choices=("loop", "threads"), default="loop",
                    help="loop: a process runs its seats' steps in turn in one thread (a "
                         "server's event loop); threads: one thread per seat")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--dashboard-every", type=float, default=2.0)
    ap.add_argument("--import-rows", type=int, default=20_000,
                    help="new customers per import in the import loop (0: no import)")
    ap.add_argument("--import-pause", type=float, default=5.0,
                    help="seconds between the end of one import and the next")
    ap.add_argument("--flow", choices=("steps", "app"), default="steps",
                    help="steps: the take a step of its own after the wrap-up; app: as the "
                         "shift's screens, the next customer read ahead while the wrap-up "
                         "shows, and the wrap-up and the take one step (wrap_up_and_take_next)")
    ap.add_argument("--reference-calls", type=int, default=30,
                    help="calls the lone seat of the reference makes")
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args(argv)
    bq = _bench_queue()
    OUT.mkdir(exist_ok=True)
    db = OUT / f"floor_{args.customers}.db"
    if args.rebuild or not db.exists():
        print(f"building {db} ...", flush=True)
        bq.build(db, args.customers)
    base = bq.BASE
    Store.open(db).close()      # migrated once here, not by the first seat of every run
    ref_db = OUT / "floor-ref.db"
    shutil.copy(db, ref_db)
    ref, ref_holds = reference(ref_db, base, args.reference_calls, args.flow)
    for extra in ("", "-wal", "-shm"):
        Path(str(ref_db) + extra).unlink(missing_ok=True)
    cores = os.cpu_count()
    print(f"database: {db.name} ({args.customers:,} customers), {cores} cores; seats step every "
          f"{HUMAN_STEP_SECONDS / args.speed:.2f} s (human pace x{args.speed:g}: one seat here "
          f"is {args.speed:g} real seats of load); "
          + ("the next customer read ahead while the wrap-up shows, the wrap-up and the take "
             "one step (--flow app); " if args.flow == "app" else "")
          + f"{args.seconds:g} s per run; a supervisor "
          f"refreshes the dashboard every {args.dashboard_every:g} s"
          + (f" and lists of {args.import_rows:,} new customers are imported one after "
             f"another ({args.import_pause:g} s apart)" if args.import_rows else ", no import")
          + f"; load average before the runs {os.getloadavg()[0]:.1f}\n")
    print("reference, one seat alone (median ms): "
          + "  ".join(f"{s} {v:.2f}" for s, v in ref.items()))
    print(f"  its write-lock holds over {args.reference_calls} calls (p50 / p99 ms, CPU p50 ms "
          "while held): " + ", ".join(
              f"{name} {p50:.2f} / {p99:.2f}, {cpu:.2f}"
              for name, (_n, p50, p99, cpu) in ref_holds.items()) + "\n")
    crossing = None
    for seats in [int(x) for x in args.seats.split(",") if int(x) > 0]:   # 0: reference only
        procs = args.procs or -(-seats // args.seats_per_proc)
        warmup = args.warmup if args.warmup is not None else 2 * HUMAN_STEP_SECONDS / args.speed
        r = run(db, seats, procs, args.seconds, args.speed, base, args.dashboard_every,
                args.import_rows, args.import_pause, args.shape, warmup, args.flow)
        worst = report(r, ref)
        if crossing is None and worst > 100:
            crossing = seats
    if any(int(x) > 0 for x in args.seats.split(",")):
        print("p99 per step crosses 100 ms at: "
              + (f"{crossing} seats" if crossing else "none of the runs"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
