"""Import a customer list: detect columns, normalise phones, upsert, record, re-tier.

The flow, built to stream files of any size in bounded memory:

1. :func:`calls.ingest.readers.read_table` opens the file; :func:`detect_columns` maps its headers
   to customer fields (``--map field=Header`` overrides).
2. Rows are prepared in chunks (phone parsing is the slow part, so big files use a
   process pool across the cores); each row becomes a staged record or a reject.
3. Staged records go to a temporary table; the merge into ``customers`` (last row wins
   for a key seen twice, unchanged rows untouched) runs in one short write transaction.
4. The import and its rejects are recorded; pending order lines for customers that now
   exist are attached; tiers are recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from calls.clock import to_iso
from calls.errors import UserError
from calls.ingest.phones import PhoneError, is_known_region, phone_parts, region_for_country
from calls.ingest.pipeline import (
    SAMPLE_ROWS,
    Reject,
    RejectsFile,
    about_file,
    chunk_records,
    header_list,
    import_record,
    match_columns,
    named,
    prepare_in_chunks,
    sample_dates,
    table_chunks,
    worker_count,
)
from calls.ingest.readers import CsvChunkParser, Table, read_table
from calls.ingest.tiers import assign_tiers, recompute_tiers
from calls.ingest.values import (
    clean_ref,
    control_character,
    latest_date,
    parse_amount,
    parse_date_text,
)
from calls.language import parse_language, parse_salutation
from calls.orders import attach_pending_orders, window_start
from calls.store import Store
from calls.store import imports as store_imports
from calls.store.imports import staged_customer
from calls.store.orders import has_order_lines

__all__ = [
    "FIELDS",
    "ImportOptions",
    "ImportResult",
    "detect_columns",
    "import_customers",
]

# Customer fields a list can fill, with the header names recognised for each (compared
# lower-cased with spaces, dashes, dots and underscores removed), best match first.
FIELDS: dict[str, tuple[str, ...]] = {
    "ref": (
        "customerid", "customerref", "customerno", "customernumber", "customercode",
        "accountid", "accountnumber", "accountno", "clientid", "clientnumber", "custid",
        "ref", "reference", "id", "kundennummer", "kundennr", "numeroclient",
    ),
    "name": ("name", "fullname", "customername", "contactname", "contact", "clientname"),
    "first_name": ("firstname", "givenname", "forename", "first", "vorname", "prenom"),
    "last_name": ("lastname", "surname", "familyname", "last", "nachname", "nomdefamille"),
    "company": (
        "company", "companyname", "organisation", "organization", "business",
        "businessname", "account", "accountname", "firma", "unternehmen", "societe",
        "entreprise",
    ),
    "phone": (
        "phone", "phone1", "phonenumber", "telephone", "telephone1", "tel", "tel1",
        "primaryphone", "mainphone", "telephonenumber", "telefon", "telefonnummer",
        "mobile", "mobilephone", "mobilenumber", "cell", "cellphone", "portable",
        "workphone", "businessphone", "officephone", "homephone",
    ),
    # The second number: "Second Phone", "Phone 2", "Alt Phone", "Mobile", "Telefon 2",
    # "Téléphone 2" ... (a list with "Phone" and "Home Phone" gives the home one here).
    "phone2": (
        "phone2", "secondphone", "2ndphone", "secondnumber", "secondphonenumber",
        "secondaryphone", "secondaryphonenumber", "secondarynumber", "alternatephone",
        "alternativephone", "alternatenumber", "alternatephonenumber", "altphone",
        "altnumber", "altphonenumber", "otherphone", "othernumber", "otherphonenumber",
        "additionalphone", "telephone2", "tel2", "phonenumber2", "number2", "mobile",
        "mobilephone", "mobilenumber", "cell", "cellphone", "cellnumber", "homephone",
        "workphone", "businessphone", "officephone", "telefon2", "telefonnummer2",
        "zweitetelefonnummer", "weiteretelefonnummer", "handy", "handynummer", "mobil",
        "mobilnummer", "mobiltelefon", "festnetz", "autretelephone", "telephoneportable",
        "portable", "fax",
    ),
    "email": ("email", "email1", "emailaddress", "mail", "emailadresse", "courriel"),
    "country": ("country", "countrycode", "countryregion", "nation", "land", "pays"),
    "revenue": (
        "revenue", "annualrevenue", "yearlyrevenue", "revenue12m", "revenuelast12months",
        "spend", "annualspend", "yearlyspend", "totalspend", "sales", "annualsales",
        "turnover", "umsatz", "chiffredaffaires",
    ),
    "last_purchase": (
        "lastpurchase", "lastpurchasedate", "lastorder", "lastorderdate", "lastbought",
        "letzterkauf",
    ),
    "birthday": ("birthday", "birthdate", "dateofbirth", "dob", "geburtstag", "geburtsdatum"),
    "customer_since": (
        "customersince", "subscriptiondate", "since", "clientsince", "signupdate",
        "signedup", "joined", "joindate", "startdate", "kundeseit", "clientdepuis",
    ),
    "owner": (
        "owner", "accountowner", "leadowner", "salesrep", "rep", "accountmanager",
        "keyaccountmanager", "betreuer",
    ),
    "salutation": (
        "salutation", "anrede", "civilite", "gender", "geschlecht", "sex", "genre",
    ),
    "language": (
        "language", "lang", "preferredlanguage", "locale", "sprache", "langue",
        "korrespondenzsprache",
    ),
}

DATE_FIELDS = ("last_purchase", "birthday", "customer_since")
# Rows per chunk handed to a worker process.
_CHUNK_ROWS = 2000


@dataclass
class ImportOptions:
    """What the user asked for on the command line."""

    region: str = "US"                           # region for numbers without a country
    mapping: dict[str, str] = field(default_factory=dict)   # field -> header (--map)
    sheet: str | None = None
    dry_run: bool = False
    by_user: str | None = None
    rejects_path: Path | None = None             # --rejects FILE (CSV, 0600)
    workers: int | None = None                   # None: every core for big files
    a_share: float = 0.80
    b_share: float = 0.95
    revenue_window_days: int = 365               # for figures of attached order lines
    progress: Callable[[int, int], None] | None = None   # (done, total) in table units
    phase: Callable[[str], None] | None = None           # "Saving ...": a step without rows
    # Merge in short transactions (True), in one (False), or in chunks while callers work
    # the floor (None: calls.store.imports.floor_is_live); docs/import.md.
    chunked: bool | None = None


@dataclass
class ImportResult:
    """What an import did (also what ``--json`` prints)."""

    file: str
    format: str
    encoding: str | None
    sheet: str | None
    columns: dict[str, str]          # field -> header used
    extra_columns: list[str]         # headers kept as extra data
    match_on: str                    # "ref" or "phone"
    encoding_note: str | None = None   # stray lines of a mixed file
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    dry_run: bool = False
    import_id: int | None = None
    orders_attached: int = 0
    phone2_invalid: int = 0
    phone2_kept: int = 0                 # of those, customers who kept a valid one on file
    unchanged_since: int | None = None   # the import whose file this one found again
    finishes: list[int] = field(default_factory=list)   # stopped imports of this file it completed
    # region, customer type, contract, consent columns (field -> header): docs/lawful.md
    lawful_columns: dict[str, str] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)   # the first few, for display

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        out = {k: v for k, v in self.__dict__.items() if k != "rejects"}
        out["rejects"] = [r.__dict__ for r in self.rejects]
        return out


# -- columns ---------------------------------------------------------------------------

# List columns carecall reads for the law (besides the customer fields): recognised by
# these (normalised) header names, or named with ``--map field=HEADER``.
LAWFUL_FIELDS: dict[str, tuple[str, ...]] = {
    "region": ("region", "state", "province", "stateprovince", "bundesland", "county",
               "territory"),
    "customer_type": ("customertype", "type", "b2b", "b2bb2c", "kundentyp", "typeclient",
                      "segment"),
    "contract": ("contract", "hascontract", "currentcontract", "vertrag", "contrat"),
    "consent_calls": ("consentcalls", "consentcall", "callconsent", "consentphone",
                      "phoneconsent", "einwilligungtelefon", "consentementappel"),
    "consent_marketing": ("consentmarketing", "marketingconsent", "optin", "marketingoptin",
                          "einwilligungwerbung"),
    "consent_recording": ("consentrecording", "recordingconsent"),
    # Consent to pass on the customer's name (referrals): no current-state column on
    # customers; the consent records say what is in force.
    "consent_share": ("consentshare", "shareconsent", "consenttoshare", "consentreferral",
                      "referralconsent", "referralok", "mayshare", "einwilligungweitergabe",
                      "consentementpartage"),
}


def split_mapping(mapping: dict[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """``--map`` entries as (customer fields, the law's list fields)."""
    mapping = mapping or {}
    for name, header in mapping.items():
        if name not in FIELDS and name not in LAWFUL_FIELDS:
            # Name the law's fields too: a supervisor mapping a consent column looks here.
            raise UserError(f"--map {name}={header}: unknown field {name!r} (fields: "
                            f"{', '.join([*FIELDS, *LAWFUL_FIELDS])})")
    core = {k: v for k, v in mapping.items() if k not in LAWFUL_FIELDS}
    return core, {k: v for k, v in mapping.items() if k in LAWFUL_FIELDS}


def lawful_columns(headers: list[str], mapping: dict[str, str], taken: set[str]
                   ) -> dict[str, str]:
    """The law's field -> header in this list (``taken``: headers used for fields)."""
    return match_columns([h for h in headers if h not in taken], LAWFUL_FIELDS, mapping)



def detect_columns(headers: list[str], mapping: dict[str, str] | None = None) -> dict[str, str]:
    """Customer field -> header, from recognised names; ``mapping`` overrides.

    Raises :class:`UserError` for a mapping naming an unknown field or header, and for a
    list without a phone column (listing the headers it saw).
    """
    mapping = mapping or {}
    chosen = match_columns(headers, FIELDS, mapping)
    # "Name" next to first/last names is usually something else (a company name).
    if (
        "name" in chosen
        and ("first_name" in chosen or "last_name" in chosen)
        and "name" not in mapping
    ):
        chosen.pop("name")
    if "phone" not in chosen:
        raise UserError(
            "no phone column found (columns: " + header_list(headers) + "); "
            "name it with --map phone=HEADER"
        )
    return chosen


# -- preparing rows (runs in worker processes for big files) ----------------------------


@dataclass(frozen=True)
class _Config:
    columns: dict[str, str]
    extra_headers: tuple[str, ...]
    region: str
    match_on: str
    day_first: dict[str, bool]
    headers: tuple[str, ...] = ()
    # Dates after this one (YYYY-MM-DD) are in the future: no birthday, customer-since or
    # last purchase can be.
    latest_date: str = "9999-12-31"
    # How this import reads a row (see :func:`_fingerprint`), and the source hashes of
    # the rows the customers' last imports read (rows met again are not read again).
    fingerprint: str = ""
    known: dict[int, str] = field(default_factory=dict)   # source hash -> customer ref

    def index(self, name: str) -> int:
        """Position of a field's column in a record, or -1 when the list lacks it."""
        header = self.columns.get(name)
        return self.headers.index(header) if header else -1


_TEXT_FIELDS = ("ref", "name", "first_name", "last_name", "company", "phone", "phone2",
                "email", "country", "revenue", "owner", "salutation", "language", *DATE_FIELDS)


def _make_extra_json() -> Callable[[dict], str]:
    """The JSON text of a row's extra columns (keys sorted, not ASCII-escaped, compact).

    Compact like SQLite's ``json_patch``, which merges a later import's columns into it:
    the same customer's extra text reads alike whether it was inserted or updated.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which costs more than
    encoding a small dict: this one is built once (where the C encoder exists).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(ensure_ascii=False, sort_keys=True,
                                separators=(",", ":")).encode

    def refuse(value: object) -> object:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    encode = make(None, refuse, json.encoder.encode_basestring, None, ":", ",",
                  True, False, True)   # sort keys, no skipped keys, NaN allowed
    return lambda extra: "".join(encode(extra, 0))


_extra_json = _make_extra_json()


# Lists repeat a handful of languages and salutations: read each spelling once.
_language = lru_cache(maxsize=256)(parse_language)
_salutation = lru_cache(maxsize=256)(parse_salutation)


@lru_cache(maxsize=4096)
def _zones_json(zones: tuple[str, ...]) -> str:
    return json.dumps(list(zones))


@lru_cache(maxsize=65536)
def _date_iso(text: str, day_first: bool, no_year: bool) -> str:
    """A date cell as ``YYYY-MM-DD`` (cached: lists repeat dates a lot)."""
    value = parse_date_text(text, day_first, allow_no_year=no_year)
    return value.isoformat() if value else ""


def _record_maker(config: _Config) -> Callable[[int, list[str], dict | None], tuple]:
    """A function turning one record into ``("ok", StagedCustomer, second number invalid)``
    or ``("reject", line, reason, row)``, specialised to ``config``'s columns.

    Built once per worker: the column positions are bound up front, so a record's fields
    come out in one C call (``itemgetter``) instead of a lookup per field; at hundreds of
    thousands of rows per second the per-field Python work is what counts.
    """
    cols = config.columns
    width = len(config.headers)
    # A missing column reads the "" appended to every record at index ``width``.
    pick = itemgetter(*(config.index(name) if config.index(name) >= 0 else width
                        for name in _TEXT_FIELDS))
    extra_pos = [(h, config.headers.index(h)) for h in config.extra_headers]
    by_ref = config.match_on == "ref"
    default_region = config.region
    first_day = {name: config.day_first.get(name, False) for name in DATE_FIELDS}
    since_df, last_df, birth_df = (first_day["customer_since"], first_day["last_purchase"],
                                   first_day["birthday"])

    latest = config.latest_date

    def date_cell(name: str, text: str, day_first: bool) -> str | None:
        if not text:
            return None
        try:
            iso = _date_iso(text, day_first, name == "birthday")
        except ValueError as exc:
            raise ValueError(f"{cols[name]}: {exc}") from None
        if iso > latest:
            raise ValueError(f"{cols[name]}: {text} is in the future")
        return iso

    fingerprint = config.fingerprint
    known = config.known if by_ref else {}

    def make(line: int, values: list[str], overflow: dict | None,
             source_hash: int | None = None) -> tuple:
        if source_hash is None:
            # A row read from cells (a workbook, JSON): its hash is over its cells.
            source = "\x1f".join(values)
            if overflow:
                source += repr(sorted(overflow.items()))
            source_hash = source_hash_of(fingerprint, source)
            key = known.get(source_hash)
            if key is not None:
                return ("skip", line, key)
        values.append("")
        (ref_text, name, first, last, company, phone_text, phone2_text, email, country_text,
         revenue_text, owner, salutation_text, language_text, last_text, birth_text,
         since_text) = pick(values)
        try:
            ref = clean_ref(ref_text) if ref_text else ""
            if by_ref and not ref:
                raise ValueError(f"no customer id ({cols['ref']} is empty)")
            country = region_for_country(country_text) if country_text else None
            if not phone_text:
                raise ValueError(f"no phone number ({cols['phone']} is empty)")
            region = country or default_region
            try:
                e164, ext, number_region, number_type, zones = phone_parts(phone_text, region)
            except PhoneError as exc:
                raise ValueError(f"{cols['phone']}: {exc}") from None
            phone2 = phone2_raw = None
            if phone2_text:
                phone2_raw = phone2_text
                try:
                    phone2 = phone_parts(phone2_text, region)[0]
                except PhoneError:
                    phone2 = None  # kept as text; the primary number is what we call
            if not name:
                name = f"{first} {last}" if first and last else first or last
            if (bad := control_character(f"{ref}{name}{company}{email}{owner}")) is not None:
                raise ValueError(_control_reason(cols, bad, ref_text, name, first, last,
                                                 company, email, owner))
            try:
                revenue = parse_amount(revenue_text) if revenue_text else None
            except ValueError as exc:
                raise ValueError(f"{cols['revenue']}: {exc}") from None
            if revenue is not None and revenue < 0:
                raise ValueError(f"{cols['revenue']}: {revenue_text} is negative "
                                 "(yearly revenue is 0 or more)")
            since = date_cell("customer_since", since_text, since_df)
            last_purchase = date_cell("last_purchase", last_text, last_df)
            birthday = date_cell("birthday", birth_text, birth_df)
            try:
                language = _language(language_text) if language_text else None
            except ValueError as exc:
                raise ValueError(f"{cols['language']}: {exc}") from None
            salutation = _salutation(salutation_text) if salutation_text else None
            extra = {h: values[i] for h, i in extra_pos if values[i]}
            if extra and "\x00" in "".join(extra.values()):
                header = next(h for h, v in extra.items() if "\x00" in v)
                raise ValueError(f"{header}: holds a NUL character (U+0000): binary data, "
                                 "not text")
            if overflow:
                # Cells past the header row (a ragged CSV) are kept too.
                extra.update(overflow)
            record = staged_customer({
                "line": line, "key": ref if by_ref else e164, "ref": ref or e164,
                "name": name, "company": company or None, "phone": e164,
                "phone_raw": phone_text, "phone_ext": ext, "phone_region": number_region,
                "phone_type": number_type, "time_zones": _zones_json(zones),
                "phone2": phone2, "phone2_raw": phone2_raw, "email": email.lower() or None,
                "country": country or number_region, "revenue": revenue,
                "customer_since": since, "last_purchase": last_purchase,
                "birthday": birthday, "owner": owner or None, "first_name": first or None,
                "last_name": last or None, "salutation": salutation, "language": language,
                "extra": _extra_json(extra) if extra else None, "source_hash": source_hash,
            })
            return ("ok", record, phone2_raw is not None and not phone2)
        except ValueError as exc:
            del values[width:]
            row = dict(zip(config.headers, values))
            if overflow:
                row.update(overflow)
            return ("reject", line, str(exc), row)

    return make


def _fingerprint(config: _Config) -> str:
    """What decides how a row is read (columns, region, date order, this carecall's
    version): a row's source hash includes it, so a row read differently is read again."""
    from calls import __version__

    decisions = (__version__, config.headers, sorted(config.columns.items()),
                 config.extra_headers, config.region, config.match_on,
                 sorted(config.day_first.items()))
    return hashlib.blake2b(repr(decisions).encode(), digest_size=8).hexdigest() + "\x1e"


def _control_reason(cols: dict[str, str], bad: str, *fields: str) -> str:
    """Which column holds the control character ``bad`` (U+XXXX) and what it is."""
    names = ("ref", "name", "first_name", "last_name", "company", "email", "owner")
    for field_name, text in zip(names, fields, strict=True):
        if text and control_character(text) == bad and field_name in cols:
            return f"{cols[field_name]}: holds a control character ({bad}), not text"
    return f"holds a control character ({bad}), not text"


@dataclass
class _Prepared:
    """A prepared chunk: staged records (StagedCustomer), rejects, invalid second numbers."""

    records: list[tuple]
    rejects: list[tuple[int, str, dict[str, str]]]    # (line, reason, raw row)
    phone2_invalid: int = 0
    # (line, key) of rows read exactly as the customer's last import read them
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.records) + len(self.rejects) + len(self.skipped)


