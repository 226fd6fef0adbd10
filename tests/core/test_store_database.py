"""The store's light connection and migration set give sqlite-utils' answers, and a
reading command does not import sqlite-utils at all (calls/store/database.py)."""

import sqlite3
import subprocess
import sys

import pytest
import sqlite_utils

from calls.store import Store
from calls.store.database import Database, Migrations
from calls.store.schema import migrations


def _pair(tmp_path):
    path = tmp_path / "pair.db"
    Store.open(path).close()
    light = Database(sqlite3.connect(path))
    full = sqlite_utils.Database(sqlite3.connect(path), execute_plugins=False)
    return light, full


QUERIES = [
    ("SELECT * FROM customers", None),
    ("SELECT id, ref, name FROM customers WHERE tier = ? ORDER BY id", ["A"]),
    ("select ref, phone from customers where id > :n order by ref", {"n": 1}),
    ("  SELECT count(*) AS n, max(id) FROM customers", ()),
    # duplicate column names: sqlite-utils renames them (id, id_2)
    ("SELECT c.id, cu.id, cu.ref FROM calls c JOIN customers cu ON cu.id = c.customer_id",
     None),
    ("-- a comment first\nSELECT ref FROM customers", None),
    ("WITH x AS (SELECT id FROM customers) SELECT id FROM x ORDER BY id", None),
    ("PRAGMA table_info(customers)", None),
]


@pytest.mark.parametrize(("sql", "params"), QUERIES)
def test_query_gives_what_sqlite_utils_gives(tmp_path, sql, params):
    light, full = _pair(tmp_path)
    with light.conn:
        for i in range(1, 4):
            light.conn.execute(
                "INSERT INTO customers (id, ref, name, phone, tier, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'x', 'x')",
                (i, f"R{i}", f"Näme {i}", f"+1202555010{i}", "A" if i != 2 else None))
        light.conn.execute("INSERT INTO calls (customer_id, caller, started_at) "
                           "VALUES (1, 'ann', '2026-03-10T15:00:00Z')")
    assert list(light.query(sql, params)) == list(full.query(sql, params))


def test_a_statement_without_rows_is_refused_as_sqlite_utils_does(tmp_path):
    light, full = _pair(tmp_path)
    for db in (light, full):
        with pytest.raises(ValueError, match="returns rows"):
            list(db.query("DELETE FROM customers"))
    # a write with RETURNING takes effect, as in sqlite-utils
    rows = list(light.query("INSERT INTO dnc (phone, added_at) VALUES ('+12025550199', 'x') "
                            "RETURNING phone"))
    assert rows == [{"phone": "+12025550199"}]
    assert full.execute("SELECT count(*) FROM dnc").fetchone()[0] == 1


def test_the_rest_of_sqlite_utils_is_there(tmp_path):
    light, _ = _pair(tmp_path)
    assert light["customers"].exists()
    assert "calls" in light.table_names()
    with light.atomic():
        light.execute("INSERT INTO dnc (phone, added_at) VALUES ('+12025550198', 'x')")
    assert light.execute("SELECT count(*) FROM dnc").fetchone()[0] == 1
    assert light.conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 1
    with pytest.raises(AttributeError):
        light.__no_such_thing__  # noqa: B018


def test_migration_set_agrees_with_sqlite_utils(tmp_path):
    path = tmp_path / "m.db"
    conn = sqlite3.connect(path)
    db = Database(conn)
    assert migrations.applied_names(conn) == []
    assert migrations.pending_names(conn) == [m.name for m in migrations.pending(db)]
    first_two = migrations.names()[2:]
    migrations.apply(db, stop_before=first_two[:1])
    assert migrations.applied_names(conn) == [m.name for m in migrations.applied(db)]
    assert migrations.pending_names(conn) == [m.name for m in migrations.pending(db)]
    assert len(migrations.applied_names(conn)) == 2
    migrations.apply(db)
    assert migrations.applied_names(conn) == migrations.names()
    assert migrations.pending_names(conn) == []


