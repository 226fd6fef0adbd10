"""Tricky Excel workbooks, made on the spot: what Excel and other programs do to a list.

Each maker writes one .xlsx into a folder and returns its path and the sheet to read
(None: the first). Used by the XLSX reader equivalence tests (calamine against openpyxl).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import xlsxwriter

MAKERS: dict[str, Callable[[Path], tuple[Path, str | None]]] = {}


def maker(fn: Callable[[Path], tuple[Path, str | None]]) -> Callable:
    MAKERS[fn.__name__] = fn
    return fn


@maker
def excel_damaged(folder: Path) -> tuple[Path, str | None]:
    """Numbers where text was meant, dates of every kind, formats, blanks, merges."""
    path = folder / "damaged.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Customers")
    fmt = {name: wb.add_format({"num_format": code}) for name, code in [
        ("day", "dd/mm/yyyy"), ("stamp", "yyyy-mm-dd hh:mm:ss"), ("time", "hh:mm"),
        ("hours", "[h]:mm:ss"), ("us", "[$-409]mmmm d, yyyy;@"), ("pct", "0.00%"),
        ("text", "@"), ("zip", "00000"), ("money", '#,##0.00 "€"')]}
    # Data from B3 (blank rows above, a blank column before), a header cell merged over
    # two columns, a formatted but blank header cell at the end.
    ws.write_row(2, 1, ["Customer Id", "Name", "Phone", "Since", "Revenue"])
    ws.merge_range(2, 6, 2, 7, "Note")
    ws.write_blank(2, 7, None, fmt["text"])
    rows = [
        ["C1", "Zoë Müller", 4.41234567e11, (dt.datetime(2021, 4, 5), "day"), 1200.5, "ok"],
        ["C2", "  padded  ", 4155552671, (dt.datetime(2021, 4, 5, 9, 30, 15), "stamp"),
         (0.125, "pct"), True],
        [12923.0, "Lee", -4396, 44291, (1234.5, "money"), False],
        ["C4", "東京 Ltd", (2134, "zip"), (dt.datetime(2020, 1, 31), "us"),
         ("02134", "text"), (dt.time(8, 30), "time")],
        [None, None, None, None, None, None],
        ["C5", "Late", 812968881, (dt.datetime(2021, 4, 5, 9, 30, 15, 999600), "stamp"),
         1e-7, (dt.timedelta(hours=30, minutes=5), "hours")],
        ["C6", "Old", 441234567890, (dt.datetime(1900, 2, 28, 12), "stamp"), -0.0,
         999999999999999],
        ["C7", "Huge", 123456789012345, (dt.datetime(1900, 1, 1), "day"), 2.5e-300,
         12345.678901234567],
    ]
    for r, row in enumerate(rows, start=3):
        for c, cell in enumerate(row, start=1):
            value, style = cell if isinstance(cell, tuple) else (cell, None)
            f = fmt[style] if style else None
            if value is None:
                continue
            if isinstance(value, dt.timedelta):
                ws.write_number(r, c, value.total_seconds() / 86400, f)
            elif isinstance(value, (dt.datetime, dt.time)):
                ws.write_datetime(r, c, value, f)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, str):
                ws.write_string(r, c, value, f)
            else:
                ws.write_number(r, c, value, f)
    # Formulas with their saved results, a rich string, cells past the headers, a short
    # row, blank rows before the last.
    r = 11
    ws.write_string(r, 1, "C8")
    ws.write_formula(r, 2, '="Form"&"ula"', None, "Formula")
    ws.write_formula(r, 3, "=1+1", None, 2)
    ws.write_formula(r, 4, "=TRUE()", None, True)
    ws.write_rich_string(r, 5, "rich ", wb.add_format({"bold": True}), "text")
    ws.write_string(r, 8, "beyond the headers")
    ws.write_number(r, 10, 7)
    ws.write_string(14, 1, "C9")
    ws.write_string(14, 2, "Short")
    wb.add_worksheet("Notes").write_string(0, 0, "nothing here")
    wb.close()
    return path, "Customers"


@maker
def several_sheets(folder: Path) -> tuple[Path, str | None]:
    """A hidden sheet first (openpyxl's first worksheet), a chart sheet before it."""
    path = folder / "sheets.xlsx"
    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    data.append(["Name", "Phone"])
    data.append(["Ann", "+1 212 555 0100"])
    hidden = wb.create_sheet("Hidden", 0)
    hidden.sheet_state = "hidden"
    hidden.append(["Ref", "Phone", "When"])
    hidden.append(["H1", 2125550100, dt.datetime(2021, 1, 1, 23, 59, 59, 999999)])
    hidden.append([None, None, dt.time(23, 59, 59, 600000)])
    chart = wb.create_chartsheet("Chart", 0)
    from openpyxl.chart import BarChart, Reference

    bars = BarChart()
    bars.add_data(Reference(data, min_col=1, min_row=1, max_row=2))
    chart.add_chart(bars)
    wb.save(path)
    return path, None


@maker
def mac_1904(folder: Path) -> tuple[Path, str | None]:
    """Dates counted from 1904, as old Mac Excel saved them."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    path = folder / "mac.xlsx"
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["Name", "Birthday", "Called"])
    ws.append(["Ann", dt.date(1999, 12, 31), dt.datetime(2021, 4, 5, 9, 30)])
    ws.append(["Bob", dt.date(1904, 1, 2), dt.datetime(2021, 4, 5)])
    wb.save(path)
    return path, None


@maker
def error_cells(folder: Path) -> tuple[Path, str | None]:
    """Errors from lookups (#N/A) and typed in: calamine gives them as empty cells."""
    path = folder / "errors.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    # From B2: the errors' columns count from the sheet's, not the data's, first column.
    ws.write_row(1, 1, ["Name", "Phone", "Revenue"])
    ws.write_row(2, 1, ["Ann", "+12125550100", 10])
    ws.write_string(3, 1, "Bob")
    ws.write_formula(3, 2, "=VLOOKUP(A3,X:Y,2,0)", None, "#N/A")
    ws.write_formula(3, 3, "=1/0", None, "#DIV/0!")
    ws.write_formula(3, 5, "=NA()", None, "#N/A")       # past the headers
    ws.write_string(4, 1, "Cid")
    ws.write_formula(4, 3, "=X", None, "#NAME?")
    wb.close()
    return path, None


@maker
def long_integers(folder: Path) -> tuple[Path, str | None]:
    """Integers of 16+ digits written whole (openpyxl, pandas): calamine reads floats."""
    path = folder / "long.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Ref", "Card"])
    ws.append(["A", 1234567890123456])
    ws.append(["B", 12345678901234567890])
    ws.append(["C", 10**15])
    wb.save(path)
    return path, None


