"""The schema, as named sqlite-utils migrations applied in order, each in its own transaction.

Append new migrations at the END of this file with a new, unique name; never edit one
that has shipped (databases in the field have already applied it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# The same decorator and table as sqlite-utils' Migrations; sqlite-utils itself is
# imported only when a migration is applied (calls/store/database.py).
from calls.store.database import Migrations

if TYPE_CHECKING:
    from sqlite_utils import Database

migrations = Migrations("carecall")


@migrations(name="0001_customers_imports_dnc")
def _customers_imports_dnc(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            ref TEXT NOT NULL UNIQUE,          -- stable id from the list (or derived)
            name TEXT NOT NULL DEFAULT '',
            company TEXT,
            phone TEXT,                        -- E.164
            phone_raw TEXT,                    -- the text it came from
            phone_ext TEXT,
            phone_region TEXT,                 -- ISO 3166 alpha-2 of the number
            phone_type TEXT,                   -- mobile, fixed_line, ...
            time_zones TEXT,                   -- JSON list of IANA zones for the number
            phone2 TEXT,
            phone2_raw TEXT,
            email TEXT,
            country TEXT,                      -- ISO 3166 alpha-2
            revenue REAL,                      -- yearly revenue (from the list or orders)
            tier TEXT,                         -- A / B / C
            customer_since TEXT,               -- YYYY-MM-DD
            last_purchase TEXT,                -- YYYY-MM-DD
            birthday TEXT,                     -- YYYY-MM-DD (year may be 1900 if unknown)
            owner TEXT,                        -- account owner
            do_not_call INTEGER NOT NULL DEFAULT 0,
            dnc_reason TEXT,
            dnc_at TEXT,
            number_status TEXT NOT NULL DEFAULT 'ok',  -- ok | wrong_number | disconnected
            extra TEXT,                        -- JSON object: list columns we do not model
            row_hash TEXT,                     -- hash of the imported values (unchanged rows)
            import_id INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_customers_phone ON customers(phone)")
    db.execute("CREATE INDEX idx_customers_revenue ON customers(revenue)")
    db.execute(
        """
        CREATE TABLE imports (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                -- customers | orders | dnc
            file TEXT NOT NULL,
            file_hash TEXT,
            format TEXT,
            encoding TEXT,
            sheet TEXT,
            options TEXT,                      -- JSON: --map, --region, ...
            by_user TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            rows_read INTEGER NOT NULL DEFAULT 0,
            inserted INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            dry_run INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute(
        """
        CREATE TABLE rejects (
            id INTEGER PRIMARY KEY,
            import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
            line INTEGER NOT NULL,
            raw TEXT NOT NULL,                 -- JSON object of the row's values
            reason TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_rejects_import ON rejects(import_id)")
    db.execute(
        """
        CREATE TABLE dnc (
            phone TEXT PRIMARY KEY,            -- E.164
            raw TEXT,
            source TEXT,
            reason TEXT,
            added_at TEXT NOT NULL,
            added_by TEXT
        )
        """
    )


@migrations(name="0002_scripts_calls_answers_followups_claims")
def _calls_and_followups(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE scripts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            purpose TEXT,
            hash TEXT NOT NULL UNIQUE,         -- sha256 of the text: stored once
            text TEXT NOT NULL,
            stored_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            caller TEXT NOT NULL,
            script_id INTEGER REFERENCES scripts(id),
            reason TEXT,                       -- why the customer was called (queue reason)
            started_at TEXT NOT NULL,
            connected_at TEXT,
            ended_at TEXT,                     -- NULL while the call is in progress
            outcome TEXT,                      -- calls.outcomes.Outcome
            callback_at TEXT,                  -- UTC moment the customer asked for
            callback_personal INTEGER,
            notes TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_calls_customer ON calls(customer_id, started_at)")
    db.execute("CREATE INDEX idx_calls_started ON calls(started_at)")
    db.execute("CREATE INDEX idx_calls_caller_open ON calls(caller, ended_at)")
    db.execute(
        """
        CREATE TABLE answers (
            call_id INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
            key TEXT NOT NULL,                 -- question key in the script
            qtype TEXT NOT NULL,               -- nps, rating, yes_no, choice, ...
            value TEXT,                        -- JSON of the answer
            answered_at TEXT NOT NULL,
            PRIMARY KEY (call_id, key)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE followups (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                -- callback, fix_problem, recovery_call, ...
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            call_id INTEGER REFERENCES calls(id),
            owner TEXT,                        -- caller name, account owner, or a team queue
            due_at TEXT,
            status TEXT NOT NULL DEFAULT 'open',   -- open | done | cancelled
            details TEXT,
            source TEXT,                       -- rule / planner / hand / outcome
            created_at TEXT NOT NULL,
            created_by TEXT,
            closed_at TEXT,
            closed_by TEXT,
            close_note TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_followups_customer ON followups(customer_id, status)")
    db.execute("CREATE INDEX idx_followups_open_due ON followups(status, kind, due_at)")
    db.execute(
        """
        CREATE TABLE claims (
            customer_id INTEGER PRIMARY KEY REFERENCES customers(id),
            caller TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_claims_caller ON claims(caller)")


@migrations(name="0003_customer_purchase_figures")
def _customer_purchase_figures(db: Database) -> None:
    # Derived from order lines (import-orders) and kept current after each import; the
    # queue reads them for the thank-you and "buying slowed" reasons.
    for column, kind in (
        ("revenue_12m", "REAL"),
        ("revenue_lifetime", "REAL"),
        ("order_count", "INTEGER"),
        ("first_purchase", "TEXT"),
        ("avg_order_interval_days", "REAL"),
    ):
        db.execute(f"ALTER TABLE customers ADD COLUMN {column} {kind}")


# Append new migrations below this line (unique names, never edit shipped ones).


@migrations(name="followups_0001_loop_and_plan")
def _followups_loop_and_plan(db: Database) -> None:
    # The detractor loop: a recovery_call points at the fix_problem it follows
    # (parent_id) and records the NPS before (the detractor's answer) and after (the
    # recovery call's answer); closed_call_id is the call that closed a follow-up.
    # occasion: what a planned note/gift is for ("birthday 2026-03-15"), for the mail merge.
    for column, kind in (
        ("parent_id", "INTEGER REFERENCES followups(id)"),
        ("score_before", "INTEGER"),
        ("score_after", "INTEGER"),
        ("closed_call_id", "INTEGER REFERENCES calls(id)"),
        ("occasion", "TEXT"),
    ):
        db.execute(f"ALTER TABLE followups ADD COLUMN {column} {kind}")
    db.execute("CREATE INDEX idx_followups_parent ON followups(parent_id)")
    db.execute("CREATE INDEX idx_followups_owner ON followups(owner, status, due_at)")
    # What the planner has already planned, one row per (customer, occasion key), so that
    # `carecall plan` is idempotent even after the follow-up was done, cancelled or merged.
    db.execute(
        """
        CREATE TABLE followup_plan (
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            key TEXT NOT NULL,                 -- e.g. birthday:2026-03-15, unreached:2026-02-01
            followup_id INTEGER REFERENCES followups(id),
            planned_at TEXT NOT NULL,
            PRIMARY KEY (customer_id, key)
        )
        """
    )


@migrations(name="reports_0001_report_indexes")
def _report_indexes(db: Database) -> None:
    # Reports and coverage ask, per customer, "any completed call / contact since X?"
    # and take the best outcome of each customer's attempts: with the outcome in the
    # index both are answered from the index alone (no table lookups on millions of calls).
    db.execute(
        "CREATE INDEX idx_calls_customer_time_outcome ON calls(customer_id, started_at, outcome)"
    )
    # NPS / CSAT over a period read only answers of one type in a time range.
    db.execute("CREATE INDEX idx_answers_type_time ON answers(qtype, answered_at, value)")


@migrations(name="queue_0001_care_state_claims_skips")
def _queue_care_state(db: Database) -> None:
    # The customer's care-queue state, kept current by every call outcome. NULL
    # everywhere means "never called, due now": an import that inserts or updates
    # customers leaves these columns alone.
    for column, kind in (
        ("cycle_status", "TEXT"),       # NULL (no cycle ended yet) | reached | unreached
        ("cycle_ended_at", "TEXT"),     # when the last care cycle ended (UTC)
        ("cycle_attempts", "INTEGER"),  # failed attempts in the current cycle (NULL = 0)
        ("retry_after", "TEXT"),        # not to be called before this moment (UTC)
        ("last_outcome", "TEXT"),
        ("last_call_at", "TEXT"),
    ):
        db.execute(f"ALTER TABLE customers ADD COLUMN {column} {kind}")
    # Each queue reason reads its candidates in priority order straight from an index
    # (docs/queue.md "How it stays fast").
    db.execute(
        "CREATE INDEX idx_customers_zone_key ON customers("
        "ifnull(phone_region, '') || '|' || ifnull(time_zones, ''))"
    )
    db.execute("CREATE INDEX idx_customers_overdue ON customers(tier, cycle_ended_at)")
    db.execute(
        "CREATE INDEX idx_customers_never ON customers(tier, revenue DESC) "
        "WHERE cycle_ended_at IS NULL"
    )
    db.execute("CREATE INDEX idx_customers_tier_purchase ON customers(tier, last_purchase)")
    db.execute("CREATE INDEX idx_customers_birthday_md ON customers(substr(birthday, 6, 5))")
    db.execute(
        "CREATE INDEX idx_customers_since_md ON customers(substr(customer_since, 6, 5))"
    )
    db.execute(
        "CREATE INDEX idx_customers_at_risk_2 ON customers("
        "date(last_purchase, '+' || (CAST(2.0 * avg_order_interval_days AS INTEGER) + 1)"
        " || ' days')) WHERE order_count >= 2"
    )
    # A caller who skips a customer does not get them again for a while.
    db.execute(
        """
        CREATE TABLE skips (
            caller TEXT NOT NULL,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            until TEXT NOT NULL,
            PRIMARY KEY (caller, customer_id)
        )
        """
    )
    db.execute("CREATE INDEX idx_claims_expires ON claims(expires_at)")
    # "When is the next customer callable?" asks for the earliest retry time still ahead.
    db.execute(
        "CREATE INDEX idx_customers_retry ON customers(retry_after) WHERE retry_after IS NOT NULL"
    )


@migrations(name="orders_0001_order_lines")
def _order_lines(db: Database) -> None:
    # Order / invoice lines from `carecall import-orders`. Lines for customers not (yet)
    # in the database are kept with customer_id NULL and attached when a later customer
    # import brings the customer (matched on customer_ref).
    db.execute(
        """
        CREATE TABLE order_lines (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER REFERENCES customers(id),   -- NULL: customer not known yet
            customer_ref TEXT NOT NULL,
            order_no TEXT NOT NULL,
            ordered_at TEXT NOT NULL,          -- as the export gave it (local, no zone)
            order_date TEXT NOT NULL,          -- YYYY-MM-DD
            item TEXT,                         -- stock code / SKU
            description TEXT,
            quantity REAL,
            unit_price REAL,
            amount REAL NOT NULL,              -- signed: credit notes are negative
            currency TEXT,
            cancellation INTEGER NOT NULL DEFAULT 0,
            line_hash TEXT NOT NULL UNIQUE,    -- exact duplicates are stored once
            import_id INTEGER REFERENCES imports(id)
        )
        """
    )
    db.execute(
        "CREATE INDEX idx_order_lines_customer ON order_lines(customer_id, order_date, amount)"
    )
    db.execute(
        "CREATE INDEX idx_order_lines_pending ON order_lines(customer_ref) "
        "WHERE customer_id IS NULL"
    )


@migrations(name="reports_0002_outcome_and_score_indexes")
def _report_indexes_2(db: Database) -> None:
    # Attempts per outcome in a period are counted straight from this index (one range
    # count per outcome) instead of sorting a year of calls.
    db.execute("CREATE INDEX idx_calls_outcome_time ON calls(outcome, started_at)")
    # NPS / CSAT histograms group answers by their stored value: with the value before the
    # time, the index hands them over already grouped.
    db.execute("DROP INDEX IF EXISTS idx_answers_type_time")
    db.execute("CREATE INDEX idx_answers_type_value ON answers(qtype, value, answered_at)")


@migrations(name="followups_0002_unreached_index")
def _followups_unreached_index(db: Database) -> None:
    # The planner looks for customers whose cycle ended unreached at every shift start;
    # a partial index keeps that from scanning every customer.
    db.execute(
        "CREATE INDEX idx_customers_unreached ON customers(cycle_ended_at) "
        "WHERE cycle_status = 'unreached'"
    )


@migrations(name="orders_0002_order_lines_keyed_by_hash")
def _order_lines_keyed_by_hash(db: Database) -> None:
    # The line's 64-bit content hash becomes the primary key: one B-tree instead of a
    # table plus a unique text index, and "is this exact line stored?" is a rowid lookup.
    # Existing rows keep their identity: the new key is the first 8 bytes of the old hash.
    def key_from_hex(text: str) -> int:
        return int.from_bytes(bytes.fromhex(text[:16]), "big", signed=True)

    db.conn.create_function("carecall_key_from_hex", 1, key_from_hex, deterministic=True)
    db.execute(
        """
        CREATE TABLE order_lines_new (
            id INTEGER PRIMARY KEY,            -- 64-bit hash of the line's content
            customer_id INTEGER REFERENCES customers(id),   -- NULL: customer not known yet
            customer_ref TEXT NOT NULL,
            order_no TEXT NOT NULL,
            ordered_at TEXT NOT NULL,          -- as the export gave it (local, no zone)
            order_date TEXT NOT NULL,          -- YYYY-MM-DD
            item TEXT,                         -- stock code / SKU
            description TEXT,
            quantity REAL,
            unit_price REAL,
            amount REAL NOT NULL,              -- signed: credit notes are negative
            currency TEXT,
            cancellation INTEGER NOT NULL DEFAULT 0,
            import_id INTEGER REFERENCES imports(id)
        )
        """
    )
    db.execute(
        """
        INSERT OR IGNORE INTO order_lines_new
        SELECT carecall_key_from_hex(line_hash), customer_id, customer_ref, order_no,
               ordered_at, order_date, item, description, quantity, unit_price, amount,
               currency, cancellation, import_id
        FROM order_lines
        """
    )
    db.execute("DROP TABLE order_lines")
    db.execute("ALTER TABLE order_lines_new RENAME TO order_lines")
    db.execute(
        "CREATE INDEX idx_order_lines_customer ON order_lines(customer_id, order_date, amount)"
    )
    db.execute(
        "CREATE INDEX idx_order_lines_pending ON order_lines(customer_ref) "
        "WHERE customer_id IS NULL"
    )


@migrations(name="orders_0003_order_lines_appended")
def _order_lines_appended(db: Database) -> None:
    # Rows keyed by their hash land at random places in the table, so every chunk of a
    # bulk import rewrote pages all over it (and the WAL with them). Rows now get
    # ascending ids (appended) and the hash moves to a compact unique index.
    db.execute(
        """
        CREATE TABLE order_lines_new (
            id INTEGER PRIMARY KEY,
            line_key INTEGER NOT NULL,         -- 64-bit hash of the line's content
            customer_id INTEGER REFERENCES customers(id),   -- NULL: customer not known yet
            customer_ref TEXT NOT NULL,
            order_no TEXT NOT NULL,
            ordered_at TEXT NOT NULL,          -- as the export gave it (local, no zone)
            order_date TEXT NOT NULL,          -- YYYY-MM-DD
            item TEXT,                         -- stock code / SKU
            description TEXT,
            quantity REAL,
            unit_price REAL,
            amount REAL NOT NULL,              -- signed: credit notes are negative
            currency TEXT,
            cancellation INTEGER NOT NULL DEFAULT 0,
            import_id INTEGER REFERENCES imports(id)
        )
        """
    )
    db.execute(
        """
        INSERT INTO order_lines_new (line_key, customer_id, customer_ref, order_no, ordered_at,
            order_date, item, description, quantity, unit_price, amount, currency,
            cancellation, import_id)
        SELECT id, customer_id, customer_ref, order_no, ordered_at, order_date, item,
               description, quantity, unit_price, amount, currency, cancellation, import_id
        FROM order_lines ORDER BY import_id, id
        """
    )
    db.execute("DROP TABLE order_lines")
    db.execute("ALTER TABLE order_lines_new RENAME TO order_lines")
    db.execute("CREATE UNIQUE INDEX idx_order_lines_key ON order_lines(line_key)")
    db.execute(
        "CREATE INDEX idx_order_lines_customer ON order_lines(customer_id, order_date, amount)"
    )
    db.execute(
        "CREATE INDEX idx_order_lines_pending ON order_lines(customer_ref) "
        "WHERE customer_id IS NULL"
    )


@migrations(name="calls_0001_chosen_outcome")
def _calls_chosen_outcome(db: Database) -> None:
    # The outcome a caller picked, written the moment they picked it. ``outcome`` stays
    # NULL until the call ends at wrap-up (reports count only ended outcomes); a terminal
    # that dies in between leaves the choice here for the resume prompt.
    db.execute("ALTER TABLE calls ADD COLUMN chosen_outcome TEXT")


@migrations(name="orders_0004_slim_customer_index")
def _orders_slim_customer_index(db: Database) -> None:
    # Every query by customer reads the line itself too (order number, cancellation), so
    # the date and amount in this index bought nothing, while a bulk import dirtied (and
    # committed) a third more index pages with them.
    db.execute("DROP INDEX IF EXISTS idx_order_lines_customer")
    db.execute("CREATE INDEX idx_order_lines_customer ON order_lines(customer_id)")


@migrations(name="orders_0005_line_key_by_date")
def _orders_line_key_by_date(db: Database) -> None:
    # Unique per (day, content hash) instead of per hash alone: order exports run in date
    # order, so new keys now land at the end of the index instead of on random pages
    # (every commit of a bulk import rewrote nearly all of them). The hash covers the
    # line's moment, so a line's day never differs between two copies of it: the same
    # lines are duplicates as before.
    db.execute("DROP INDEX IF EXISTS idx_order_lines_key")
    db.execute("CREATE UNIQUE INDEX idx_order_lines_key ON order_lines(order_date, line_key)")


@migrations(name="customers_0001_drop_unused_revenue_index")
def _customers_drop_revenue_index(db: Database) -> None:
    # No query reads customers by revenue alone (the queue's "never called" order has its
    # own (tier, revenue) index): this one only cost every import and every update a write.
    db.execute("DROP INDEX IF EXISTS idx_customers_revenue")


@migrations(name="audit_0001_trail")
def _audit_trail(db: Database) -> None:
    # Who did what and when. Append-only: rows are written in the same transaction as the
    # change they describe, and the triggers make SQLite refuse to change or remove one.
    db.execute(
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,                  -- UTC moment of the change
            actor TEXT NOT NULL,               -- account name, else the OS login
            action TEXT NOT NULL,              -- e.g. dnc.remove, login.failed
            subject TEXT,                      -- what it was done to (a number, a ref, a name)
            details TEXT                       -- JSON object
        )
        """
    )
    db.execute("CREATE INDEX idx_audit_at ON audit(at)")
    db.execute("CREATE INDEX idx_audit_actor ON audit(actor, at)")
    db.execute(
        "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
        "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
    )


@migrations(name="loop_0001_deadlines_history_escalations")
def _loop_deadlines_history_escalations(db: Database) -> None:
    # First contact with the customer about a follow-up (a call that reached them, the
    # owner saying so, or the close): the deadlines measure time to it.
    db.execute("ALTER TABLE followups ADD COLUMN first_contact_at TEXT")
    db.execute("ALTER TABLE followups ADD COLUMN first_contact_by TEXT")
    # Every status a follow-up has been in, from when, by whom. Written by triggers so
    # that no writer (the loop, the queue, a bulk DNC cancel, another area's code) can
    # change a status without it being recorded: time in each status is the gap between
    # a row and the next.
    db.execute(
        """
        CREATE TABLE followup_history (
            id INTEGER PRIMARY KEY,
            followup_id INTEGER NOT NULL REFERENCES followups(id),
            status TEXT NOT NULL,              -- open | contacted | done | cancelled
            at TEXT NOT NULL,
            by TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_followup_history ON followup_history(followup_id, at)")
    db.execute(
        """
        CREATE TRIGGER followup_history_insert AFTER INSERT ON followups
        BEGIN
            INSERT INTO followup_history (followup_id, status, at, by)
            VALUES (NEW.id, NEW.status, NEW.created_at, NEW.created_by);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER followup_history_status AFTER UPDATE OF status ON followups
        WHEN OLD.status IS NOT NEW.status
        BEGIN
            INSERT INTO followup_history (followup_id, status, at, by)
            VALUES (NEW.id, NEW.status,
                    coalesce(NEW.closed_at, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
                    NEW.closed_by);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER followup_history_contact AFTER UPDATE OF first_contact_at ON followups
        WHEN OLD.first_contact_at IS NULL AND NEW.first_contact_at IS NOT NULL
        BEGIN
            INSERT INTO followup_history (followup_id, status, at, by)
            VALUES (NEW.id, 'contacted', NEW.first_contact_at, NEW.first_contact_by);
        END
        """
    )
    # The follow-ups that existed before: opened when created, closed when closed.
    db.execute(
        "INSERT INTO followup_history (followup_id, status, at, by) "
        "SELECT id, 'open', created_at, created_by FROM followups"
    )
    db.execute(
        "INSERT INTO followup_history (followup_id, status, at, by) "
        "SELECT id, status, closed_at, closed_by FROM followups "
        "WHERE status != 'open' AND closed_at IS NOT NULL"
    )
    # A follow-up past a deadline is escalated once per deadline (first contact, close):
    # to whom, when, and how long the customer had waited by then.
    db.execute(
        """
        CREATE TABLE followup_escalations (
            id INTEGER PRIMARY KEY,
            followup_id INTEGER NOT NULL REFERENCES followups(id),
            deadline TEXT NOT NULL,            -- first_contact | close
            deadline_at TEXT NOT NULL,
            escalated_at TEXT NOT NULL,
            escalated_to TEXT NOT NULL,        -- the owner's supervisor, or the group
            owner TEXT,                        -- the owner at the time
            waited_seconds INTEGER NOT NULL,   -- from the follow-up opened to escalated_at
            UNIQUE (followup_id, deadline)
        )
        """
    )
    db.execute("CREATE INDEX idx_followup_escalations_at ON followup_escalations(escalated_at)")


@migrations(name="themes_0001_tags_and_reviews")
def _themes_tags_and_reviews(db: Database) -> None:
    # Theme tags on what customers say: an open answer (call_id + answer_key) or a
    # follow-up (its problem and fix notes). 'suggested' rows record what the keywords
    # proposed when someone was shown them; 'confirmed' rows are what a person chose.
    db.execute(
        """
        CREATE TABLE theme_tags (
            id INTEGER PRIMARY KEY,
            call_id INTEGER REFERENCES calls(id),
            answer_key TEXT,
            followup_id INTEGER REFERENCES followups(id),
            theme TEXT NOT NULL,
            source TEXT NOT NULL,              -- suggested | confirmed
            tagged_at TEXT NOT NULL,
            tagged_by TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_theme_tags_answer ON theme_tags(call_id, answer_key)")
    db.execute("CREATE INDEX idx_theme_tags_followup ON theme_tags(followup_id)")
    # A person looked at the tags of an answer or a follow-up and confirmed them (maybe
    # none): from then on the confirmed set wins over whatever the keywords suggest.
    # root_cause: a fix that removed the cause, not only this customer's problem.
    db.execute(
        """
        CREATE TABLE theme_reviews (
            id INTEGER PRIMARY KEY,
            call_id INTEGER REFERENCES calls(id),
            answer_key TEXT,
            followup_id INTEGER REFERENCES followups(id),
            root_cause INTEGER NOT NULL DEFAULT 0,
            reviewed_at TEXT NOT NULL,
            reviewed_by TEXT
        )
        """
    )
    db.execute(
        "CREATE UNIQUE INDEX idx_theme_reviews_answer ON theme_reviews(call_id, answer_key) "
        "WHERE call_id IS NOT NULL"
    )
    db.execute(
        "CREATE UNIQUE INDEX idx_theme_reviews_followup ON theme_reviews(followup_id) "
        "WHERE followup_id IS NOT NULL"
    )


@migrations(name="accounts_0001_accounts")
def _accounts(db: Database) -> None:
    # People who work a seat. No rows = the one-person trial; once an active admin exists
    # every seat needs an account. Passwords are argon2id hashes, never clear text.
    db.execute(
        """
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- what calls, claims, follow-ups carry
            display TEXT,                      -- "Ann Lee", for screens and scripts
            role TEXT NOT NULL CHECK (role IN ('caller', 'supervisor', 'admin')),
            os_login TEXT UNIQUE,              -- a terminal seat's OS login maps here
            password_hash TEXT,                -- argon2id; NULL = no password set yet
            active INTEGER NOT NULL DEFAULT 1,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,                 -- lockout after too many wrong passwords
            last_login_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


@migrations(name="floor_0001_seat_states")
def _floor_seat_states(db: Database) -> None:
    # Each seat's states (ready, dialling, talking, wrap-up, paused) as intervals: the
    # open one (ended_at NULL) is the seat's state now; closed ones give handle time and
    # calls per hour without estimates.
    db.execute(
        """
        CREATE TABLE seat_states (
            id INTEGER PRIMARY KEY,
            caller TEXT NOT NULL,              -- account name (or the trial's caller name)
            state TEXT NOT NULL,               -- ready | dialling | talking | wrapup | paused
            reason TEXT,                       -- pause reason code (policy floor.pause_reasons)
            customer_id INTEGER,
            call_id INTEGER,
            started_at TEXT NOT NULL,
            ended_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_seat_states_caller ON seat_states(caller, started_at)")
    db.execute("CREATE INDEX idx_seat_states_open ON seat_states(caller) WHERE ended_at IS NULL")


@migrations(name="reports_0001_calls_by_caller_index")
def _reports_calls_by_caller_index(db: Database) -> None:
    # `report --by caller` reads each caller's calls in customer order from this index
    # (covering, ended_at for the handle time: no table lookups), so a case per (caller,
    # customer) needs no sort of the period's calls (a year: 3,000,000; docs/reports.md).
    db.execute("CREATE INDEX idx_calls_caller_customer "
               "ON calls(caller, customer_id, started_at, outcome, ended_at)")


@migrations(name="customers_0002_language_names_numbers")
def _customers_language_names_numbers(db: Database) -> None:
    # How a caller speaks to the customer: the list's first and last name, a salutation
    # ("mr" / "ms", rendered per language: Herr, Madame, Mr ...) and a language code
    # (NULL: from the country).
    for column in ("first_name", "last_name", "salutation", "language"):
        db.execute(f"ALTER TABLE customers ADD COLUMN {column} TEXT")
    # Search by the list's second number finds the customer too.
    db.execute("CREATE INDEX idx_customers_phone2 ON customers(phone2) WHERE phone2 IS NOT NULL")
    # Numbers beyond the primary one: added by hand, and the list's second number once it
    # has a status of its own (wrong, disconnected). The primary stays on customers.
    db.execute(
        """
        CREATE TABLE customer_numbers (
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            e164 TEXT NOT NULL,
            raw TEXT,
            ext TEXT,
            label TEXT,                        -- mobile, office, ... (free text)
            status TEXT NOT NULL DEFAULT 'ok', -- ok | wrong_number | disconnected
            source TEXT NOT NULL,              -- list | added
            added_at TEXT NOT NULL,
            added_by TEXT,
            PRIMARY KEY (customer_id, e164)
        )
        """
    )
    db.execute("CREATE INDEX idx_customer_numbers_e164 ON customer_numbers(e164)")


@migrations(name="calls_0002_inbound")
def _calls_inbound(db: Database) -> None:
    # A call the customer made to us (returning a voicemail, calling in): worked like any
    # other, allowed outside the calling window, and reported as inbound.
    db.execute("ALTER TABLE calls ADD COLUMN inbound INTEGER NOT NULL DEFAULT 0")


@migrations(name="rules_0001_region_and_jurisdiction_zone_key")
def _rules_region_zone_key(db: Database) -> None:
    # The state / province / Land the customer list gives (a code such as FL, ON, BY):
    # with the number's area code it decides which rule packs and regional holidays apply.
    db.execute("ALTER TABLE customers ADD COLUMN region TEXT")
    # The queue groups customers by everything their calling window depends on: the
    # number's country and zones, its North American area code (the state's law), and
    # the list's region (docs/lawful.md). One index seek per group finds the groups.
    db.execute("DROP INDEX IF EXISTS idx_customers_zone_key")
    db.execute(
        "CREATE INDEX idx_customers_zone_key ON customers("
        "ifnull(phone_region, '') || '|' || ifnull(time_zones, '') || '|' || "
        "CASE WHEN substr(phone, 1, 2) = '+1' THEN substr(phone, 3, 3) ELSE '' END || '|' || "
        "ifnull(region, ''))"
    )


@migrations(name="consent_0001_records_and_customer_basis")
def _consent_records(db: Database) -> None:
    # Every consent a customer gave or withdrew, with when, how and the proof: kept as
    # evidence (UWG § 7a asks for it), never changed. The newest row per (customer, what)
    # is the one in force; the customers columns below repeat it for the queue.
    db.execute(
        """
        CREATE TABLE consents (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
            what TEXT NOT NULL,                -- calls | marketing | recording | share
            state TEXT NOT NULL,               -- given | withdrawn
            at TEXT NOT NULL,                  -- when the customer gave / withdrew it (UTC)
            how TEXT NOT NULL,                 -- list | call | letter | web
            proof TEXT,                        -- the words, the document, the form
            call_id INTEGER REFERENCES calls(id),
            recorded_by TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_consents_customer ON consents(customer_id, what, at)")
    for column, kind in (
        ("customer_type", "TEXT"),      # consumer | business | NULL (the policy's default)
        ("contract", "INTEGER"),        # 1: a current contract (a basis in some packs)
        ("consent_calls", "TEXT"),      # given | withdrawn | NULL (none recorded)
        ("consent_marketing", "TEXT"),
        ("consent_recording", "TEXT"),
    ):
        db.execute(f"ALTER TABLE customers ADD COLUMN {column} {kind}")
    # The recording notice's answer, on the call it was asked in (yes / no / NULL), and
    # the call's purpose for the law (care / survey / marketing; NULL: calls made before).
    db.execute("ALTER TABLE calls ADD COLUMN recording_ok TEXT")
    db.execute("ALTER TABLE calls ADD COLUMN purpose TEXT")


@migrations(name="store_0001_carecall_meta")
def _carecall_meta(db: Database) -> None:
    # What the store knows about itself: ``schema_version`` is the carecall version that
    # last migrated the schema, so that an older carecall can say which version it needs.
    db.execute("CREATE TABLE carecall_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@migrations(name="ingest_0001_customers_source_hash")
def _customers_source_hash(db: Database) -> None:
    # A 64-bit digest of the list row a customer was last imported from (its cells and
    # the way the import read them): importing the list again skips the rows it knows.
    db.execute("ALTER TABLE customers ADD COLUMN source_hash INTEGER")


@migrations(name="floor_0002_pause_requests")
def _floor_pause_requests(db: Database) -> None:
    # A supervisor's pause asked for while the caller is on a call: it takes effect when
    # the call's wrap-up is done (the seat goes to paused, not ready). One per caller.
    db.execute(
        """
        CREATE TABLE seat_pause_requests (
            caller TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_at TEXT NOT NULL
        )
        """
    )
    # Who paused a seat when it was not the caller (a supervisor; NULL: the caller).
    db.execute("ALTER TABLE seat_states ADD COLUMN set_by TEXT")
    # The seat each account is signed in at now (one per account): a second sign-in
    # takes over, and the first seat closes itself when it sees another token here.
    db.execute(
        """
        CREATE TABLE seats (
            caller TEXT PRIMARY KEY,
            token TEXT NOT NULL,
            kind TEXT NOT NULL,                -- terminal | web
            opened_at TEXT NOT NULL
        )
        """
    )


@migrations(name="audit_0002_action_index")
def _audit_action_index(db: Database) -> None:
    # The last row of one kind (the policy version in force: calls.audit.note_policy) and
    # `carecall audit --action KIND` without reading the whole trail.
    db.execute("CREATE INDEX idx_audit_action ON audit(action, id)")


@migrations(name="customers_0003_tier_rank_index")
def _customers_tier_rank_index(db: Database) -> None:
    # The 80/20 ranking (revenue, highest first; ties by id) read in order instead of
    # sorted: finding where tiers A and B end walks the top of this index (tens of ms for
    # 100,000 customers, against ~0.4 s for a window function's sort), outside the write
    # lock. The expression is calls.store.customers.TIER_REVENUE_SQL, spelled the same.
    db.execute(
        "CREATE INDEX idx_customers_tier_rank ON customers("
        "max(coalesce(revenue_12m, revenue, 0), 0) DESC, id, tier)"
    )


@migrations(name="ingest_0002_import_progress")
def _import_progress(db: Database) -> None:
    # An import into a table in use merges in chunks (short write transactions): how many
    # of its staged rows are in so far, and which process ran it. ``finished_at`` stays
    # empty until the last chunk, so an import stopped half way is told from a whole one.
    db.execute("ALTER TABLE imports ADD COLUMN merged INTEGER")
    db.execute("ALTER TABLE imports ADD COLUMN to_merge INTEGER")
    db.execute("ALTER TABLE imports ADD COLUMN pid INTEGER")


@migrations(name="rules_0002_toll_free_zones")
def _rules_toll_free_zones(db: Database) -> None:
    # A North American toll-free number was stored with every zone of the numbering plan
    # (Guam to Bermuda: no window is ever open in all of them); it rings in a US state,
    # so it keeps the US states' zones (the queue narrows them to the list's region).
    # (As calls.rules.region_zones("US") and TOLL_FREE gave them when this was written.)
    zones = ('["America/New_York", "America/Chicago", "America/North_Dakota/Center", '
             '"America/Boise", "America/Denver", "America/Phoenix", "America/Los_Angeles", '
             '"America/Anchorage", "America/Adak", "Pacific/Honolulu"]')
    codes = ("+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888")
    db.execute("UPDATE customers SET time_zones = ? WHERE substr(phone, 1, 5) IN "
               "(?, ?, ?, ?, ?, ?, ?)", [zones, *codes])


@migrations(name="floor_0003_seat_states_by_end")
def _floor_seat_states_by_end(db: Database) -> None:
    # The dashboard's floor reads today's part of the seat log at every refresh: the
    # intervals ended since the day began and the open ones. Without an index on the end
    # it read the whole log (every day of every seat).
    db.execute("CREATE INDEX idx_seat_states_ended ON seat_states(ended_at)")


@migrations(name="reports_0002_calls_by_caller_outcome")
def _reports_calls_by_caller_outcome(db: Database) -> None:
    # `report --by caller` counts each caller's calls per outcome with their handle time
    # (a call is its own case there; docs/reports.md): read in (caller, outcome) order
    # from this covering index, one pass and no sort. It replaces the (caller, customer)
    # index, which served the per-customer cases a caller row no longer counts.
    db.execute("DROP INDEX IF EXISTS idx_calls_caller_customer")
    db.execute("CREATE INDEX idx_calls_caller_outcome "
               "ON calls(caller, outcome, started_at, ended_at)")


@migrations(name="coverage_0001_last_calls")
def _coverage_last_calls(db: Database) -> None:
    # Coverage without walking every customer's calls (calls/store/coverage.py): each
    # customer's latest completed call and latest contact, kept by triggers on calls in
    # the same transaction as the call. The contact outcomes the triggers use are a
    # table, kept in line with calls.outcomes by calls.store.coverage.keep_in_step
    # (these are CONTACT's codes when this was written).
    from calls.store.coverage import recompute

    db.execute("ALTER TABLE customers ADD COLUMN last_completed_at TEXT")
    db.execute("ALTER TABLE customers ADD COLUMN last_contact_at TEXT")
    db.execute("CREATE TABLE coverage_contact_outcomes (outcome TEXT PRIMARY KEY)")
    contact = "(SELECT outcome FROM coverage_contact_outcomes)"
    counts = f"(NEW.outcome = 'completed' OR NEW.outcome IN {contact})"
    # A call written with its outcome (log-call, history): raise the two marks.
    db.execute(
        f"""
        CREATE TRIGGER coverage_call_insert AFTER INSERT ON calls
        WHEN {counts}
        BEGIN
            UPDATE customers SET
                last_completed_at = CASE WHEN NEW.outcome = 'completed'
                    AND coalesce(last_completed_at, '') < NEW.started_at
                    THEN NEW.started_at ELSE last_completed_at END,
                last_contact_at = CASE WHEN NEW.outcome IN {contact}
                    AND coalesce(last_contact_at, '') < NEW.started_at
                    THEN NEW.started_at ELSE last_contact_at END
            WHERE id = NEW.customer_id;
        END
        """)
    # An outcome given at wrap-up (or corrected), a call moved: recompute both customers'
    # marks from their calls (a few rows in the customer's index).
    recount = f"""
            UPDATE customers SET
                last_completed_at = (SELECT max(c.started_at) FROM calls c
                    WHERE c.customer_id = customers.id AND +c.outcome = 'completed'),
                last_contact_at = (SELECT max(c.started_at) FROM calls c
                    WHERE c.customer_id = customers.id AND +c.outcome IN {contact})
    """
    db.execute(
        f"""
        CREATE TRIGGER coverage_call_update
        AFTER UPDATE OF customer_id, started_at, outcome ON calls
        WHEN (OLD.outcome IS NOT NEW.outcome OR OLD.started_at IS NOT NEW.started_at
              OR OLD.customer_id IS NOT NEW.customer_id)
            AND ({counts} OR {counts.replace('NEW.', 'OLD.')})
        BEGIN
            {recount} WHERE id IN (OLD.customer_id, NEW.customer_id);
        END
        """)
    db.execute(
        f"""
        CREATE TRIGGER coverage_call_delete AFTER DELETE ON calls
        WHEN {counts.replace('NEW.', 'OLD.')}
        BEGIN
            {recount} WHERE id = OLD.customer_id;
        END
        """)
    recompute(db.conn, ("callback", "completed", "do_not_call", "partial", "refused"))
    # Coverage's counts are ranges of these (customers per tier: the tier indexes).
    db.execute("CREATE INDEX idx_customers_covered ON customers(do_not_call, tier, "
               "last_completed_at) WHERE last_completed_at IS NOT NULL")
    db.execute("CREATE INDEX idx_customers_reached ON customers(do_not_call, "
               "last_contact_at) WHERE last_contact_at IS NOT NULL")
    db.execute("CREATE INDEX idx_customers_dnc_tier ON customers(tier) "
               "WHERE do_not_call != 0")


@migrations(name="reports_0003_caller_day_figures")
def _reports_caller_day_figures(db: Database) -> None:
    # `report --by caller` over long periods reads these two small tables instead of the
    # calls (a year at 1M customers / 3M calls: ~40 callers x 365 days x 12 outcomes and
    # the callers' active 10-minute slots, instead of 3M calls). Triggers keep them in the
    # same statement as each change to a call (insert, the outcome and end at wrap-up, a
    # moved start, a delete), so they always add up to the calls; tests/core/
    # test_report_groups.py holds them to the plain GROUP BY through random writes. The
    # (caller, outcome) index of reports_0002 is no longer read by anything: dropped, so
    # a call writes no more index entries than before.
    db.execute("DROP INDEX IF EXISTS idx_calls_caller_outcome")
    db.execute(
        """
        CREATE TABLE caller_days (
            caller TEXT NOT NULL,
            outcome TEXT NOT NULL,          -- '' while the call is in progress
            day TEXT NOT NULL,              -- substr(started_at, 1, 10): its UTC day
            calls INTEGER NOT NULL,
            ended INTEGER NOT NULL,         -- calls with an end (ended_at)
            handle_seconds INTEGER NOT NULL,  -- their seconds from start to end
            PRIMARY KEY (caller, outcome, day)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE caller_slots (
            caller TEXT NOT NULL,
            slot TEXT NOT NULL,             -- substr(started_at, 1, 15): a 10-minute slot
            calls INTEGER NOT NULL,         -- calls the caller started in it
            PRIMARY KEY (caller, slot)
        )
        """
    )
    add = {
        "days": """
            INSERT INTO caller_days (caller, outcome, day, calls, ended, handle_seconds)
            VALUES ({r}.caller, coalesce({r}.outcome, ''), substr({r}.started_at, 1, 10), 1,
                    {r}.ended_at IS NOT NULL,
                    coalesce(unixepoch({r}.ended_at) - unixepoch({r}.started_at), 0))
            ON CONFLICT DO UPDATE SET calls = calls + 1, ended = ended + excluded.ended,
                handle_seconds = handle_seconds + excluded.handle_seconds;""",
        "slots": """
            INSERT INTO caller_slots (caller, slot, calls)
            VALUES ({r}.caller, substr({r}.started_at, 1, 15), 1)
            ON CONFLICT DO UPDATE SET calls = calls + 1;""",
    }
    take = {
        "days": """
            UPDATE caller_days SET calls = calls - 1,
                ended = ended - ({r}.ended_at IS NOT NULL),
                handle_seconds = handle_seconds
                    - coalesce(unixepoch({r}.ended_at) - unixepoch({r}.started_at), 0)
            WHERE caller = {r}.caller AND outcome = coalesce({r}.outcome, '')
                AND day = substr({r}.started_at, 1, 10);
            DELETE FROM caller_days WHERE caller = {r}.caller
                AND outcome = coalesce({r}.outcome, '')
                AND day = substr({r}.started_at, 1, 10) AND calls = 0;""",
        "slots": """
            UPDATE caller_slots SET calls = calls - 1
            WHERE caller = {r}.caller AND slot = substr({r}.started_at, 1, 15);
            DELETE FROM caller_slots WHERE caller = {r}.caller
                AND slot = substr({r}.started_at, 1, 15) AND calls = 0;""",
    }
    db.execute("CREATE TRIGGER calls_caller_figures_insert AFTER INSERT ON calls BEGIN "
               + add["days"].format(r="new") + add["slots"].format(r="new") + " END")
    db.execute("CREATE TRIGGER calls_caller_figures_delete AFTER DELETE ON calls BEGIN "
               + take["days"].format(r="old") + take["slots"].format(r="old") + " END")
    db.execute("CREATE TRIGGER calls_caller_days_update "
               "AFTER UPDATE OF caller, started_at, outcome, ended_at ON calls BEGIN "
               + take["days"].format(r="old") + add["days"].format(r="new") + " END")
    db.execute("CREATE TRIGGER calls_caller_slots_update AFTER UPDATE OF caller, started_at "
               "ON calls WHEN old.caller IS NOT new.caller "
               "OR old.started_at IS NOT new.started_at BEGIN "
               + take["slots"].format(r="old") + add["slots"].format(r="new") + " END")
    db.execute(
        "INSERT INTO caller_days (caller, outcome, day, calls, ended, handle_seconds) "
        "SELECT caller, coalesce(outcome, ''), substr(started_at, 1, 10), count(*), "
        "count(ended_at), "
        "sum(coalesce(unixepoch(ended_at) - unixepoch(started_at), 0)) "
        "FROM calls GROUP BY 1, 2, 3")
    db.execute(
        "INSERT INTO caller_slots (caller, slot, calls) "
        "SELECT caller, substr(started_at, 1, 15), count(*) FROM calls GROUP BY 1, 2")


@migrations(name="reports_0004_caller_nps_days")
def _reports_caller_nps_days(db: Database) -> None:
    # NPS per caller (`report --by caller`) from a small table instead of joining every
    # NPS answer of the period to its call: per caller of the answer's call, UTC day it
    # was given and stored value, the answers. Triggers keep it with the answers (insert,
    # upsert, delete) and with the calls (a call moved to another caller, a call deleted:
    # its answers leave first, in BEFORE DELETE, as the cascade that follows finds no
    # call). Answers are written with an upsert (calls.store.scripts.save_answer):
    # INSERT OR REPLACE would skip the delete trigger.
    db.execute(
        """
        CREATE TABLE caller_nps_days (
            caller TEXT NOT NULL,
            day TEXT NOT NULL,              -- substr(answered_at, 1, 10)
            value TEXT NOT NULL,            -- the stored answer (JSON text)
            answers INTEGER NOT NULL,
            PRIMARY KEY (caller, day, value)
        )
        """
    )
    nps = "{r}.qtype = 'nps' AND {r}.value IS NOT NULL"
    add = """
        INSERT INTO caller_nps_days (caller, day, value, answers)
        SELECT c.caller, substr({r}.answered_at, 1, 10), {r}.value, 1 FROM calls c
        WHERE c.id = {r}.call_id AND {nps}
        ON CONFLICT DO UPDATE SET answers = answers + 1;"""
    take = """
        UPDATE caller_nps_days SET answers = answers - 1
        WHERE {nps} AND caller = (SELECT c.caller FROM calls c WHERE c.id = {r}.call_id)
            AND day = substr({r}.answered_at, 1, 10) AND value = {r}.value;
        DELETE FROM caller_nps_days WHERE answers = 0 AND {nps}
            AND caller = (SELECT c.caller FROM calls c WHERE c.id = {r}.call_id)
            AND day = substr({r}.answered_at, 1, 10) AND value = {r}.value;"""

    def sql(text: str, r: str) -> str:
        return text.format(r=r, nps=nps.format(r=r))

    db.execute("CREATE TRIGGER answers_caller_nps_insert AFTER INSERT ON answers BEGIN "
               + sql(add, "new") + " END")
    db.execute("CREATE TRIGGER answers_caller_nps_delete AFTER DELETE ON answers BEGIN "
               + sql(take, "old") + " END")
    db.execute("CREATE TRIGGER answers_caller_nps_update "
               "AFTER UPDATE OF call_id, qtype, value, answered_at ON answers BEGIN "
               + sql(take, "old") + sql(add, "new") + " END")
    # A call's answers, out of the old caller's days and into the new one's.
    moved = """
        UPDATE caller_nps_days SET answers = answers - (
            SELECT count(*) FROM answers a WHERE a.call_id = old.id AND {nps_a}
                AND substr(a.answered_at, 1, 10) = caller_nps_days.day
                AND a.value = caller_nps_days.value)
        WHERE caller = old.caller AND EXISTS (
            SELECT 1 FROM answers a WHERE a.call_id = old.id AND {nps_a}
                AND substr(a.answered_at, 1, 10) = caller_nps_days.day
                AND a.value = caller_nps_days.value);
        DELETE FROM caller_nps_days WHERE caller = old.caller AND answers = 0;"""
    nps_a = nps.format(r="a")
    db.execute("CREATE TRIGGER calls_caller_nps_moved AFTER UPDATE OF caller ON calls "
               "WHEN old.caller IS NOT new.caller BEGIN "
               + moved.format(nps_a=nps_a)
               + f"""
        INSERT INTO caller_nps_days (caller, day, value, answers)
        SELECT new.caller, substr(a.answered_at, 1, 10), a.value, count(*) FROM answers a
        WHERE a.call_id = new.id AND {nps_a} GROUP BY 2, 3
        ON CONFLICT DO UPDATE SET answers = answers + excluded.answers; END""")
    db.execute("CREATE TRIGGER calls_caller_nps_delete BEFORE DELETE ON calls BEGIN "
               + moved.format(nps_a=nps_a) + " END")
    db.execute(
        "INSERT INTO caller_nps_days (caller, day, value, answers) "
        "SELECT c.caller, substr(a.answered_at, 1, 10), a.value, count(*) "
        "FROM answers a JOIN calls c ON c.id = a.call_id "
        f"WHERE {nps_a} GROUP BY 1, 2, 3")


@migrations(name="coverage_0002_followups_by_time")
def _coverage_followups_by_time(db: Database) -> None:
    # The escalation check (every seat and the dashboard, after every write) reads the
    # open follow-ups that may have missed a deadline: per kind, those opened before a
    # moment (created_at) or whose occasion's day has come, each an index range
    # (calls.store.deadlines.missed_candidate_rows); without these it read every open
    # follow-up. The due time is idx_followups_open_due's.
    db.execute("CREATE INDEX idx_followups_open_created ON followups(status, kind, "
               "created_at)")
    db.execute("CREATE INDEX idx_followups_open_occasion ON followups(status, kind, "
               "occasion)")
    # The dashboard's backlog counts (calls.store.reports.followup_state) from ranges of
    # these and of the closing time: those closed in the last week, or after a moment.
    db.execute("CREATE INDEX idx_followups_closed ON followups(closed_at)")


@migrations(name="coverage_0003_calls_written")
def _coverage_calls_written(db: Database) -> None:
    # The moments of the calls written lately (a call added, its outcome, customer or time
    # changed, a call deleted: the earlier of its old and new start), newest kept, so a
    # reader that summed up the days before today can tell whether a write since then
    # reached back into them (calls.store.dashboard.calls_written_since): on a floor
    # nearly every write is today's. The last JOURNAL_ROWS are kept.
    db.execute("CREATE TABLE calls_written (seq INTEGER PRIMARY KEY, "
               "started_at TEXT NOT NULL)")
    prune = "DELETE FROM calls_written WHERE seq <= last_insert_rowid() - 1000;"
    db.execute(
        f"""
        CREATE TRIGGER calls_written_insert AFTER INSERT ON calls
        BEGIN
            INSERT INTO calls_written (started_at) VALUES (NEW.started_at);
            {prune}
        END
        """)
    db.execute(
        f"""
        CREATE TRIGGER calls_written_update
        AFTER UPDATE OF customer_id, started_at, outcome ON calls
        WHEN OLD.outcome IS NOT NEW.outcome OR OLD.started_at IS NOT NEW.started_at
            OR OLD.customer_id IS NOT NEW.customer_id
        BEGIN
            INSERT INTO calls_written (started_at)
            VALUES (min(OLD.started_at, NEW.started_at));
            {prune}
        END
        """)
    db.execute(
        f"""
        CREATE TRIGGER calls_written_delete AFTER DELETE ON calls
        BEGIN
            INSERT INTO calls_written (started_at) VALUES (OLD.started_at);
            {prune}
        END
        """)


@migrations(name="reports_0005_customer_nps_answers")
def _reports_customer_nps_answers(db: Database) -> None:
    # `report --by tier` over a long period counts the NPS answers of a tier's customers
    # (calls.store.reports.tier_breakdown): walking each customer's calls to look for
    # answers cost a seek per call (1.5 s for one tier at 1M customers / 3M calls). This
    # table holds every NPS answer (with a value) under its call's customer: one seek per
    # customer. It is by customer, not by tier, so re-tiering a customer needs nothing.
    # Triggers keep it with the answers (insert, upsert, update, delete) and the calls (a
    # call moved to another customer; a call deleted: its rows leave BEFORE DELETE, as the
    # answers' cascade that follows finds no call).
    db.execute(
        """
        CREATE TABLE customer_nps_answers (
            customer_id INTEGER NOT NULL,
            call_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            value TEXT NOT NULL,            -- the stored answer (JSON text)
            PRIMARY KEY (customer_id, call_id, key)
        ) WITHOUT ROWID
        """
    )
    nps = "{r}.qtype = 'nps' AND {r}.value IS NOT NULL"
    add = """
        INSERT OR REPLACE INTO customer_nps_answers (customer_id, call_id, key, answered_at,
            value)
        SELECT c.customer_id, {r}.call_id, {r}.key, {r}.answered_at, {r}.value FROM calls c
        WHERE c.id = {r}.call_id AND {nps};"""
    take = """
        DELETE FROM customer_nps_answers
        WHERE customer_id = (SELECT c.customer_id FROM calls c WHERE c.id = {r}.call_id)
            AND call_id = {r}.call_id AND key = {r}.key;"""

    def sql(text: str, r: str) -> str:
        return text.format(r=r, nps=nps.format(r=r))

    db.execute("CREATE TRIGGER answers_customer_nps_insert AFTER INSERT ON answers BEGIN "
               + sql(add, "new") + " END")
    db.execute("CREATE TRIGGER answers_customer_nps_delete AFTER DELETE ON answers BEGIN "
               + sql(take, "old") + " END")
    db.execute("CREATE TRIGGER answers_customer_nps_update "
               "AFTER UPDATE OF call_id, key, qtype, value, answered_at ON answers BEGIN "
               + sql(take, "old") + sql(add, "new") + " END")
    db.execute("CREATE TRIGGER calls_customer_nps_moved AFTER UPDATE OF customer_id ON calls "
               "WHEN old.customer_id IS NOT new.customer_id BEGIN "
               "UPDATE customer_nps_answers SET customer_id = new.customer_id "
               "WHERE customer_id = old.customer_id AND call_id = old.id; END")
    db.execute("CREATE TRIGGER calls_customer_nps_delete BEFORE DELETE ON calls BEGIN "
               "DELETE FROM customer_nps_answers "
               "WHERE customer_id = old.customer_id AND call_id = old.id; END")
    db.execute(
        "INSERT INTO customer_nps_answers (customer_id, call_id, key, answered_at, value) "
        "SELECT c.customer_id, a.call_id, a.key, a.answered_at, a.value "
        "FROM answers a JOIN calls c ON c.id = a.call_id "
        f"WHERE {nps.format(r='a')}")


@migrations(name="dashboard_0001_calls_written_callers")
def _dashboard_calls_written_callers(db: Database) -> None:
    # The journal of call writes (coverage_0003) also notes a call given to another caller
    # or its end moved: the dashboard keeps today's per-caller figures (handle time
    # included) for the slots no write reached (calls.dashboard). A wrap-up sets the
    # outcome and the end in one statement: still one journal row.
    db.execute("DROP TRIGGER calls_written_update")
    db.execute(
        """
        CREATE TRIGGER calls_written_update
        AFTER UPDATE OF customer_id, started_at, outcome, caller, ended_at ON calls
        WHEN OLD.outcome IS NOT NEW.outcome OR OLD.started_at IS NOT NEW.started_at
            OR OLD.customer_id IS NOT NEW.customer_id OR OLD.caller IS NOT NEW.caller
            OR OLD.ended_at IS NOT NEW.ended_at
        BEGIN
            INSERT INTO calls_written (started_at)
            VALUES (min(OLD.started_at, NEW.started_at));
            DELETE FROM calls_written WHERE seq <= last_insert_rowid() - 1000;
        END
        """)


@migrations(name="dashboard_0002_coverage_changes")
def _dashboard_coverage_changes(db: Database) -> None:
    # Coverage's counts (calls.store.coverage) walk index ranges of every customer
    # (~10 ms at 100,000, more on a connection whose page cache a write just emptied);
    # the dashboard keeps them between reads (calls.store.coverage.KeptCounts) and brings
    # them up to date from what changed since. A customer's part depends on four columns:
    # this journal holds each change of them, old and new (a wrap-up that moves the last
    # completed/contact marks: one row, as the journal of call writes; the last 1000
    # kept). Customers added are found by id (new ids are above the largest: SQLite's
    # rowid); a customer removed only counts up customers_removed (the counts are then
    # read whole again). No trigger on INSERT: any trigger there costs an import about
    # twice the row's own insert.
    db.execute(
        """
        CREATE TABLE coverage_changes (
            seq INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL,
            old_tier TEXT, old_dnc INTEGER, old_completed TEXT, old_contact TEXT,
            new_tier TEXT, new_dnc INTEGER, new_completed TEXT, new_contact TEXT
        )
        """)
    db.execute(
        """
        CREATE TRIGGER coverage_changes_update
        AFTER UPDATE OF tier, do_not_call, last_completed_at, last_contact_at ON customers
        WHEN OLD.tier IS NOT NEW.tier OR OLD.do_not_call IS NOT NEW.do_not_call
            OR OLD.last_completed_at IS NOT NEW.last_completed_at
            OR OLD.last_contact_at IS NOT NEW.last_contact_at
        BEGIN
            INSERT INTO coverage_changes (customer_id, old_tier, old_dnc, old_completed,
                old_contact, new_tier, new_dnc, new_completed, new_contact)
            VALUES (NEW.id, OLD.tier, OLD.do_not_call, OLD.last_completed_at,
                    OLD.last_contact_at, NEW.tier, NEW.do_not_call, NEW.last_completed_at,
                    NEW.last_contact_at);
            DELETE FROM coverage_changes WHERE seq <= last_insert_rowid() - 1000;
        END
        """)
    db.execute("CREATE TABLE customers_removed (id INTEGER PRIMARY KEY CHECK (id = 1), "
               "n INTEGER NOT NULL)")
    db.execute("INSERT INTO customers_removed (id, n) VALUES (1, 0)")
    db.execute(
        """
        CREATE TRIGGER customers_removed AFTER DELETE ON customers
        BEGIN
            UPDATE customers_removed SET n = n + 1 WHERE id = 1;
        END
        """)


@migrations(name="dashboard_0003_followups_written")
def _dashboard_followups_written(db: Database) -> None:
    # The dashboard keeps the backlog's counts (every open follow-up per kind: index
    # ranges over thousands) and skips the escalation check between its minutes while
    # no follow-up was written (calls.dashboard): on a floor most writes are calls, and
    # a call that reaches a customer only notes the first contact on their follow-ups,
    # which moves no backlog figure and can only spare an escalation. A follow-up added
    # or removed, or a change of what the backlog and the deadlines count, counts this
    # one row up.
    db.execute("CREATE TABLE followups_written (id INTEGER PRIMARY KEY CHECK (id = 1), "
               "n INTEGER NOT NULL)")
    db.execute("INSERT INTO followups_written (id, n) VALUES (1, 0)")
    count_up = "UPDATE followups_written SET n = n + 1 WHERE id = 1;"
    for event in ("INSERT", "DELETE"):
        db.execute(f"CREATE TRIGGER followups_written_{event.lower()} AFTER {event} "
                   f"ON followups BEGIN {count_up} END")
    columns = ("kind", "status", "created_at", "due_at", "closed_at", "occasion", "owner",
               "customer_id")
    db.execute(
        f"""
        CREATE TRIGGER followups_written_update
        AFTER UPDATE OF {', '.join(columns)} ON followups
        WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in columns)}
        BEGIN {count_up} END
        """)


@migrations(name="dashboard_0004_followups_changes")
def _dashboard_followups_changes(db: Database) -> None:
    # The backlog's counts (calls.store.reports.followup_state: every open follow-up per
    # kind, index ranges over thousands) kept between the dashboard's refreshes
    # (calls.store.dashboard.KeptBacklog): on a floor a call often closes a callback or
    # adds a thank-you note, and the counts then move by that one follow-up. This
    # journal holds each follow-up added, removed, or changed in what the backlog counts
    # (kind, status, opened, due, closed), old and new (NULL status: not there); the
    # last 1000 kept.
    columns = ("kind", "status", "created_at", "due_at", "closed_at")
    db.execute(
        f"""
        CREATE TABLE followups_changes (
            seq INTEGER PRIMARY KEY,
            followup_id INTEGER NOT NULL,
            {', '.join(f'old_{c} TEXT' for c in columns)},
            {', '.join(f'new_{c} TEXT' for c in columns)}
        )
        """)
    prune = "DELETE FROM followups_changes WHERE seq <= last_insert_rowid() - 1000;"
    names = ", ".join(["followup_id", *(f"old_{c}" for c in columns),
                       *(f"new_{c}" for c in columns)])

    def values(old: bool, new: bool, row: str) -> str:
        return ", ".join([f"{row}.id",
                          *((f"OLD.{c}" if old else "NULL") for c in columns),
                          *((f"NEW.{c}" if new else "NULL") for c in columns)])

    for event, old, new, row in (("INSERT", False, True, "NEW"), ("DELETE", True, False, "OLD")):
        db.execute(
            f"""
            CREATE TRIGGER followups_changes_{event.lower()} AFTER {event} ON followups
            BEGIN
                INSERT INTO followups_changes ({names}) VALUES ({values(old, new, row)});
                {prune}
            END
            """)
    db.execute(
        f"""
        CREATE TRIGGER followups_changes_update
        AFTER UPDATE OF {', '.join(columns)} ON followups
        WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in columns)}
        BEGIN
            INSERT INTO followups_changes ({names}) VALUES ({values(True, True, 'NEW')});
            {prune}
        END
        """)


@migrations(name="queue_0002_thank_you_open_index")
def _queue_thank_you_open_index(db: Database) -> None:
    # The thank-you stream reads customers of a tier by purchase date and passes over
    # those called since their purchase; on a floor at work those pile up at the top of
    # the range (every call of the day), and each take walked past all of them. Only the
    # customers not called since their purchase are in this index (the same term as the
    # stream's, calls/store/queue.py thank_you_stream).
    db.execute(
        "CREATE INDEX idx_customers_thank_you ON customers(tier, last_purchase) "
        "WHERE cycle_ended_at IS NULL OR cycle_ended_at < last_purchase"
    )


@migrations(name="dashboard_0005_one_followups_journal")
def _dashboard_one_followups_journal(db: Database) -> None:
    # The journal of follow-up changes (dashboard_0004) also takes a row when a
    # follow-up's occasion, owner or customer changes (its old and new kind, status and
    # times then the same: the backlog moves by nothing), so that its newest row says
    # whether any follow-up was written since a reader's last, and which: the counter of
    # follow-up writes (dashboard_0003), which said only that, goes with its triggers
    # (one trigger and one row written less per follow-up write).
    for event in ("insert", "delete", "update"):
        db.execute(f"DROP TRIGGER followups_written_{event}")
    db.execute("DROP TABLE followups_written")
    counted = ("kind", "status", "created_at", "due_at", "closed_at")
    columns = (*counted, "occasion", "owner", "customer_id")
    db.execute("DROP TRIGGER followups_changes_update")
    db.execute(
        f"""
        CREATE TRIGGER followups_changes_update
        AFTER UPDATE OF {', '.join(columns)} ON followups
        WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in columns)}
        BEGIN
            INSERT INTO followups_changes (followup_id,
                {', '.join(f'old_{c}' for c in counted)},
                {', '.join(f'new_{c}' for c in counted)})
            VALUES (NEW.id, {', '.join(f'OLD.{c}' for c in counted)},
                {', '.join(f'NEW.{c}' for c in counted)});
            DELETE FROM followups_changes WHERE seq <= last_insert_rowid() - 1000;
        END
        """)


@migrations(name="calls_0003_recorded_for_export")
def _calls_recorded_for_export(db: Database) -> None:
    # A call row records, when it is written, what `export calls` writes beside it: the
    # customer's ref and zone then, and each moment's local time in that zone
    # (calls.store.calls "what a call row records"; docs/reports.md "Recorded at the
    # call"). The export reads them instead of a customer lookup and four conversions per
    # call. NULL is "not recorded": the export computes it as before. So that no writer
    # leaves a stale value, a moment changed without its local time clears that local
    # time, and a call moved to another customer without its zone clears all six (the
    # export then computes them from the customer it now belongs to).
    from calls.store.calls import MOMENTS, RECORDED, RECORDED_BELOW, RECORDED_FROM

    for name in RECORDED:
        db.execute(f"ALTER TABLE calls ADD COLUMN {name} TEXT")
    moved = "(NEW.customer_id IS NOT OLD.customer_id AND NEW.time_zone IS OLD.time_zone)"
    stale = {m: f"(NEW.{m} IS NOT OLD.{m} AND NEW.{m}_local IS OLD.{m}_local)"
             for m in MOMENTS}
    sets = [f"{c} = CASE WHEN {moved} THEN NULL ELSE {c} END"
            for c in ("customer_ref", "time_zone")]
    sets += [f"{m}_local = CASE WHEN {moved} OR {stale[m]} THEN NULL ELSE {m}_local END"
             for m in MOMENTS]
    db.execute(
        f"""
        CREATE TRIGGER calls_recorded_stale
        AFTER UPDATE OF customer_id, {', '.join(MOMENTS)} ON calls
        WHEN {' OR '.join([moved, *stale.values()])}
        BEGIN
            UPDATE calls SET {', '.join(sets)} WHERE id = NEW.id;
        END
        """)
    # The calls already written stay NULL here: the export computes them as before (the
    # same bytes), and `carecall upgrade` records them later in short paced write
    # transactions beside a working floor (calls.recorded). Until 2026-12-04 07:20 this
    # migration filled them itself, in its one transaction: 51 s holding the write lock on
    # 3,000,000 calls, every seat and command opening the database waiting that long
    # (docs/reports.md "Recorded at the call"); databases migrated then are filled already
    # and hold no RECORDED_FROM: nothing for `carecall upgrade` to do there.
    low, top = db.execute("SELECT min(id), max(id) FROM calls").fetchone()
    if top is not None:
        db.execute("INSERT INTO carecall_meta (key, value) VALUES (?, ?), (?, ?)",
                   [RECORDED_FROM, low, RECORDED_BELOW, top + 1])


@migrations(name="floor_0004_seat_locked")
def _floor_seat_locked(db: Database) -> None:
    # A seat's screen locked (the idle lock) is a state of the floor: `locked`, logged as
    # an interval like the others, so the dashboard shows it and how long, and a locked
    # seat is not counted as ready. The state the lock covers (ready, paused, a call's
    # dialling / talking / wrap-up) is kept on the locked interval, with its reason,
    # customer and call: unlocking returns the seat to it (calls.floor.lock_seat).
    db.execute("ALTER TABLE seat_states ADD COLUMN locked_from TEXT")
    # Since when the seat has been in the state it shows, when not the interval's start:
    # a state returned to by unlocking goes on from before the lock (a 30-minute lunch
    # locked for 20 of them still reads 30:00), and a locked interval keeps when the
    # state under it began. The time counted stays the intervals' own.
    db.execute("ALTER TABLE seat_states ADD COLUMN state_since TEXT")
