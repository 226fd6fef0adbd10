"""Escalation notices: a follow-up past its deadline is announced on any screen.

``EscalationWatcher(app).start()`` (the shift app starts one) checks every ``every``
seconds on the database thread: it escalates what is due for it
(``calls.deadlines.escalate_overdue``, idempotent) and announces, once per session, each
open escalation the user should hear about (its owner, whoever it went to, the
supervisors; see ``calls.deadlines.sees_escalation``). The first check sums up what is
already waiting instead of announcing each one; later checks read only the escalations
made since the last (``calls.deadlines.escalation_news``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from calls import deadlines as dl
from calls.models import kind_label


def waited_text(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} d {hours % 24} h" if hours >= 24 else f"{hours} h"


def describe(e: dl.Escalation) -> str:
    """One line for a notice: what, for whom, which deadline, how long they waited."""
    what = kind_label(e.kind)
    return (f"{what} for {e.customer_name or e.customer_ref} (owner {e.owner or 'anyone'}): "
            f"{dl.DEADLINE_LABEL.get(e.deadline, e.deadline)} was due "
            f"{e.deadline_at:%d %b %H:%M} UTC; waited {waited_text(e.waited)}; "
            f"escalated to {e.escalated_to}")


def check_escalations(store, now, policy, user: str | None = None, role: str | None = None,
                      solo: bool = True, after: int | None = None) -> dl.EscalationNews:
    """Escalate what is due, then what ``user`` is to hear of: at the first look (``after``
    None) the open escalations summed up, later those made since (``dl.escalation_news``)."""
    dl.escalate_overdue(store, now, policy)
    return dl.escalation_news(store, user, after, policy, role, solo)


class EscalationWatcher:
    """Announces escalations to the user of the app, once each per session."""

    def __init__(self, app: Any, every: float = 60.0) -> None:
        self.app = app
        self.every = every
        self._last_id: int | None = None    # None: the first look is still to come
        self._started = False

    def start(self) -> None:
        """Check now and then every ``every`` seconds."""
        if self._started:
            return  # already running: an escalation must not be announced twice
        self._started = True
        self.check()
        self.app.set_interval(self.every, self.check)

    def check(self) -> None:
        """Escalate and look for escalations to announce (in the background)."""
        app = self.app
        actor = getattr(app, "actor", None)
        user = getattr(app, "caller", None) if actor is not None else None
        app.db(check_escalations, app.now(), app.policy, user,
               getattr(actor, "role", None), getattr(actor, "solo", True), self._last_id,
               on_done=self._announce, quiet=True,
               description="escalations")  # again at the next check

    def _announce(self, news: dl.EscalationNews) -> None:
        if getattr(self.app, "actor", None) is None:
            return  # nobody signed in yet (the login screen): tell them once they are
        first, self._last_id = self._last_id is None, news.last_id
        if first and news.waiting > 1 and news.oldest is not None:
            # Someone else's show under the follow-ups screen's team list, not "my" list.
            where = "Follow-ups (f)" if news.all_own else "Follow-ups (f), then t (the team's),"
            self.app.notify(
                f"{news.waiting} follow-ups are past their deadline and escalated; the "
                f"oldest: {describe(news.oldest)}. {where} lists them.",
                title="Escalated follow-ups", severity="warning", timeout=30)
            return
        for e in [news.oldest] if first and news.oldest is not None else news.new:
            self.app.notify(describe(e), title="Follow-up escalated", severity="warning",
                            timeout=30)
