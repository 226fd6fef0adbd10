"""The export's local times (calls.export.LocalTimes: per-hour and per-minute caches, and
the same code written out in RowShaper's loop) equal zoneinfo's own conversion: across
every offset change both ways, in zones whose offset is not whole hours, in every zone
the tests and the shipped data use, and for text that is not a store moment."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calls.clock import from_iso
from calls.export import LocalTimes, export_table
from calls.store import reports as store_reports

# Every zone named in tests/ and calls/data, and zones whose offset is not whole hours:
# India +05:30, Nepal +05:45, Chatham +12:45/+13:45, Lord Howe's half-hour change,
# Newfoundland -03:30/-02:30, Adelaide +09:30/+10:30, Eucla +08:45, Marquesas -09:30,
# Tehran +03:30 (no change since 2022), and a zone that changed its standard offset.
ZONES = sorted({
    "America/Adak", "America/Anchorage", "America/Barbados", "America/Boise",
    "America/Chicago", "America/Denver", "America/Halifax", "America/Kentucky/Louisville",
    "America/Los_Angeles", "America/New_York", "America/North_Dakota/Center",
    "America/Phoenix", "America/St_Johns", "America/Toronto", "America/Vancouver",
    "Asia/Kolkata", "Asia/Tokyo", "Australia/Lord_Howe", "Australia/Sydney",
    "Europe/Berlin", "Europe/London", "Europe/Paris", "Pacific/Chatham", "Pacific/Guam",
    "Pacific/Honolulu", "Pacific/Pago_Pago", "Asia/Kathmandu", "Australia/Adelaide",
    "Australia/Eucla", "Pacific/Marquesas", "Asia/Tehran", "Europe/Volgograd", "UTC",
})
FMT = "%Y-%m-%dT%H:%M:%SZ"

# Text a moment column may hold that is not a store moment: other ISO forms, a date, a
# day that does not exist, hour 24, a leap second, letters where the minutes go, a
# 20-character text ending in Z whose hour looks right, and plain words.
ODD = ["2026-03-10T10:00:00+00:00", "2026-03-10T10:00:00.250Z", "2026-03-10",
       "2026-03-10 10:00:00", "2026-02-30T10:00:00Z", "2026-03-10T24:00:00Z",
       "2026-12-31T23:59:60Z", "2026-03-10T10:ab:cdZ", "2026-03-10T10x00:00Z",
       "2026-03-10T10:00:00z", "2026-03-10T1", "not a time", " 2026-03-10T10:00:00Z",
       "2026-03-10T10:00:0Z", "2026-03-10T10:61:00Z"]


def _zoneinfo(zone: str, moment: str) -> str:
    """The reference: the moment read as ISO text, shown in the zone ('' when unreadable)."""
    try:
        return from_iso(moment).astimezone(ZoneInfo(zone)).isoformat()
    except ValueError:
        return ""


def _changes(zone: str, first: int = 2024, last: int = 2028) -> list[datetime]:
    """Every UTC moment in [first, last] years at which the zone's offset changes (found
    hour by hour, then narrowed to the second)."""
    tz = ZoneInfo(zone)
    out = []
    at = datetime(first, 1, 1, tzinfo=UTC)
    end = datetime(last + 1, 1, 1, tzinfo=UTC)
    before = at.astimezone(tz).utcoffset()
    while at < end:
        nxt = at + timedelta(hours=1)
        after = nxt.astimezone(tz).utcoffset()
        if after != before:
            lo, hi = at, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            out.append(hi.replace(microsecond=0))
            before = after
        at = nxt
    return out


def _moments_around(changes: list[datetime], rng: random.Random) -> list[str]:
    """Store moments at each change and on both sides of it (a second, a minute, half an
    hour, an hour, a day), plus random moments over the years and day/year ends."""
    steps = [0, 1, 59, 60, 61, 30 * 60 - 1, 30 * 60, 45 * 60, 3599, 3600, 3601, 86400]
    out = set()
    for change in changes:
        for s in steps:
            for sign in (1, -1):
                out.add((change + sign * timedelta(seconds=s)).strftime(FMT))
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(300):
        out.add((base + timedelta(seconds=rng.randrange(5 * 365 * 86400))).strftime(FMT))
    out.update(["2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z", "2028-02-29T12:30:45Z",
                "1970-01-01T00:00:00Z", "2030-06-01T12:00:00Z"])
    return sorted(out)


@pytest.mark.parametrize("zone", ZONES)
def test_every_conversion_equals_zoneinfo(zone):
    """Through a fresh cache and one warmed by the same moments in another order (hours
    and minutes filled from a different first moment), across every change both ways."""
    rng = random.Random(zone)
    moments = _moments_around(_changes(zone), rng) + ODD
    cold = LocalTimes()
    warm = LocalTimes()
    for moment in rng.sample(moments, len(moments)):
        warm.convert(zone, moment)
    for moment in moments:
        want = _zoneinfo(zone, moment)
        assert cold.convert(zone, moment) == want, (zone, moment)
        assert warm.convert(zone, moment) == want, (zone, moment)


def test_zones_with_changes_and_part_hours_are_in_the_list():
    """The list exercises what the caches must get right: offsets changing both ways,
    a half-hour change, offsets of :30 and :45 (both signs)."""
    assert any(len(_changes(z)) >= 8 for z in ZONES)                 # yearly DST
    offsets = {ZoneInfo(z).utcoffset(datetime(2026, 1, 15)) for z in ZONES}
    minutes = {int(o.total_seconds() // 60) % 60 for o in offsets}
    assert {30, 45} <= minutes
    assert any(o.total_seconds() < 0 and o.total_seconds() % 3600 for o in offsets)
    lord_howe = _changes("Australia/Lord_Howe")
    tz = ZoneInfo("Australia/Lord_Howe")
    assert {abs((c.astimezone(tz).utcoffset() - (c - timedelta(seconds=1)).astimezone(
        tz).utcoffset()).total_seconds()) for c in lord_howe} == {1800}


@pytest.mark.parametrize("light", [False, True], ids=["joined", "lookup"])
@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_the_export_loop_gives_zoneinfo_local_times(store, light, fmt):
    """RowShaper's loop (the conversion written out) on calls whose moments are changes,
    their neighbours and odd text, for customers in every zone of the list: each
    ``*_local`` cell is zoneinfo's, with refs and zones from the join or the lookup."""
    rng = random.Random(7)
    for i, zone in enumerate(ZONES):
        store.db["customers"].insert({
            "ref": f"R{i}", "name": zone, "phone": "+12025550100",
            "time_zones": json.dumps([zone]), "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z"})
    ids = {r["name"]: r["id"] for r in store.all("SELECT id, name FROM customers")}
    rows = []
    for zone in ZONES:
        moments = _moments_around(_changes(zone, 2025, 2027), rng)
        picks = rng.sample(moments, min(len(moments), 24)) + rng.sample(ODD, 3)
        for moment in picks:
            rows.append({
                "customer_id": ids[zone], "caller": "ann", "started_at": moment,
                "connected_at": rng.choice([moment, None]),
                "ended_at": rng.choice(picks), "outcome": "completed",
                "callback_at": rng.choice([None, rng.choice(ODD), rng.choice(picks)]),
            })
    store_reports.insert_calls(store, rows)
    if not light:     # fewer calls than twice the customers: the export joins customers
        for n in range(len(rows)):
            store.db["customers"].insert({
                "ref": f"X{n}", "name": f"X{n}", "phone": "+12025550100",
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
    buf = io.StringIO()
    export_table(store, "calls", buf, fmt=fmt)
    if fmt == "csv":
        import csv
        got = list(csv.DictReader(io.StringIO(buf.getvalue())))
    else:
        got = [json.loads(line) for line in buf.getvalue().splitlines()]
    db_rows = store.all("SELECT c.*, cu.name AS zone FROM calls c "
                        "JOIN customers cu ON cu.id = c.customer_id ORDER BY c.id")
    assert len(got) == len(db_rows) > 500
    for row, want in zip(got, db_rows):
        assert row["time_zone"] == want["zone"]
        for col in ("started_at", "connected_at", "ended_at", "callback_at"):
            expected = _zoneinfo(want["zone"], want[col]) if want[col] else ""
            assert row[f"{col}_local"] == expected, (want["zone"], col, want[col])
