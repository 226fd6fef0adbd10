"""Themes of what customers say (issue 17): suggested from keywords, confirmed by people.

The vocabulary is policy (``[themes]``; defaults in ``calls/data/themes.toml``: delivery,
product quality, billing, support, price, communication, staff, website, each with
keywords in English, German and French). :func:`suggest` reads a text (an open answer, a
fix's problem and what was done) and proposes themes. Text is compared without case and
accents (``Qualität`` = ``qualitat``, ``livré`` = ``livre``, ``ß`` = ``ss``); a keyword of
five letters or more matches the start of a word (``deliver`` -> ``delivered``), one of
six or more also inside a compound (``versand`` -> ``Paketversand``), shorter ones only a
whole word or its plural (``cher``/``chers``, never ``chercher``); a keyword of several
words matches them in a row, its first word at the start of a word. That light stemming is
enough for a short answer on the phone; a keyword list per language stays readable for
the admin who edits it.

Tags are stored per answer (call + question key) and per follow-up. ``suggested`` rows
record what a person was shown; a **review** records that a person confirmed a set of
themes (possibly none). Confirmed tags win: an answer or follow-up with a review counts
with its confirmed themes only; one without counts with what the keywords suggest from
the current vocabulary (so a new keyword applies to old answers too).
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import field
from datetime import date, datetime
from typing import Any

from calls.clock import to_iso
from calls.errors import UserError
from calls.policy import DEFAULT_POLICY, Policy, ThemesPolicy
from calls.records import record
from calls.store import Store
from calls.store import themes as q

CATEGORIES = ("detractor", "passive", "promoter")


# -- matching (pure) ------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, accents off (é -> e, ä -> a, ß -> ss), anything else than letters and
    digits a space."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    out = []
    for ch in folded:
        if unicodedata.combining(ch):
            continue
        out.append(ch if ch.isalnum() else " ")
    return "".join(out)


def words(text: str) -> list[str]:
    """The normalised words of a text."""
    return normalise(text).split()


def _word_matches(keyword: str, word: str) -> bool:
    if len(keyword) <= 4:
        return word == keyword or word in (keyword + "s", keyword + "e", keyword + "es",
                                           keyword + "x")
    if word.startswith(keyword):
        return True
    return len(keyword) >= 6 and keyword in word


def _phrase_at(phrase: tuple[str, ...], text_words: list[str], i: int) -> bool:
    if i + len(phrase) > len(text_words):
        return False
    return all(_word_matches(k, text_words[i + j]) for j, k in enumerate(phrase))


@record(frozen=True)
class _Matcher:
    """A vocabulary compiled for speed: one-word keywords by how they match, phrases apart."""

    exact: dict[str, frozenset[str]]          # word (and its plurals) -> themes
    prefix: dict[str, frozenset[str]]         # start of a word -> themes
    prefix_lengths: tuple[int, ...]
    infix: tuple[tuple[str, str], ...]        # (keyword, theme): inside a compound word
    # several words in a row, by how their first word is found (as ``exact``/``prefix``)
    phrase_exact: dict[str, tuple[tuple[tuple[str, ...], str], ...]]
    phrase_prefix: dict[str, tuple[tuple[tuple[str, ...], str], ...]]


_COMPILED: dict[int, tuple[ThemesPolicy, _Matcher]] = {}


def _compiled(themes: ThemesPolicy) -> _Matcher:
    # Policies are never changed once loaded: compile each one once (kept by identity;
    # the entry holds the policy so that its id is not reused while cached).
    cached = _COMPILED.get(id(themes))
    if cached is not None and cached[0] is themes:
        return cached[1]
    exact: dict[str, set[str]] = {}
    prefix: dict[str, set[str]] = {}
    infix: set[tuple[str, str]] = set()
    phrases: set[tuple[tuple[str, ...], str]] = set()
    for theme in themes.vocabulary:
        for keyword in theme.keywords:
            phrase = tuple(words(keyword))
            if not phrase:
                continue
            if len(phrase) > 1:
                phrases.add((phrase, theme.key))
                continue
            k = phrase[0]
            if len(k) <= 4:
                for form in (k, k + "s", k + "e", k + "es", k + "x"):
                    exact.setdefault(form, set()).add(theme.key)
            else:
                prefix.setdefault(k, set()).add(theme.key)
                if len(k) >= 6:
                    infix.add((k, theme.key))
    phrase_exact: dict[str, list] = {}
    phrase_prefix: dict[str, list] = {}
    for phrase, theme in sorted(phrases):
        first = phrase[0]
        if len(first) <= 4:
            for form in (first, first + "s", first + "e", first + "es", first + "x"):
                phrase_exact.setdefault(form, []).append((phrase, theme))
        else:
            phrase_prefix.setdefault(first, []).append((phrase, theme))
    matcher = _Matcher(
        exact={w: frozenset(t) for w, t in exact.items()},
        prefix={p: frozenset(t) for p, t in prefix.items()},
        prefix_lengths=tuple(sorted({len(p) for p in (*prefix, *phrase_prefix)})),
        infix=tuple(sorted(infix)),
        phrase_exact={w: tuple(v) for w, v in phrase_exact.items()},
        phrase_prefix={w: tuple(v) for w, v in phrase_prefix.items()},
    )
    if len(_COMPILED) > 32:
        _COMPILED.clear()
    _COMPILED[id(themes)] = (themes, matcher)
    return matcher


def _themes_at(m: _Matcher, text_words: list[str], i: int) -> set[str]:
    """The themes with a keyword matching at word ``i``."""
    word = text_words[i]
    found = set(m.exact.get(word, ()))
    candidates = list(m.phrase_exact.get(word, ()))
    for length in m.prefix_lengths:
        if length > len(word):
            break
        start = word[:length]
        found.update(m.prefix.get(start, ()))
        candidates.extend(m.phrase_prefix.get(start, ()))
    if len(word) > 6:
        found.update(theme for k, theme in m.infix if theme not in found and k in word)
    for phrase, theme in candidates:
        if theme not in found and _phrase_at(phrase, text_words, i):
            found.add(theme)
    return found


def theme_hits(text: str | None, themes: ThemesPolicy = DEFAULT_POLICY.themes) -> dict[str, int]:
    """How many words of ``text`` start a keyword of each theme (themes without hits left
    out)."""
    if not text:
        return {}
    text_words = words(text)
    matcher = _compiled(themes)
    hits: dict[str, int] = {}
    for i in range(len(text_words)):
        for theme in _themes_at(matcher, text_words, i):
            hits[theme] = hits.get(theme, 0) + 1
    return hits


def suggest(text: str | None, themes: ThemesPolicy = DEFAULT_POLICY.themes) -> list[str]:
    """The themes suggested for a text: most keyword hits first (vocabulary order on a
    tie), at most ``themes.max_suggestions``."""
    hits = theme_hits(text, themes)
    order = {t.key: i for i, t in enumerate(themes.vocabulary)}
    ranked = sorted(hits, key=lambda k: (-hits[k], order[k]))
    return ranked[: themes.max_suggestions]


def check_themes(chosen: list[str] | tuple[str, ...], themes: ThemesPolicy) -> list[str]:
    """The chosen theme keys (labels and any case accepted), de-duplicated, in order; a
    UserError naming the known themes for one that is not in the vocabulary."""
    known = {t.key: t.key for t in themes.vocabulary}
    known.update({normalise(t.label).strip(): t.key for t in themes.vocabulary})
    known.update({normalise(t.key.replace("_", " ")).strip(): t.key for t in themes.vocabulary})
    out: list[str] = []
    for item in chosen:
        for part in str(item).split(","):
            name = normalise(part).strip()
            if not name:
                continue
            key = known.get(name) or known.get(name.replace(" ", "_"))
            if key is None:
                raise UserError(f"unknown theme {part.strip()!r}; the themes are: "
                                + ", ".join(t.key for t in themes.vocabulary))
            if key not in out:
                out.append(key)
    return out


def answer_text(value: Any) -> str:
    """The text of a stored answer (JSON text, or already decoded)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


