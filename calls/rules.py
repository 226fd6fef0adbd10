"""Jurisdiction rule packs: the law of each place carecall calls, as shipped data.

One TOML file per jurisdiction in ``calls/data/rules/`` (``us.toml``, ``us-fl.toml``,
``fr.toml`` ...). Each rule names its kind, what it limits, and the source it encodes
(statute or regulation, section, address). Kinds:

- ``hours``: when calls may be made, in the customer's local time, per weekday (a day the
  rule does not name is not limited by it; ``"closed"`` bans the day);
- ``holidays``: no calls on the public holidays of the customer's region;
- ``attempts``: at most ``max`` calls within ``days`` / ``hours`` (every reason together);
- ``refusal``: no call for ``quiet_days`` after the customer refused;
- ``basis``: calls of these ``purposes`` to these ``customers`` (consumer / business) need
  one of the bases in ``needs`` (``consent``, ``contract``, ``relationship``);
- ``recording``: a recorded call needs the consent of everyone on it (all-party consent):
  the caller asks the script's recording notice and has the answer before going on.

The jurisdiction of a customer comes from the number: the country, and for North American
numbers the state or province of the area code (``area_codes.csv``), plus the region the
customer list gives. Where a number gives several candidates (an area code shared by two
provinces, a toll-free number, an area code the table does not know) every candidate pack
applies: the stricter rule wins. Everything here is pure: functions take ``now`` or a day.
"""

from __future__ import annotations

import csv
import functools
import itertools
import tomllib
from dataclasses import field
from datetime import date, datetime, timedelta
from pathlib import Path

from calls.errors import UserError
from calls.records import record

PURPOSES = ("care", "survey", "marketing")
CUSTOMER_TYPES = ("consumer", "business")
BASES = ("consent", "contract", "relationship")
KINDS = ("hours", "holidays", "attempts", "refusal", "basis", "recording")
# Countries whose packs come per state or province: a number with no known one gets all.
SUBDIVIDED = ("US", "CA")
# The shipped packs (a folder of the installed package; importlib.resources would add
# zipfile and ~5 ms to every command that looks at a rule).
PACKS_FOLDER = Path(__file__).parent / "data" / "rules"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY = ((0, 24 * 60),)

Span = tuple[int, int]
DayHours = tuple[Span, ...]


@record(frozen=True)
class Rule:
    """One rule of a pack, with the source it encodes."""

    pack: str                          # "US-FL"
    key: str                           # "hours" (unique within the pack)
    kind: str
    source: str
    url: str | None = None
    note: str | None = None
    purposes: frozenset[str] = frozenset(PURPOSES)
    customers: frozenset[str] = frozenset(CUSTOMER_TYPES)
    hours: dict[int, DayHours] = field(default_factory=dict)
    max_calls: int | None = None
    period: timedelta | None = None
    quiet: timedelta | None = None
    needs: tuple[str, ...] = ()
    relationship_months: int | None = None
    since: date | None = None          # the rule applies from this day on

    @property
    def id(self) -> str:
        """``US-FL.hours``: how messages and docs name the rule."""
        return f"{self.pack}.{self.key}"

    def cites(self) -> str:
        """The rule and its source in one phrase, for messages."""
        return f"{self.id} ({self.source})"

    def applies(self, purpose: str, customer_type: str, day: date | None = None) -> bool:
        """True when the rule covers a call of ``purpose`` to a ``customer_type`` on ``day``."""
        if purpose not in self.purposes or customer_type not in self.customers:
            return False
        return self.since is None or day is None or day >= self.since

    def __hash__(self) -> int:  # dict field: rules are never mutated
        return hash(self.id)


@record(frozen=True)
class Pack:
    """The rules of one jurisdiction (a country, or a state / province of one)."""

    code: str                          # "FR", "US-FL"
    name: str
    rules: tuple[Rule, ...]

    @property
    def country(self) -> str:
        return self.code[:2]


# -- loading the shipped packs -------------------------------------------------------------


class PackError(UserError):
    """A rule pack file that cannot be read (a packaging error, named by file and key)."""


def _minutes(text: str, where: str) -> int:
    h, _, m = text.strip().partition(":")
    if not (h.isdigit() and m.isdigit()) or int(m) > 59 or int(h) > 24:
        raise PackError(f"{where}: not a time of day: {text!r}")
    return int(h) * 60 + int(m)


