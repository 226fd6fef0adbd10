"""Database access for the TUI: one dedicated thread owns the only ``Store`` of the app.

A ``Store`` (one SQLite connection) must stay on one thread, and what a caller enters
must reach the database in the order it was entered (an answer changed from 1 to 10
must not be overwritten by the older 1). So every database call is submitted, in
order, to a single-thread executor; screens wait for the result in a Textual thread
worker (see ``CareCallApp.db``) so the screen never freezes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from calls.store import Store

T = TypeVar("T")


class DbService:
    """Runs functions ``fn(store, *args)`` on one thread that holds the app's ``Store``."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="carecall-db")
        self._store: Store | None = None
        self._thread: int | None = None
        self._closed = False

    def _get_store(self) -> Store:
        # Runs on the executor's thread only: the Store is created where it is used.
        if self._store is None:
            self._store = Store.open(self.db_path)
            self._thread = threading.get_ident()
        assert self._thread == threading.get_ident(), "Store used from a second thread"
        return self._store

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(store, *args, **kwargs)``; calls run one at a time, in submission order."""
        if self._closed:
            raise RuntimeError("the database service is closed")
        return self._executor.submit(lambda: fn(self._get_store(), *args, **kwargs))

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(store, ...)`` on the database thread and wait for its result."""
        return self.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        """Finish the queued work, close the store and stop the thread."""
        if self._closed:
            return

        def _close() -> None:
            if self._store is not None:
                self._store.close()
                self._store = None

        self._executor.submit(_close)
        self._closed = True
        self._executor.shutdown(wait=True)