def _prepare_chunk(config: _Config, chunk: list[tuple]) -> _Prepared:
    global _maker
    if _maker is None or _maker[0] is not config:
        _maker = (config, _record_maker(config))
    make = _maker[1]
    out = _Prepared([], [])
    add = out.records.append
    for line, values, overflow in chunk:
        item = make(line, values, overflow)
        if item[0] == "ok":
            add(item[1])
            out.phone2_invalid += item[2]
        elif item[0] == "skip":
            out.skipped.append(item[1:])
        else:
            out.rejects.append(item[1:])
    return out


# The record maker of the configuration last seen (a worker prepares many chunks of one
# import with one configuration object).
_maker: tuple[_Config, Callable] | None = None


def _prepare_any(config: _Config, chunk: object) -> _Prepared:
    if isinstance(chunk, tuple) and (len(chunk[2]) == 0 or "\r" not in chunk[2]
                                     or chunk[2].count("\r") == chunk[2].count("\r\n")):
        return _prepare_csv(config, *chunk)
    # Old Mac line ends (a lone CR): read every row from its cells.
    return _prepare_chunk(config, chunk_records(chunk))


def source_hash_of(fingerprint: str, text: str) -> int:
    """The 64-bit source hash of a row's text as this import reads it (a signed int)."""
    return int.from_bytes(hashlib.blake2b((fingerprint + text).encode(), digest_size=8)
                          .digest(), "big", signed=True)


