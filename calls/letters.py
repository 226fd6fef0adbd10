"""Printable letters: ``carecall followups --kind unreached_letter --format html``.

One page per customer, ready to print from any browser (or to save as PDF from its print
dialogue): the sender line, the customer's address as the imported list holds it (every
address column it had, in address order, and the country's name), the date, the subject
and the policy's letter text (``[letters]``; ``{name}``, ``{company}``, ``{ref}`` are filled
in). Other kinds (thank-you notes, gifts) print the same page with the occasion and the
note instead of the letter text: a sheet to write the card from. The page is self-contained
(no scripts, fonts or images) and is written owner-only like every file that names
customers.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from calls.followups import Followup, mail_merge
from calls.policy import DEFAULT_POLICY, Policy
from calls.store import Store

_CSS = """
@page{size:A4;margin:20mm 20mm 20mm 25mm}
body{font-family:Georgia,'Times New Roman',serif;font-size:11pt;color:#111;margin:0}
.letter{page-break-after:always;break-after:page;min-height:240mm;position:relative}
.letter:last-child{page-break-after:auto;break-after:auto}
.sender{font-size:8pt;color:#444;border-bottom:1px solid #999;display:inline-block;
margin-top:22mm;padding-bottom:1mm}
.address{margin-top:3mm;min-height:35mm;white-space:pre-line;line-height:1.35}
.missing{color:#b00020;font-style:italic}
.date{text-align:right;margin-top:8mm}
.subject{font-weight:bold;margin-top:8mm}
.body{white-space:pre-line;margin-top:6mm;line-height:1.5}
.meta{position:absolute;bottom:0;font-size:7.5pt;color:#777}
@media screen{body{background:#e9ecef}.letter{background:#fff;width:170mm;margin:8mm auto;
padding:10mm 15mm;box-shadow:0 1px 4px #999}}
"""


class _Fill(dict):
    """Fill-ins for the letter text; an unknown ``{field}`` stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: str, values: dict[str, str]) -> str:
    try:
        return text.format_map(_Fill(values))
    except (ValueError, IndexError):  # a stray brace in the policy's text: print as written
        return text


def letter_pages(store: Store, followups: list[Followup], policy: Policy = DEFAULT_POLICY
                 ) -> list[dict[str, Any]]:
    """One page per customer: ``address`` lines, ``name``, ``ref``, ``kind``, ``body``,
    ``followup_ids``. A customer with several of the listed follow-ups gets one page."""
    headers, rows = mail_merge(store, followups)
    index = {h: i for i, h in enumerate(headers)}
    fixed = {"id", "kind", "ref", "name", "company", "email", "occasion", "note", "due", "owner"}
    address_columns = [h for h in headers if h not in fixed]
    pages: dict[str, dict[str, Any]] = {}
    for row in rows:
        ref = row[index["ref"]]
        page = pages.get(ref)
        if page is not None:
            page["followup_ids"].append(int(row[index["id"]]))
            continue
        name, company = row[index["name"]], row[index["company"]]
        lines = [line for line in (name, company) if line]
        lines += [row[index[h]] for h in address_columns if row[index[h]]]
        kind = row[index["kind"]]
        values = {"name": name or company or ref, "company": company, "ref": ref}
        if kind == "unreached_letter":
            body = _fill(policy.letters.body, values)
            subject = _fill(policy.letters.subject, values)
        else:
            occasion = row[index["occasion"]]
            subject = f"{kind.replace('_', ' ').capitalize()}" + (f": {occasion}" if occasion
                                                                   else "")
            body = row[index["note"]]
        pages[ref] = {
            "ref": ref, "name": name, "kind": kind, "address": lines,
            "has_address": len(lines) > (1 if company else 0) + (1 if name else 0),
            "subject": subject, "body": body, "email": row[index["email"]],
            "followup_ids": [int(row[index["id"]])],
        }
    return list(pages.values())


def render_letters(store: Store, followups: list[Followup], policy: Policy | None,
                   now: datetime) -> str:
    """The printable HTML batch for these follow-ups (one page per customer)."""
    policy = policy or DEFAULT_POLICY
    pages = letter_pages(store, followups, policy)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>carecall letters {now:%Y-%m-%d} ({len(pages)})</title>",
           f"<style>{_CSS}</style></head><body>"]
    if not pages:
        out.append('<p class="missing">No follow-ups to print.</p>')
    for page in pages:
        out.append('<section class="letter">')
        out.append(f'<div class="sender">{escape(policy.letters.sender or " ")}</div>')
        address = escape("\n".join(page["address"]))
        if not page["has_address"]:
            note = ("no postal address in the list"
                    + (f"; e-mail: {page['email']}" if page["email"] else ""))
            address += f'\n<span class="missing">({escape(note)})</span>'
        out.append(f'<div class="address">{address}</div>')
        out.append(f'<div class="date">{now:%d %B %Y}</div>')
        out.append(f'<div class="subject">{escape(page["subject"])}</div>')
        out.append(f'<div class="body">{escape(page["body"])}</div>')
        ids = ", ".join(f"#{i}" for i in page["followup_ids"])
        out.append(f'<div class="meta">{escape(page["ref"])} · follow-up {escape(ids)} · '
                   f"close it when sent: carecall followups done ID --note posted</div>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)
