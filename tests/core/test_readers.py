"""Table readers: every format, delimiter and encoding the importers accept."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import Workbook

from calls.errors import UserError
from calls.ingest.readers import read_table

ROWS = [
    ("Customer Id", "Name", "Phone", "Revenue"),
    ("C1", "Zoë Müller", "030 12345678", "1.234,50"),
    ("C2", "Ann Lee", "(415) 555-2671", "99"),
]


def _write_delimited(path, delimiter, encoding="utf-8", bom=False):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(ROWS)
    text = buffer.getvalue()
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_sniffed(tmp_path, delimiter):
    table = read_table(_write_delimited(tmp_path / "list.csv", delimiter))
    assert table.headers == list(ROWS[0])
    assert table.delimiter == delimiter
    rows = list(table.rows())
    assert rows[0] == (2, dict(zip(ROWS[0], ROWS[1])))
    assert rows[1][0] == 3


def test_tsv_by_extension(tmp_path):
    table = read_table(_write_delimited(tmp_path / "list.tsv", "\t"))
    assert table.format == "tsv"
    assert [r["Name"] for _, r in table.rows()] == ["Zoë Müller", "Ann Lee"]


def test_utf8_bom(tmp_path):
    table = read_table(_write_delimited(tmp_path / "bom.csv", ",", bom=True))
    assert table.headers[0] == "Customer Id"
    assert table.encoding == "utf-8-sig"


def test_cp1252_fallback_is_reported(tmp_path):
    table = read_table(_write_delimited(tmp_path / "win.csv", ";", encoding="cp1252"))
    assert table.encoding == "cp1252"
    assert next(r["Name"] for _, r in table.rows()) == "Zoë Müller"


def test_latin1_bytes_undefined_in_cp1252(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"Name,Phone\nA\x81B,4155552671\n")
    table = read_table(path)
    assert table.encoding == "latin-1"
    assert next(iter(table.rows()))[1]["Name"] == "A\x81B"


def test_quoted_multiline_fields_keep_line_numbers(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('Name,Notes,Phone\nA,"line one\nline two",1\n\nB,x,2\n')
    rows = list(read_table(path).rows())
    assert [line for line, _ in rows] == [2, 5]   # blank line 4 skipped
    assert rows[0][1]["Notes"] == "line one\nline two"


def test_ragged_rows_and_blank_and_repeated_headers(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("Name,,Name\nA\nB,x,y,z\n")
    table = read_table(path)
    assert table.headers == ["Name", "column 2", "Name (2)"]
    rows = [r for _, r in table.rows()]
    assert rows[0] == {"Name": "A", "column 2": "", "Name (2)": ""}
    assert rows[1]["column 4"] == "z"


def test_xlsx_first_sheet_and_named_sheet(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["nothing here"])
    ws2 = wb.create_sheet("Customers")
    ws2.append(["Customer Id", "Phone", "Revenue", "Since"])
    import datetime as dt

    ws2.append([12923.0, 4155552671, 1200.5, dt.datetime(2021, 4, 5)])
    ws2.append([None, None, None, None])
    ws2.append(["C2", "-4396", 7, dt.datetime(2021, 4, 5, 9, 30)])
    path = tmp_path / "list.xlsx"
    wb.save(path)
    assert read_table(path).headers == ["nothing here"]
    table = read_table(path, sheet="Customers")
    rows = list(table.rows())
    assert rows[0] == (2, {"Customer Id": "12923", "Phone": "4155552671", "Revenue": "1200.5",
                           "Since": "2021-04-05"})
    assert rows[1][0] == 4
    assert rows[1][1]["Since"] == "2021-04-05 09:30:00"
    with pytest.raises(UserError, match="no sheet named 'Nope'.*Summary, Customers"):
        read_table(path, sheet="Nope")


def test_json_array_and_ndjson(tmp_path):
    items = [{"id": "C1", "phone": "4155552671", "tags": ["a"]}, {"id": "C2", "phone": None}]
    (tmp_path / "list.json").write_text(json.dumps(items))
    table = read_table(tmp_path / "list.json")
    assert table.format == "json"
    rows = list(table.rows())
    assert rows[0] == (1, {"id": "C1", "phone": "4155552671", "tags": '["a"]'})
    assert rows[1][1]["phone"] == ""
    (tmp_path / "list.ndjson").write_text("\n".join(json.dumps(i) for i in items) + "\n\n")
    rows = list(read_table(tmp_path / "list.ndjson").rows())
    assert [line for line, _ in rows] == [1, 2]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("empty.csv", b"", "empty"),
        ("bad.json", b"{not json", "not valid JSON"),
        ("scalar.json", b"[1, 2]", "must be an object"),
        ("bad.xlsx", b"PK\x03\x04garbage", "not a readable Excel workbook"),
        ("old.xls", b"\xd0\xcf\x11\xe0", ".xls files are not supported"),
        ("bad.ndjson", b'{"a": 1}\n[2]\n', "expected a JSON object"),
    ],
)
def test_unreadable_files_are_user_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        table = read_table(path)
        list(table.rows())


def test_sheet_option_only_for_excel(tmp_path):
    with pytest.raises(UserError, match="--sheet"):
        read_table(_write_delimited(tmp_path / "l.csv", ","), sheet="x")


def test_raw_chunks_parse_like_the_streaming_reader(tmp_path):
    from calls.ingest.readers import CsvChunkParser, raw_csv_chunks

    path = tmp_path / "tricky.csv"
    path.write_text(
        '"Name","Notes\nmore",Phone\n'
        'A,"one\n""quoted"" two\nthree",1\n'
        "\n"
        'B,,2,extra\n'
        '"C ""x""",plain,3\r\n'
        "D,x\n"
    )
    table = read_table(path)
    expected = list(table.records())
    parser = CsvChunkParser(",", len(table.headers))
    for size in (1, 2, 7, 10, 64, 1 << 16):
        got = [rec for first, text in raw_csv_chunks(table, size) for rec in parser(first, text)]
        assert got == expected, size
    assert [line for line, _, _ in expected] == [3, 7, 8, 9]
    assert expected[0][1][1] == 'one\n"quoted" two\nthree'
    assert expected[1][2] == {"column 4": "extra"}


def test_raw_chunks_on_real_crlf_exports():
    from pathlib import Path

    from calls.ingest.readers import CsvChunkParser, raw_csv_chunks

    data = Path(__file__).resolve().parents[1] / "data"
    for name in ("datablist_customers_10.csv", "excel_roundtrip_sample.csv",
                 "uci_retail_sample.csv"):
        table = read_table(data / name)
        expected = list(table.records())
        parser = CsvChunkParser(table.delimiter or ",", len(table.headers))
        for size in (3, 100, 1 << 20):
            got = [r for first, text in raw_csv_chunks(table, size) for r in parser(first, text)]
            assert got == expected, (name, size)


def test_binary_file_is_one_clear_error(tmp_path):
    import pytest

    from calls.errors import UserError
    from calls.ingest.readers import read_table

    path = tmp_path / "list.csv"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\r\x00\x00name,phone\n\x00\x00")
    with pytest.raises(UserError, match="binary"):
        read_table(path)