def test_a_migration_name_registered_twice_is_refused():
    m = Migrations("x")
    m(name="one")(lambda db: None)
    with pytest.raises(ValueError, match="already registered"):
        m(name="one")(lambda db: None)


def test_a_reading_command_does_not_import_sqlite_utils(tmp_path):
    path = tmp_path / "q.db"
    Store.open(path).close()
    code = ("import sys; from calls.cli import main; sys.argv[0] = 'carecall'; "
            f"sys.argv[1:] = ['queue', '--limit', '5', '--json', '--db', {str(path)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('sqlite_utils' in sys.modules, 'argon2' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stderr.strip().splitlines()[-1] == "False False"


def test_inside_a_transaction_execute_and_atomic_do_what_sqlite_utils_does(tmp_path):
    """Statements and savepoints (kept, or rolled back on an error) inside a transaction,
    and a lone write outside one committed, on both connections alike."""
    light, full = _pair(tmp_path)
    for n, db in enumerate((light, full)):
        other = sqlite3.connect(tmp_path / "pair.db")
        db.conn.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO dnc (phone, added_at) VALUES (?, 'x')", [f"+1202555011{n}"])
        with db.atomic():
            db.execute("INSERT INTO dnc (phone, added_at) VALUES ('+12025550120', 'x')")
        with pytest.raises(sqlite3.IntegrityError), db.atomic():
            db.execute("INSERT INTO dnc (phone, added_at) VALUES ('+12025550121', 'x')")
            db.execute("INSERT INTO dnc (phone, added_at) VALUES ('+12025550120', 'x')")
        assert db.conn.in_transaction
        db.conn.execute("COMMIT")
        assert [r[0] for r in other.execute("SELECT phone FROM dnc ORDER BY phone")] == [
            f"+1202555011{n}", "+12025550120"]
        other.execute("DELETE FROM dnc")
        other.commit()
        db.execute("INSERT INTO dnc (phone, added_at) VALUES ('+12025550130', 'x')")
        assert not db.conn.in_transaction      # committed by itself
        assert other.execute("SELECT count(*) FROM dnc").fetchone()[0] == 1
        other.execute("DELETE FROM dnc")
        other.commit()
        other.close()



def test_nested_savepoints_keep_or_undo_their_own_level_under_few_names(tmp_path):
    """Savepoints nest (an inner block that fails and is caught undoes only itself and
    what it nested), and every block of one depth uses the same statement text, so that
    a seat's savepoints do not fill the connection's statement cache with texts used
    once (which pushed the seat's own statements out: prepared again in the lock)."""
    light, _full = _pair(tmp_path)
    texts: set[str] = set()
    light.conn.set_trace_callback(lambda sql: texts.add(sql) if "SAVEPOINT" in sql else None)

    def add(phone):
        light.execute("INSERT INTO dnc (phone, added_at) VALUES (?, 'x')", [phone])

    light.conn.execute("BEGIN IMMEDIATE")
    for round_ in range(3):
        with light.atomic():
            add(f"+1202555{round_}100")
            with light.atomic():
                add(f"+1202555{round_}200")
                with pytest.raises(sqlite3.IntegrityError), light.atomic():
                    add(f"+1202555{round_}300")
                    with light.atomic():
                        add(f"+1202555{round_}400")
                    add(f"+1202555{round_}100")      # already there: this level fails
                add(f"+1202555{round_}500")
        with pytest.raises(ValueError), light.atomic():
            add(f"+1202555{round_}600")
            raise ValueError("a step refused")
    assert light.conn.in_transaction
    light.conn.execute("COMMIT")
    kept = [r[0] for r in light.conn.execute("SELECT phone FROM dnc ORDER BY phone")]
    assert kept == sorted(f"+1202555{r}{k}" for r in range(3) for k in ("100", "200", "500"))
    # Four depths, each SAVEPOINT / RELEASE / ROLLBACK TO under one name, in 3 rounds.
    assert {sql.split()[-1] for sql in texts} == {f"carecall_{d}" for d in (1, 2, 3, 4)}
    assert len(texts) <= 4 * 3
