"""What bench/chaos.py reads from a fleet's PostgreSQL database, and the checks after a drain
(../shared/notes/clients-and-scale-out.md, acceptance check 5): every delivered mail stored once,
decided once, at most one ticket, exactly one reply at the sink per mail that got one; only
byte-identical re-sends of one outbox Message-ID are tolerated, and they are counted apart.

Read-only: plain SQL over mailbot's tables (mailbot.db.schema) and the sink's messages; nothing here
changes the database under test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, create_engine, text

from bench.torture_servers import TERMINAL, bare_id, received, sink_figures

# ticket events that a decision writes once per inbound mail (mailbot/pipeline/effects.py)
DECISION_EVENTS = ("answered", "escalated", "customer_reply")
DECIDED_WITH_EVENT = ("answered", "escalated", "follow_up")  # outcomes whose decision writes one


@dataclass(frozen=True)
class Progress:
    inbound: dict[str, int]  # rows per state
    outbox: dict[str, int]

    @property
    def stored(self) -> int:
        return sum(self.inbound.values())

    @property
    def undecided(self) -> int:
        return sum(n for state, n in self.inbound.items() if state not in TERMINAL)

    @property
    def unsent(self) -> int:
        return self.outbox.get("pending", 0) + self.outbox.get("sending", 0)

    def drained(self, expected: int) -> bool:
        """Every expected mail stored and decided, nothing left to send (failed rows count as done:
        the checks report them)."""
        return self.stored >= expected and self.undecided == 0 and self.unsent == 0


class FleetDb:
    """One fleet database, read with short autocommit queries (the bench polls it every 0.5 s)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, pool_size=2, isolation_level="AUTOCOMMIT")

    def close(self) -> None:
        self.engine.dispose()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params).all())

    def holders(self) -> dict[str, str]:
        """mailbox → the worker ("host:pid") whose watch session last said it holds it."""
        return {mailbox: worker for mailbox, worker, _ in self.watches()}

    def watches(self) -> list[tuple[str, str, datetime]]:
        """(mailbox, worker, since) of every watch session that says it holds its mailbox; `since`:
        when that session began (the worker's clock, which is this machine's)."""
        return [tuple(row) for row in self.rows("SELECT mailbox, worker, since FROM mailbox_watch")]

    def deciding_seconds(self) -> float:
        """From the first decision to the last reply accepted by the sink (database clocks): the run
        without the workers' start-up and first model loads."""
        first, decided = self.rows("SELECT min(processed_at), max(processed_at) FROM inbound_mail")[0]
        sent = self.rows("SELECT max(sent_at) FROM outbox")[0][0]
        last = max(t for t in (decided, sent) if t is not None)
        return float((last - first).total_seconds())

    def progress(self) -> Progress:
        inbound = self.rows("SELECT state, count(*) FROM inbound_mail GROUP BY state")
        outbox = self.rows("SELECT state, count(*) FROM outbox GROUP BY state")
        return Progress({s: int(n) for s, n in inbound}, {s: int(n) for s, n in outbox})


def _duplicates(db: FleetDb, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db.rows(sql)]