def parse_spans(text: str, where: str) -> DayHours:
    """``"10:00-13:00, 14:00-20:00"`` or ``"closed"`` as minute spans."""
    text = text.strip().lower()
    if text in ("closed", ""):
        return ()
    spans = []
    for part in text.split(","):
        a, sep, b = part.partition("-")
        if not sep:
            raise PackError(f"{where}: hours like \"08:00-20:00\" expected, got {part!r}")
        spans.append((_minutes(a, where), _minutes(b, where)))
    return tuple(sorted(spans))


def _hours(raw: dict, where: str) -> dict[int, DayHours]:
    out: dict[int, DayHours] = {}
    for key, days in (("every_day", range(7)), ("weekdays", range(5)), ("weekend", (5, 6))):
        if key in raw:
            out.update({d: parse_spans(raw[key], f"{where}.{key}") for d in days})
    for i, day in enumerate(WEEKDAYS):
        if day in raw:
            out[i] = parse_spans(raw[day], f"{where}.{day}")
    return out


def _rule(pack: str, raw: dict, where: str) -> Rule:
    kind = raw.get("kind")
    if kind not in KINDS:
        raise PackError(f"{where}.kind: one of {', '.join(KINDS)} expected, got {kind!r}")
    if not raw.get("source"):
        raise PackError(f"{where}: every rule cites its source")
    purposes = frozenset(raw.get("purposes", PURPOSES))
    customers = frozenset(raw.get("customers", CUSTOMER_TYPES))
    if purposes - set(PURPOSES) or customers - set(CUSTOMER_TYPES):
        raise PackError(f"{where}: unknown purpose or customer type")
    period = None
    if kind == "attempts":
        if "days" in raw:
            period = timedelta(days=int(raw["days"]))
        elif "hours" in raw:
            period = timedelta(hours=int(raw["hours"]))
        if period is None or not raw.get("max"):
            raise PackError(f"{where}: an attempts rule needs max and days or hours")
    needs = tuple(raw.get("needs", ()))
    if kind == "basis" and (not needs or set(needs) - set(BASES)):
        raise PackError(f"{where}.needs: a list from {', '.join(BASES)} expected")
    since = raw.get("from")
    return Rule(
        pack=pack,
        key=str(raw.get("key") or kind),
        kind=kind,
        source=str(raw["source"]),
        url=raw.get("url"),
        note=raw.get("note"),
        purposes=purposes,
        customers=customers,
        hours=_hours(raw, f"{where}") if kind == "hours" else {},
        max_calls=int(raw["max"]) if kind == "attempts" else None,
        period=period,
        quiet=timedelta(days=int(raw["quiet_days"])) if kind == "refusal" else None,
        needs=needs,
        relationship_months=raw.get("relationship_months"),
        since=since if isinstance(since, date) else None,
    )


