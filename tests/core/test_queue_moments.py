"""The queue's time-keyed caches over a shift: a seat's clock moves on, and what the
caches keep stays bounded while the queue gives the same answers as without them."""

from __future__ import annotations

import random
from datetime import timedelta

from calls import queue
from calls.clock import to_iso
from calls.policy import DEFAULT_POLICY, local_now
from calls.queue import build_queue
from calls.store import Store
from tests.core.test_queue_property import _moment, _random_db, reference_queue


def test_a_shifts_moving_clock_keeps_the_caches_bounded_and_the_queue_the_same(tmp_path):
    rng = random.Random(18)
    store = Store.open(tmp_path / "q.db")
    start = _moment(rng)
    _random_db(store, rng, start, 80)
    queue._local_cached.cache_clear()
    queue._iso.cache_clear()
    for i in range(240):                       # a read every two minutes for eight hours
        now = start + timedelta(minutes=2 * i, seconds=rng.randrange(60))
        got = [(e.customer.id, e.reasons)
               for e in build_queue(store, "ann", now, DEFAULT_POLICY, limit=10_000)]
        assert got == reference_queue(store, "ann", now, DEFAULT_POLICY), to_iso(now)
    local, iso = queue._local_cached.cache_info(), queue._iso.cache_info()
    assert local.currsize <= queue.LOCAL_CACHE_SIZE and iso.currsize <= queue.ISO_CACHE_SIZE
    assert local.misses > queue.LOCAL_CACHE_SIZE      # the shift asked for more than it keeps
    assert local.hits > local.misses and iso.hits > iso.misses   # still kept within a read
    store.close()


def test_the_cached_local_time_is_the_plain_one_at_every_moment():
    rng = random.Random(7)
    zones = [("America/New_York",), ("Europe/London",), ("Asia/Kolkata",), (),
             ("Australia/Adelaide", "Australia/Sydney"), ("Etc/Unknown",)]
    start = _moment(rng)
    for i in range(3 * queue.LOCAL_CACHE_SIZE):
        now = start + timedelta(minutes=37 * i)
        z = rng.choice(zones)
        assert queue._local_cached(z, now, DEFAULT_POLICY) == local_now(z, now, DEFAULT_POLICY)
        assert queue._iso(now) == to_iso(now)
