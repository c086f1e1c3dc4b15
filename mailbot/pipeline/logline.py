"""The one INFO line per decided mail: which mail, from whom, what happened, which ticket, and why.

An operator reading the worker's log follows each mail by this line alone, so it always carries the
ticket reference when there is one. The sender is written as is; the log filter (mailbot.logredact)
shortens every address in every line unless `[privacy] redact_addresses = false`.
"""

from __future__ import annotations

from mailbot.domain import Action, Decision


def decision_line(row_id: int, sender: str, outcome: str, reference: str | None, decision: Decision) -> str:
    """E.g. "inbound #12 from k@example.org answered MB-000012 with article parking-end (0.91 >= 0.62)"."""
    head = f"inbound #{row_id} from {sender or '(no sender)'} {outcome.replace('_', '-')}"
    if reference:
        head += f" {reference}"
    prediction = decision.prediction
    if decision.action is Action.ANSWER and decision.article_id and prediction is not None:
        return (
            f"{head} with article {decision.article_id} "
            f"({prediction.confidence:.2f} >= {prediction.threshold:.2f})"
        )
    return f"{head}: {decision.reason}"
