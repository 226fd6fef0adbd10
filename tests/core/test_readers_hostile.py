"""Readers against files that go wrong: quotes, encodings, formulas, binary data."""

from __future__ import annotations

import shutil
import zipfile

import openpyxl
import pytest

from calls.errors import UserError
from calls.ingest.readers import CsvChunkParser, raw_csv_chunks, read_table


def _rows(path):
    return list(read_table(path).rows())


def test_an_unbalanced_quote_that_swallows_rows_is_refused_with_its_lines(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('Name,Phone,City\nAnn,+1 212 555 0100,NYC\n"Bob,+1 212 555 0101,LA\n'
                    'Cid,+1 212 555 0102,SF\nDan,+1 212 555 0103,"Boston\n')
    with pytest.raises(UserError, match=r"q\.csv: line 3: a quote opened in this row is "
                                        r"not closed, so lines 4-5"):
        _rows(path)
    table = read_table(path)
    parser = CsvChunkParser(",", len(table.headers))
    with pytest.raises(UserError, match="line 3: a quote"):
        for first, text in raw_csv_chunks(table):
            parser(first, text)


def test_notes_over_several_lines_are_not_a_broken_quote(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('Name,Phone,Notes\nAnn,+1 212 555 0100,"called, twice\nwants a, '
                    'callback"\nBob,+1 212 555 0101,x\n')
    assert [line for line, _ in _rows(path)] == [2, 4]


def test_a_utf8_file_with_one_windows_line_reads_both_and_says_so(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("Name,Phone\nJürgen,1\n".encode() + "Zoë,2\n".encode("cp1252")
                     + "Anaïs,3\n".encode())
    table = read_table(path)
    assert [r["Name"] for _, r in table.rows()] == ["Jürgen", "Zoë", "Anaïs"]
    assert table.encoding_note == "line 3 not UTF-8 like the rest; read as cp1252"


def test_excel_unicode_text_utf16_is_read(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("Name\tPhone\nJürgen\t+49 30 1234567\n".encode("utf-16"))
    table = read_table(path)
    assert (table.encoding, table.format) == ("utf-16", "tsv")
    assert _rows(path)[0][1] == {"Name": "Jürgen", "Phone": "+49 30 1234567"}


def test_cyrillic_windows_text_is_not_read_as_western(tmp_path):
    path = tmp_path / "ru.csv"
    path.write_bytes("Name,Phone\nИван Петров,1\nМария Иванова,2\n".encode("cp1251"))
    assert read_table(path).encoding == "cp1251"
    assert _rows(path)[0][1]["Name"] == "Иван Петров"


def test_random_bytes_are_binary_data(tmp_path):
    import random

    path = tmp_path / "noise.csv"
    path.write_bytes(random.Random(3).randbytes(4000))
    with pytest.raises(UserError, match="not a text table .*binary data"):
        read_table(path)


def _workbook_with_formula(path, saved: str | None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Name", "Phone", "Revenue"])
    ws.append(["Ann", "+12125550100", "=1+2"])
    wb.save(path)
    if saved is None:
        return path
    # What Excel writes: the formula and its last result.
    fixed = path.with_name("saved.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(fixed, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("sheet1.xml"):
                data = data.replace(b"<v />", f"<v>{saved}</v>".encode())
            dst.writestr(item, data)
    shutil.move(fixed, path)
    return path


def test_a_formula_without_a_saved_value_is_reported(tmp_path):
    path = _workbook_with_formula(tmp_path / "f.xlsx", None)
    with pytest.raises(UserError, match="cell C2 holds a formula with no saved value"):
        read_table(path)


def test_a_formula_with_its_saved_value_is_read(tmp_path):
    path = _workbook_with_formula(tmp_path / "f.xlsx", "3")
    assert _rows(path)[0][1]["Revenue"] == "3"