def parse_pack(text: str, name: str) -> Pack:
    """A pack from its TOML text (``name`` is the file, for messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{name}: not valid TOML ({exc})") from None
    code = data.get("code")
    if not isinstance(code, str) or not code[:2].isalpha():
        raise PackError(f"{name}: code like \"US-FL\" expected")
    rules = tuple(_rule(code, raw, f"{name}: rule[{i}]")
                  for i, raw in enumerate(data.get("rule", [])))
    keys = [r.key for r in rules]
    if len(keys) != len(set(keys)):
        raise PackError(f"{name}: two rules share a key")
    return Pack(code=code, name=str(data.get("name") or code), rules=rules)


@functools.cache
def packs() -> dict[str, Pack]:
    """Every shipped pack by code (read once per process)."""
    out: dict[str, Pack] = {}
    for entry in sorted(PACKS_FOLDER.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            pack = parse_pack(entry.read_text(encoding="utf-8"), entry.name)
            out[pack.code] = pack
    return out


@functools.cache
def area_codes() -> dict[str, tuple[str, ...]]:
    """NANP area code -> its state / province codes ("305" -> ("FL",))."""
    path = PACKS_FOLDER / "area_codes.csv"
    out: dict[str, tuple[str, ...]] = {}
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out[row["area_code"]] = tuple(row["subdivisions"].split())
    return out


# -- the jurisdiction of a number ------------------------------------------------------------

# The North American toll-free area codes in service (NANPA, "Toll-Free Numbers":
# https://www.nationalnanpa.com/number_resource_info/toll_free.html). Such a number says
# nothing of where it rings: the list's region gives the state, else every state's rules
# apply, in every state's time zones (docs/lawful.md, "Toll-free numbers").
TOLL_FREE = frozenset({"800", "833", "844", "855", "866", "877", "888"})


def is_toll_free(npa: str) -> bool:
    """True for a North American toll-free area code ("800", "888" ...)."""
    return npa in TOLL_FREE


@functools.cache
def region_zones(country: str, subs: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The IANA zones of a North American country's states or provinces (``subs``; every
    one when empty), from their area codes, east to west ("US", ("FL",)) ->
    ``("America/New_York", "America/Chicago")``. Empty when the table knows none."""
    from zoneinfo import ZoneInfo

    from phonenumbers.tzdata import TIMEZONE_DATA

    found: set[str] = set()
    with (PACKS_FOLDER / "area_codes.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["country"] != country:
                continue
            if subs and not set(row["subdivisions"].split()) & set(subs):
                continue
            found.update(z for z in TIMEZONE_DATA.get("1" + row["area_code"], ())
                         if z != "Etc/Unknown")
    # East first (the card's local time is the first zone's), by the offset in January.
    winter = datetime(2026, 1, 15, 12)
    return tuple(sorted(found, key=lambda z: (-ZoneInfo(z).utcoffset(winter), z)))



def area_code(phone: str | None) -> str:
    """The area code of a North American E.164 number ("+13055550100" -> "305"), else ""."""
    if phone and phone.startswith("+1") and len(phone) >= 5:
        return phone[2:5]
    return ""


def jurisdiction(country: str | None, npa: str = "", region: str | None = None) -> str:
    """The jurisdiction code of a number: ``"US-FL"``, ``"CA-NS+CA-PE"``, ``"FR"``, ``""``.

    ``country`` is the number's country, ``npa`` its area code (North America), ``region``
    the state / province / Land the customer list gives (a code like ``FL`` or ``BY``).
    Both the number's and the list's regions apply when they differ (the stricter wins).
    """
    country = (country or "").upper()
    if len(country) != 2:
        return ""
    subs: list[str] = []
    if country in SUBDIVIDED and npa:
        subs.extend(area_codes().get(npa, ()))
    if region:
        code = region.strip().upper()
        if code.startswith(country + "-"):
            code = code[3:]
        if code and code in subdivisions(country) and code not in subs:
            subs.append(code)
    if not subs:
        return country
    return "+".join(f"{country}-{s}" for s in sorted(subs))


def row_jurisdiction(row: dict) -> str:
    """The jurisdiction of a ``customers`` row (number's country and area code, list region)."""
    return jurisdiction(row.get("phone_region"), area_code(row.get("phone")), row.get("region"))


@functools.cache
def subdivisions(country: str) -> frozenset[str]:
    """The subdivision codes the holiday calendars know for ``country`` (may be empty)."""
    import holidays

    try:
        cls = holidays.country_holidays(country, years=[]).__class__
    except NotImplementedError:
        return frozenset()
    return frozenset(s for s in getattr(cls, "subdivisions", ()) if s.isalnum())


def split(code: str) -> tuple[str, tuple[str, ...]]:
    """``"US-FL+US-GA"`` -> ``("US", ("FL", "GA"))``; ``"US"`` -> ``("US", ())``."""
    if not code:
        return "", ()
    parts = code.split("+")
    country = parts[0][:2]
    return country, tuple(p[3:] for p in parts if len(p) > 3)


@functools.cache
def packs_for(code: str) -> tuple[Pack, ...]:
    """The packs that apply to a jurisdiction: the country's and each candidate region's.

    A North American number with no known state or province gets every state's or
    province's pack (the stricter of the candidates).
    """
    country, subs = split(code)
    if not country:
        return ()
    allp = packs()
    out = [allp[country]] if country in allp else []
    if subs:
        out += [allp[f"{country}-{s}"] for s in subs if f"{country}-{s}" in allp]
    elif country in SUBDIVIDED:
        out += [p for c, p in sorted(allp.items()) if c.startswith(country + "-")]
    return tuple(out)


def rules_for(code: str, kind: str, purpose: str = "care",
              customer_type: str = "consumer", day: date | None = None,
              national: bool = False) -> list[Rule]:
    """The rules of ``kind`` that bind a call of ``purpose`` to a customer of ``code``.

    ``national``: only the country's own pack (what a country section of a policy
    is checked against), not its states' or provinces'.
    """
    found = packs_for(code) if not national else tuple(
        p for p in (packs().get(code[:2]),) if p is not None)
    return [r for p in found for r in p.rules
            if r.kind == kind and r.applies(purpose, customer_type, day)]


# -- hours and holidays ------------------------------------------------------------------------


def intersect_spans(a: DayHours, b: DayHours) -> DayHours:
    """The minutes open in both ``a`` and ``b``."""
    out = []
    for (s1, e1), (s2, e2) in itertools.product(a, b):
        s, e = max(s1, s2), min(e1, e2)
        if e > s:
            out.append((s, e))
    return tuple(sorted(out))


def within(a: DayHours, b: DayHours) -> bool:
    """True when every minute open in ``a`` is open in ``b``."""
    return intersect_spans(a, b) == _merge(a)


def _merge(spans: DayHours) -> DayHours:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        elif e > s:
            out.append([s, e])
    return tuple((s, e) for s, e in out)


@functools.cache
def legal_hours(code: str, weekday: int, purpose: str = "care",
                customer_type: str = "consumer", national: bool = False
                ) -> tuple[DayHours, tuple[Rule, ...]]:
    """The hours every pack of ``code`` allows on ``weekday``, and the rules that limit them."""
    spans: DayHours = FULL_DAY
    limiting: list[Rule] = []
    for rule in rules_for(code, "hours", purpose, customer_type, national=national):
        if weekday in rule.hours:
            narrowed = intersect_spans(spans, rule.hours[weekday])
            if narrowed != spans:
                limiting.append(rule)
            spans = narrowed
    return spans, tuple(limiting)


@functools.lru_cache(maxsize=1024)
def _calendar(country: str, subdiv: str | None, year: int):
    # Only the countries, regions and years in view, from the on-disk cache
    # (calls.holiday_dates: building a calendar costs ~0.3 s of CPU per process).
    from calls.holiday_dates import holidays_in

    return holidays_in(country, subdiv, year)


def public_holiday(code: str, day: date) -> str | None:
    """The public holiday on ``day`` in the jurisdiction (any candidate region's), or None."""
    country, subs = split(code)
    if not country:
        return None
    if not subs and country in SUBDIVIDED:
        # No state known (a toll-free number): the states whose law closes their own
        # holidays may be where it rings (the stricter candidate).
        subs = (None, *_holiday_law_regions(country))
    for sub in subs or (None,):
        cal = _calendar(country, sub, day.year)
        if cal is None and sub is not None:
            # A region the calendars do not know: the country's own holidays still close.
            cal = _calendar(country, None, day.year)
        if cal is not None:
            name = cal.get(day)
            if name:
                return name
    return None


@functools.cache
def _holiday_law_regions(country: str) -> tuple[str, ...]:
    return tuple(sorted(p.code[3:] for p in packs().values()
                        if p.country == country and len(p.code) > 2
                        and any(r.kind == "holidays" for r in p.rules)))


def holiday_rule(code: str, purpose: str = "care", customer_type: str = "consumer"
                 ) -> Rule | None:
    """The pack rule that closes public holidays for ``code``, if the law does."""
    found = rules_for(code, "holidays", purpose, customer_type)
    return found[0] if found else None


# -- caps and quiet periods ------------------------------------------------------------------


@record(frozen=True)
class Hold:
    """Why a customer may not be called before ``until``: a rule (pack or policy) and words."""

    code: str            # "attempts" | "contacts" | "refusal"
    text: str
    until: datetime
    rule: Rule | None = None   # None: the care policy's own limit


def count_hold(times: list[datetime], limit: int, period: timedelta, now: datetime
               ) -> datetime | None:
    """When another call is allowed under "at most ``limit`` in any ``period``".

    ``times`` are the moments of earlier calls (any order). None: allowed now.
    """
    recent = sorted((t for t in times if now - period < t <= now), reverse=True)
    if len(recent) < limit:
        return None
    return recent[limit - 1] + period
