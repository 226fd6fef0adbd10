"""Dataclasses that cross the boundary between the store and everything else."""

from __future__ import annotations

import json
from dataclasses import field
from datetime import date

from calls.clock import parse_date
from calls.records import record


@record(frozen=True)
class Customer:
    """One customer as the store holds it."""

    id: int
    ref: str
    name: str
    company: str | None = None
    phone: str | None = None          # E.164
    phone_raw: str | None = None
    phone_ext: str | None = None
    phone_region: str | None = None
    phone_type: str | None = None
    time_zones: tuple[str, ...] = ()
    phone2: str | None = None
    email: str | None = None
    country: str | None = None
    revenue: float | None = None
    tier: str | None = None
    customer_since: date | None = None
    last_purchase: date | None = None
    birthday: date | None = None
    owner: str | None = None
    do_not_call: bool = False
    dnc_reason: str | None = None
    dnc_at: str | None = None
    number_status: str = "ok"
    extra: dict = field(default_factory=dict)
    first_name: str | None = None
    last_name: str | None = None
    salutation: str | None = None     # "mr" | "ms" | None (calls.language renders it)
    language: str | None = None       # ISO 639-1; None: from the country
    region: str | None = None         # the list's state / province / Land (the law's rules)

    @classmethod
    def from_row(cls, row: dict) -> Customer:
        """Build from a ``customers`` row (extra columns in the row are ignored)."""
        zones = row.get("time_zones")
        extra = row.get("extra")
        return cls(
            id=row["id"],
            ref=row["ref"],
            name=row.get("name") or "",
            company=row.get("company"),
            phone=row.get("phone"),
            phone_raw=row.get("phone_raw"),
            phone_ext=row.get("phone_ext"),
            phone_region=row.get("phone_region"),
            phone_type=row.get("phone_type"),
            time_zones=tuple(json.loads(zones)) if zones else (),
            phone2=row.get("phone2"),
            email=row.get("email"),
            country=row.get("country"),
            revenue=row.get("revenue"),
            tier=row.get("tier"),
            customer_since=parse_date(row.get("customer_since")),
            last_purchase=parse_date(row.get("last_purchase")),
            birthday=parse_date(row.get("birthday")),
            owner=row.get("owner"),
            do_not_call=bool(row.get("do_not_call")),
            dnc_reason=row.get("dnc_reason"),
            dnc_at=row.get("dnc_at"),
            number_status=row.get("number_status") or "ok",
            extra=json.loads(extra) if extra else {},
            first_name=row.get("first_name"),
            last_name=row.get("last_name"),
            salutation=row.get("salutation"),
            language=row.get("language"),
            region=row.get("region"),
        )


# Follow-up kinds (DESIGN.md "Follow-ups and the closed loop").
FOLLOWUP_KINDS = (
    "callback",
    "fix_problem",
    "recovery_call",
    "thank_you_note",
    "gift",
    "send_info",
    "referral",
    "escalate",
    "sales_lead",
    "unreached_letter",
)
FOLLOWUP_STATUSES = ("open", "done", "cancelled")
# What each kind is called where people read it (the screens, their notices): one wording
# per kind, no longer than its code (the 80-column tables were laid out for the codes). The codes above stay what the command line takes and prints (`--kind
# send_info`, the report's tables), so a supervisor can type what they read there.
FOLLOWUP_KIND_LABEL = {
    "callback": "callback",
    "fix_problem": "fix problem",
    "recovery_call": "recovery call",
    "thank_you_note": "thank-you note",
    "gift": "gift",
    "send_info": "send info",
    "referral": "referral",
    "escalate": "escalate",
    "sales_lead": "sales lead",
    "unreached_letter": "unreached letter",
}


def kind_label(kind: str) -> str:
    """A follow-up kind in words ("send info" for ``send_info``)."""
    return FOLLOWUP_KIND_LABEL.get(kind, kind.replace("_", " "))
