"""The demo database: the shipped demo list, imported like any list.

``carecall demo`` builds it (``--db``, else ``$CARECALL_DB``, else ``carecall-demo.db`` in
the user data directory). The list's purchase and "customer since" dates are written
relative to :data:`DEMO_ANCHOR` and moved forward to today, so thank-you calls and
overdue care calls look the same whatever day the demo runs. Running it again imports the
same list again: nothing is duplicated. The demo's order lines (purchase figures,
thank-you and "buying slowed" calls) are loaded once, into a database without any.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

from calls.clock import now_utc
from calls.ingest.customers import ImportOptions, import_customers
from calls.store import APP_NAME, Store

__all__ = ["DEMO_ANCHOR", "build_demo", "demo_db_path", "demo_list_path", "demo_orders_path"]

# The day the demo list's dates are relative to (scripts/make_demo_list.py ANCHOR).
DEMO_ANCHOR = date(2026, 11, 22)
_SHIFTED = ("Customer Since", "Last Purchase")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOTTED = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")


def demo_list_path() -> Path:
    """The demo customer list shipped inside the package."""
    return Path(str(resources.files("calls") / "data" / "demo_customers.csv"))


def demo_db_path(db: str | os.PathLike | None = None) -> Path:
    """``--db``, else ``$CARECALL_DB``, else ``carecall-demo.db`` in the user data dir."""
    if db:
        return Path(db).expanduser()
    env = os.environ.get("CARECALL_DB")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "carecall-demo.db"


def _shift(text: str, days: int) -> str:
    """Move an ISO or DD.MM.YYYY date ``days`` forward, keeping its format."""
    if _ISO.match(text):
        return (date.fromisoformat(text) + timedelta(days=days)).isoformat()
    match = _DOTTED.match(text)
    if match:
        day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return (day + timedelta(days=days)).strftime("%d.%m.%Y")
    return text  # a deliberately bad value stays bad


def demo_orders_path() -> Path:
    """The demo order lines shipped inside the package."""
    return Path(str(resources.files("calls") / "data" / "demo_orders.csv"))


def _dated_copy(
    source: Path, today: date, target: Path, columns: tuple[str, ...] = _SHIFTED
) -> None:
    days = (today - DEMO_ANCHOR).days
    with open(source, newline="", encoding="utf-8") as src, open(
        target, "w", newline="", encoding="utf-8"
    ) as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        for row in reader:
            for column in columns:
                if row.get(column):
                    row[column] = _shift(row[column], days)
            writer.writerow(row)


def build_demo(path: str | os.PathLike, now: datetime | None = None) -> dict:
    """Create or refresh the demo database at ``path``; a summary dict for the CLI."""
    now = now or now_utc()
    with tempfile.TemporaryDirectory(prefix="carecall-demo-") as tmp:
        listing = Path(tmp) / "demo_customers.csv"
        _dated_copy(demo_list_path(), now.date(), listing)
        with Store.open(path) as store:
            result = import_customers(
                store, listing, ImportOptions(region="US", by_user="demo"), now
            )
            from calls.demo_history import generate_history
            from calls.ingest.orders import OrderImportOptions, import_orders
            from calls.store.customers import count_customers, tier_counts
            from calls.store.orders import has_order_lines

            orders_added = 0
            if not has_order_lines(store):
                # Only into a database without order lines: the lines' dates move with
                # today, so on a later day the same orders would look new.
                orders = Path(tmp) / "demo_orders.csv"
                _dated_copy(demo_orders_path(), now.date(), orders, ("Date",))
                done = import_orders(
                    store, orders, OrderImportOptions(by_user="demo", region="US"), now
                )
                orders_added = done.added

            # A past year of calls, answers and follow-ups (only into a database that has
            # no calls yet), so that reports and the dashboard show something at once.
            history = generate_history(store, now)
            return {
                "history": history,
                "db": str(Path(path)),
                "customers": count_customers(store),
                "inserted": result.inserted,
                "updated": result.updated,
                "rejected": result.rejected,
                "duplicates": result.duplicates,
                "order_lines": orders_added,
                "tiers": {k: v for k, v in tier_counts(store).items() if k},
            }


# Mid-day in UTC: 12:00 in New York, 09:00 in Los Angeles, 17:00 in London, 18:00 in
# Paris and Berlin, so every demo country is inside its calling hours on a weekday.
_DEMO_HOUR_UTC = 17


def demo_shift_start(store: Store, now: datetime, policy=None) -> datetime | None:
    """When the demo shift's clock should start: None (now) if somebody can be called now,
    else the next weekday afternoon (UTC) at which the demo queue is full.

    A demo opened on a Sunday or at night would otherwise show an empty queue; the shift
    app runs its clock from this moment instead (as ``carecall shift --at`` does).
    """
    from calls.policy import DEFAULT_POLICY
    from calls.queue import build_queue, next_opening

    policy = policy or DEFAULT_POLICY
    if build_queue(store, "demo", now, policy, limit=1):
        return None
    day = now.date()
    for offset in range(8):
        candidate_day = day + timedelta(days=offset)
        candidate = datetime(candidate_day.year, candidate_day.month, candidate_day.day,
                             _DEMO_HOUR_UTC, tzinfo=now.tzinfo)
        if candidate <= now or candidate_day.weekday() >= 5:
            continue
        if build_queue(store, "demo", candidate, policy, limit=1):
            return candidate
    return next_opening(store, "demo", now, policy)