def check_after_drain(
    db: FleetDb, delivered: Mapping[str, str], sink_messages: Iterable[Any], team: Iterable[str]
) -> dict[str, Any]:
    """Figures and failures after a drain. `delivered`: bare Message-ID → mailbox of every mail put
    into a mailbox. A non-empty "failures" list means a lost or doubled mail (or a reply missing)."""
    inbound = db.rows(
        "SELECT id, mailbox, message_id, state, outcome, reason, attempts, source_done FROM inbound_mail"
    )
    stored = {(row.mailbox, bare_id(row.message_id)) for row in inbound}
    wanted = {(mailbox, message_id) for message_id, mailbox in delivered.items()}
    failures: list[str] = []

    def fail(what: str, examples: Iterable[Any]) -> None:
        shown = list(examples)
        if shown:
            failures.append(f"{what}: {len(shown)} (e.g. {shown[:5]})")

    fail("delivered but not stored", sorted(wanted - stored))
    fail("stored but never delivered", sorted(stored - wanted))
    fail(
        "duplicate (mailbox, uidvalidity, uid)",
        _duplicates(
            db,
            "SELECT mailbox, uidvalidity, uid, count(*) FROM inbound_mail WHERE uid IS NOT NULL "
            "GROUP BY 1, 2, 3 HAVING count(*) > 1",
        ),
    )
    fail(
        "duplicate Message-ID in one mailbox",
        _duplicates(
            db, "SELECT mailbox, message_id, count(*) FROM inbound_mail GROUP BY 1, 2 HAVING count(*) > 1"
        ),
    )
    fail("not decided (received/processing)", [row.id for row in inbound if row.state not in TERMINAL])

    decisions = Counter(
        {
            int(inbound_id): int(n)
            for inbound_id, n in db.rows(
                "SELECT inbound_id, count(*) FROM ticket_events WHERE kind = ANY(:kinds) "
                "AND inbound_id IS NOT NULL GROUP BY 1",
                kinds=list(DECISION_EVENTS),
            )
        }
    )
    fail("decided more than once (decision events)", [i for i, n in decisions.items() if n > 1])
    fail(
        "answered/escalated without its decision event",
        [row.id for row in inbound if row.outcome in DECIDED_WITH_EVENT and decisions[row.id] == 0],
    )
    fail(
        "ignored/quarantined with a decision event",
        [row.id for row in inbound if row.outcome not in DECIDED_WITH_EVENT and decisions[row.id] > 0],
    )
    created = dict(
        db.rows(
            "SELECT inbound_id, count(*) FROM ticket_events WHERE kind = 'created' "
            "AND inbound_id IS NOT NULL GROUP BY 1"
        )
    )
    fail("more than one ticket for one inbound", [i for i, n in created.items() if n > 1])
    tickets = int(db.rows("SELECT count(*) FROM tickets")[0][0])
    orphans = db.rows(
        "SELECT t.id FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM ticket_events e "
        "WHERE e.ticket_id = t.id AND e.kind = 'created' AND e.inbound_id IS NOT NULL)"
    )
    fail("tickets opened by no inbound mail", [row.id for row in orphans])

    # the sink: one reply per inbound that got one, matched by In-Reply-To
    by_id = {row.id: bare_id(row.message_id) for row in inbound}
    outbox = db.rows(
        "SELECT inbound_id, kind, state, message_id FROM outbox WHERE to_customer AND inbound_id IS NOT NULL"
    )
    expected_replies = Counter(by_id[row.inbound_id] for row in outbox)
    fail("one inbound with two customer replies queued", [m for m, n in expected_replies.items() if n > 1])
    messages = list(sink_messages)
    figures = sink_figures(messages, team)
    at_sink = set(figures["answered_inbound_ids"])
    fail("reply queued but never reached the sink", sorted(set(expected_replies) - at_sink))
    fail("reply at the sink that no outbox row explains", sorted(at_sink - set(expected_replies)))
    fail("two different replies to one inbound", list(figures["double_answer_examples"].items()))
    copies: dict[str, set[str]] = {}
    for copy in received(messages):
        copies.setdefault(copy.message_id, set()).add(copy.digest)
    fail("re-sends of one Message-ID that differ", sorted(m for m, d in copies.items() if len(d) > 1))
    answered = [by_id[row.id] for row in inbound if row.outcome == "answered"]
    fail("answered but no reply at the sink", [m for m in answered if m not in at_sink])

    outbox_rows = db.rows("SELECT state, attempts FROM outbox")
    outbox_states = dict(Counter(row.state for row in outbox_rows))
    fail(
        "outbox rows failed for good",
        [row.id for row in db.rows("SELECT id FROM outbox WHERE state = 'failed'")],
    )
    quarantined = Counter(str(row.reason)[:100] for row in inbound if row.state == "quarantined")
    return {
        "delivered": len(wanted),
        "inbound_rows": len(inbound),
        "states": dict(Counter(row.state for row in inbound)),
        "outcomes": dict(Counter(str(row.outcome) for row in inbound)),
        "quarantined_reasons": dict(quarantined),
        "claimed_more_than_once": sum(1 for row in inbound if row.attempts > 1),
        "not_moved_on_server": sum(1 for row in inbound if row.state in TERMINAL and not row.source_done),
        "tickets": tickets,
        "outbox": outbox_states,
        "outbox_claimed_more_than_once": sum(1 for row in outbox_rows if row.attempts > 1),
        "replies_queued_to_customers": sum(expected_replies.values()),
        "sink_received": figures["received"],
        "sink_to_customers": figures["to_customers"],
        "sink_to_team": figures["to_team"],
        "resent_message_ids": figures["resent_message_ids"],
        "resent_extra_copies": figures["resent_extra_copies"],
        "resent_byte_identical": figures["resent_byte_identical"],
        "failures": failures,
    }
