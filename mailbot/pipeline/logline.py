"""The one INFO line per decided mail: which mail, from whom, what happened, which ticket, and why.

An operator reading the worker's log follows each mail by this line alone, so it always carries the
ticket reference when there is one. The sender is written as is (cut where no address is that long);
the log filter (mailbot.logredact) shortens every address in every line unless `[privacy]
redact_addresses = false`. A rule's reason quotes the header that made it fire (a subject, a From
name, an Auto-Submitted value: the sender's words), so the line names the rule instead; the reason
itself is stored with the decision.
"""

from __future__ import annotations

from mailbot.addresses import shown
from mailbot.domain import Action, Decision


def decision_line(row_id: int, sender: str, outcome: str, reference: str | None, decision: Decision) -> str:
    """E.g. "inbound #12 from k@example.org answered MB-000012 with article parking-end (0.91 >= 0.62)"."""
    sender = shown(sender) or "(no sender)"
    head = f"inbound #{row_id} from {sender} {outcome.replace('_', '-')}"
    if reference:
        head += f" {reference}"
    prediction = decision.prediction
    if decision.action is Action.ANSWER and decision.article_id and prediction is not None:
        return (
            f"{head} with article {decision.article_id} "
            f"({prediction.confidence:.2f} >= {prediction.threshold:.2f})"
        )
    return f"{head}: {loggable_reason(decision)}"


def loggable_reason(decision: Decision) -> str:
    """`decision.reason` with every rule's quoting reason replaced by "rule <name>" (issue 15: no
    customer text in the log at INFO). Reasons of mailbot's own making (article ids, figures, ticket
    references) stay as they are."""
    reason = decision.reason
    for hit in sorted(decision.rule_hits, key=lambda hit: len(hit.reason), reverse=True):
        if hit.reason:
            reason = reason.replace(hit.reason, f"rule {hit.name}")
    return reason