def _prepare_csv(config: _Config, parser: CsvChunkParser, first: int,
                 text: str) -> _Prepared:
    """A chunk of CSV text: each record's own text is hashed; a record the customers'
    last imports read exactly so is skipped without being parsed, the others are parsed
    (in runs, by ``parser``) and prepared with their hash.

    Records end at a line break outside quotes, as in :func:`raw_csv_chunks`; line
    numbers are counted as the parser counts them (no lone CR here).
    """
    global _maker
    if _maker is None or _maker[0] is not config:
        _maker = (config, _record_maker(config))
    make = _maker[1]
    known = config.known if config.match_on == "ref" else {}
    fingerprint = config.fingerprint
    out = _Prepared([], [])
    hashes: dict[int, int] = {}
    runs: list[tuple[int, str]] = []
    run_start = run_line = -1
    skipped = out.skipped.append
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    pieces = text.split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()              # the text ends with a line break
    pos, line, i, count = 0, first, 0, len(pieces)
    while i < count:
        piece = pieces[i]
        start, record_line, lines = pos, line, 1
        pos += len(piece) + 1
        if '"' in piece and piece.count('"') % 2:
            # A quoted cell goes on over the next lines until its quote closes.
            parts = [piece]
            quotes = piece.count('"')
            while quotes % 2 and i + lines < count:
                more = pieces[i + lines]
                parts.append(more)
                quotes += more.count('"')
                pos += len(more) + 1
                lines += 1
            piece = "\n".join(parts)
        i += lines
        line += lines
        record = piece.removesuffix("\r")
        if not record.strip():
            continue
        source_hash = from_bytes(blake2b((fingerprint + record).encode(), digest_size=8)
                                 .digest(), "big", signed=True)
        key = known.get(source_hash)
        if key is not None:
            if run_start >= 0:
                runs.append((run_line, text[run_start:start]))
                run_start = -1
            skipped((record_line, key))
        else:
            if run_start < 0:
                run_start, run_line = start, record_line
            hashes[record_line] = source_hash
    if run_start >= 0:
        runs.append((run_line, text[run_start:]))
    add = out.records.append
    for run_line, run_text in runs:
        for line, values, overflow in parser(run_line, run_text):
            item = make(line, values, overflow, hashes.get(line) or _UNKNOWN)
            if item[0] == "ok":
                add(item[1])
                out.phone2_invalid += item[2]
            else:
                out.rejects.append(item[1:])
    return out