# -- tags on answers and follow-ups ------------------------------------------------------------


@record(frozen=True)
class TaggedText:
    """An open answer or a follow-up's notes with its suggested and confirmed themes."""

    text: str
    suggested: list[str]
    confirmed: list[str] | None          # None: nobody confirmed yet
    call_id: int | None = None
    answer_key: str | None = None
    followup_id: int | None = None
    root_cause: bool = False

    @property
    def themes(self) -> list[str]:
        """What counts: the confirmed themes when confirmed, else the suggestions."""
        return list(self.confirmed) if self.confirmed is not None else list(self.suggested)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"call_id": self.call_id, "answer_key": self.answer_key,
                "followup_id": self.followup_id, "text": self.text,
                "suggested": self.suggested, "confirmed": self.confirmed,
                "themes": self.themes, "root_cause": self.root_cause}


def suggest_for_call(store: Store, call_id: int, now: datetime,
                     policy: Policy = DEFAULT_POLICY, by: str | None = None) -> list[TaggedText]:
    """The call's open answers with suggested themes (stored as ``suggested``: what the
    caller is shown at wrap-up) and any themes confirmed before."""
    rows = q.call_text_answers(store, call_id)
    reviews = q.answer_reviews(store, [call_id])
    out = []
    with store.write():
        for row in rows:
            text = answer_text(row["value"])
            suggested = suggest(text, policy.themes)
            q.replace_tags(store, suggested, "suggested", to_iso(now), by, call_id=call_id,
                           answer_key=row["key"])
            review = reviews.get((call_id, row["key"]))
            out.append(TaggedText(text, suggested, review["themes"] if review else None,
                                  call_id=call_id, answer_key=row["key"]))
    return out


