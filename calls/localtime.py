"""Local times of store moments in a customer's zone, fast enough for millions of values.

A store moment is UTC text (``2026-03-10T15:04:05Z``); its local time is ISO text with the
offset (``2026-03-10T11:04:05-04:00``), in the first valid IANA zone of the customer's
number (:func:`zone_name`). Used by the export (``calls.export``) and by the store, which
records a call's local times on its row when the call is written (``calls.store.calls``):
a leaf module, importing nothing of carecall but the clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calls.clock import from_iso


@lru_cache(maxsize=4096)
def zone_name(time_zones_json: str | None) -> str:
    """The first IANA zone of a customer's number, or '' (none, or an unknown name)."""
    if not time_zones_json:
        return ""
    try:
        zones = json.loads(time_zones_json)
    except ValueError:
        return ""
    if isinstance(zones, str):
        zones = [zones]
    for name in zones or ():
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            continue
        return name
    return ""


# How many (zone, UTC hour) entries a LocalTimes keeps (about 260 bytes each: at most some
# 50 MB): 8,333 days of zones, e.g. two years of 11 zones. Only one-off bulk work converts
# through LocalTimes (an export, `carecall upgrade`, history written in bulk; a seat
# converts exactly, ExactTimes), and history not in time order needs all its days at once:
# 24,000 hours made `upgrade` on a 100,000-customer file whose calls' ids are in random
# time order (16 zones, 15 months) 187 us a call against 30 (each day filled again and
# again, 300 us each).
HOURS_KEPT = 200_000