def _mostly_known(prepared: _Prepared) -> bool:
    """Whether a list's first chunk was mostly rows read before (a list imported again):
    then reading the rest in this process costs less than starting worker processes."""
    return len(prepared.skipped) >= 0.9 * prepared.rows


# The hash of a record whose text was not seen whole (it cannot match a known row).
_UNKNOWN = 0


def _tier_guess(
    table: Table, columns: dict[str, str], shares: tuple[float, float]
) -> tuple[float, float] | None:
    """The lowest revenue in tier A and in tier B among the first rows of the list (for
    :class:`calls.store.imports.FirstLoad`), or None without revenues to go by."""
    header = columns.get("revenue")
    if header is None:
        return None
    revenues: list[tuple[int, float]] = []
    for i, (_line, row) in enumerate(table.head(SAMPLE_ROWS)):
        try:
            value = parse_amount(str(row.get(header) or ""))
        except ValueError:
            continue
        if value is not None and value > 0:
            revenues.append((i, value))
    try:
        tiers = assign_tiers(revenues, *shares)
    except ValueError:
        return None   # shares out of order: the exact tiering at the end says so, if at all
    lowest = {t: min((r for i, r in revenues if tiers[i] == t), default=None) for t in "AB"}
    if lowest["A"] is None:
        return None
    return lowest["A"], lowest["B"] if lowest["B"] is not None else lowest["A"]


