"""Outside business hours: which decisions take effect at once, and which wait for the opening.

Pure, like decide.py: no database, no clock. One rule serves every way the contract lets mailbot work
while the business calendar is closed, instead of one special case per setting:

- `[business_hours] answer_outside_hours = true`: a confident knowledge-base answer goes out at any time;
- a fault of an urgent class (a class whose SLA runs `calendar = "24/7"`, or one `[oncall] severities`
  alerts for) is escalated at once: ticket, acknowledgement, team notice, on-call alert, jobs;
- everything else (other escalations, follow-ups, ignored or unreadable mail) is left exactly as it was
  and decided at the opening, in arrival order, like all mail while closed without these settings.

The caller (mailbot.pipeline.process) has already made the decision; this only says whether it may take
effect now. A mail left waiting has not failed, so it counts no attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.config import Settings
from mailbot.domain import Action, Severity


@dataclass(frozen=True)
class OutsideHours:
    """What the contract lets mailbot decide while the business calendar is closed."""

    answers: bool  # confident knowledge-base answers go out at any time
    urgent: frozenset[Severity]  # fault classes escalated at once

    @classmethod
    def from_settings(cls, settings: Settings) -> OutsideHours:
        urgent = set(settings.sla.around_the_clock())
        if settings.oncall is not None:
            urgent.update(settings.oncall.severities)
        return cls(settings.business_hours.answer_outside_hours, frozenset(urgent))

    @property
    def takes_mail(self) -> bool:
        """Whether new mail has to be fetched and looked at while closed at all."""
        return self.answers or bool(self.urgent)


@dataclass(frozen=True)
class Verdict:
    now: bool  # True: the decision takes effect now; False: the mail waits for the opening, untouched
    reason: str


def decide_now(action: Action | None, severity: Severity | None, policy: OutsideHours) -> Verdict:
    """Whether a decision made while closed takes effect now; `action` None: the mail cannot be read
    (it would be quarantined); `severity`: the guess for an escalation (None: a question or wish)."""
    if action is Action.ANSWER:
        if policy.answers:
            return Verdict(True, "a confident answer goes out at any time (answer_outside_hours = true)")
        return Verdict(False, "answers wait for the opening (answer_outside_hours = false)")
    if action is Action.ESCALATE:
        if severity is not None and severity in policy.urgent:
            return Verdict(True, f"a {severity.value} fault is handled without delay")
        what = f"a {severity.value} fault" if severity is not None else "a question or wish"
        return Verdict(False, f"{what} goes to the 2nd level at the opening")
    if action is Action.AGENT_ANSWER or action is Action.REFUSE:
        if policy.takes_mail:
            return Verdict(True, "a team member's reply is sent (or refused) when it is read")
        return Verdict(False, "the mailbox is not read while closed: a team member's reply waits too")
    if action is None:
        return Verdict(False, "unreadable mail is quarantined at the opening")
    return Verdict(False, f"{action.value} waits for the opening")
