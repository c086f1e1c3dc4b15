"""Keep the measures a report recommends, and say in the next report what became of the earlier ones.

A measure is stored once per (client, key, period): running a month's report again changes nothing. A
measure still open from an earlier period is carried, not stored again; the report lists it with the
figure then and now, so "we promised to revise article X in October" is followed up in November.
Agents close measures (`mailbot measures close ID --status done|dropped`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import MeasureRow
from mailbot.reports.measures import Measure
from mailbot.reports.period import Period

STATUSES = ("open", "done", "dropped")


def settle(
    session: Session, mailbox: str, period: Period, recommended: list[Measure], now: datetime
) -> dict[str, object]:
    """Store this period's new measures and follow up the earlier ones (in the caller's transaction)."""
    earlier = session.scalars(
        select(MeasureRow)
        .where(MeasureRow.mailbox == mailbox, MeasureRow.period_start < period.start)
        .where((MeasureRow.status == "open") | (MeasureRow.closed_at >= period.start))
        .order_by(MeasureRow.period_start, MeasureRow.id)
    ).all()
    now_by_key = {measure.key: measure for measure in recommended}
    followed = []
    for row in earlier:
        still = now_by_key.get(row.key)
        followed.append(
            {
                "id": row.id,
                "key": row.key,
                "since": row.period,
                "status": row.status,
                "note": row.note,
                "still_triggered": still is not None,
                "value_then": row.value,
                "value_now": still.value if still else None,
            }
        )
    carried = {row.key for row in earlier if row.status == "open"}
    stored = {
        row.key: row
        for row in session.scalars(
            select(MeasureRow).where(MeasureRow.mailbox == mailbox, MeasureRow.period == period.label)
        )
    }
    listed = []
    for measure in recommended:
        row = stored.get(measure.key)
        if row is None and measure.key not in carried:
            row = MeasureRow(
                mailbox=mailbox, key=measure.key, code=measure.code, subject=measure.subject,
                period=period.label, period_start=period.start, figure=measure.figure,
                value=float(measure.value), line=float(measure.line), n=measure.n, status="open", note="",
                created_at=now,
            )  # fmt: skip
            session.add(row)
            session.flush()
        listed.append(measure.as_dict() | {"id": row.id if row else None, "carried": measure.key in carried})
    return {"recommended": listed, "followed_up": followed}


def close(
    session: Session, mailbox: str, measure_id: int, status: str, note: str, now: datetime
) -> MeasureRow:
    if status not in STATUSES[1:]:
        raise ValueError(f"status {status!r}: give done or dropped")
    row = session.get(MeasureRow, measure_id)
    if row is None or row.mailbox != mailbox:
        raise ValueError(f"no measure #{measure_id} for client {mailbox!r}; see `mailbot measures list`")
    row.status, row.note, row.closed_at = status, note, now
    return row


def listing(session: Session, mailbox: str) -> list[MeasureRow]:
    return list(
        session.scalars(
            select(MeasureRow)
            .where(MeasureRow.mailbox == mailbox)
            .order_by(MeasureRow.period_start, MeasureRow.id)
        )
    )
