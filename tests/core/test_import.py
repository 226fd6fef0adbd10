"""The customer importer: columns, upsert, duplicates, rejects, re-import, tiers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from calls.errors import UserError
from calls.ingest.customers import ImportOptions, detect_columns, import_customers
from calls.ingest.pipeline import parse_mapping
from calls.store.customers import get_customer

DATA = Path(__file__).resolve().parents[1] / "data"

HEADER = ["Customer Id", "First Name", "Last Name", "Country", "Phone", "Annual Revenue",
          "Last Purchase", "Birthday", "Account Owner", "Segment"]


def write_list(path: Path, rows: list[list[str]], header=HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


ROWS = [
    ["C1", "Ann", "Lee", "US", "(212) 555-0100", "$80,000", "2026-02-01", "1980-03-12", "Kim", "retail"],
    ["C2", "Jean", "Dupont", "France", "01 42 68 53 00", "15000", "2025-12-01", "", "Kim", ""],
    ["C3", "Max", "Müller", "Deutschland", "030 12345678", "3.000,00", "", "14.03.1975", "Lou", ""],
    ["C4", "Amy", "Pond", "United Kingdom", "020 8366 1177 x12", "2000", "", "", "", "vip"],
    ["C5", "Bad", "Number", "US", "-4396", "100", "", "", "", ""],
]


def test_import_inserts_and_normalises(store, now, tmp_path):
    path = write_list(tmp_path / "list.csv", ROWS)
    result = import_customers(store, path, ImportOptions(), now)
    assert (result.rows_read, result.inserted, result.rejected) == (5, 4, 1)
    assert result.match_on == "ref"
    ann = get_customer(store, "C1")
    assert ann.name == "Ann Lee"
    assert ann.phone == "+12125550100"
    assert ann.phone_raw == "(212) 555-0100"
    assert ann.time_zones == ("America/New_York",)
    assert ann.revenue == 80000
    assert str(ann.last_purchase) == "2026-02-01"
    assert str(ann.birthday) == "1980-03-12"
    assert ann.owner == "Kim"
    assert ann.extra == {"Segment": "retail"}
    max_ = get_customer(store, "C3")
    assert (max_.phone, max_.country, max_.revenue) == ("+493012345678", "DE", 3000.0)
    assert str(max_.birthday) == "1975-03-14"
    amy = get_customer(store, "C4")
    assert (amy.phone, amy.phone_ext, amy.phone_region) == ("+442083661177", "12", "GB")
    assert get_customer(store, "C5") is None
    reject = store.one("SELECT * FROM rejects")
    assert reject["line"] == 6
    assert "negative number" in reject["reason"]
    assert json.loads(reject["raw"])["Phone"] == "-4396"
    imp = store.one("SELECT * FROM imports")
    assert (imp["kind"], imp["rows_read"], imp["inserted"], imp["rejected"]) == (
        "customers", 5, 4, 1)
    assert imp["file_hash"]
    # Tiers follow revenue: 80000 of 100000 is the first 80 %.
    tiers = dict(store.db.conn.execute("SELECT ref, tier FROM customers"))
    assert tiers == {"C1": "A", "C2": "B", "C3": "C", "C4": "C"}


def test_reimport_changes_nothing(store, now, tmp_path):
    path = write_list(tmp_path / "list.csv", ROWS)
    import_customers(store, path, ImportOptions(), now)
    before = store.all("SELECT * FROM customers ORDER BY id")
    again = import_customers(store, path, ImportOptions(), now)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 4, 1)
    assert store.all("SELECT * FROM customers ORDER BY id") == before


def test_changed_row_is_updated_and_untouched_columns_kept(store, now, tmp_path):
    import_customers(store, write_list(tmp_path / "a.csv", ROWS), ImportOptions(), now)
    with store.write():
        store.db.conn.execute(
            "UPDATE customers SET do_not_call = 1, number_status = 'wrong_number' "
            "WHERE ref IN ('C1', 'C2')"
        )
    rows = [list(r) for r in ROWS]
    rows[0][4] = "(212) 555-0199"       # new number for C1
    rows[1][5] = "16000"                # new revenue for C2
    result = import_customers(store, write_list(tmp_path / "b.csv", rows), ImportOptions(), now)
    assert (result.inserted, result.updated, result.unchanged) == (0, 2, 2)
    c1 = get_customer(store, "C1")
    assert c1.phone == "+12125550199"
    assert c1.number_status == "ok"          # a new number is worth trying
    assert c1.do_not_call                      # the list never clears a do-not-call
    c2 = get_customer(store, "C2")
    assert c2.revenue == 16000
    assert c2.number_status == "wrong_number"  # same number: still wrong
    # A list without a revenue column leaves revenue alone.
    slim = write_list(tmp_path / "slim.csv", [["C2", "01 42 68 53 00"]],
                      header=["Customer Id", "Phone"])
    import_customers(store, slim, ImportOptions(), now)
    assert get_customer(store, "C2").revenue == 16000
    assert get_customer(store, "C2").name == "Jean Dupont"


def test_duplicates_in_one_file_last_one_wins(store, now, tmp_path):
    rows = [ROWS[0], ["C1", "Ann", "Lee-Smith", "US", "(212) 555-0100", "1", "", "", "", ""],
            ROWS[1]]
    path = write_list(tmp_path / "dup.csv", rows)
    result = import_customers(store, path, ImportOptions(), now)
    assert (result.rows_read, result.inserted, result.duplicates) == (3, 2, 1)
    assert get_customer(store, "C1").name == "Ann Lee-Smith"
    again = import_customers(store, path, ImportOptions(), now)
    assert (again.inserted, again.updated, again.unchanged, again.duplicates) == (0, 0, 2, 1)


def test_without_id_column_matches_on_phone(store, now, tmp_path):
    header = ["Name", "Telephone", "Spend"]
    path = write_list(tmp_path / "p.csv", [["Ann", "212-555-0100", "10"],
                                           ["Bob", "+1 212 555 0100", "20"],
                                           ["Cy", "212 555 0101", "5"]], header=header)
    result = import_customers(store, path, ImportOptions(), now)
    assert result.match_on == "phone"
    assert (result.inserted, result.duplicates) == (2, 1)
    bob = get_customer(store, "+12125550100")
    assert (bob.name, bob.revenue) == ("Bob", 20)
    path2 = write_list(tmp_path / "p2.csv", [["Robert", "(212) 555-0100", "20"]], header=header)
    result2 = import_customers(store, path2, ImportOptions(), now)
    assert (result2.inserted, result2.updated) == (0, 1)
    assert get_customer(store, "+12125550100").name == "Robert"


def test_region_option_for_rows_without_country(store, now, tmp_path):
    path = write_list(tmp_path / "uk.csv", [["U1", "020 8366 1177"]], header=["id", "phone"])
    result = import_customers(store, path, ImportOptions(region="GB"), now)
    assert result.inserted == 1
    assert get_customer(store, "U1").phone == "+442083661177"
    with pytest.raises(UserError, match="--region"):
        import_customers(store, path, ImportOptions(region="XX"), now)


def test_dry_run_writes_nothing_but_counts(store, now, tmp_path):
    path = write_list(tmp_path / "list.csv", ROWS)
    result = import_customers(store, path, ImportOptions(dry_run=True), now)
    assert (result.inserted, result.rejected, result.dry_run) == (4, 1, True)
    assert store.scalar("SELECT count(*) FROM customers") == 0
    assert store.scalar("SELECT count(*) FROM imports") == 0
    assert store.scalar("SELECT count(*) FROM rejects") == 0


def test_rejects_file_is_private_and_complete(store, now, tmp_path):
    out = tmp_path / "rejects.csv"
    path = write_list(tmp_path / "list.csv", ROWS + [["C6", "", "", "", "", "", "", "", "", ""],
                                                     ["C7", "", "", "", "212 555 0100", "lots",
                                                      "", "", "", ""]])
    result = import_customers(store, path, ImportOptions(rejects_path=out), now)
    assert result.rejected == 3
    assert out.stat().st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(out.open()))
    assert [r["line"] for r in rows] == ["6", "7", "8"]
    assert "negative" in rows[0]["reason"]
    assert "no phone number" in rows[1]["reason"]
    assert "Annual Revenue" in rows[2]["reason"] and "not an amount" in rows[2]["reason"]
    assert rows[0]["Phone"] == "-4396"


def test_excel_damaged_roundtrip_is_rejected_not_fixed(store, now):
    result = import_customers(store, DATA / "excel_roundtrip_sample.csv", ImportOptions(), now)
    reasons = {r.line: r.reason for r in result.rejects}
    # Line 15 of the sample: 'Phone 1' became -4396 in Excel.
    assert "negative number" in reasons[15]
    assert result.rows_read == result.inserted + result.rejected
    # Dates came back DD-MM-YYYY from Excel; the column is read day-first.
    for c in store.all("SELECT customer_since FROM customers"):
        assert c["customer_since"][:4] in ("2020", "2021", "2022")
    # Phone 2 of line 14 is -8098: the customer stays (Phone 1 is fine), the bad second
    # number is kept as text only.
    row = store.one("SELECT phone2, phone2_raw FROM customers WHERE ref = 'ec75Fb9C6A0DcF1'")
    if row is not None:
        assert row["phone2"] is None and row["phone2_raw"] == "-8098"


def test_column_detection_and_map():
    headers = ["Kundennummer", "Vorname", "Nachname", "Telefon", "Mobile", "E-Mail", "Umsatz",
               "Geburtstag", "Kunde seit", "Betreuer", "Notes"]
    cols = detect_columns(headers)
    assert cols == {
        "ref": "Kundennummer", "first_name": "Vorname", "last_name": "Nachname",
        "phone": "Telefon", "phone2": "Mobile", "email": "E-Mail", "revenue": "Umsatz",
        "birthday": "Geburtstag", "customer_since": "Kunde seit", "owner": "Betreuer",
    }
    cols = detect_columns(["ID", "Tel", "Cell"], parse_mapping(["phone=cell"]))
    assert cols["phone"] == "Cell"
    assert cols.get("phone2") != "Cell"
    with pytest.raises(UserError, match="no phone column found.*Name, Email"):
        detect_columns(["Name", "Email"])
    with pytest.raises(UserError, match="unknown field 'fone'.*phone"):
        detect_columns(["Name", "Tel"], {"fone": "Tel"})
    with pytest.raises(UserError, match="no column 'Telephone'.*Name, Tel"):
        detect_columns(["Name", "Tel"], {"phone": "Telephone"})
    with pytest.raises(UserError, match="FIELD=Header"):
        parse_mapping(["phone"])


def test_parallel_preparation_gives_the_same_result(store, now, tmp_path):
    rows = [[f"C{i}", "A", "B", "US", f"(212) 555-{i:04d}", str(i), "", "", "", ""]
            for i in range(3000)]
    rows.append(["C10", "A", "B", "US", "-1", "", "", "", "", ""])
    path = write_list(tmp_path / "big.csv", rows)
    result = import_customers(store, path, ImportOptions(workers=2), now)
    assert (result.rows_read, result.inserted, result.rejected, result.duplicates) == (
        3001, 3000, 1, 0)
    again = import_customers(store, path, ImportOptions(workers=1), now)
    assert (again.unchanged, again.updated, again.inserted) == (3000, 0, 0)


def test_tiers_given_at_insert_are_the_rule(store, now, tmp_path):
    """The merge tiers everyone (new customers at insert); the full rule then changes none."""
    from calls.ingest.tiers import recompute_tiers

    rows = [[f"N{i}", "A", "B", "US", f"(212) 555-{i:04d}", str((i * 37) % 500), "", "", "",
             ""] for i in range(400)]
    import_customers(store, write_list(tmp_path / "a.csv", rows[:150]), ImportOptions(), now)
    # A second list adds customers and changes revenues of known ones (ties included).
    more = [[r[0], *r[1:5], str((int(r[5]) * 3) % 250), *r[6:]] for r in rows[100:]]
    import_customers(store, write_list(tmp_path / "a2.csv", rows[:150]), ImportOptions(), now)
    assert recompute_tiers(store) == 0
    import_customers(store, write_list(tmp_path / "b.csv", more), ImportOptions(), now)
    assert recompute_tiers(store) == 0
    # New thresholds in the policy apply at the next import, even one that changes nothing.
    import_customers(store, write_list(tmp_path / "b.csv", more),
                     ImportOptions(a_share=0.5, b_share=0.7), now)
    assert recompute_tiers(store, 0.5, 0.7) == 0
    assert store.scalar("SELECT count(*) FROM customers WHERE tier IS NULL") == 0


def _customer_indexes(store) -> list[tuple]:
    return [tuple(r) for r in store.db.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers' "
        "ORDER BY name")]


def test_first_import_keeps_every_index_as_migrated(store, now, tmp_path):
    """A first import builds the indexes after the insert; they end up exactly as defined."""
    migrated = _customer_indexes(store)
    assert len(migrated) > 5
    path = write_list(tmp_path / "list.csv", ROWS)
    assert import_customers(store, path, ImportOptions(), now).inserted == 4
    assert _customer_indexes(store) == migrated
    assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The indexes are in use and complete: a lookup through each one finds the rows.
    assert store.scalar("SELECT count(*) FROM customers INDEXED BY idx_customers_phone "
                        "WHERE phone = '+12125550100'") == 1
    # A second import into a table with rows maintains the indexes as usual.
    more = write_list(tmp_path / "more.csv", [["C9", "Zoe", "Ray", "US", "(212) 555-0199",
                                               "10", "", "", "", ""]])
    assert import_customers(store, more, ImportOptions(), now).inserted == 1
    assert _customer_indexes(store) == migrated
    assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_extra_columns_json_is_what_json_dumps_writes():
    from calls.ingest.customers import _extra_json

    for extra in ({"b": "2", "a": 'say "hi"'}, {"Städt": "Köln\nNord", "x": "\u2028"}, {}):
        assert _extra_json(extra) == json.dumps(extra, ensure_ascii=False, sort_keys=True,
                                                separators=(",", ":"))


def test_extra_columns_read_alike_whether_inserted_or_updated(store, now, tmp_path):
    """A customer's extra text is written the same way by the import that adds them and
    by a later one that merges new columns in (SQLite's json_patch writes it compact):
    an export shows one form, whichever import wrote the row."""
    header = ["ref", "name", "country", "phone", "Street", "City"]
    first = write_list(tmp_path / "a.csv", [["X1", "Ann Lee", "US", "(212) 555-0100",
                                             "1 Main St", "Springfield"],
                                            ["X2", "Bo Day", "US", "(212) 555-0101",
                                             "2 Main St", "Springfield"]], header)
    import_customers(store, first, ImportOptions(), now)
    later = write_list(tmp_path / "b.csv", [["X1", "Ann Lee", "US", "(212) 555-0100",
                                             "1 Main St", "Shelbyville"],
                                            ["X2", "Bo Day", "US", "(212) 555-0101",
                                             "2 Main St", "Springfield"]], header)
    result = import_customers(store, later, ImportOptions(), now)
    assert (result.updated, result.unchanged) == (1, 1)
    texts = dict(store.db.conn.execute("SELECT ref, extra FROM customers"))
    assert texts == {"X1": '{"City":"Shelbyville","Street":"1 Main St"}',
                     "X2": '{"City":"Springfield","Street":"2 Main St"}'}


def _customers_by_ref(store) -> dict[str, dict]:
    skip = {"id", "import_id", "created_at", "updated_at"}
    return {r["ref"]: {k: v for k, v in r.items() if k not in skip}
            for r in store.all("SELECT * FROM customers")}


def test_first_load_stores_what_staging_stores(store, now, tmp_path, monkeypatch):
    """A list loaded straight into the empty table (duplicates, rejects, tiers with a
    guessed start) ends exactly as the staged merge leaves it."""
    from calls.store import Store
    from calls.store.imports import FirstLoad

    rows = [[f"C{i}", "A", "B", "US", f"(212) 555-{i:04d}", str((i * 7919) % 1000 + i / 1000),
             "", "", "", "vip" if i % 3 else ""] for i in range(600)]
    rows += [["C5", "Again", "Later", "US", "(212) 555-0999", "5", "", "", "", "x"],
             ["C7", "Bad", "Phone", "US", "-4396", "1", "", "", "", ""]]
    path = write_list(tmp_path / "list.csv", rows)
    first = import_customers(store, path, ImportOptions(), now)
    assert store.scalar("SELECT count(*) FROM imports") == 1
    other = Store.open(tmp_path / "staged.db")
    monkeypatch.setattr(FirstLoad, "start", classmethod(lambda cls, *a, **k: None))
    staged = import_customers(other, path, ImportOptions(), now)
    counts = ("rows_read", "inserted", "updated", "unchanged", "rejected", "duplicates")
    assert [getattr(first, c) for c in counts] == [getattr(staged, c) for c in counts]
    assert (first.inserted, first.duplicates, first.rejected) == (600, 1, 1)
    assert _customers_by_ref(store) == _customers_by_ref(other)
    assert get_customer(store, "C5").name == "Again Later"       # the last row won
    assert store.all("SELECT line, reason FROM rejects") == other.all(
        "SELECT line, reason FROM rejects")
    other.close()


def test_first_load_that_fails_leaves_the_table_as_it_was(store, now, tmp_path, monkeypatch):
    from calls.store.imports import FirstLoad

    migrated = _customer_indexes(store)
    rows = [[f"C{i}", "A", "B", "US", f"(212) 555-{i:04d}", "10", "", "", "", ""]
            for i in range(50)]
    path = write_list(tmp_path / "list.csv", rows)
    calls = []
    add = FirstLoad.add

    def add_then_fail(self, records, rejects):
        calls.append(len(records))
        add(self, records, rejects)
        raise KeyboardInterrupt   # the user pressed Ctrl-C mid-import

    monkeypatch.setattr(FirstLoad, "add", add_then_fail)
    with pytest.raises(KeyboardInterrupt):
        import_customers(store, path, ImportOptions(), now)
    assert calls
    assert store.scalar("SELECT count(*) FROM customers") == 0
    assert store.scalar("SELECT count(*) FROM imports") == 0
    assert _customer_indexes(store) == migrated          # the dropped indexes came back
    assert not store.db.conn.in_transaction
    monkeypatch.undo()
    assert import_customers(store, path, ImportOptions(), now).inserted == 50


def test_first_load_only_into_an_empty_table(store, now, tmp_path):
    """With customers present the loader steps aside at once, leaving the lock free."""
    from calls.store import Store
    from calls.store.imports import FirstLoad

    path = write_list(tmp_path / "list.csv", ROWS)
    import_customers(store, path, ImportOptions(), now)
    assert FirstLoad.start(store, {"kind": "customers", "started_at": "x"}, "x") is None
    assert not store.db.conn.in_transaction
    other = Store.open(store.path)
    with other.write():            # another terminal can write straight away
        other.db.conn.execute("UPDATE customers SET owner = 'Sam' WHERE ref = 'C1'")
    other.close()
    assert get_customer(store, "C1").owner == "Sam"


@pytest.mark.parametrize("header", [
    "Second Phone", "Phone 2", "Phone #2", "2nd Phone", "Alt Phone", "Alternative Phone",
    "Secondary Phone Number", "Other Phone", "Mobile", "Cell", "Home Phone", "Telefon 2",
    "Zweite Telefonnummer", "Handynummer", "Téléphone 2", "Autre téléphone",
])
def test_second_phone_headers_are_the_second_number(header):
    cols = detect_columns(["Customer Id", "Name", "Phone", header])
    assert cols["phone"] == "Phone" and cols["phone2"] == header


def test_a_second_phone_column_is_imported_as_the_second_number(store, now, tmp_path):
    path = write_list(tmp_path / "two.csv", [["K1", "Anna", "B", "DE", "030 1234567", "1",
                                              "", "", "", ""]])
    text = path.read_text(encoding="utf-8").splitlines()
    text = [text[0] + ",Second Phone", text[1] + ",0170 1234567"]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = import_customers(store, path, ImportOptions(), now)
    assert result.columns["phone2"] == "Second Phone"
    row = store.one("SELECT phone, phone2, phone2_raw FROM customers WHERE ref = 'K1'")
    assert row == {"phone": "+49301234567", "phone2": "+491701234567",
                   "phone2_raw": "0170 1234567"}
