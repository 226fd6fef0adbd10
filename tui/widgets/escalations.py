"""Escalation notices: a follow-up past its deadline is announced on any screen.

``EscalationWatcher(app).start()`` (the shift app starts one) checks every ``every``
seconds on the database thread: it escalates what is due for it
(``calls.deadlines.escalate_overdue``, idempotent) and announces, once per session, each
open escalation the user should hear about (its owner, whoever it went to, the
supervisors; see ``calls.deadlines.sees_escalation``). The first check sums up what is
already waiting instead of announcing each one.
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


def check_escalations(store, now, policy) -> list[dl.Escalation]:
    """Escalate what is due, then every open escalation (newest first)."""
    dl.escalate_overdue(store, now, policy)
    return dl.open_escalations(store)


class EscalationWatcher:
    """Announces escalations to the user of the app, once each per session."""

    def __init__(self, app: Any, every: float = 60.0) -> None:
        self.app = app
        self.every = every
        self.announced: set[int] = set()
        self._first = True
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
        app.db(check_escalations, app.now(), app.policy, on_done=self._announce,
               quiet=True, description="escalations")  # again at the next check

    def _announce(self, escalations: list[dl.Escalation]) -> None:
        user = getattr(self.app, "caller", None)
        policy = getattr(self.app, "policy", None) or dl.DEFAULT_POLICY
        actor = getattr(self.app, "actor", None)
        if actor is None:
            return  # nobody signed in yet (the login screen): tell them once they are
        mine = [e for e in escalations
                if e.id not in self.announced
                and dl.sees_escalation(user, e, policy, actor.role, actor.solo)]
        self.announced.update(e.id for e in mine)
        if not mine:
            self._first = False
            return
        if self._first and len(mine) > 1:
            # Someone else's show under the follow-ups screen's team list, not "my" list.
            own = all(e.owner and e.owner.casefold() == (user or "").casefold() for e in mine)
            where = "Follow-ups (f)" if own else "Follow-ups (f), then t (the team's),"
            self.app.notify(
                f"{len(mine)} follow-ups are past their deadline and escalated; the oldest: "
                + describe(mine[-1]) + f". {where} lists them.",
                title="Escalated follow-ups", severity="warning", timeout=30)
        else:
            for e in mine:
                self.app.notify(describe(e), title="Follow-up escalated", severity="warning",
                                timeout=30)
        self._first = False
