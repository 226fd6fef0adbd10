"""Score helpers shared by the engine, the reports and the TUI's shift bar.

NPS (DESIGN.md): promoters answer 9-10, passives 7-8, detractors 0-6; the score is the
percentage of promoters minus the percentage of detractors (-100 ... +100). CSAT is the
share of 4-5 answers on the 1-5 rating scale.
"""

from __future__ import annotations

from collections.abc import Iterable

PROMOTER = "promoter"
PASSIVE = "passive"
DETRACTOR = "detractor"
NPS_CATEGORIES = (PROMOTER, PASSIVE, DETRACTOR)


def _whole(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def nps_category(score: object) -> str | None:
    """``promoter`` (9-10), ``passive`` (7-8), ``detractor`` (0-6), or None if not a score."""
    value = _whole(score)
    if value is None or not 0 <= value <= 10:
        return None
    if value >= 9:
        return PROMOTER
    if value >= 7:
        return PASSIVE
    return DETRACTOR


def is_promoter(score: object) -> bool:
    return nps_category(score) == PROMOTER


def is_passive(score: object) -> bool:
    return nps_category(score) == PASSIVE


def is_detractor(score: object) -> bool:
    return nps_category(score) == DETRACTOR


def nps_counts(scores: Iterable[object]) -> dict[str, int]:
    """How many promoters, passives and detractors (values that are not scores are ignored)."""
    counts = dict.fromkeys(NPS_CATEGORIES, 0)
    for score in scores:
        category = nps_category(score)
        if category:
            counts[category] += 1
    return counts


def nps_score(scores: Iterable[object]) -> float | None:
    """% promoters - % detractors over the valid scores, or None when there are none."""
    counts = nps_counts(scores)
    total = sum(counts.values())
    if not total:
        return None
    return 100.0 * (counts[PROMOTER] - counts[DETRACTOR]) / total


def csat_share(ratings: Iterable[object]) -> float | None:
    """The percentage of 1-5 ratings that are 4 or 5, or None when there are none."""
    valid = [v for v in (_whole(r) for r in ratings) if v is not None and 1 <= v <= 5]
    if not valid:
        return None
    return 100.0 * sum(1 for v in valid if v >= 4) / len(valid)
