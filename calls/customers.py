"""Customers by hand: find any customer, add one, correct one, and their phone numbers.

The rules are the import's (``docs/import.md``): a number is read in the customer's country
(else the default region) and refused with the reason when it is not valid; amounts and
dates are read as the import reads them. Every change is written with its audit row in one
transaction.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime

from calls import audit
from calls.clock import to_iso
from calls.errors import UserError
from calls.ingest.phones import Phone, PhoneError, normalise_phone, region_for_country
from calls.ingest.values import clean_ref, parse_amount, parse_date_text
from calls.language import parse_language, parse_salutation
from calls.models import Customer
from calls.records import record
from calls.store import Store
from calls.store import customers as q
from calls.store.customers import get_customer

__all__ = [
    "EDITABLE_FIELDS",
    "PhoneNumber",
    "add_customer",
    "add_number",
    "customer_regions",
    "edit_customer",
    "find_customer",
    "home_region",
    "mark_number",
    "numbers_for",
    "parse_assignments",
    "search_customers",
    "use_as_main",
]

NUMBER_STATUSES = ("ok", "wrong_number", "disconnected")


# -- finding ------------------------------------------------------------------------------

_PHONEISH = re.compile(r"^[\d\s()+./\-]+(?:\s*(?:x|ext\.?|#)\s*\d+)?$", re.IGNORECASE)


def customer_regions(store: Store) -> list[str]:
    """Every region the customers are in, most customers first: their main numbers'
    regions, the countries the list gives, and the countries of their second and added
    numbers (a US customer's UK mobile makes "07700 900123" readable)."""
    import phonenumbers

    regions = list(q.phone_regions(store))
    countries, prefixes = q.number_places(store)
    for country in countries:
        region = region_for_country(country)
        if region:
            regions.append(region)
    for prefix in prefixes:
        digits = prefix[1:]
        for size in (1, 2, 3):         # a country calling code has one to three digits
            region = phonenumbers.region_code_for_country_code(int(digits[:size] or 0))
            if region != "ZZ":
                regions.append(region)
                break
    return list(dict.fromkeys(regions))


def home_region(store: Store, configured: str | None = None) -> str:
    """Where a number typed without a country code is read first: ``configured`` (the
    config file's ``[defaults] region``), else where most customers' numbers are, else US."""
    if configured and configured.strip():
        return configured.strip().upper()
    regions = q.phone_regions(store)
    return regions[0] if regions else "US"


def _candidate_numbers(store: Store, text: str, default_region: str | None) -> list[str]:
    """E.164 forms of ``text`` read as the import would, in the default region and in
    every region the customers are in (a caller types "030 1234567" for a Berlin
    customer on a US floor, "020 7946 0958" for a London one)."""
    if not _PHONEISH.match(text.strip()) or sum(ch.isdigit() for ch in text) < 5:
        return []
    regions = [default_region or home_region(store), *customer_regions(store)]
    found: list[str] = []
    for region in dict.fromkeys(r.upper() for r in regions if r):
        try:
            e164 = normalise_phone(text, default_region=region).e164
        except PhoneError:
            continue
        if e164 not in found:
            found.append(e164)
    return found


def search_customers(store: Store, text: str, *, default_region: str | None = None,
                     limit: int = 50) -> list[Customer]:
    """Every customer the text finds: by ref, by phone number in any format (any of the
    customer's numbers; a national number is read in ``default_region``, else
    :func:`home_region`, and in every region of :func:`customer_regions`), else by words
    of the name, company or e-mail (case and accents ignored). Exact matches (ref,
    number) come first."""
    text = (text or "").strip()
    if not text:
        return []
    found: dict[int, Customer] = {}
    exact = get_customer(store, text) or get_customer(store, clean_ref(text))
    if exact is not None:
        found[exact.id] = exact
    for c in q.find_by_phones(store, _candidate_numbers(store, text, default_region)):
        found.setdefault(c.id, c)
    if len(found) < limit:
        for c in q.find_by_words(store, text.split(), limit):
            found.setdefault(c.id, c)
    return list(found.values())[:limit]


def find_customer(store: Store, key: str | int) -> Customer:
    """A customer by id or ref, or a UserError that says none has it."""
    found = get_customer(store, key)
    if found is None and isinstance(key, str):
        found = get_customer(store, clean_ref(key))
    if found is None:
        raise UserError(f"no customer with ref {key!r}")
    return found


# -- fields a person may set ---------------------------------------------------------------


def _text(value: str) -> str | None:
    value = value.strip()
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("control characters are not allowed")
    return value or None


def _email(value: str) -> str | None:
    value = _text(value)
    if value is None:
        return None
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value.lower()


def _amount(value: str) -> float | None:
    amount = parse_amount(value.strip()) if value.strip() else None
    if amount is not None and not math.isfinite(amount):
        raise ValueError("not a finite amount")
    return amount


def _date(birthday: bool) -> Callable[[str], str | None]:
    def parse(value: str) -> str | None:
        day = parse_date_text(value.strip(), allow_no_year=birthday) if value.strip() else None
        return day.isoformat() if day else None
    return parse


def _country(value: str) -> str | None:
    if not value.strip():
        return None
    region = region_for_country(value)
    if region is None:
        raise ValueError(f"{value.strip()!r} is not a country carecall knows (write DE, FR, US)")
    return region


def _region(value: str) -> str | None:
    """A state / province / Land code ("FL", "on", "US-FL" -> "FL"): the law of that
    region applies on top of the number's (docs/lawful.md)."""
    code = value.strip().upper()
    if len(code) > 3 and code[2] == "-":
        code = code[3:]
    if not code:
        return None
    if not re.fullmatch(r"[A-Z0-9]{1,3}", code):
        raise ValueError(f"{value.strip()!r} is not a region code (a state, province or "
                         "Land code: FL, ON, BY)")
    return code


def _salutation(value: str) -> str | None:
    if not value.strip():
        return None
    parsed = parse_salutation(value)
    if parsed is None:
        raise ValueError(f"{value.strip()!r} is not a salutation (Mr, Ms, Herr, Frau, "
                         "Monsieur, Madame)")
    return parsed


# Field -> how its text is read. Phone numbers are read separately (they need the region).
EDITABLE_FIELDS: dict[str, Callable[[str], object]] = {
    "name": _text,
    "first_name": _text,
    "last_name": _text,
    "salutation": _salutation,
    "language": parse_language,
    "company": _text,
    "email": _email,
    "country": _country,
    "region": _region,
    "owner": _text,
    "revenue": _amount,
    "customer_since": _date(False),
    "last_purchase": _date(False),
    "birthday": _date(True),
    "phone": str,
    "phone2": str,
}


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["company=Acme", "phone=030 123"]`` -> a dict; UserError for a bad item or field."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not name:
            raise UserError(f"--set {item!r}: write FIELD=VALUE, e.g. --set company=Acme")
        if name not in EDITABLE_FIELDS:
            raise UserError(f"--set {name}: not a field you can set (fields: "
                            + ", ".join(EDITABLE_FIELDS) + ")")
        out[name] = value
    return out


def _read_fields(changes: Mapping[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, text in changes.items():
        if name in ("phone", "phone2"):
            continue
        try:
            values[name] = EDITABLE_FIELDS[name](text)
        except ValueError as exc:
            raise UserError(f"{name}: {exc}") from None
    return values


def _read_phone(raw: str, region: str, what: str) -> Phone:
    try:
        return normalise_phone(raw, default_region=region)
    except PhoneError as exc:
        raise UserError(f"{what} {raw.strip()!r} is not a valid phone number: {exc}") from None


def _primary_columns(phone: Phone) -> dict[str, object]:
    return {
        "phone": phone.e164,
        "phone_raw": phone.raw,
        "phone_ext": phone.ext,
        "phone_region": phone.region,
        "phone_type": phone.number_type,
        "time_zones": json.dumps(list(phone.time_zones)),
        "number_status": "ok",
    }


def _owner_of_number(store: Store, e164: str, customer_id: int | None) -> Customer | None:
    return next((c for c in q.find_by_phones(store, [e164]) if c.id != customer_id), None)


def _retier(store: Store, policy) -> None:
    from calls.ingest.tiers import recompute_tiers

    recompute_tiers(store, policy) if policy is not None else recompute_tiers(store)


def add_customer(store: Store, fields: Mapping[str, str], *, by: str, now: datetime,
                 ref: str | None = None, default_region: str = "US",
                 policy=None) -> Customer:
    """Add a customer typed by hand; the number is validated as the import does.

    ``fields`` are :data:`EDITABLE_FIELDS` as text; a phone is required, and a name (or a
    first or last name). Without ``ref`` the number is the ref, as on import. A ref or a
    number another customer already has is refused (correct that customer instead).
    """
    values = _read_fields(fields)
    if not fields.get("phone", "").strip():
        raise UserError("a customer needs a phone number (phone=...)")
    if not values.get("name"):
        values["name"] = " ".join(
            str(v) for v in (values.get("first_name"), values.get("last_name")) if v)
    if not values["name"] and not values.get("company"):
        # A business may be known by its company alone (as a list row may be).
        raise UserError("a customer needs a name (name=... or first_name= / last_name=) "
                        "or a company (company=...)")
    region = str(values.get("country") or default_region)
    phone = _read_phone(fields["phone"], region, "phone")
    values.update(_primary_columns(phone))
    values.setdefault("country", phone.region)
    if fields.get("phone2", "").strip():
        second = _read_phone(fields["phone2"], region, "phone2")
        values["phone2"], values["phone2_raw"] = second.e164, second.raw
    key = clean_ref(ref) if ref and ref.strip() else phone.e164
    with store.write():
        if get_customer(store, key) is not None:
            raise UserError(f"a customer with ref {key!r} exists already "
                            f"(carecall customers edit {key} --set ...)")
        other = _owner_of_number(store, phone.e164, None)
        if other is not None:
            raise UserError(f"{phone.e164} is already the number of {other.name} "
                            f"(ref {other.ref})")
        customer_id = q.insert_customer(store, {"ref": key, **values}, to_iso(now))
        audit.record(store, by, "customer.add", key,
                     {k: v for k, v in values.items() if k != "time_zones"}, now=now)
    _retier(store, policy)
    found = get_customer(store, customer_id)
    assert found is not None
    return found


def edit_customer(store: Store, key: str | int, changes: Mapping[str, str], *, by: str,
                  now: datetime, default_region: str = "US",
                  policy=None) -> tuple[Customer, dict[str, tuple[object, object]]]:
    """Correct a customer's details; returns the customer and ``field -> (old, new)`` for
    what changed. A new main number can be called at once (its status and retry wait are
    cleared, as after a corrected wrong number)."""
    if not changes:
        raise UserError("nothing to change: give --set FIELD=VALUE")
    values = _read_fields(changes)
    if "name" in changes and not values.get("name"):
        raise UserError("name: a customer needs a name")
    with store.write():
        customer = find_customer(store, key)
        row = q.customer_row(store, customer.id) or {}
        region = str(values.get("country") or row.get("phone_region") or default_region)
        if "phone" in changes:
            phone = _read_phone(changes["phone"], region, "phone")
            other = _owner_of_number(store, phone.e164, customer.id)
            if other is not None:
                raise UserError(f"{phone.e164} is already the number of {other.name} "
                                f"(ref {other.ref})")
            values.update(_primary_columns(phone))
            values["retry_after"] = None
        if "phone2" in changes:
            if changes["phone2"].strip():
                second = _read_phone(changes["phone2"], region, "phone2")
                values["phone2"], values["phone2_raw"] = second.e164, second.raw
            else:
                values["phone2"] = values["phone2_raw"] = None
        # A name made of the first and last name follows them.
        old_full = " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p)
        if ("first_name" in values or "last_name" in values) and "name" not in values \
                and row.get("name") == old_full:
            first = values.get("first_name", row.get("first_name"))
            last = values.get("last_name", row.get("last_name"))
            values["name"] = " ".join(str(p) for p in (first, last) if p) or row.get("name")
        changed = {k: (row.get(k), v) for k, v in values.items() if row.get(k) != v}
        if changed:
            q.set_customer_fields(store, customer.id, {k: values[k] for k in changed},
                                  to_iso(now))
            shown = {k: list(v) for k, v in changed.items() if k != "time_zones"}
            action = "customer.number" if set(changed) & {"phone", "phone2"} else "customer.edit"
            audit.record(store, by, action, customer.ref, shown, now=now)
    if "revenue" in changed:
        _retier(store, policy)
    found = get_customer(store, customer.id)
    assert found is not None
    return found, changed


# -- numbers ------------------------------------------------------------------------------


@record(frozen=True)
class PhoneNumber:
    """One of a customer's numbers, in the order to try them."""

    e164: str
    raw: str | None
    label: str                  # "main", "second", or what it was added as
    status: str                 # ok | wrong_number | disconnected
    primary: bool = False
    ext: str | None = None

    @property
    def callable(self) -> bool:
        return self.status == "ok"

    @property
    def national(self) -> str:
        """The number as a caller reads it at home ("030 1234567")."""
        try:
            phone = normalise_phone(self.e164)
        except PhoneError:
            return self.e164
        return phone.national


def numbers_for(store: Store, customer: Customer) -> list[PhoneNumber]:
    """The customer's numbers in the order to try them: the main one, the list's second
    one, then those added by hand; each once, with its status."""
    rows = {r["e164"]: r for r in q.extra_numbers(store, customer.id)}
    out: list[PhoneNumber] = []
    if customer.phone:
        out.append(PhoneNumber(customer.phone, customer.phone_raw, "main",
                               customer.number_status or "ok", True, customer.phone_ext))
    if customer.phone2 and customer.phone2 != customer.phone:
        row = rows.get(customer.phone2, {})
        out.append(PhoneNumber(customer.phone2, row.get("raw") or customer.phone2,
                               row.get("label") or "second", row.get("status") or "ok"))
    for e164, row in rows.items():
        if e164 in (customer.phone, customer.phone2):
            continue
        out.append(PhoneNumber(e164, row["raw"], row["label"] or "added", row["status"],
                               ext=row["ext"]))
    return out


def add_number(store: Store, key: str | int, raw: str, *, by: str, now: datetime,
               label: str | None = None, default_region: str = "US") -> PhoneNumber:
    """Add a number to a customer (tried after the main and second ones)."""
    with store.write():
        customer = find_customer(store, key)
        phone = _read_phone(raw, customer.phone_region or default_region, "number")
        if phone.e164 in (customer.phone, customer.phone2):
            raise UserError(f"{phone.e164} is already a number of {customer.name}")
        other = _owner_of_number(store, phone.e164, customer.id)
        if other is not None:
            raise UserError(f"{phone.e164} is already the number of {other.name} "
                            f"(ref {other.ref})")
        q.put_number(store, customer.id, phone.e164, raw=phone.raw, ext=phone.ext,
                     label=_text(label or ""), status="ok", source="added",
                     now_iso=to_iso(now), by=by)
        audit.record(store, by, "customer.number", customer.ref,
                     {"added": phone.e164, "label": label}, now=now)
    return PhoneNumber(phone.e164, phone.raw, label or "added", "ok", ext=phone.ext)


def mark_number(store: Store, customer: Customer, e164: str, status: str, *, by: str,
                now: datetime) -> None:
    """Give one of the customer's numbers a status (a wrong or disconnected number is not
    offered again; ``ok`` takes that back). Joins the caller's write transaction."""
    if status not in NUMBER_STATUSES:
        raise ValueError(f"unknown number status {status!r}")
    with store.write():
        if e164 == customer.phone:
            q.set_customer_fields(store, customer.id, {"number_status": status}, to_iso(now))
        else:
            source = "list" if e164 == customer.phone2 else "added"
            q.put_number(store, customer.id, e164, raw=None, ext=None, label=None,
                         status=status, source=source, now_iso=to_iso(now), by=by)
        audit.record(store, by, "customer.number", customer.ref,
                     {"number": e164, "status": status}, now=now)


def use_as_main(store: Store, customer: Customer, e164: str, *, by: str,
                now: datetime) -> None:
    """Make one of the customer's other numbers the main one (it reached them, or the main
    one is wrong); the old main number stays in their list with its status. Joins the
    caller's write transaction; audited."""
    if e164 == customer.phone:
        return
    phone = _read_phone(e164, customer.phone_region or "US", "number")
    with store.write():
        row = q.customer_row(store, customer.id) or {}
        if row.get("phone"):
            q.put_number(store, customer.id, row["phone"], raw=row.get("phone_raw"),
                         ext=row.get("phone_ext"), label="former main",
                         status=row.get("number_status") or "ok", source="list",
                         now_iso=to_iso(now), by=by)
        q.drop_number(store, customer.id, phone.e164)
        q.set_customer_fields(store, customer.id, {**_primary_columns(phone),
                                                   "retry_after": None}, to_iso(now))
        audit.record(store, by, "customer.number", customer.ref,
                     {"main": [row.get("phone"), phone.e164]}, now=now)