# -- the import ------------------------------------------------------------------------


def import_customers(
    store: Store, path: str | os.PathLike, options: ImportOptions | None, now: datetime
) -> ImportResult:
    """Import the customer list at ``path``; see the module docstring for the steps."""
    with store.storage_errors():   # a full disk or a read-only file: one line
        return _import_customers(store, path, options, now)


def _import_customers(
    store: Store, path: str | os.PathLike, options: ImportOptions | None, now: datetime
) -> ImportResult:
    options = options or ImportOptions()
    region = (options.region or "US").upper()
    if not is_known_region(region):
        raise UserError(f"--region {options.region!r}: not a known region code (e.g. US, GB, DE)")
    table = read_table(path, sheet=options.sheet)
    # The law's columns (region, consumer or business, consents: docs/lawful.md) stay in
    # the extra data and are applied once the customers are in.
    core_map, basis_map = split_mapping(options.mapping)
    with about_file(table.path):
        columns = detect_columns(table.headers, core_map)
        basis_columns = lawful_columns(table.headers, basis_map, set(columns.values()))
    mapped = set(columns.values())
    extra_headers = tuple(h for h in table.headers if h not in mapped)
    match_on = "ref" if "ref" in columns else "phone"
    config = _Config(
        columns=columns,
        extra_headers=extra_headers,
        region=region,
        match_on=match_on,
        day_first=sample_dates(table, columns, DATE_FIELDS, region),
        headers=tuple(table.headers),
        latest_date=latest_date(now),
    )
    config = replace(config, fingerprint=_fingerprint(config),
                     known=store_imports.known_source_hashes(store) if match_on == "ref"
                     else {})
    result = ImportResult(
        file=str(Path(path)),
        format=table.format,
        encoding=table.encoding,
        encoding_note=table.encoding_note,
        sheet=table.sheet,
        columns=columns,
        extra_columns=list(extra_headers),
        match_on=match_on,
        dry_run=options.dry_run,
    )
    if not options.dry_run:
        store.require_writable()
    rejects_writer = RejectsFile(options.rejects_path, table.headers)
    import_row = import_record("customers", path, table, options.by_user, now)
    shares = (options.a_share, options.b_share)
    recorded = {"region": region, "map": options.mapping, "match_on": match_on,
                "tiers": list(shares)}
    if has_order_lines(store):
        # Tiers follow the 12-month revenue of the order lines, whose window moves with
        # the day: an import made on another day re-derives them.
        recorded["window_start"] = window_start(now, options.revenue_window_days).isoformat()
    import_row["options"] = json.dumps(recorded)
    earlier = store_imports.same_file_as_last(store, "customers", import_row["file_hash"],
                                              recorded)
    if earlier is not None:
        # The file and the options of the last import: it can change nothing. Its counts
        # and rejects are that import's; only the record of this one is written.
        with rejects_writer.discarding():
            return _repeat(store, result, earlier, import_row, rejects_writer, options, now)
    # A first list into an empty table goes straight in; anything else is staged and
    # merged (matching, unchanged rows, a dry run's counts).
    sink: store_imports.FirstLoad | store_imports.Staging | None = None
    if not options.dry_run and match_on == "ref":
        sink = store_imports.FirstLoad.start(store, import_row, to_iso(now), shares,
                                             _tier_guess(table, columns, shares))
    if sink is None:
        sink = store_imports.Staging(store)
    # Rows read exactly as the customers' last import read them: key -> last line.
    skipped: dict[str, int] = {}
    skipped_duplicates = 0
    try:
        workers = worker_count(table, options.workers)
        for prepared in named(table.path, prepare_in_chunks(
            table_chunks(table, _CHUNK_ROWS), _prepare_any, config, workers,
            _mostly_known if config.known else None,
        )):
            rejected: list[tuple] = []
            for line, reason, raw in prepared.rejects:
                rejected.append((line, json.dumps(raw, ensure_ascii=False), reason))
                rejects_writer.write(line, reason, raw)
                if len(result.rejects) < 20:
                    result.rejects.append(Reject(line, reason, raw))
            for line, key in prepared.skipped:
                skipped_duplicates += key in skipped
                skipped[key] = line
            sink.add(prepared.records, rejected)
            result.phone2_invalid += prepared.phone2_invalid
            result.rows_read += prepared.rows
            result.rejected += len(rejected)
            if options.progress:
                options.progress(table.progress_done, table.progress_total)
        rejects_writer.finish()
        if options.phase:
            options.phase("Saving customers")
        counted = {"rows_read": result.rows_read, "rejected": result.rejected}
        if isinstance(sink, store_imports.FirstLoad):
            counts = sink.finish(counted)
        else:
            stopped = [] if options.dry_run else [
                row["id"] for row in store_imports.unfinished_imports(store, "customers")
                if row["file_hash"] == import_row["file_hash"]]
            counts = sink.merge(
                match_on=match_on,
                provided=_provided_columns(columns),
                import_row={**import_row, **counted},
                now=to_iso(now),
                dry_run=options.dry_run,
                tier_shares=shares,
                skipped=skipped,
                skipped_duplicates=skipped_duplicates,
                retier=_retier_after_merge(store, shares, options),
                chunked=options.chunked,
            )
            result.finishes = stopped
    except BaseException:
        rejects_writer.discard()
        raise
    finally:
        sink.close()
    result.inserted = counts.inserted
    result.updated = counts.updated
    result.unchanged = counts.unchanged
    result.phone2_kept = counts.phone2_kept
    result.duplicates = counts.duplicates
    result.import_id = counts.import_id
    if not options.dry_run:
        if options.phase:
            options.phase("Re-tiering")
        result.orders_attached = _after_customer_import(store, now, options)
    # Applied by calls.consent.apply_list (the import command runs it): recording a
    # consent is an audited action above this package.
    result.lawful_columns = basis_columns
    result.columns = {**columns, **basis_columns}
    return result


