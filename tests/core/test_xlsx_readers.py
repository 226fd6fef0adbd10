"""The two XLSX readers give the same rows: python-calamine (the fast path) against
openpyxl (the plain path), over workbooks made the ways that go wrong."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest

from calls.errors import UserError
from calls.ingest import readers
from calls.ingest.readers import read_table
from tests.support.workbooks import MAKERS

pytest.importorskip("python_calamine")


def _read(monkeypatch, which, path, sheet=None):
    monkeypatch.setattr(readers, "XLSX_READER", which)
    table = read_table(path, sheet=sheet)
    rows = list(table.rows())
    head = table.head(2)
    return {
        "headers": table.headers, "sheet": table.sheet, "last row": table.progress_total,
        "rows": rows, "head": head, "records": list(table.records()),
        "done": table.progress_done,
    }, table.reader


def _without_crs(result):
    """The plain path's one known fault: Excel's _x000D_ (a carriage return) is left in."""
    def fix(text):
        return text.replace("_x000D_\n", "\r\n")
    result["rows"] = [(n, {k: fix(v) for k, v in row.items()}) for n, row in result["rows"]]
    result["head"] = [(n, {k: fix(v) for k, v in row.items()}) for n, row in result["head"]]
    result["records"] = [(n, [fix(v) for v in values], extra)
                         for n, values, extra in result["records"]]
    return result


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_calamine_reads_every_workbook_as_openpyxl_does(name, tmp_path, monkeypatch):
    path, sheet = MAKERS[name](tmp_path)
    plain, plain_reader = _read(monkeypatch, "openpyxl", path, sheet)
    fast, fast_reader = _read(monkeypatch, "calamine", path, sheet)
    assert plain_reader == "openpyxl"
    expected_reader = "openpyxl" if name in ("long_integers", "no_positions") else "calamine"
    assert fast_reader == expected_reader
    assert plain["rows"], name
    if not plain["last row"] and fast_reader == "calamine":
        # No <dimension> in the sheet: openpyxl cannot tell its size, calamine can.
        assert fast["last row"] == fast["done"] == fast["rows"][-1][0]
        fast["last row"] = fast["done"] = 0
    assert _without_crs(fast) == _without_crs(plain)


def test_the_damaged_list_reads_as_a_person_typed_it(tmp_path, monkeypatch):
    path, sheet = MAKERS["excel_damaged"](tmp_path)
    for which in ("calamine", "openpyxl"):
        result, _ = _read(monkeypatch, which, path, sheet)
        assert result["headers"] == ["column 1", "Customer Id", "Name", "Phone", "Since",
                                     "Revenue", "Note"], which
        rows = dict(result["rows"])
        assert sorted(rows) == [4, 5, 6, 7, 9, 10, 11, 12, 15], which
        assert rows[4]["Phone"] == "441234567000" and rows[4]["Since"] == "2021-04-05"
        assert rows[5]["Name"] == "padded" and rows[5]["Since"] == "2021-04-05 09:30:15"
        assert (rows[5]["Revenue"], rows[5]["Note"]) == ("0.125", "true")
        assert (rows[6]["Customer Id"], rows[6]["Phone"], rows[6]["Since"]) == (
            "12923", "-4396", "44291")
        assert (rows[7]["Phone"], rows[7]["Revenue"], rows[7]["Note"]) == (
            "2134", "02134", "08:30:00")
        assert rows[9]["Since"] == "2021-04-05 09:30:16"     # Excel keeps milliseconds
        assert rows[9]["Note"] == "1 day, 6:05:00" and rows[9]["Revenue"] == "1e-07"
        assert rows[10]["Note"] == "999999999999999" and rows[10]["Revenue"] == "0"
        assert rows[11]["Phone"] == "123456789012345"
        assert (rows[12]["Name"], rows[12]["Phone"], rows[12]["Since"]) == (
            "Formula", "2", "true")
        assert rows[12]["column 9"] == "beyond the headers" and rows[12]["column 11"] == "7"
        assert rows[15] == {"column 1": "", "Customer Id": "C9", "Name": "Short",
                            "Phone": "", "Since": "", "Revenue": "", "Note": ""}
        assert result["records"][-1] == (15, ["", "C9", "Short", "", "", "", ""], None)


def test_errors_and_long_numbers_come_out_as_written(tmp_path, monkeypatch):
    errors, reader = _read(monkeypatch, "calamine", MAKERS["error_cells"](tmp_path)[0])
    assert reader == "calamine"
    assert errors["rows"][1:] == [
        (4, {"column 1": "", "Name": "Bob", "Phone": "#N/A", "Revenue": "#DIV/0!",
             "column 6": "#N/A"}),
        (5, {"column 1": "", "Name": "Cid", "Phone": "", "Revenue": "#NAME?"})]
    unplaced, reader = _read(monkeypatch, "calamine", MAKERS["no_positions"](tmp_path)[0])
    assert reader == "openpyxl" and unplaced["rows"] == [(2, {"Name": "Ann",
                                                              "Phone": "#N/A"})]
    long, _ = _read(monkeypatch, "calamine", MAKERS["long_integers"](tmp_path)[0])
    assert [r["Card"] for _, r in long["rows"]] == ["1234567890123456",
                                                    # openpyxl wrote it as a float
                                                    "1.234567890123457e+19",
                                                    "1000000000000000"]
    typed, reader = _read(monkeypatch, "calamine", MAKERS["typed_error_single_quotes"](
        tmp_path)[0])
    assert reader == "calamine" and typed["rows"] == [(2, {"Name": "Ann", "Phone": "#REF!"})]


def test_carriage_returns_are_read_back_by_calamine(tmp_path, monkeypatch):
    path, _ = MAKERS["carriage_returns"](tmp_path)
    fast, _ = _read(monkeypatch, "calamine", path)
    plain, _ = _read(monkeypatch, "openpyxl", path)
    assert fast["rows"][0][1]["Note"] == "called twice\r\nwants a callback"
    assert plain["rows"][0][1]["Note"] == "called twice_x000D_\nwants a callback"
    assert fast["rows"][1][1]["Note"] == plain["rows"][1][1]["Note"] == (
        "x_x000D_y (typed as is)")


def test_the_first_worksheet_is_the_first_that_is_not_a_chart(tmp_path, monkeypatch):
    path, _ = MAKERS["several_sheets"](tmp_path)
    for which in ("calamine", "openpyxl"):
        result, _ = _read(monkeypatch, which, path)
        assert result["sheet"] == "Hidden", which
        assert result["rows"][0] == (2, {"Ref": "H1", "Phone": "2125550100",
                                         "When": "2021-01-02"})
        assert _read(monkeypatch, which, path, "Data")[0]["rows"] == [
            (2, {"Name": "Ann", "Phone": "+1 212 555 0100"})]
        with pytest.raises(UserError, match="sheet 'Chart' is a chart, not a table"):
            read_table(path, sheet="Chart")
        with pytest.raises(UserError, match=r"no sheet named 'Kunden' \(sheets: Chart, "
                                            r"Hidden, Data\)"):
            read_table(path, sheet="Kunden")


def _bad_files(tmp_path):
    empty = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(empty)
    old = tmp_path / "old_renamed.xlsx"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000))
    corrupt = tmp_path / "corrupt.xlsx"
    good, _ = MAKERS["error_cells"](tmp_path)
    corrupt.write_bytes(good.read_bytes()[:1500])
    no_sheet = tmp_path / "no_sheet_xml.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(no_sheet, "w") as dst:
        for item in src.infolist():
            if "worksheets/" not in item.filename:
                dst.writestr(item, src.read(item))
    return {
        empty: "sheet 'Sheet' is empty",
        old: r"old Excel \.xls file or a workbook with a password, not an \.xlsx",
        corrupt: "not a readable Excel workbook",
        no_sheet: "not a readable Excel workbook|the workbook has no worksheet",
    }


@pytest.mark.parametrize("which", ["calamine", "openpyxl"])
def test_bad_workbooks_are_one_clear_error(which, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "XLSX_READER", which)
    for path, message in _bad_files(tmp_path).items():
        with pytest.raises(UserError, match=message) as caught:
            table = read_table(path)
            list(table.rows())
        assert "\n" not in str(caught.value), (path.name, str(caught.value))
        assert path.name in str(caught.value)


CELLS = [
    (None, ""), ("  Ann ", "Ann"), ("", ""), (True, "true"), (False, "false"),
    (12923.0, "12923"), (-4396.0, "-4396"), (4.41234567e11, "441234567000"),
    (1200.5, "1200.5"), (1e15, "1000000000000000.0"), (-0.0, "0"), (1e-7, "1e-07"),
    (42, "42"), (12345678901234567890, "12345678901234567890"),
    (dt.datetime(2021, 4, 5), "2021-04-05"),
    (dt.datetime(2021, 4, 5, 0, 0, 30), "2021-04-05 00:00:30"),
    (dt.datetime(2021, 4, 5, 0, 0, 0, 5), "2021-04-05 00:00:00"),
    (dt.datetime(2021, 4, 5, 9, 30, 15, 999999), "2021-04-05 09:30:15"),
    (dt.date(1999, 12, 31), "1999-12-31"), (dt.time(8, 30), "08:30:00"),
    (dt.timedelta(hours=30, minutes=5), "1 day, 6:05:00"),
]


@pytest.mark.parametrize(("value", "text"), CELLS)
def test_cells_by_type_are_written_as_by_kind(value, text):
    assert readers._text(value) == readers._text_plain(value) == text


@pytest.mark.parametrize(("ref", "where"), [
    ("A1", (1, 0)), ("Z9", (9, 25)), ("AA10", (10, 26)), ("AB12", (12, 27)),
    ("XFD1048576", (1048576, 16383)), ("c3", (3, 2)), ("1A", None), ("", None), (None, None),
])
def test_cell_references_are_placed(ref, where):
    assert readers._cell_position(ref) == where
