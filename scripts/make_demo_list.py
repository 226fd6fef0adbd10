#!/usr/bin/env python3
"""Generate the demo customer list shipped with carecall (calls/data/demo_customers.csv)
and its order lines (calls/data/demo_orders.csv).

Deterministic (fixed seed): run it again and the file is identical. The list has a few
hundred customers in the US (several time zones), Canada, the UK, Germany and France, with
phone numbers in the formats people really type, revenue with a long tail (so the 80/20
tiers mean something), purchase dates, birthdays spread over the year (so some are always
near, also across the new year), account owners, and a handful of bad rows that the
import rejects on purpose.

Purchase and "customer since" dates are written relative to ANCHOR; `carecall demo`
moves them forward by the days between ANCHOR and today so the demo never goes stale.

Usage: python scripts/make_demo_list.py [--out PATH] [--count N]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

# Run from a checkout without installing: the generator checks numbers with carecall's own
# phone rules so that only the deliberate bad rows are invalid.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ANCHOR = date(2026, 11, 22)   # calls.demo.DEMO_ANCHOR must match
OUT = Path(__file__).resolve().parent.parent / "calls" / "data" / "demo_customers.csv"

OWNERS = ["Dana Whitfield", "Marco Rossi", "Priya Nair", "Tom Becker", "Claire Martin"]

FIRST = {
    "US": ["James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda",
           "Carlos", "Maria", "Kevin", "Aisha", "Brian", "Emily", "Jamal", "Grace", "Tyler",
           "Hannah", "Luis", "Megan", "Wei", "Olivia", "Ethan", "Sofia"],
    "CA": ["Liam", "Emma", "Noah", "Chloé", "Lucas", "Amélie", "Owen", "Sarah", "Mathieu",
           "Avery", "Raj", "Mei"],
    "GB": ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Freya", "Alfie",
           "Poppy", "Arjun", "Niamh", "Callum", "Imogen"],
    "DE": ["Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Maximilian", "Sophie", "Jürgen",
           "Katharina", "Mehmet", "Birgit", "Sören", "Ute"],
    "FR": ["Louis", "Camille", "Gabriel", "Léa", "Hugo", "Manon", "Jules", "Inès", "Théo",
           "Chloé", "Antoine", "Élodie", "Yasmine", "Benoît"],
}
# How a German or French customer is addressed ("Guten Tag Herr Weber", "Bonjour Madame
# Petit"); English-speaking customers are greeted by their first name (calls.language).
SALUTATION = {
    "DE": {"Lukas": "Herr", "Anna": "Frau", "Jonas": "Herr", "Lea": "Frau", "Felix": "Herr",
           "Marie": "Frau", "Maximilian": "Herr", "Sophie": "Frau", "Jürgen": "Herr",
           "Katharina": "Frau", "Mehmet": "Herr", "Birgit": "Frau", "Sören": "Herr",
           "Ute": "Frau"},
    "FR": {"Louis": "Monsieur", "Camille": "Madame", "Gabriel": "Monsieur", "Léa": "Madame",
           "Hugo": "Monsieur", "Manon": "Madame", "Jules": "Monsieur", "Inès": "Madame",
           "Théo": "Monsieur", "Chloé": "Madame", "Antoine": "Monsieur", "Élodie": "Madame",
           "Yasmine": "Madame", "Benoît": "Monsieur"},
}
LAST = {
    "US": ["Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez",
           "Martinez", "Lee", "Walker", "Young", "Nguyen", "Patel", "O'Connor", "Kim"],
    "CA": ["Tremblay", "Gagnon", "Roy", "Wilson", "MacDonald", "Singh", "Chen", "Côté",
           "Leblanc", "Campbell"],
    "GB": ["Jones", "Taylor", "Davies", "Evans", "Thomas", "Roberts", "Walsh", "Hughes",
           "Wright", "Khan", "McLeod", "Price"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Yılmaz", "Groß", "Krüger"],
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Lefèvre", "Moreau", "Girard", "Benali"],
}
COMPANY = {
    "US": ["Harbor Freight Co", "Summit Dental", "Blue Ridge Farms", "Lakeside Realty",
           "Pioneer Auto Parts", "Cedar & Pine Interiors", "Golden Gate Bakery", ""],
    "CA": ["Maple Leaf Outfitters", "Boréal Café", "Northern Lights Studio", ""],
    "GB": ["Thames Joinery Ltd", "Highland Tweed", "Brighton Bikes", "Oakley & Sons", ""],
    "DE": ["Bäckerei Sonnenschein", "Müller Maschinenbau GmbH", "Elbe Logistik", ""],
    "FR": ["Boulangerie du Marché", "Atelier Lumière", "Cave à Vins Saint-Michel", ""],
}

# (city, national number prefix) per country; the digits after are random.
US_AREAS = [
    ("New York", "212"), ("Brooklyn", "718"), ("Boston", "617"), ("Miami", "305"),
    ("Atlanta", "404"), ("Chicago", "312"), ("Dallas", "214"), ("Houston", "713"),
    ("Denver", "303"), ("Phoenix", "602"), ("Salt Lake City", "801"),
    ("Los Angeles", "213"), ("San Francisco", "415"), ("Seattle", "206"),
    ("Anchorage", "907"), ("Honolulu", "808"),
]
CA_AREAS = [("Toronto", "416"), ("Montréal", "514"), ("Vancouver", "604"),
            ("Calgary", "403"), ("Halifax", "902"), ("Winnipeg", "204")]
GB_AREAS = [("London", "20 7946 0"), ("Manchester", "161 496 0"), ("Edinburgh", "131 496 0"),
            ("Birmingham", "121 496 0"), ("Mobile", "7911 1"), ("Mobile", "7400 3")]
DE_AREAS = [("Berlin", "30"), ("Hamburg", "40"), ("München", "89"), ("Köln", "221"),
            ("Mobil", "151"), ("Mobil", "170")]
FR_AREAS = [("Paris", "1"), ("Lyon", "4"), ("Marseille", "4"), ("Bordeaux", "5"),
            ("Mobile", "6"), ("Mobile", "7")]

COUNTRY_SPELLINGS = {
    "US": ["US", "USA", "United States", "US", "United States of America"],
    "CA": ["Canada", "CA", "Canada"],
    "GB": ["United Kingdom", "UK", "GB", "United Kingdom"],
    "DE": ["Germany", "Deutschland", "DE", "Germany"],
    "FR": ["France", "FR", "France"],
}
MIX = [("US", 0.50), ("CA", 0.12), ("GB", 0.15), ("DE", 0.13), ("FR", 0.10)]
SEGMENTS = ["retail", "wholesale", "online", "trade"]


def us_number(rng: random.Random, area: str, country: str) -> str:
    exchange = rng.randint(201, 989)
    while exchange % 100 == 11:
        exchange = rng.randint(201, 989)
    line = rng.randint(0, 9999)
    a, b, c = area, f"{exchange:03d}", f"{line:04d}"
    fmt = rng.choice([
        f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a}{b}{c}", f"+1 {a} {b} {c}",
        f"1-{a}-{b}-{c}", f"+1 ({a}) {b}-{c}", f"{a} {b} {c}",
    ])
    if rng.random() < 0.06:
        fmt += rng.choice([f" x{rng.randint(10, 999)}", f" ext. {rng.randint(10, 99)}"])
    return fmt


def gb_number(rng: random.Random, prefix: str) -> str:
    head = prefix.replace(" ", "")
    width = 10 - len(head)   # UK national significant numbers have 10 digits
    digits = head + f"{rng.randint(0, 10 ** width - 1):0{width}d}"
    if digits.startswith("7"):
        national = f"0{digits[:4]} {digits[4:]}"
        intl = f"+44 {digits[:4]} {digits[4:]}"
    elif digits.startswith("20"):
        national = f"020 {digits[2:6]} {digits[6:]}"
        intl = f"+44 20 {digits[2:6]} {digits[6:]}"
    else:
        national = f"0{digits[:3]} {digits[3:6]} {digits[6:]}"
        intl = f"+44 {digits[:3]} {digits[3:6]} {digits[6:]}"
    return rng.choice([national, national, intl, intl.replace("+44 ", "+44 (0)"),
                       "0044 " + intl[4:]])


def de_number(rng: random.Random, prefix: str) -> str:
    if prefix.startswith("1"):   # mobile: 0151 / 0170 + 7-8 digits
        rest = f"{rng.randint(1000000, 99999999):08d}"
        return rng.choice([f"0{prefix} {rest}", f"+49 {prefix} {rest}",
                           f"0{prefix}-{rest[:4]} {rest[4:]}", f"0{prefix}/{rest}"])
    width = 10 - len(prefix)
    rest = f"{rng.randint(2 * 10 ** (width - 1), 10 ** width - 1)}"
    return rng.choice([f"0{prefix} {rest}", f"(0{prefix}) {rest}", f"+49 {prefix} {rest}",
                       f"0{prefix}/{rest}", f"0{prefix}-{rest}"])


def fr_number(rng: random.Random, prefix: str) -> str:
    # Mobiles 06 1x-5x / 07 5x-8x (06 9x are overseas departments, not France).
    low, high = {"6": (10000000, 59999999), "7": (50000000, 89999999)}.get(
        prefix, (10000000, 99999999))
    rest = f"{rng.randint(low, high):08d}"
    pairs = [rest[i:i + 2] for i in range(0, 8, 2)]
    national = "0" + prefix + " " + " ".join(pairs)
    return rng.choice([national, national.replace(" ", "."), national.replace(" ", ""),
                       "+33 " + prefix + " " + " ".join(pairs)])


def _valid(number: str, country: str) -> bool:
    from calls.ingest.phones import PhoneError, normalise_phone

    try:
        normalise_phone(number, country)
    except PhoneError:
        return False
    return True


def revenue(rng: random.Random) -> float:
    """Yearly revenue with a long tail (Pareto, alpha ~1.16: the classic 80/20)."""
    value = 400 * rng.paretovariate(1.16)
    return round(min(value, 400_000), 2)


def money_text(rng: random.Random, value: float, country: str) -> str:
    if country in ("DE", "FR") and rng.random() < 0.5:
        whole, cents = f"{value:,.2f}".split(".")
        return whole.replace(",", ".") + "," + cents     # 12.345,67
    return rng.choice([f"{value:.2f}", f"{value:,.2f}", f"{value:.0f}"])


def date_text(rng: random.Random, day: date, country: str) -> str:
    if country == "DE":
        return day.strftime("%d.%m.%Y")
    return day.isoformat()


def make_rows(count: int, seed: int = 2026) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    while len(rows) < count:
        n = len(rows) + 1
        country = rng.choices([c for c, _ in MIX], [w for _, w in MIX])[0]
        first = rng.choice(FIRST[country])
        last = rng.choice(LAST[country])
        if country in ("US", "CA"):
            city, area = rng.choice(US_AREAS if country == "US" else CA_AREAS)
            phone = us_number(rng, area, country)
        elif country == "GB":
            city, prefix = rng.choice(GB_AREAS)
            phone = gb_number(rng, prefix)
        elif country == "DE":
            city, prefix = rng.choice(DE_AREAS)
            phone = de_number(rng, prefix)
        else:
            city, prefix = rng.choice(FR_AREAS)
            phone = fr_number(rng, prefix)
        if not _valid(phone, country):
            continue  # draw again: only the deliberate bad rows below may be invalid
        if city in ("Mobile", "Mobil"):
            city = {"GB": "Leeds", "DE": "Frankfurt", "FR": "Lille"}[country]
        phone2 = ""
        while rng.random() < 0.2 and not phone2:
            phone2 = {"US": lambda: us_number(rng, rng.choice(US_AREAS)[1], "US"),
                      "CA": lambda: us_number(rng, rng.choice(CA_AREAS)[1], "CA"),
                      "GB": lambda: gb_number(rng, "7911 1"),
                      "DE": lambda: de_number(rng, "151"),
                      "FR": lambda: fr_number(rng, "6")}[country]()
            if not _valid(phone2, country):
                phone2 = ""
        rev = revenue(rng)
        since = ANCHOR - timedelta(days=rng.randint(60, 12 * 365))
        # Bigger customers buy more often: their last purchase is more recent.
        gap = int(rng.expovariate(1 / (30 if rev > 5000 else 120 if rev > 1000 else 300)))
        last_purchase = max(since, ANCHOR - timedelta(days=min(gap, 900)))
        birthday = ""
        if rng.random() < 0.7:
            born = date(rng.randint(1945, 2000), 1, 1) + timedelta(days=rng.randint(0, 364))
            birthday = date_text(rng, born, country)
        email_name = (first + "." + last).lower()
        for a, b in (("ü", "ue"), ("ö", "oe"), ("ä", "ae"), ("ß", "ss"), ("é", "e"),
                     ("è", "e"), ("ç", "c"), ("ô", "o"), ("ı", "i"), ("'", ""), ("ë", "e"),
                     ("î", "i"), ("â", "a")):
            email_name = email_name.replace(a, b)
        domain = {"US": "example.com", "CA": "example.ca", "GB": "example.co.uk",
                  "DE": "example.de", "FR": "example.fr"}[country]
        no_country = phone.startswith("+") and rng.random() < 0.3
        rows.append({
            "Customer Id": f"CUST-{n:04d}",
            "Salutation": SALUTATION.get(country, {}).get(first, ""),
            "First Name": first,
            "Last Name": last,
            "Company": rng.choice(COMPANY[country]),
            "City": city,
            "Country": "" if no_country else rng.choice(COUNTRY_SPELLINGS[country]),
            "Phone": phone,
            "Mobile": phone2,
            "Email": f"{email_name}{rng.randint(1, 99)}@{domain}",
            "Annual Revenue": money_text(rng, rev, country),
            "Customer Since": date_text(rng, since, country),
            "Last Purchase": date_text(rng, last_purchase, country),
            "Birthday": birthday,
            "Account Owner": rng.choice(OWNERS),
            "Segment": rng.choice(SEGMENTS),
        })
    # Birthdays around the new year and near the anchor, whatever the random draw gave.
    for i, (month, day) in enumerate([(12, 24), (12, 30), (12, 31), (1, 1), (1, 3), (1, 6)]):
        row = rows[5 + i * 7]
        text = date(1970 + i * 3, month, day)
        row["Birthday"] = date_text(rng, text, "DE" if row["Birthday"][2:3] == "." else "US")
    for i in range(6):
        near = ANCHOR + timedelta(days=i * 2 - 2)
        rows[80 + i * 11]["Birthday"] = date(1960 + i * 5, near.month, near.day).isoformat()
    # The handful of bad rows a real list always has; the import rejects each with a reason.
    bad = [
        ("Phone", "-4396"),          # Excel evaluated "+1-696-155-3546" as a formula
        ("Phone", "555-0199"),       # no area code
        ("Phone", ""),               # no number at all
        ("Phone", "030 12"),         # German number cut short
        ("Phone", "n/a"),
        ("Annual Revenue", "lots"),  # not an amount
        ("Birthday", "31/02/1980"),  # no such day
    ]
    for i, (column, value) in enumerate(bad):
        row = rows[40 + i * 37]
        row[column] = value
        if column == "Phone" and value.startswith("555"):
            row["Country"] = "USA"
        elif column == "Phone" and value.startswith("030"):
            row["Country"] = "Germany"
    # A row exported twice (an updated copy later in the file): the last one wins.
    dup = dict(rows[12])
    dup["Email"] = dup["Email"].replace("@", ".new@")
    rows.append(dup)
    return rows


CURRENCY = {"US": "USD", "CA": "CAD", "GB": "GBP", "DE": "EUR", "FR": "EUR"}


def make_orders(rows: list[dict[str, str]], seed: int = 7) -> list[dict[str, str]]:
    """Order lines for the demo customers: their last 12 months add up to about the
    list's yearly revenue, the last order falls on the list's last purchase, bigger
    customers order more often, and a few orders were cancelled (credit notes "C...").
    """
    from calls.ingest.phones import region_for_country
    from calls.ingest.values import parse_amount, parse_date_text

    rng = random.Random(seed)
    lines: list[dict[str, str]] = []
    invoice = 10000
    seen: set[str] = set()
    for row in rows:
        ref = row["Customer Id"]
        if ref in seen:
            continue
        seen.add(ref)
        try:
            revenue = parse_amount(row["Annual Revenue"]) or 0.0
            last = parse_date_text(row["Last Purchase"], day_first=True)
        except ValueError:
            continue  # the deliberately bad rows get no orders
        if not revenue or last is None or not row["Phone"]:
            continue
        country = region_for_country(row["Country"]) or "US"
        per_year = max(1, min(24, int(revenue / 1500) + rng.randint(0, 2)))
        interval = 365 / per_year
        amounts = [rng.uniform(0.5, 1.5) for _ in range(per_year)]
        scale = revenue / sum(amounts)
        day = last
        for k in range(per_year + rng.randint(0, 3)):   # a little history before the year
            invoice += 1
            amount = round((amounts[k] if k < per_year else amounts[0]) * scale, 2)
            lines.append({"Invoice": str(invoice), "Customer Id": ref, "Date": day.isoformat(),
                          "Amount": f"{amount:.2f}", "Currency": CURRENCY[country]})
            if rng.random() < 0.03:
                invoice += 1
                lines.append({"Invoice": f"C{invoice}", "Customer Id": ref,
                              "Date": day.isoformat(), "Amount": f"{-amount / 2:.2f}",
                              "Currency": CURRENCY[country]})
            day -= timedelta(days=max(1, round(interval * rng.uniform(0.6, 1.4))))
    lines.sort(key=lambda line: (line["Date"], line["Invoice"]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--count", type=int, default=320)
    args = parser.parse_args()
    rows = make_rows(args.count)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")
    orders = make_orders(rows)
    orders_out = args.out.with_name("demo_orders.csv")
    with open(orders_out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(orders[0]))
        writer.writeheader()
        writer.writerows(orders)
    print(f"wrote {len(orders)} order lines to {orders_out}")


if __name__ == "__main__":
    main()
