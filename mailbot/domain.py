"""Plain data shared by all stages.

Every stage talks to the next through these frozen dataclasses, so the decision logic can be
tested with hand-made values and no server, database or file behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Language(StrEnum):
    DE = "de"
    EN = "en"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMail:
    """What the rest of the pipeline knows about one inbound e-mail.

    Header names in `headers` are lower-case; values are RFC 2047-decoded and unfolded, one entry
    per occurrence. Addresses are bare addr-specs (``local@domain``) as written by the sender.
    """

    message_id: str  # with angle brackets; derived from the content when the mail has none
    subject: str
    from_addr: str  # "" when the mail names no sender
    from_name: str
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    return_path: str | None  # None: header absent; "": the null reverse path "<>"
    content_type: str  # of the top-level part, lower-case, e.g. "multipart/report"
    headers: dict[str, tuple[str, ...]]
    text: str  # the whole readable body (HTML-only mail converted to text)
    body: str  # the customer's own words: quoted history, greeting-free signature removed
    language: Language
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()
    reply_to_name: str = ""  # display name of the first Reply-To address ("" without one)
    # why nobody can tell who wrote the mail ("" when From is one address in one header): several
    # From headers or addresses; such a mail gets nothing automatic and joins no ticket
    sender_ambiguity: str = ""

    def header(self, name: str) -> str | None:
        """First value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def reply_address(self) -> str:
        """Where the mail *asks* replies to go (Reply-To wins over From, as mail clients do).

        Anyone can write any Reply-To: where mailbot writes is decided by
        `mailbot.rules.reply_target` (new mail) or is the address stored on the ticket (follow-ups)."""
        return self.reply_to or self.from_addr


class Verification(StrEnum):
    """What the receiving server's Authentication-Results say about the From (rules.sender_auth)."""

    UNCHECKED = "unchecked"  # no [support] authserv_id: the From is taken as written
    PASS = "pass"  # DMARC, or without DMARC an aligned SPF or DKIM, passed for the From domain
    FAIL = "fail"  # anything else: the From may be forged


@dataclass(frozen=True)
class SenderCheck:
    verdict: Verification
    reason: str  # one line naming the header and result it rests on

    @property
    def failed(self) -> bool:
        return self.verdict is Verification.FAIL


UNCHECKED_SENDER = SenderCheck(Verification.UNCHECKED, "no [support] authserv_id: From is taken as written")


@dataclass(frozen=True)
class ReplyTarget:
    """Where automatic mail about a new mail goes, and whose ticket it becomes (rules.reply_target).

    Names are raw display names (the renderer makes the greeting; "" greets neutrally)."""

    address: str  # the answer, acknowledgement or out-of-hours note goes here
    name: str
    customer: str  # the ticket's customer: who may join the ticket and gets later mail about it
    customer_name: str
    note: str = ""  # why the mail's Reply-To was not honoured ("" when it was, or there is none)

    @classmethod
    def sender(cls, mail: ParsedMail, note: str = "") -> ReplyTarget:
        """The From, for everything: the safe default."""
        return cls(mail.from_addr, mail.from_name, mail.from_addr, mail.from_name, note)


class RuleEffect(StrEnum):
    IGNORE = "ignore"  # no ticket, no reply: the mail is not from a person who expects an answer
    NO_REPLY = "no_reply"  # handle the content, but send nothing automatic to the sender


@dataclass(frozen=True)
class RuleHit:
    name: str
    reason: str
    effect: RuleEffect


@dataclass(frozen=True)
class Prediction:
    """The classifier's view of one mail: the best article and how sure it is."""

    article_id: str | None  # the top article, None when the knowledge base is empty
    confidence: float
    threshold: float
    ranking: tuple[tuple[str, float], ...] = ()  # best first, a few runners-up for the team
    model_version: str = ""
    out_of_scope: bool = False  # the out-of-scope class won: never answer, whatever the confidence

    @property
    def confident(self) -> bool:
        return not self.out_of_scope and self.article_id is not None and self.confidence >= self.threshold


class Severity(StrEnum):
    """Fault classes of the service contract, most urgent first (docs/architecture.md, "Severity classes")."""

    CRITICAL = "critical"  # betriebsverhindernd: the app or a core function is down for everyone
    MAJOR = "major"  # wesentlich eingeschränkt: a core function impaired, no workaround
    MINOR = "minor"  # leicht: impaired, a workaround exists
    COSMETIC = "cosmetic"  # Darstellungsfehler: display only


@dataclass(frozen=True)
class SeverityGuess:
    """The initial assessment of a mail: a fault class (None: a question or wish) and why."""

    severity: Severity | None
    confidence: float
    reasons: tuple[str, ...] = ()  # signals and top features, for the 2nd-level agent


class TicketState(StrEnum):
    ANSWERED = "answered"  # the knowledge base answered; waits for the customer, if anything
    ESCALATED = "escalated"  # with the 2nd level
    SOLVED = "solved"


@dataclass(frozen=True)
class TicketContext:
    """The ticket a mail refers to (by threading headers or subject reference)."""

    ticket_id: int
    reference: str
    customer: str
    state: TicketState
    matched_by: str  # "in-reply-to", "references" or "subject"


class Intent(StrEnum):
    """What a customer's mail says beyond its topic, as far as small pure detectors can tell."""

    STATUS = "status"  # only asks where a request stands (tickets.status_query)
    CLOSING = "closing"  # only thanks, or says the matter is solved (tickets.closing)


@dataclass(frozen=True)
class Cues:
    """What cheap, pure detectors read in the customer's own words, for decide() to weigh."""

    intent: Intent | None = None
    # one prediction per question (classify.questions), only for a mail that asks several things
    questions: tuple[Prediction, ...] = ()


class Action(StrEnum):
    ANSWER = "answer"
    ESCALATE = "escalate"
    FOLLOW_UP = "follow_up"
    IGNORE = "ignore"
    AGENT_ANSWER = "agent_answer"  # a team member's reply to a notice, sent to the customer
    REFUSE = "refuse"  # a reply to a notice that may not reach the customer: quarantined, team told


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    article_id: str | None = None
    ticket_id: int | None = None  # the existing ticket of a follow-up
    reply_to_customer: bool = True  # False when a rule forbids automatic mail to the sender
    rule_hits: tuple[RuleHit, ...] = ()
    prediction: Prediction | None = None
    details: dict[str, str] = field(default_factory=dict)
    intent: Intent | None = None  # of a follow-up: a status question or a closing thank-you
    reply_target: ReplyTarget | None = None  # of a new conversation: where automatic mail goes
    # of a follow-up: why its sender is not verified ("" when it is, or nobody checks); such a mail is
    # recorded on the ticket and shown to the team, and changes and reveals nothing
    sender_not_verified: str = ""
    # what `reason` says, as a code and its values, so that a team mail can say it in its own language
    why: str = ""
    why_values: dict[str, str] = field(default_factory=dict)