def _repeat(store: Store, result: ImportResult, earlier: dict, import_row: dict,
            rejects_writer: RejectsFile, options: ImportOptions, now: datetime) -> ImportResult:
    """The result of importing again the file ``earlier`` imported (unchanged)."""
    rejects_writer.replay(store_imports.rejects_for(store, earlier["id"]), result.rejects)
    rejects_writer.finish()
    result.rows_read, result.rejected, result.duplicates = (
        earlier["rows_read"], earlier["rejected"], earlier["duplicates"])
    result.unchanged = result.rows_read - result.rejected - result.duplicates
    result.unchanged_since = earlier["id"]
    if not options.dry_run:
        recorded = {**json.loads(import_row["options"]), "unchanged_since": earlier["id"]}
        result.import_id = store_imports.record_repeat(store, {
            **import_row, "options": json.dumps(recorded), "rows_read": result.rows_read,
            "unchanged": result.unchanged, "rejected": result.rejected,
            "duplicates": result.duplicates, "finished_at": to_iso(now),
        }, earlier["id"])
    return result


def _retier_after_merge(store: Store, shares: tuple[float, float], options: ImportOptions
                        ) -> Callable[[store_imports.MergeCounts], None]:
    """What a chunked merge calls once its rows are in: re-tier everyone (in short
    transactions) when the ranking can have moved: new customers, a changed revenue, or
    tier shares other than the last import's."""
    last = store_imports.last_finished_import(store, "customers")
    try:
        last_shares = json.loads(last["options"] or "{}").get("tiers") if last else None
    except ValueError:
        last_shares = None

    def retier(counts: store_imports.MergeCounts) -> None:
        if counts.inserted or counts.revenue_changed or last_shares != list(shares):
            if options.phase:
                options.phase("Re-tiering")
            recompute_tiers(store, a_share=shares[0], b_share=shares[1])

    return retier


