"""The queue against an independent reference of every pack's windows, holidays and caps.

Random customers in the packs' jurisdictions (numbers by area code and country, list
regions, consumers and businesses, consent given or not) with random call histories, at
random moments through 2026-2027 (DST changes, weekends, public holidays). The reference
below is written from the statutes' words, not from the packs' files: if a pack file or
the code that reads it drifts, this fails.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from calls.clock import to_iso
from calls.policy import policy_from_dict
from calls.queue import build_queue
from calls.store import Store

H = 60
# (phone prefix, country, zones, list region, state or province for the law)
PLACES = [
    ("+1305555", "US", ["America/New_York"], None, "FL"),
    ("+1405555", "US", ["America/Chicago"], None, "OK"),
    ("+1410555", "US", ["America/New_York"], None, "MD"),
    ("+1502555", "US", ["America/Kentucky/Louisville"], None, "KY"),
    ("+1713555", "US", ["America/Chicago"], None, "TX"),
    ("+1205555", "US", ["America/Chicago"], None, "AL"),
    ("+1504555", "US", ["America/Chicago"], None, "LA"),
    ("+1601555", "US", ["America/Chicago"], None, "MS"),
    ("+1401555", "US", ["America/New_York"], None, "RI"),
    ("+1206555", "US", ["America/Los_Angeles"], None, "WA"),
    ("+1212555", "US", ["America/New_York"], None, "NY"),
    ("+1416555", "CA", ["America/Toronto"], None, "ON"),
    ("+1514555", "CA", ["America/Toronto"], None, "QC"),
    ("+3314268", "FR", ["Europe/Paris"], None, None),
    ("+4930123", "DE", ["Europe/Berlin"], "BE", None),
    ("+4989123", "DE", ["Europe/Berlin"], "BY", None),
    ("+4420712", "GB", ["Europe/London"], None, None),
    ("+6129123", "AU", ["Australia/Sydney"], None, None),
]

# The statutes' hours, (weekday -> list of (start, end) minutes); None: no limit that day.
ALL = [(0, 24 * H)]


def _days(weekdays, sat, sun):
    return {**{d: weekdays for d in range(5)}, 5: sat, 6: sun}


LAW = {
    "US": _days([(8 * H, 21 * H)], [(8 * H, 21 * H)], [(8 * H, 21 * H)]),
    "FL": _days([(8 * H, 20 * H)], [(8 * H, 20 * H)], [(8 * H, 20 * H)]),
    "OK": _days([(8 * H, 20 * H)], [(8 * H, 20 * H)], [(8 * H, 20 * H)]),
    "MD": _days([(8 * H, 20 * H)], [(8 * H, 20 * H)], [(8 * H, 20 * H)]),
    "WA": _days([(8 * H, 20 * H)], [(8 * H, 20 * H)], [(8 * H, 20 * H)]),
    "KY": _days([(10 * H, 21 * H)], [(10 * H, 21 * H)], [(10 * H, 21 * H)]),
    "TX": _days([(9 * H, 21 * H)], [(9 * H, 21 * H)], [(12 * H, 21 * H)]),
    "AL": _days([(8 * H, 20 * H)], [(8 * H, 20 * H)], []),
    "LA": _days([(8 * H, 20 * H)], [(8 * H, 20 * H)], []),
    "MS": _days([(8 * H, 21 * H)], [(8 * H, 21 * H)], []),
    "RI": _days([(9 * H, 18 * H)], [(10 * H, 17 * H)], []),
    "CA": _days([(9 * H, 21 * H + 30)], [(10 * H, 18 * H)], [(10 * H, 18 * H)]),
    "FR": _days([(10 * H, 13 * H), (14 * H, 20 * H)], [], []),
    "AU": _days([(9 * H, 20 * H)], [(9 * H, 17 * H)], []),
}
LAW_HOLIDAYS = {"FR", "AU", "AL", "LA", "RI"}
CAPS = {"FL": (3, timedelta(hours=24)), "OK": (3, timedelta(hours=24)),
        "MD": (3, timedelta(hours=24)), "FR": (4, timedelta(days=30))}
QUIET = {"FR": timedelta(days=60)}


def _open(spans, minute: int) -> bool:
    return any(a <= minute < b for a, b in spans)


def reference_callable(c: dict, calls: list[tuple[datetime, str]], now: datetime,
                       policy_hours, skip_holidays: bool) -> bool:
    """Whether the law (and the test's own policy) lets this customer be called at now."""
    country, state, zone = c["country"], c["state"], c["zones"][0]
    local = now.astimezone(ZoneInfo(zone))
    minute, wd = local.hour * H + local.minute, local.weekday()
    if not _open(policy_hours.get(wd, ALL), minute):
        return False
    for code in (country, state):
        if code in LAW and not _open(LAW[code][wd], minute):
            return False
    sub = state or c["region"]
    cal = holidays.country_holidays(country, subdiv=sub, years=local.year)
    if local.date() in cal and (skip_holidays or country in LAW_HOLIDAYS
                                or state in LAW_HOLIDAYS):
        return False
    if country == "DE" and c["type"] == "consumer" and not c["consent"]:
        return False
    for code in (country, state):
        if code in CAPS:
            limit, period = CAPS[code]
            if sum(1 for t, _ in calls if now - period < t <= now) >= limit:
                return False
        if code in QUIET and any(o == "refused" and t + QUIET[code] > now for t, o in calls):
            return False
    return True


def _moment(rng: random.Random) -> datetime:
    # 2026-2027, with extra weight on DST change days and public holidays.
    special = [date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1),
               date(2026, 12, 25), date(2026, 7, 14), date(2026, 1, 6), date(2027, 1, 26),
               date(2026, 6, 24), date(2026, 11, 26), date(2027, 4, 5)]
    day = rng.choice(special) if rng.random() < 0.3 else (
        date(2026, 1, 1) + timedelta(days=rng.randrange(730)))
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        minutes=rng.randrange(24 * H))