class LocalTimes:
    """Converts store UTC text to local ISO text, fast enough for millions of values.

    For each (zone, UTC hour) whose offset is the same at both ends of the hour and is a
    whole number of hours, the local date-and-hour prefix is cached, and a conversion is
    one dictionary lookup and a string join (:meth:`hours` gives a zone's cache for a
    loop to read). A zone whose offset is not whole hours (+05:30, +05:45, -03:30) has
    its hours cached with the minute at which the local hour turns
    (:meth:`_HourCache.other`); an hour with a change of offset in it and text that is
    not a store moment take the exact path (:meth:`exact`), which the tests hold every
    conversion to.

    The caches hold at most about ``kept`` hours over all zones (:data:`HOURS_KEPT` by
    default, at most some 50 MB): past that, the earlier half of the UTC days cached is dropped
    (:meth:`_trim`). Moments come mostly in time order (a call's id follows its start),
    so the days dropped are those done with; without a bound a pass over the whole
    history kept every hour of every zone it touched, and the process kept the memory
    (Python's arenas stay at their peak: a seat that migrated a 100,000-customer database
    read 80.6 MB against 40.9, docs/reports.md "Recorded at the call").
    """

    def __init__(self, kept: int | None = None) -> None:
        self._zones: dict[str, _HourCache] = {}
        self.kept = HOURS_KEPT if kept is None else kept
        self.cached = 0       # hours in the caches, all zones (whole and part-hour ones)
        if "STORE_TAILS" not in globals():     # the tables, once a process converts in bulk
            _build_tables()

    def hours(self, zone: str) -> _HourCache:
        """``{UTC hour text: (local prefix, offset suffix) or None}`` for ``zone``."""
        cache = self._zones.get(zone)
        if cache is None:
            cache = self._zones[zone] = _HourCache(zone, self)
        return cache

    def _grew(self, hours: int) -> None:
        """A cache took ``hours`` more: trim them all when past the bound."""
        self.cached += hours
        if self.cached > self.kept:
            self._trim()

    def _trim(self) -> None:
        """Drop the earlier half (by UTC day) of every zone's cached hours. The caches
        are cleared in place: a loop that holds a zone's cache (:meth:`hours`) reads on."""
        caches = [c for zone in self._zones.values() for c in (zone, zone.parts)]
        days = sorted(hour[:10] for cache in caches for hour in cache)
        cut = days[len(days) // 2] if days else ""
        for cache in caches:
            for hour in [h for h in cache if h[:10] < cut]:
                del cache[hour]
        if sum(map(len, caches)) > self.kept * 3 // 4:   # nearly all on one day: anew
            for cache in caches:
                cache.clear()
        self.cached = sum(map(len, caches))

    def convert(self, zone: str, moment: str | None) -> str:
        """``moment`` (store UTC text) in ``zone`` as ISO text with offset; '' if none."""
        if not moment or not zone:
            return ""
        return local_time(self.hours(zone), zone, moment)

    @staticmethod
    def exact(zone: str, moment: str) -> str:
        """The conversion without the cache (any ISO text); '' if it cannot be read."""
        try:
            return from_iso(moment).astimezone(ZoneInfo(zone)).isoformat()
        except (ValueError, ZoneInfoNotFoundError):
            return ""


class ExactTimes:
    """:meth:`LocalTimes.convert`'s answers without its caches and tables, for a process
    that converts a few moments at a time (a seat writing its calls): the tables alone
    are ~0.9 MB of Python objects, and the hour caches grow with every zone and day."""

    @staticmethod
    def convert(zone: str, moment: str | None) -> str:
        """``moment`` (store UTC text) in ``zone`` as ISO text with offset; '' if none."""
        if not moment or not zone:
            return ""
        return LocalTimes.exact(zone, moment)


def local_time(hours: _HourCache, zone: str, moment: str) -> str:
    """``moment`` in ``zone`` through the zone's hour cache (``moment`` not empty)."""
    tail = STORE_TAILS.get(moment[13:])
    hit = hours[moment[:13]] if tail else None
    if hit is None:
        return hours.other(moment)
    return hit[0] + tail + hit[1]


def _build_tables() -> None:
    """Make the module's two tables, STORE_TAILS and _SHIFTED_MINUTES (~0.9 MB of Python
    objects): when the first :class:`LocalTimes` is made or a module imports them, so a
    process that never converts in bulk (a seat) never holds them."""
    global STORE_TAILS, _SHIFTED_MINUTES
    # What follows the hour in a store moment (2026-03-10T15:04:05Z), ":MM:SSZ", for each
    # second of an hour -> what follows the hour in the local time, ":MM:SS". A moment
    # whose tail is not one of these is not read through the hour cache (its hour may look
    # right while the rest is not a time); one lookup both checks the tail and gives the
    # minutes.
    STORE_TAILS = {f":{m:02d}:{s:02d}Z": f":{m:02d}:{s:02d}"
                   for m in range(60) for s in range(60)}
    # {shift: {"MM": "MM" moved on by shift minutes}}, for :class:`_PartHours`.
    _SHIFTED_MINUTES = {shift: {f"{m:02d}": f":{(m + shift) % 60:02d}" for m in range(60)}
                        for shift in range(60)}


def __getattr__(name: str):
    """``from calls.localtime import STORE_TAILS`` (the export's loop) builds the tables."""
    if name in ("STORE_TAILS", "_SHIFTED_MINUTES"):
        _build_tables()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _HourCache(dict):
    """One zone's hours for :class:`LocalTimes`: a missing hour fills its whole day.

    None for an hour :meth:`other` must convert (an offset change inside it, a
    non-whole-hour offset, text that is not a store hour, or no zone at all)."""

    def __init__(self, zone: str, owner: LocalTimes):
        super().__init__()
        self._zone = zone
        self._owner = owner
        self.parts = _PartHours(zone, owner)

    def other(self, moment: str) -> str:
        """``moment`` (not empty) when its hour gave None: a store moment in an hour whose
        offset is not whole hours through :class:`_PartHours`, anything else exactly
        ('' if it cannot be read)."""
        if moment[13:] in STORE_TAILS:
            part = self.parts[moment[:13]]
            if part is not None:
                minute = moment[14:16]
                return ((part[1] if minute < part[0] else part[2]) + part[3][minute]
                        + moment[16:19] + part[4])
        return LocalTimes.exact(self._zone, moment) if self._zone else ""

    def __missing__(self, hour: str) -> tuple[str, str] | None:
        before = len(self)
        if self._zone and len(hour) == 13 and hour[10] == "T":
            self._fill_day(hour[:10])
        # a day that could not be read leaves its hours out: remember them as exact-only
        value = self.setdefault(hour, None)
        self._owner._grew(len(self) - before)      # (after the read: a trim may clear it)
        return value

    def _fill_day(self, day: str) -> None:
        """Cache the 24 UTC hours of ``day``: one zone lookup for the whole day when its
        offset does not change that day (nearly every day), else hour by hour."""
        try:
            start = datetime.fromisoformat(day + "T00:00:00+00:00")
        except ValueError:
            return
        tz = ZoneInfo(self._zone)
        first = start.astimezone(tz)
        offset = first.utcoffset()
        same = offset == (start + timedelta(seconds=86399)).astimezone(tz).utcoffset()
        for h in range(24):
            key = f"{day}T{h:02d}"
            if same and offset is not None and not offset.total_seconds() % 3600:
                self[key] = ((start + timedelta(hours=h) + offset).strftime("%Y-%m-%dT%H"),
                             first.isoformat()[19:])
            else:
                self[key] = self._hour(tz, start + timedelta(hours=h))

    @staticmethod
    def _hour(tz: ZoneInfo, start: datetime) -> tuple[str, str] | None:
        a = start.astimezone(tz)
        offset = a.utcoffset()
        if (offset != (start + timedelta(seconds=3599)).astimezone(tz).utcoffset()
                or offset is None or offset.total_seconds() % 3600):
            return None
        text = a.isoformat()          # 2026-03-10T10:00:00-05:00
        return text[:13], text[19:]


class _PartHours(dict):
    """One zone's hours whose offset is not whole hours (+05:30, +05:45, -03:30), for
    :meth:`_HourCache.other`: ``{UTC hour text: (turn, local hour before, local hour
    after, minutes, offset suffix) or None}``. In such an hour the local hour changes
    once, at UTC minute ``turn`` ("30" for +05:30), and a local minute is the UTC
    minute moved by the offset's minutes (``minutes``, a table of the 60). None when
    the offset changes inside the hour (or the text is not an hour): the exact path."""

    def __init__(self, zone: str, owner: LocalTimes):
        super().__init__()
        self._zone = zone
        self._owner = owner

    def __missing__(self, hour: str) -> tuple | None:
        value = None
        try:
            start = datetime.fromisoformat(hour + ":00:00+00:00")
        except ValueError:
            start = None
        if start is not None and len(hour) == 13 and self._zone:
            tz = ZoneInfo(self._zone)
            local = start.astimezone(tz)
            offset = local.utcoffset()
            if offset == (start + timedelta(seconds=3599)).astimezone(tz).utcoffset():
                shift = int(offset.total_seconds() // 60) % 60      # -03:30 -> 30
                turn = 60 - shift
                value = (f"{turn:02d}", (start + offset).strftime("%Y-%m-%dT%H"),
                         (start + offset + timedelta(minutes=turn)).strftime("%Y-%m-%dT%H"),
                         _SHIFTED_MINUTES[shift], local.isoformat()[19:])
        self[hour] = value
        self._owner._grew(1)
        return value
