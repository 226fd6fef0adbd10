"""The survey engine: walks a script for one call, question by question.

Pure: no database and no clock. The TUI asks :meth:`SurveySession.current` for the
question to read, passes what the caller typed to :meth:`SurveySession.answer` (which
says why a value is refused by raising :class:`AnswerError`), saves the returned value,
and deletes the keys the change dropped from the path. :meth:`SurveySession.finish`
gives the answers on the path and the follow-ups the script's rules create.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from calls.language import address, caller_first_name, customer_language, split_name
from calls.models import Customer
from calls.records import record
from calls.survey import conditions as cond
from calls.survey.metrics import nps_category
from calls.survey.script import Option, Question, Script, render
from calls.survey.types import AnswerError, format_value, question_type, to_stored


@record(frozen=True)
class Step:
    """A question on the current path and where it stands."""

    question: Question
    state: str          # "answered", "skipped" or "open"
    value: Any          # the typed answer (None when skipped or open)
    display: str        # the answer as words ("" when none)

    @property
    def key(self) -> str:
        return self.question.key

    @property
    def answered(self) -> bool:
        return self.state == "answered"

    @property
    def skipped(self) -> bool:
        return self.state == "skipped"


@record(frozen=True)
class Answered:
    """What :meth:`SurveySession.answer` and :meth:`SurveySession.skip` did."""

    key: str
    qtype: str
    value: Any                    # the typed value (None for a skip)
    stored: Any                   # JSON-ready form for ``save_answer``
    dropped: tuple[str, ...]      # keys no longer on the path: delete their stored answers


@record(frozen=True)
class FollowupSpec:
    """A follow-up a script rule creates (applied by ``calls.followups.apply_rule_followups``)."""

    kind: str                     # one of calls.models.FOLLOWUP_KINDS
    owner: str                    # a caller name, the account owner's name, or a team
    due_at: datetime
    note: str
    rule: str                     # which rule(s) made it, e.g. "rule 1 (detractor)"


@record(frozen=True)
class SurveyResult:
    """The end of a script: answers on the path and the follow-ups to create."""

    script_name: str
    script_version: str
    answers: dict[str, Any]       # key -> typed value, path order; None = skipped
    qtypes: dict[str, str]        # key -> question type
    skipped: tuple[str, ...]
    missing: tuple[str, ...]      # required questions on the path still without an answer
    followups: tuple[FollowupSpec, ...]
    closing: str

    @property
    def complete(self) -> bool:
        """True when every required question on the path has an answer."""
        return not self.missing

    @property
    def nps(self) -> int | None:
        """The NPS answer (the question keyed ``nps`` first, else the first NPS question)."""
        keys = [k for k, t in self.qtypes.items() if t == "nps"]
        keys.sort(key=lambda k: k != "nps")
        for key in keys:
            if self.answers.get(key) is not None:
                return self.answers[key]
        return None

    @property
    def nps_category(self) -> str | None:
        return nps_category(self.nps)

    def stored_answers(self) -> dict[str, Any]:
        """The answers in their JSON-ready form, as ``save_answer`` stores them."""
        return {k: to_stored(v) for k, v in self.answers.items()}


# -- answers, through the type's unit (calls/survey/types.py) ----------------------------


def answer_help(q: Question) -> str:
    """What the caller may type for a question, in a few words."""
    return question_type(q.type).help(q)


def parse_answer(q: Question, raw: Any) -> Any:
    """The typed value of an answer: keyboard text or an already typed value.

    Raises :class:`AnswerError` with a reason a caller can act on.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        extra = "" if q.required else " (this question is optional: skip it instead)"
        raise AnswerError("no answer given" + extra, q.key)
    return question_type(q.type).parse(q, raw)


def display_answer(q: Question, value: Any) -> str:
    """An answer as words: option labels, yes/no, dates spelled out."""
    if value is None:
        return ""
    display = question_type(q.type).display
    return format_value(value) if display is None else display(q, value)