# The test's policy: every hour open except a random narrowing, so the law shows.
def _policy(rng: random.Random):
    if rng.random() < 0.5:
        hours = {"weekdays": "00:00-24:00", "weekend": "00:00-24:00"}
        spans = {d: ALL for d in range(7)}
    else:
        hours = {"weekdays": "07:30-19:45", "sat": "11:00-16:00", "sun": "closed"}
        spans = {**{d: [(450, 1185)] for d in range(5)}, 5: [(660, 960)], 6: []}
    skip = rng.random() < 0.5
    # Contact limits looser than any law: only the packs' caps bind.
    policy = policy_from_dict({"calling": {"hours": hours, "skip_holidays": skip},
                               "contact": {"max_attempts": 100, "max_contacts": 100,
                                           "refusal_quiet_days": 0},
                               "retry": {"refused": 0, "no_answer": 0, "busy": 0}})
    return policy, spans, skip


@pytest.mark.parametrize("seed", range(25))
def test_queue_equals_the_statutes(tmp_path, seed):
    rng = random.Random(seed)
    store = Store.open(tmp_path / "law.db")
    base = _moment(rng)
    people: dict[int, dict] = {}
    history: dict[int, list[tuple[datetime, str]]] = {}
    with store.write():
        for i in range(1, 61):
            prefix, country, zones, region, state = rng.choice(PLACES)
            kind = rng.choice(["consumer", "business", None])
            consent = rng.random() < 0.5
            row = {"id": i, "ref": f"R{i}", "name": f"N{i}",
                   "phone": f"{prefix}{i:04d}", "phone_region": country,
                   "time_zones": json.dumps(zones), "region": region, "tier": "A",
                   "revenue": 100.0 - i, "customer_type": kind,
                   "consent_calls": "given" if consent else None,
                   "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}
            store.db["customers"].insert(row)
            people[i] = {"country": country, "state": state, "zones": zones,
                         "region": region, "type": kind or "consumer", "consent": consent}
            calls = []
            for _ in range(rng.choice([0, 0, 1, 3, 4, 5])):
                t = base - timedelta(minutes=rng.randrange(0, 70 * 24 * H))
                outcome = rng.choice(["no_answer", "busy", "refused", "completed"])
                calls.append((t, outcome))
                store.db["calls"].insert({"customer_id": i, "caller": "x",
                                          "started_at": to_iso(t),
                                          "ended_at": to_iso(t + timedelta(minutes=1)),
                                          "outcome": outcome})
            if calls:
                last = max(calls)
                store.db.execute("UPDATE customers SET last_call_at = ? WHERE id = ?",
                                 (to_iso(last[0]), i))
            history[i] = calls
    for _ in range(6):
        policy, spans, skip = _policy(rng)
        now = base + timedelta(minutes=rng.randrange(0, 36 * H))
        got = {e.customer.id for e in build_queue(store, "ann", now, policy, limit=1000)}
        want = {i for i, c in people.items()
                if reference_callable(c, history[i], now, spans, skip)}
        assert got == want, (seed, to_iso(now), sorted(got ^ want))
    store.close()
