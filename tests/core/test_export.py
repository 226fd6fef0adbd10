"""Exports: every format read back and compared with the database; local times; 0600."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from calls.cli import app
from calls.errors import UserError
from calls.export import LocalTimes, export_table
from calls.store import reports as q


@pytest.fixture
def filled(store):
    """Two customers in different zones, three calls, answers from two script versions."""
    for ref, zones in (("r1", ["America/New_York"]), ("r2", ["Asia/Kolkata"]), ("r3", None)):
        store.db["customers"].insert({
            "ref": ref, "name": f"Name, {ref}", "phone": "+12025550100",
            "time_zones": json.dumps(zones) if zones else None,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        })
    ids = {r["ref"]: r["id"] for r in store.all("SELECT id, ref FROM customers")}
    store.db["scripts"].insert_all([
        {"id": 1, "name": "care", "version": "1", "hash": "h1", "text": "",
         "stored_at": "2026-01-01T00:00:00Z"},
        {"id": 2, "name": "care", "version": "2", "hash": "h2", "text": "",
         "stored_at": "2026-01-01T00:00:00Z"},
    ])
    call_ids = q.insert_calls(store, [
        {"customer_id": ids["r1"], "caller": "ann", "script_id": 1,
         "started_at": "2026-03-10T15:00:00Z", "ended_at": "2026-03-10T15:05:00Z",
         "outcome": "completed", "notes": 'said "hi",\nthen left'},
        {"customer_id": ids["r2"], "caller": "bob", "script_id": 2,
         "started_at": "2026-03-11T06:30:00Z", "ended_at": "2026-03-11T06:40:00Z",
         "outcome": "completed"},
        {"customer_id": ids["r3"], "caller": "bob", "script_id": None,
         "started_at": "2026-02-01T12:00:00Z", "ended_at": "2026-02-01T12:01:00Z",
         "outcome": "no_answer"},
    ])
    q.insert_answers(store, [
        (call_ids[0], "nps", "nps", 9, "2026-03-10T15:02:00Z"),
        (call_ids[0], "better", "text", "faster delivery", "2026-03-10T15:03:00Z"),
        (call_ids[0], "topics", "multi_choice", ["price", "speed"], "2026-03-10T15:04:00Z"),
        (call_ids[1], "nps", "nps", 3, "2026-03-11T06:35:00Z"),
    ])
    return store, ids, call_ids


def _db_calls(store):
    return store.all("SELECT * FROM calls ORDER BY id")


def test_local_times_across_dst_and_half_hour_zones():
    lt = LocalTimes()
    assert lt.convert("America/New_York", "2026-03-10T15:00:00Z") == "2026-03-10T11:00:00-04:00"
    assert lt.convert("America/New_York", "2026-03-07T15:00:00Z") == "2026-03-07T10:00:00-05:00"
    # the DST change in New York: 2026-03-08 07:00 UTC
    assert lt.convert("America/New_York", "2026-03-08T06:59:59Z") == "2026-03-08T01:59:59-05:00"
    assert lt.convert("America/New_York", "2026-03-08T07:00:00Z") == "2026-03-08T03:00:00-04:00"
    assert lt.convert("Asia/Kolkata", "2026-03-11T06:30:00Z") == "2026-03-11T12:00:00+05:30"
    assert lt.convert("Australia/Lord_Howe", "2026-04-04T15:00:00Z") == \
        "2026-04-05T01:30:00+10:30"
    # the local date differs from the UTC date (both directions)
    assert lt.convert("America/Los_Angeles", "2026-03-10T03:15:00Z") == \
        "2026-03-09T20:15:00-07:00"
    assert lt.convert("Asia/Tokyo", "2026-12-31T20:00:01Z") == "2027-01-01T05:00:01+09:00"
    assert lt.convert("", "2026-03-11T06:30:00Z") == ""
    assert lt.convert("Europe/Berlin", None) == ""


def test_export_calls_csv_matches_database(filled, tmp_path):
    store, _ids, _ = filled
    out = tmp_path / "calls.csv"
    n = export_table(store, "calls", out, fmt="csv")
    assert n == 3
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    db_rows = _db_calls(store)
    assert [int(r["id"]) for r in rows] == [r["id"] for r in db_rows]
    for got, want in zip(rows, db_rows):
        for col in ("caller", "started_at", "ended_at", "outcome"):
            assert got[col] == (want[col] or "")
        assert got["notes"] == (want["notes"] or "")
    assert rows[0]["customer_ref"] == "r1"
    assert rows[0]["started_at_local"] == "2026-03-10T11:00:00-04:00"
    assert rows[0]["time_zone"] == "America/New_York"
    assert rows[1]["started_at_local"] == "2026-03-11T12:00:00+05:30"
    assert rows[2]["time_zone"] == "" and rows[2]["started_at_local"] == ""
    header = list(rows[0])
    assert header.index("started_at_local") == header.index("started_at") + 1


def test_export_json_ndjson_xlsx(filled, tmp_path):
    store, *_ = filled
    db_rows = _db_calls(store)
    export_table(store, "calls", tmp_path / "c.json", fmt="json")
    data = json.loads((tmp_path / "c.json").read_text())
    assert [r["id"] for r in data] == [r["id"] for r in db_rows]
    assert data[0]["notes"] == db_rows[0]["notes"]
    assert data[2]["connected_at"] is None

    export_table(store, "calls", tmp_path / "c.ndjson", fmt="ndjson")
    lines = (tmp_path / "c.ndjson").read_text().splitlines()
    assert [json.loads(x)["outcome"] for x in lines] == [r["outcome"] for r in db_rows]

    n = export_table(store, "calls", tmp_path / "c.xlsx", fmt="xlsx")
    assert n == 3 and stat.S_IMODE(os.stat(tmp_path / "c.xlsx").st_mode) == 0o600
    ws = load_workbook(tmp_path / "c.xlsx", read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert [r[header.index("id")] for r in rows[1:]] == [r["id"] for r in db_rows]
    assert rows[1][header.index("started_at_local")] == "2026-03-10T11:00:00-04:00"


def test_empty_json_is_valid(store, tmp_path):
    export_table(store, "calls", tmp_path / "e.json", fmt="json")
    assert json.loads((tmp_path / "e.json").read_text()) == []


def test_export_answers_long_and_wide(filled, tmp_path):
    store, _ids, call_ids = filled
    buf = io.StringIO()
    export_table(store, "answers", buf, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == store.scalar("SELECT count(*) FROM answers")
    topics = next(r for r in rows if r["key"] == "topics")
    assert topics["value"] == "price; speed" and topics["script_version"] == "1"
    assert topics["answered_at_local"] == "2026-03-10T11:04:00-04:00"

    buf = io.StringIO()
    export_table(store, "answers", buf, fmt="ndjson")
    nested = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert next(r for r in nested if r["key"] == "topics")["value"] == ["price", "speed"]

    buf = io.StringIO()
    n = export_table(store, "answers", buf, fmt="csv", wide=True)
    wide = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert n == 2 and [int(r["call_id"]) for r in wide] == call_ids[:2]
    assert wide[0]["nps [care v1]"] == "9" and wide[0]["nps [care v2]"] == ""
    assert wide[1]["nps [care v2]"] == "3"
    assert wide[0]["better [care v1]"] == "faster delivery"
    header = list(wide[0])
    assert header.index("nps [care v1]") < header.index("better [care v1]")


def test_since_until_filter(filled):
    store, *_ = filled
    buf = io.StringIO()
    n = export_table(store, "calls", buf, since=date(2026, 3, 1), until=date(2026, 3, 10))
    assert n == 1
    with pytest.raises(UserError):
        export_table(store, "calls", io.StringIO(), since=date(2026, 3, 2),
                     until=date(2026, 3, 1))


def test_other_tables(filled, tmp_path):
    store, ids, _ = filled
    store.db["dnc"].insert({"phone": "+12025550199", "source": "customer", "reason": "asked",
                            "added_at": "2026-03-01T10:00:00Z"})
    imp = store.db["imports"].insert({"kind": "customers", "file": "list.csv",
                                      "started_at": "2026-03-01T09:00:00Z"}).last_pk
    store.db["rejects"].insert({"import_id": imp, "line": 7, "raw": json.dumps({"phone": "x"}),
                                "reason": "phone: not a number"})
    q.insert_followups(store, [{"kind": "gift", "customer_id": ids["r1"], "status": "open",
                                "created_at": "2026-03-10T15:06:00Z",
                                "due_at": "2026-03-20T15:00:00Z"}])
    for table, count in (("customers", 3), ("dnc", 1), ("rejects", 1), ("followups", 1)):
        buf = io.StringIO()
        assert export_table(store, table, buf, fmt="ndjson") == count
        rows = [json.loads(x) for x in buf.getvalue().splitlines()]
        assert len(rows) == count
    buf = io.StringIO()
    export_table(store, "rejects", buf, fmt="ndjson")
    assert json.loads(buf.getvalue())["raw"] == {"phone": "x"}
    buf = io.StringIO()
    export_table(store, "followups", buf, fmt="ndjson")
    fu = json.loads(buf.getvalue())
    assert fu["due_at_local"] == "2026-03-20T11:00:00-04:00" and fu["customer_ref"] == "r1"


def test_cli_export(filled, db_path, tmp_path):
    out = tmp_path / "a.xlsx"
    result = CliRunner().invoke(app, ["export", "answers", "--wide", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    ws = load_workbook(out, read_only=True).active
    assert len(list(ws.iter_rows(values_only=True))) == 3
    result = CliRunner().invoke(app, ["export", "calls", "--format", "ndjson"])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3


def test_cli_export_existing_file_becomes_private(filled, db_path, tmp_path):
    out = tmp_path / "old.csv"
    out.write_text("old")
    os.chmod(out, 0o644)
    result = CliRunner().invoke(app, ["export", "calls", "-o", str(out)])
    assert result.exit_code == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert out.read_text().startswith("id,")


@pytest.mark.parametrize("args,needle", [
    (["export", "orders"], "cannot export"),
    (["export", "calls", "--format", "pdf"], "--format"),
    (["export", "calls", "--wide"], "--wide"),
    (["export", "calls", "--format", "xlsx"], "-o FILE"),
    (["export", "calls", "--since", "yesterday"], "--since"),
    (["export", "calls", "-o", "/nonexistent/dir/x.csv"], "does not exist"),
])
def test_cli_export_bad_input(store, args, needle):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_interrupted_export_leaves_no_file(filled, tmp_path, monkeypatch):
    store, *_ = filled
    import calls.export as ex

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ex, "_write", boom)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(RuntimeError):
        export_table(store, "calls", out_dir / "x.csv")
    assert list(out_dir.iterdir()) == []


def test_local_time_of_a_moment_exactly_at_transition_hour_cache():
    # the cache keys by hour: two moments in the same UTC hour around no transition agree
    lt = LocalTimes()
    a = lt.convert("Europe/Berlin", "2026-10-25T00:59:59Z")   # before the change at 01:00Z
    b = lt.convert("Europe/Berlin", "2026-10-25T01:00:00Z")
    assert a == "2026-10-25T02:59:59+02:00" and b == "2026-10-25T02:00:00+01:00"
    assert datetime.fromisoformat(b) > datetime.fromisoformat(a).astimezone(UTC)


def test_csv_lines_equal_the_csv_module(filled):
    """The fast CSV path writes exactly what csv.writer writes for the same rows."""
    store, *_ = filled
    store.db["calls"].insert({"customer_id": 1, "caller": 'o"neil, jr', "reason": "a\rb",
                              "started_at": "2026-03-12T10:00:00Z", "outcome": "busy",
                              "notes": " lead space,"})
    # numbers given for text columns (stored as their text: read without a type check)
    store.db["calls"].insert({"customer_id": 1, "caller": 5, "reason": 2.5,
                              "started_at": "2026-03-12T11:00:00Z", "notes": -7})
    for table in ("calls", "answers", "customers"):
        fast = io.StringIO()
        export_table(store, table, fast, fmt="csv")
        rows = [json.loads(x) for x in _ndjson(store, table)]
        ref = io.StringIO()
        writer = csv.writer(ref)
        header = list(rows[0])
        writer.writerow(header)
        for r in rows:
            cells = []
            for k in header:
                v = r[k]
                if table == "answers" and k == "value":
                    v = "; ".join(v) if isinstance(v, list) else v
                elif isinstance(v, (list, dict)):
                    v = json.dumps(v)
                cells.append(v)
            writer.writerow(cells)
        if table == "customers":   # JSON columns are nested in JSON, text in CSV
            assert fast.getvalue().splitlines()[0] == ref.getvalue().splitlines()[0]
            continue
        assert fast.getvalue() == ref.getvalue(), table


def _ndjson(store, table):
    buf = io.StringIO()
    export_table(store, table, buf, fmt="ndjson")
    return buf.getvalue().splitlines()


@pytest.fixture
def across_dst(store):
    """More calls than twice the customers (the export then reads calls without the
    customers join, refs and zones from the in-memory lookup), in zones whose offset
    changes inside the export period: New York (spring forward and fall back), London,
    Lord Howe (a half-hour change) and Kolkata (+05:30), plus a customer without a zone."""
    zones = {"ny": "America/New_York", "ldn": "Europe/London", "lh": "Australia/Lord_Howe",
             "in": "Asia/Kolkata", "none": None}
    for ref, zone in zones.items():
        store.db["customers"].insert({
            "ref": f'{ref}, "x"' if ref == "ldn" else ref, "name": ref, "phone": "+12025550100",
            "time_zones": json.dumps([zone]) if zone else None,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        })
    ids = {r["name"]: r["id"] for r in store.all("SELECT id, name FROM customers")}
    moments = [
        "2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z",  # NY spring
        "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z",                          # London
        "2026-04-04T14:59:59Z", "2026-04-04T15:00:00Z", "2026-04-04T15:30:00Z",  # Lord Howe
        "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z",  # NY fall back
        "2026-10-04T15:59:59Z", "2026-10-04T16:00:00Z",                          # Lord Howe
    ]
    rows = []
    for n, moment in enumerate(moments):
        for name in zones:
            began = datetime.fromisoformat(moment)
            rows.append({
                "customer_id": ids[name], "caller": 'o"neil, jr' if n % 3 == 0 else "ann",
                "reason": "a\nb" if n % 4 == 0 else None, "started_at": moment,
                "connected_at": moment if n % 2 else None,
                # ends an hour and a half later: across the change when the start is before
                "ended_at": (began + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "outcome": "completed" if n % 2 else "no_answer",
                "callback_at": "2030-06-01T12:00:00Z" if n == 4 else None,
                "notes": "said, \"hi\"" if n == 5 else None,
            })
    q.insert_calls(store, rows)
    return store, zones


def _expected_local(zone, moment):
    if not zone or not moment:
        return ""
    return datetime.fromisoformat(moment).astimezone(
        ZoneInfo(zone)).isoformat()


def test_large_export_local_times_across_dst(across_dst, tmp_path):
    store, zones = across_dst
    assert store.scalar("SELECT count(*) FROM calls") > 2 * store.scalar(
        "SELECT count(*) FROM customers")
    out = tmp_path / "calls.csv"
    export_table(store, "calls", out, fmt="csv")
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    db_rows = store.all("SELECT c.*, cu.ref, cu.name FROM calls c "
                        "JOIN customers cu ON cu.id = c.customer_id ORDER BY c.id")
    assert [int(r["id"]) for r in rows] == [r["id"] for r in db_rows]
    for got, want in zip(rows, db_rows):
        zone = zones[want["name"]]
        assert got["customer_ref"] == want["ref"]
        assert got["time_zone"] == (zone or "")
        for col in ("caller", "reason", "notes", "outcome", "started_at", "connected_at",
                    "ended_at", "callback_at"):
            assert got[col] == (want[col] or ""), col
        for col in ("started_at", "connected_at", "ended_at", "callback_at"):
            assert got[f"{col}_local"] == _expected_local(zone, want[col]), (col, want[col])
    # spot checks written out: the switch itself
    ny = [r for r in rows if r["time_zone"] == "America/New_York"]
    assert ny[0]["started_at_local"] == "2026-03-08T01:59:59-05:00"
    assert ny[1]["started_at_local"] == "2026-03-08T03:00:00-04:00"
    assert ny[0]["ended_at_local"] == "2026-03-08T04:29:59-04:00"
    fall = [r for r in ny if r["started_at"].startswith("2026-11-01")]
    assert [r["started_at_local"] for r in fall] == [
        "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00"]
    lh = [r for r in rows if r["time_zone"] == "Australia/Lord_Howe"]
    assert lh[5]["started_at_local"] == "2026-04-05T01:59:59+11:00"
    assert lh[6]["started_at_local"] == "2026-04-05T01:30:00+10:30"


@pytest.mark.parametrize("table", ["calls", "answers"])
def test_large_export_equals_the_small_one(across_dst, table):
    """The lookup path (many rows per customer) writes what the joined path writes."""
    store, _ = across_dst
    call_ids = [r["id"] for r in store.all("SELECT id FROM calls ORDER BY id")]
    q.insert_answers(store, [
        (cid, "topics" if i % 2 else "better", "multi_choice" if i % 2 else "text",
         ["price", "speed, now"] if i % 2 else 'said "no", twice', "2026-03-10T15:04:00Z")
        for i, cid in enumerate(call_ids)])
    large = io.StringIO()
    export_table(store, table, large, fmt="csv")
    assert large.getvalue().count("\r\n") >= store.scalar(
        f"SELECT count(*) FROM {table}") + 1
    for fmt in ("csv", "ndjson"):
        big = io.StringIO()
        export_table(store, table, big, fmt=fmt)
        # adding customers makes the same export take the joined path
        for i in range(200):
            store.db["customers"].insert({
                "ref": f"pad{i}", "name": f"pad{i}", "phone": "+12025550100",
                "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
        small = io.StringIO()
        export_table(store, table, small, fmt=fmt)
        assert big.getvalue() == small.getvalue(), fmt
        store.db.conn.execute("DELETE FROM customers WHERE ref LIKE 'pad%'")
        store.db.conn.commit()


def test_csv_cells_quote_neutralise_remember_text_only_and_stay_bounded():
    from calls.export import _CsvCells

    memo = _CsvCells()
    assert memo['say "hi", then'] == '"say ""hi"", then"'
    assert dict.get(memo, 'say "hi", then') == '"say ""hi"", then"'   # remembered
    assert memo['=HYPERLINK("x", "y")'] == '"\'=HYPERLINK(""x"", ""y"")"'
    assert memo[None] == "" and memo[""] == ""
    assert memo[1] == "1" and memo[1.0] == "1.0"
    assert 1 not in memo and 1.0 not in memo   # 1 == 1.0: never shared
    for i in range(2 * _CsvCells.LIMIT):
        assert memo[f"note {i}"] == f"note {i}"
    assert len(memo) == _CsvCells.LIMIT


def test_customer_lookup_with_and_without_gaps_in_ids(store):
    """Dense ids take the batch path, ids with gaps the general one: the same lookup."""
    for i in range(6):
        store.db["customers"].insert({
            "ref": f"L{i}", "name": f"L{i}", "phone": "+12025550100",
            "time_zones": json.dumps(["Europe/Paris" if i % 2 else "America/Chicago"]),
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
    store.db.conn.commit()

    def check():
        from calls.store.export import customer_lookup

        refs, zone_index, zone_texts = customer_lookup(store)
        rows = store.all("SELECT id, ref, time_zones FROM customers")
        assert len(refs) == max(r["id"] for r in rows) + 1
        for r in rows:
            assert refs[r["id"]] == r["ref"]
            assert zone_texts[zone_index[r["id"]]] == r["time_zones"]
        return refs

    assert None not in check()[1:]                      # 1..6, no gaps
    store.db.conn.execute("DELETE FROM customers WHERE ref = 'L2'")
    store.db.conn.commit()
    refs = check()
    assert refs[3] is None and refs[4] == "L3"           # the gap stays a gap