def stopped_imports(store: Store) -> list[dict]:
    """Customer imports whose merge stopped half way (the process that ran it is gone)
    and that no later import of the same file finished: each says how far it got."""
    return [row for row in store_imports.unfinished_imports(store, "customers")
            if not _running(row["pid"])]


def _running(pid: int | None) -> bool:
    """Whether the process ``pid`` (on this server) may still be merging. This process
    is not: a merge of its own that stopped has returned (or raised) to get here."""
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True          # someone else's process: alive
    return True


def _after_customer_import(store: Store, now: datetime, options: ImportOptions) -> int:
    """Attach order lines waiting for these customers, then re-derive figures and tiers."""
    old = store_imports.use_bulk_cache(store, main_kib=8192, temp_kib=2048)
    try:
        attached = attach_pending_orders(store, now, options.revenue_window_days)
        # The merge already tiered everyone; only re-derived order figures can change that.
        if has_order_lines(store):
            recompute_tiers(store, a_share=options.a_share, b_share=options.b_share)
    finally:
        store_imports.restore_cache(store, old)
    return attached


def _provided_columns(columns: dict[str, str]) -> list[str]:
    """The customers columns this list speaks for (an update leaves the others alone)."""
    provided = ["phone", "phone_raw", "phone_ext", "phone_region", "phone_type", "time_zones"]
    if "name" in columns or "first_name" in columns or "last_name" in columns:
        provided.append("name")
    if "phone2" in columns:
        provided += ["phone2", "phone2_raw"]
    simple = ("company", "email", "revenue", "customer_since", "last_purchase", "birthday",
              "owner", "first_name", "last_name", "salutation", "language")
    provided += [c for c in simple if c in columns]
    provided.append("country")
    return provided