def confirm_answer_themes(store: Store, call_id: int, answer_key: str, chosen: list[str],
                          now: datetime, by: str | None,
                          policy: Policy = DEFAULT_POLICY) -> list[str]:
    """Confirm the themes of one open answer (an empty list: it has none); returns them."""
    keys = check_themes(chosen, policy.themes)
    with store.write():
        if not q.call_text_answers(store, call_id) or answer_key not in {
                r["key"] for r in q.call_text_answers(store, call_id)}:
            raise UserError(f"call #{call_id} has no open answer {answer_key!r}")
        stamp = to_iso(now)
        q.replace_tags(store, keys, "confirmed", stamp, by, call_id=call_id,
                       answer_key=answer_key)
        q.put_review(store, stamp, by, call_id=call_id, answer_key=answer_key)
    return keys


def followup_text(details: str | None, close_note: str | None) -> str:
    """What a follow-up's themes are read from: the problem and what was done."""
    return "\n".join(t for t in (details, close_note) if t)


def tag_followup(store: Store, followup_id: int, now: datetime, by: str | None, *,
                 chosen: list[str] | None = None, root_cause: bool = False,
                 policy: Policy = DEFAULT_POLICY) -> TaggedText:
    """Store the themes suggested for a follow-up's notes and, when ``chosen`` is given
    (possibly empty), confirm those with ``root_cause`` (the fix removed the cause, not
    only this customer's problem). Closing a fix does this."""
    from calls.followups import get_followup

    keys = check_themes(chosen, policy.themes) if chosen is not None else None
    with store.write():
        f = get_followup(store, followup_id)
        text = followup_text(f.details, f.close_note)
        suggested = suggest(text, policy.themes)
        stamp = to_iso(now)
        q.replace_tags(store, suggested, "suggested", stamp, by, followup_id=f.id)
        if keys is not None:
            q.replace_tags(store, keys, "confirmed", stamp, by, followup_id=f.id)
            q.put_review(store, stamp, by, followup_id=f.id, root_cause=root_cause)
        review = q.followup_reviews(store, [f.id]).get(f.id)
    return TaggedText(text, suggested, review["themes"] if review else None,
                      followup_id=f.id, root_cause=bool(review and review["root_cause"]))