def stored_answer(q: Question, value: Any) -> Any:
    """An answer in the JSON-ready form the store keeps (None for a skip)."""
    return None if value is None else question_type(q.type).store(value)


# -- the session --------------------------------------------------------------------------


def _full_years(start: date, today: date) -> int:
    years = today.year - start.year
    if (today.month, today.day) < (start.month, start.day):
        years -= 1
    return years


class SurveySession:
    """One call's walk through a script.

    ``answers`` resumes a call: key -> stored value (``None`` = skipped), as
    ``answers_for_call`` returns them. Answers that do not fit the script, or that are no
    longer on the path, are left out (see :attr:`ignored` and :attr:`dropped_on_resume`).
    ``context`` supplies ``fix.*`` and ``occasion.*`` values (see ``CONTEXT_FIELDS``);
    ``now`` is the moment of the call, used for derived customer fields such as
    ``customer.years_as_customer``. ``language`` is the language to read the script in
    (default: the customer's, see :func:`calls.language.customer_language`); a language
    the script has no translation for falls back to the script's own (:attr:`language`
    says which one is used).
    """

    def __init__(
        self,
        script: Script,
        customer: Customer,
        caller: str,
        answers: Mapping[str, Any] | None = None,
        *,
        context: Mapping[str, Mapping[str, Any]] | None = None,
        now: datetime | None = None,
        marketing_allowed: bool = True,
        language: str | None = None,
    ):
        self.script = script
        # False: the customer's basis does not allow marketing, so marketing questions
        # (referral asks, sales questions) are not on the path (docs/lawful.md).
        self.marketing_allowed = marketing_allowed
        wanted = language or customer_language(customer, default=script.language)
        self.language = wanted if wanted in script.languages else script.language
        self._translation = script.translations.get(self.language)
        self.customer = customer
        self.caller = caller
        self.context = {k: dict(v) for k, v in (context or {}).items()}
        self.now = now
        self._questions = {q.key: q for q in script.questions}
        # What the caller reads and picks from: the questions in the call's language
        # (rule notes for the team keep the script's own words).
        self._local = {q.key: self._localise(q) for q in script.questions}
        self._values: dict[str, Any] = {}
        # The path is asked for many times a key (current question, fill-ins, the wrap-up's
        # answers): kept until an answer changes (``_changes``), the marketing switch or
        # the moment does (see _path_keys).
        self._changes = 0
        self._path_memo: tuple[tuple, tuple[str, ...]] | None = None
        self._focus: str | None = None
        self.ignored: dict[str, str] = {}
        for key, raw in (answers or {}).items():
            q = self._questions.get(key)
            if q is None:
                self.ignored[key] = "not a question of this script"
                continue
            if raw is None:
                if not q.required:  # a stored skip; a required question stays open
                    self._values[key] = None
                continue
            try:
                self._values[key] = parse_answer(q, raw)
            except AnswerError as exc:
                self.ignored[key] = exc.reason
        self.dropped_on_resume = self._prune()

    # -- values for conditions and fill-ins -------------------------------------------

    def _localise(self, q: Question) -> Question:
        words = self._translation.questions.get(q.key) if self._translation else None
        if words is None:
            return q
        options = tuple(Option(o.value, words.labels.get(o.value, o.label)) for o in q.options)
        return replace(q, text=words.text or q.text, hint=words.hint or q.hint,
                       options=options)

    def _text(self, name: str) -> str | None:
        """A top-level text (opening, consent, closing) in the call's language."""
        own = getattr(self.script, name)
        if self._translation is None or own is None:
            return own
        return getattr(self._translation, name) or own

    def _today(self, now: datetime | None) -> date | None:
        moment = now or self.now
        return moment.date() if moment else None

    def _customer_value(self, name: str, today: date | None) -> Any:
        c = self.customer
        if name == "years_as_customer":
            if c.customer_since is None or today is None:
                return None
            return max(0, _full_years(c.customer_since, today))
        if name == "days_since_purchase":
            if c.last_purchase is None or today is None:
                return None
            return (today - c.last_purchase).days
        if name == "salutation":
            return address(c, self.language) or None
        if name == "language":
            return self.language
        if name in ("first_name", "last_name") and not getattr(c, name, None):
            first, last = split_name(c.name)
            return first if name == "first_name" else last
        value = getattr(c, name, None) if name in _CUSTOMER_ATTRS else None
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def _lookup(self, env: Mapping[str, Any], today: date | None, display: bool = False,
                questions: Mapping[str, Question] | None = None):
        shown = questions or self._questions

        def lookup(parts: tuple[str, ...]) -> Any:
            head = parts[0]
            if head == "customer" and len(parts) >= 2:
                if parts[1] == "extra":
                    return self.customer.extra.get(parts[2]) if len(parts) == 3 else None
                return self._customer_value(parts[1], today) if len(parts) == 2 else None
            if head in ("fix", "occasion") and len(parts) == 2:
                return self.context.get(head, {}).get(parts[1])
            if head == "caller" and len(parts) == 1:
                return self.caller
            if parts == ("caller", "first_name"):
                return caller_first_name(self.caller)
            if len(parts) == 1 and head in env:
                value = env[head]
                if display and head in shown:
                    return display_answer(shown[head], value) or None
                return value
            return None

        return lookup

    def _env(self) -> dict[str, Any]:
        """Answers on the path (conditions must not see answers that left the path)."""
        path = set(self._path_keys())
        return {k: v for k, v in self._values.items() if k in path}

    def _path_keys(self) -> list[str]:
        """The keys of the questions on the path, in order: worked out again only when
        what the conditions read may have changed (an answer, the marketing switch, the
        moment, the customer or caller object), else the last answer
        (:meth:`_walk_path` is the plain walk)."""
        key = (self._changes, self.marketing_allowed, self.now, id(self.customer),
               self.caller, self.language)
        memo = self._path_memo
        if memo is not None and memo[0] == key:
            return list(memo[1])
        path = self._walk_path()
        self._path_memo = (key, tuple(path))
        return path

    def _walk_path(self) -> list[str]:
        """The path, every condition evaluated against the answers before it."""
        env: dict[str, Any] = {}
        lookup = self._lookup(env, self._today(None))
        path = []
        for q in self.script.questions:
            if q.marketing and not self.marketing_allowed:
                continue
            if q.condition is None or cond.evaluate(q.condition, lookup):
                path.append(q.key)
                if q.key in self._values:
                    env[q.key] = self._values[q.key]
        return path

    def allow_marketing(self, allowed: bool) -> tuple[str, ...]:
        """Marketing questions on or off (consent given or withdrawn during the call);
        returns the keys whose answers left the path."""
        self.marketing_allowed = allowed
        return self._prune()

    @property
    def call_purpose(self) -> str:
        """The call's purpose for the law: the script's, raised to ``marketing`` once a
        marketing question is answered."""
        path = set(self._path_keys())
        if any(self._questions[k].marketing for k in self._values if k in path):
            return "marketing"
        return self.script.call_purpose

    def _prune(self) -> tuple[str, ...]:
        on_path = set(self._path_keys())
        dropped = tuple(k for k in self._values if k not in on_path)
        for key in dropped:
            del self._values[key]
        if dropped:
            self._changes += 1
        if self._focus is not None and self._focus not in on_path:
            self._focus = None
        return dropped

    def _render(self, template: str, *, answers: bool, now: datetime | None = None,
                local: bool = True) -> str:
        """Fill a text; ``local``: answers shown with the labels of the call's language."""
        env = self._env() if answers else {}
        lookup = self._lookup(env, self._today(now), display=True,
                              questions=self._local if local else None)
        return render(template, lambda name: lookup(tuple(name.split("."))))

    # -- texts ---------------------------------------------------------------------------

    def opening_text(self) -> str:
        """The opening line with its fill-ins."""
        return self._render(self._text("opening"), answers=False)

    def consent_text(self) -> str | None:
        """The recording/consent notice with its fill-ins, or None if the script has none."""
        if not self.script.consent:
            return None
        return self._render(self._text("consent"), answers=False)

    def closing_text(self) -> str:
        """The closing line with its fill-ins (answers included)."""
        return self._render(self._text("closing"), answers=True)

    def question_text(self, key: str) -> str:
        """A question's words with fill-ins (earlier answers included)."""
        return self._render(self.question(key).text, answers=True)

    def hint_text(self, key: str) -> str | None:
        """A question's hint for the caller with fill-ins, or None."""
        q = self.question(key)
        return self._render(q.hint, answers=True) if q.hint else None

    # -- walking -------------------------------------------------------------------------

    def question(self, key: str) -> Question:
        """The script's question with this key, in the call's language (AnswerError if
        there is none)."""
        try:
            return self._local[key]
        except KeyError:
            raise AnswerError(f"the script has no question '{key}'", key) from None

    def _named(self, key: str) -> str:
        """A question as a caller knows it: its words, shortened."""
        words = self.question_text(key)
        return f"“{words[:57]}...”" if len(words) > 60 else f"“{words}”"

    def _frontier(self, path: list[str]) -> str | None:
        return next((k for k in path if k not in self._values), None)

    def current(self) -> Question | None:
        """The question to ask now, or None when every question on the path is done."""
        path = self._path_keys()
        if self._focus is not None and self._focus in path:
            return self._local[self._focus]
        self._focus = None
        key = self._frontier(path)
        return self._local[key] if key else None

    def is_finished(self) -> bool:
        """True when no question on the path is left to ask."""
        return self._frontier(self._path_keys()) is None

    def _check_reachable(self, key: str) -> list[str]:
        self.question(key)
        path = self._path_keys()
        if key not in path:
            if self.question(key).marketing and not self.marketing_allowed:
                raise AnswerError(f"{self._named(key)} is a marketing question: not asked "
                                  "without a basis for marketing (no consent, or withdrawn)",
                                  key)
            raise AnswerError(f"{self._named(key)} is not asked on this call (its condition "
                              "does not hold)", key)
        frontier = self._frontier(path)
        if frontier is not None and path.index(key) > path.index(frontier):
            raise AnswerError(f"answer {self._named(frontier)} first", key)
        return path

    def answer(self, key: str, raw: Any) -> Answered:
        """Record an answer (keyboard text or a typed value); may change the path.

        Raises :class:`AnswerError` when the value does not fit the question.
        """
        q = self.question(key)
        self._check_reachable(key)
        value = parse_answer(q, raw)
        self._values[key] = value
        self._changes += 1
        if self._focus == key:
            self._focus = None
        dropped = self._prune()
        return Answered(key, q.type, value, stored_answer(q, value), dropped)

    def skip(self, key: str | None = None) -> Answered:
        """Skip the current (or the given) question; required questions cannot be skipped."""
        if key is None:
            q = self.current()
            if q is None:
                raise AnswerError("there is no question left to skip")
            key = q.key
        q = self.question(key)
        self._check_reachable(key)
        if q.required:
            raise AnswerError("this question needs an answer; it cannot be skipped", key)
        self._values[key] = None
        self._changes += 1
        if self._focus == key:
            self._focus = None
        dropped = self._prune()
        return Answered(key, q.type, None, None, dropped)

    def back(self) -> Question | None:
        """Go to the question before the current one (None when already at the first)."""
        path = self._path_keys()
        current = self.current()
        done = [k for k in path if k in self._values]
        if current is None:
            target = done[-1] if done else None
        else:
            index = path.index(current.key)
            earlier = [k for k in path[:index] if k in self._values]
            target = earlier[-1] if earlier else None
        if target is None:
            return None
        self._focus = target
        return self._local[target]

    def go_to(self, key: str) -> Question:
        """Go to an earlier question on the path to change its answer."""
        self._check_reachable(key)
        self._focus = key
        return self._local[key]

    def forward(self) -> Question | None:
        """Leave the earlier question as it is and continue where the call was."""
        self._focus = None
        return self.current()

    def value(self, key: str) -> Any:
        """The current answer to a question on the path (None if unanswered or skipped)."""
        return self._env().get(key)

    def question_number(self, key: str) -> tuple[int, int]:
        """``(n, total)``: the question's place among every question this call may ask
        (the script's, less marketing ones without consent), for "Q4/9". Numbers hold
        still as answers open or close branches (a branch not taken skips numbers, as on
        a paper script); ``n`` is 0 for a key not among them."""
        keys = [q.key for q in self.script.questions
                if not (q.marketing and not self.marketing_allowed)]
        return (keys.index(key) + 1 if key in keys else 0), len(keys)

    def path(self) -> list[Step]:
        """The questions on the path, in order, with their answers."""
        steps = []
        for key in self._path_keys():
            q = self._local[key]
            if key in self._values:
                value = self._values[key]
                state = "skipped" if value is None else "answered"
            else:
                value, state = None, "open"
            steps.append(Step(q, state, value, display_answer(q, value)))
        return steps

    def answers(self) -> dict[str, Any]:
        """The answers on the path (None = skipped), in path order."""
        return {k: self._values[k] for k in self._path_keys() if k in self._values}

    def missing(self) -> list[str]:
        """Required questions on the path that have no answer yet."""
        return [k for k in self._path_keys()
                if self._questions[k].required and self._values.get(k) is None]

    # -- the end -------------------------------------------------------------------------

    def _owner(self, owner: str) -> str:
        if owner == "account_owner":
            return (self.customer.owner or "").strip() or self.caller
        if owner == "caller":
            return self.caller
        return owner

    def followups(self, now: datetime) -> list[FollowupSpec]:
        """The follow-ups the rules create from the answers on the path, due from ``now``.

        Rules that give the same kind for the same owner are merged into one follow-up
        (notes joined, the earliest due time).
        """
        env = self._env()
        lookup = self._lookup(env, self._today(now))
        merged: dict[tuple[str, str], FollowupSpec] = {}
        for rule in self.script.rules:
            if rule.condition is not None and not cond.evaluate(rule.condition, lookup):
                continue
            owner = self._owner(rule.owner)
            note = self._render(rule.note, answers=True, now=now, local=False).strip()
            spec = FollowupSpec(rule.kind, owner, now + rule.due_delta, note, rule.label)
            key = (rule.kind, owner)
            if key in merged:
                old = merged[key]
                notes = "; ".join(n for n in (old.note, note) if n)
                spec = FollowupSpec(rule.kind, owner, min(old.due_at, spec.due_at), notes,
                                    f"{old.rule}, {rule.label}")
            merged[key] = spec
        return list(merged.values())

    def finish(self, now: datetime) -> SurveyResult:
        """The answers on the path and the follow-ups to create (also for a broken-off call)."""
        answers = self.answers()
        return SurveyResult(
            script_name=self.script.name,
            script_version=self.script.version,
            answers=answers,
            qtypes={k: self._questions[k].type for k in answers},
            skipped=tuple(k for k, v in answers.items() if v is None),
            missing=tuple(self.missing()),
            followups=tuple(self.followups(now)),
            closing=self.closing_text(),
        )


_CUSTOMER_ATTRS = {
    "ref", "name", "first_name", "last_name", "company", "phone", "email", "country",
    "revenue", "tier",
    "customer_since", "last_purchase", "birthday", "owner", "do_not_call", "number_status",
}