def _replace_sheet(source: Path, target: Path, sheet_xml: bytes) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml
            dst.writestr(item, data)
    return target


def _blank_book(folder: Path) -> Path:
    path = folder / "blank.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["x"])
    wb.save(path)
    return path


@maker
def inline_strings(folder: Path) -> tuple[Path, str | None]:
    """Hand-written XML as other programs write it: inline strings (pandas, the UCI
    file), a namespace prefix, rows and cells without numbers, ISO date cells."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        b'<x:row><x:c t="inlineStr"><x:is><x:t>Name</x:t></x:is></x:c>'
        b'<x:c t="inlineStr"><x:is><x:r><x:t>Pho</x:t></x:r><x:r><x:t>ne</x:t></x:r></x:is>'
        b"</x:c><x:c t='inlineStr'><x:is><x:t xml:space=\"preserve\"> When </x:t></x:is>"
        b'</x:c></x:row>'
        b'<x:row><x:c t="inlineStr"><x:is><x:t>Ann</x:t></x:is></x:c>'
        b'<x:c><x:v>4.41234567E+11</x:v></x:c><x:c t="d"><x:v>2021-04-05T09:30:00</x:v>'
        b'</x:c></x:row>'
        b'<x:row r="5"><x:c r="A5" t="str"><x:v>Bob</x:v></x:c><x:c r="B5"><x:v>0042</x:v>'
        b'</x:c><x:c r="C5" t="b"><x:v>1</x:v></x:c></x:row>'
        b'</x:sheetData></x:worksheet>')
    return _replace_sheet(_blank_book(folder), folder / "inline.xlsx", sheet), None


@maker
def typed_error_single_quotes(folder: Path) -> tuple[Path, str | None]:
    """An error typed in (no formula), its type in single quotes."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
        b'<c r="B1" t="inlineStr"><is><t>Phone</t></is></c></row>'
        b"<row r=\"2\"><c r=\"A2\" t='inlineStr'><is><t>Ann</t></is></c>"
        b"<c r=\"B2\" t='e'><v>#REF!</v></c></row>"
        b'</sheetData></worksheet>')
    return _replace_sheet(_blank_book(folder), folder / "typed_error.xlsx", sheet), None


@maker
def carriage_returns(folder: Path) -> tuple[Path, str | None]:
    """A note pasted from Windows text: Excel stores CR as _x000D_ in the XML."""
    path = folder / "cr.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["Name", "Note"])
    ws.write_row(1, 0, ["Ann", "called twice\r\nwants a callback"])
    ws.write_row(2, 0, ["Bob", "x_x000D_y (typed as is)"])
    wb.close()
    return path, None


@maker
def no_positions(folder: Path) -> tuple[Path, str | None]:
    """An error cell in a row whose cells carry no position: read plainly."""
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row><c t="inlineStr"><is><t>Name</t></is></c><c t="inlineStr"><is><t>Phone'
        b'</t></is></c></row>'
        b'<row><c t="inlineStr"><is><t>Ann</t></is></c><c t="e"><v>#N/A</v></c></row>'
        b'</sheetData></worksheet>')
    return _replace_sheet(_blank_book(folder), folder / "no_positions.xlsx", sheet), None