# -- the report ------------------------------------------------------------------------------


def nps_category(value: Any) -> str | None:
    """detractor (0-6), passive (7-8), promoter (9-10) for a stored NPS answer, else None."""
    try:
        score = int(json.loads(value) if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    if not 0 <= score <= 10:
        return None
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


@record(frozen=True)
class ThemeCount:
    """How many customers (calls) of a group mentioned a theme, and their share."""

    theme: str
    label: str
    calls: int
    share: float | None      # % of the group's respondents


@record(frozen=True)
class CategoryThemes:
    """The themes of one NPS group."""

    category: str            # detractor | passive | promoter | no score
    respondents: int         # calls with an NPS answer in the group
    with_text: int           # of those, with an open answer
    themes: list[ThemeCount]


@record(frozen=True)
class FixedCause:
    """Fixes closed in the period, per theme: root causes fixed vs one customer's problem."""

    theme: str
    label: str
    fixes: int
    root_cause: int
    one_customer: int


@record
class ThemeReport:
    """Top themes per NPS group, their trend by month, and the causes fixed."""

    since: str
    until: str
    categories: list[CategoryThemes]
    months: list[str]                              # YYYY-MM
    monthly: dict[str, list[int]]                  # theme -> calls per month
    monthly_respondents: list[int]                 # NPS answers per month
    untagged: int                                  # open answers no theme matched
    confirmed: int                                 # open answers with confirmed themes
    answers: int                                   # open answers in the period
    fixed: list[FixedCause] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""
        from dataclasses import asdict

        return {
            "period": {"since": self.since, "until": self.until},
            "answers": self.answers, "confirmed": self.confirmed, "untagged": self.untagged,
            "by_category": [asdict(c) for c in self.categories],
            "by_month": {"months": self.months, "respondents": self.monthly_respondents,
                         "themes": self.monthly},
            "causes_fixed": [asdict(f) for f in self.fixed],
        }


def _months(first: date, last: date) -> list[str]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def build_theme_report(store: Store, first: date, last: date,
                       policy: Policy = DEFAULT_POLICY) -> ThemeReport:
    """The themes report for the days ``first``..``last`` (inclusive, UTC)."""
    from datetime import timedelta

    from calls.reports import day_start

    start, end = day_start(first), day_start(last + timedelta(days=1))
    themes = policy.themes
    labels = {t.key: t.label for t in themes.vocabulary}
    rows = q.text_answer_rows(store, start, end)
    reviews = q.answer_reviews(store, (r["call_id"] for r in rows))
    # per call: the union of its open answers' themes (a customer counts once per theme)
    call_themes: dict[int, set[str]] = {}
    call_category: dict[int, str] = {}
    call_month: dict[int, str] = {}
    untagged = confirmed = 0
    for row in rows:
        review = reviews.get((row["call_id"], row["key"]))
        if review is not None:
            confirmed += 1
            found = [t for t in review["themes"] if t in labels]
        else:
            found = suggest(answer_text(row["value"]), themes)
        if not found:
            untagged += 1
        call_themes.setdefault(row["call_id"], set()).update(found)
        call_category[row["call_id"]] = nps_category(row["nps"]) or "no score"
        call_month.setdefault(row["call_id"], row["answered_at"][:7])

    respondents: Counter = Counter()
    month_respondents: Counter = Counter()
    for row in q.nps_answer_rows(store, start, end):
        category = nps_category(row["nps"])
        if category is None:
            continue
        respondents[category] += 1
        month_respondents[row["answered_at"][:7]] += 1

    categories = []
    for category in (*CATEGORIES, "no score"):
        calls = [c for c, cat in call_category.items() if cat == category]
        if category == "no score" and not calls:
            continue
        counts = Counter(t for c in calls for t in call_themes[c])
        base = respondents[category] if category != "no score" else len(calls)
        ranked = sorted(counts, key=lambda t: (-counts[t], t))
        categories.append(CategoryThemes(
            category=category, respondents=base, with_text=len(calls),
            themes=[ThemeCount(t, labels[t], counts[t],
                               round(100.0 * counts[t] / base, 1) if base else None)
                    for t in ranked],
        ))

    months = _months(first, last)
    monthly = {t.key: [0] * len(months) for t in themes.vocabulary}
    index = {m: i for i, m in enumerate(months)}
    for call, found in call_themes.items():
        i = index.get(call_month[call])
        if i is None:
            continue
        for t in found:
            monthly[t][i] += 1
    monthly = {t: counts for t, counts in monthly.items() if any(counts)}

    fixes = q.fix_rows(store, start, end)
    fix_reviews = q.followup_reviews(store, (f["id"] for f in fixes))
    per_theme: dict[str, list[int]] = {}
    for fix in fixes:
        review = fix_reviews.get(fix["id"])
        if review is not None:
            found = [t for t in review["themes"] if t in labels]
            root = bool(review["root_cause"])
        else:
            found = suggest(followup_text(fix["details"], fix["close_note"]), themes)
            root = False  # only a person can say the cause itself was removed
        for t in found or ["(no theme)"]:
            slot = per_theme.setdefault(t, [0, 0])
            slot[0] += 1
            slot[1] += root
    fixed = [FixedCause(t, labels.get(t, t), n, root, n - root)
             for t, (n, root) in sorted(per_theme.items(), key=lambda kv: (-kv[1][0], kv[0]))]
    return ThemeReport(
        since=first.isoformat(), until=last.isoformat(), categories=categories,
        months=months, monthly=monthly,
        monthly_respondents=[month_respondents[m] for m in months],
        untagged=untagged, confirmed=confirmed, answers=len(rows), fixed=fixed,
    )


# -- at wrap-up ---------------------------------------------------------------------------


def wrap_up_items(answers, policy: Policy = DEFAULT_POLICY) -> list[TaggedText]:
    """The open answers of a call being wrapped up, with the themes suggested for each
    (pure: ``answers`` are ``(key, qtype, value)`` or objects with ``key``, ``qtype`` and
    ``stored``; skipped and non-text answers are left out)."""
    out = []
    for answer in answers:
        if isinstance(answer, tuple):
            key, qtype, value = answer
        else:
            key, qtype, value = answer.key, answer.qtype, answer.stored
        text = answer_text(value) if qtype == "text" else ""
        if not text.strip():
            continue
        out.append(TaggedText(text, suggest(text, policy.themes), None, answer_key=key))
    return out


def record_wrap_up_themes(store: Store, call_id: int, answers, confirmed: dict | None,
                          by: str | None, now: datetime,
                          policy: Policy = DEFAULT_POLICY, *,
                          items: list[TaggedText] | None = None) -> list[TaggedText]:
    """Store the themes of a call's open answers at wrap-up: the suggestions, and what
    the caller confirmed (``confirmed``: answer key -> themes; a key left out, or None,
    stays a suggestion). Runs inside the wrap-up's transaction (nested ``store.write()``).
    ``items``: ``wrap_up_items(answers, policy)`` worked out before that transaction."""
    stamp = to_iso(now)
    out = []
    if items is None:
        items = wrap_up_items(answers, policy)
    with store.write():
        for item in items:
            q.replace_tags(store, item.suggested, "suggested", stamp, by, call_id=call_id,
                           answer_key=item.answer_key)
            chosen = None
            if confirmed is not None and item.answer_key in confirmed:
                chosen = check_themes(list(confirmed[item.answer_key]), policy.themes)
                q.replace_tags(store, chosen, "confirmed", stamp, by, call_id=call_id,
                               answer_key=item.answer_key)
                q.put_review(store, stamp, by, call_id=call_id, answer_key=item.answer_key)
            out.append(TaggedText(item.text, item.suggested, chosen, call_id=call_id,
                                  answer_key=item.answer_key))
    return out
