"""Render outgoing mails (subject, plain text, HTML) from the Jinja2 templates in ``templates/``.

Files: ``<kind>.<lang>.subject.j2``, ``<kind>.<lang>.txt.j2`` and ``<kind>.<lang>.html.j2`` for each
kind and language, plus the shared partials in `PARTIALS`. The subject is a template too because
its wording is language-specific (team notice, fallback for an empty subject); the renderer
collapses it to one line afterwards.

Customer text is only ever passed as a variable, never as template source, into a sandboxed
environment with `StrictUndefined`: ``{{ 7*7 }}`` in a subject is shown, not evaluated. HTML
templates autoescape; text and subject templates do not. Markdown from the knowledge base goes
through the ``markdown`` filter (`markdown_to_html`) in HTML templates and ``markdown_text``
(`markdown_to_text`: clean text, no Markdown syntax) in text templates; plain text written by an
agent goes through ``paragraphs`` (`paragraphs_to_html`) in HTML and ``paragraphs_text``
(`paragraphs_to_text`) in text templates, so both parts show the same paragraphs and nothing in it
is interpreted.
Due times go through ``due_time(lang)`` (`format_due_time`); the plain words for a severity class
live in the templates (``_severity.<lang>.j2``), not here.

Context keys per kind (optional keys default to None, or "" for ``customer_name``, () for
``severity_reasons``, False for ``google_window``):

======================  ================================================================  ==================
kind                    required keys                                                     optional keys
======================  ================================================================  ==================
answer                  reference, subject, support_name, article_markdown                customer_name,
                                                                                          article_title
acknowledgement         reference, subject, support_name                                  customer_name,
                                                                                          interim_markdown,
                                                                                          due_text, severity,
                                                                                          response_due,
                                                                                          overdue
followup_received       reference, subject, support_name                                  customer_name,
                                                                                          due_text,
                                                                                          response_due,
                                                                                          overdue
solved                  reference, subject, support_name, message                         customer_name,
                                                                                          agent_name
agent_reply             reference, subject, support_name, message                         customer_name,
                                                                                          agent_name
status                  reference, subject, support_name, state, responded                customer_name,
                                                                                          severity,
                                                                                          response_due,
                                                                                          resolution_due,
                                                                                          overdue
out_of_hours            subject, support_name, next_opening                               customer_name
team_notice             reference, subject, customer, reason, language, ranking,          severity,
                        rule_hits, body_excerpt, event                                    severity_confidence,
                                                                                          severity_reasons,
                                                                                          response_due,
                                                                                          resolution_due,
                                                                                          parent_reference,
                                                                                          external_key,
                                                                                          removed_attachments,
                                                                                          original_withheld
sla_alert               reference, subject, customer, language, severity, response_due,   (none)
                        share_used, breached
delivery_failed         recipient, subject, error                                         reference, not_sent
oncall_alert            reference, subject, customer, severity, response_due,             (none)
                        body_excerpt
review_ticket           reference, store_name, app_name, rating, review_number,           severity,
                        review_title, review_body, language, reason                       severity_confidence,
                                                                                          severity_reasons,
                                                                                          response_due,
                                                                                          resolution_due,
                                                                                          external_key,
                                                                                          reply_state
reviews_digest          support_name, drafts, persons, failed                             (none)
reviews_polling_failed  store_name, app_name, app_id, since, days, error, fix             google_window
======================  ================================================================  ==================

- ``subject``: the customer's subject; customer kinds answer with ``Re: <subject> [<reference>]``
  (``out_of_hours``, sent before a ticket exists, with ``Re: <subject>``). In ``delivery_failed`` it
  is the subject of the mail that could not be delivered; ``not_sent``: mailbot never handed it to a
  server (an address no mail can be sent to), so the mail says so instead of a server's refusal.
- ``article_markdown``/``interim_markdown``: Markdown from the knowledge base; HTML templates
  convert it themselves, so callers pass no HTML. ``article_title``: shown above the article.
- ``customer_name``: the display name of the customer's address as it came; the renderer makes
  the greeting name from it (`names.greeting_name`: "Müller, Katrin" greets "Katrin Müller", an
  address or a company greets neutrally), so callers pass it unchanged.
- ``message``: plain text written by a 2nd-level agent (may be ""); shown as written, never
  interpreted as Markdown or template code. With a message, ``solved`` and ``agent_reply`` are a
  person's reply (`is_personal`): no "created automatically" footer, no Auto-Submitted header.
- ``agent_name``: the agent who wrote ``message``, signed under the closing above
  ``support_name`` ("Katrin Berger" / "Aktivo Support"); ignored without a message.
- ``due_text``: a ready, localised phrase (older callers); ``response_due`` wins when both are set.
- ``response_due``, ``resolution_due``, ``next_opening``: aware datetimes, already in the business
  calendar's zone (the templates format them, they do not convert them).
- ``overdue``: the due time has passed at the time of writing (`tickets.overdue.promise`): the mail
  says the request is overdue and has priority instead of promising a time; callers then pass no
  due time (a past time is never promised).
- ``severity``: a `Severity` value ("critical", "major", "minor", "cosmetic") or None for a question
  or wish (no SLA); in customer mails None also when the guess is not shown (`classify.disclosure`);
  ``severity_confidence``: the classifier's confidence (float);
  ``severity_reasons``: sentences explaining the guess, in the team's language
  (`mailbot.tickets.team_view.team_reasons`).
- ``state``: one of `STATUS_STATES` ("escalated": with the 2nd level, "answered", "solved");
  ``responded``: the team has already responded to the customer.
- ``parent_reference``: the incident ticket this one was grouped under; ``external_key``: the
  ticket's key in the external tracker (Jira).
- ``share_used``: the share of the response time used up (0.8; above 1 when overdue); ``breached``:
  the response target is missed.
- ``answer_by_mail``: a team member's reply to the notice goes to the customer; the answer a near
  miss suggests, sent on "OK": ``suggestion_title``, ``suggestion_markdown``, ``suggestion_article``
  (its id) and ``suggestion_confidence``.
- ``sender``, ``reason`` (``agent_reply_refused``): who replied to a notice and why it was not sent.
- ``erasure_closed``: an open ticket closed because its customer's data was erased (``reference``, and
  ``external_key`` when a Jira request still holds the data); no customer text.
- ``jira_erasure_refused``: the Jira request ``external_key`` of an erased customer's ticket could not
  be deleted (``http_status``: Jira's refusal, 403 a missing permission; None: Jira unreachable for too
  long), with the steps to erase it by hand; no customer text.
- ``review_ticket``: a store review reported a fault and became ticket ``reference`` (once per ticket).
  ``store_name``: "App Store" or "Google Play"; ``app_name``: the app as the client's replies name it;
  ``rating``: the stars, an int 1-5; ``review_number``: the review's number for ``mailbot reviews``
  ("R12"); ``review_title``/``review_body``: what the reviewer wrote (the body a bounded excerpt; data,
  never markup); ``language``: the review's language code; ``reason``: the decision's sentence;
  ``reply_state``: the "passed on" public reply, "draft" (waits for ``mailbot reviews approve``),
  "auto" (posted without a person) or None (none). The mail says the reviewer has no e-mail address.
- ``reviews_digest``: the daily list of one client's reviews that wait for a person (``support_name``
  names the client). ``drafts``: dicts of number, store_name, app_name, rating, language, excerpt,
  kind (the reply kind: thank, answer, passed_on, fixed, manual), text (the draft) and problems (the
  reply check's objections, list of str); ``persons``: dicts of number, store_name, app_name, rating,
  language, excerpt and reason; ``failed``: replies a store refused, dicts of number, store_name,
  app_name and error.
- ``reviews_polling_failed``: reading an app's reviews has failed since ``since`` (aware datetime),
  for ``days`` (float); ``app_id``: the Apple app id or the Google package; ``error``: one line;
  ``fix``: one sentence saying what to do; ``google_window``: Google Play reviews are now older than
  its 7-day API window before they could be read: the mail says reviews are being lost.
- ``recipient``: the address that rejected the mail (with the customer's name when it is the
  ticket's customer); ``error``: the SMTP response text.
- ``ranking``: (article_id, score) pairs, best first; ``rule_hits``: (name, reason) pairs;
  ``event``: "new", "follow_up" or "unverified_follow_up" (a mail about the ticket whose sender
  the receiving server could not verify: recorded, nothing else); ``language``: the ticket's
  (customer's) language code (the template language is the team's); ``customer``: the customer as
  the team sees it, name and address (`mailbot.tickets.team_view.customer_label`). Team subjects
  show the customer's subject through ``bare_subject``, so the reference stands once, in front.

The renderer adds ``lang`` (the template language code) itself, and for customer kinds
``personal`` (a person's reply, see above), ``greet`` (False when the agent's message opens with
its own salutation, so the mail does not greet twice) and ``sign`` (False when it ends with its own
closing: the mail is then the agent's letter, and what the mail adds goes to the footer).
From ``[branding]`` (`BrandingSettings`) it adds to every kind ``brand_name`` (None: no header),
``brand_accent`` and ``brand_on_accent`` (checked ``#rrggbb`` colours: the accent and the text colour
that reads on it), ``brand_signature`` (the lines of the closing block in the mail's language; default
``support_name`` alone, so () for team kinds) and ``brand_footer`` (legal lines of customer mails in
the mail's language; () when unset and for team kinds).

Templates are looked up along a search path, first match wins (`TemplateSettings.directories`): a
client's override folder holds only the files that differ, the base set holds all of them. Override
folders are checked at construction (`mailbot.reply.overrides`): names, syntax, a sample render.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from babel.dates import format_datetime
from jinja2 import BytecodeCache, FileSystemLoader, StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.bccache import Bucket
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from mailbot.config import BrandingSettings
from mailbot.domain import Language, Severity
from mailbot.errors import ConfigError
from mailbot.reply.agent_text import (
    closes_itself,
    opens_with_greeting,
    paragraphs_to_html,
    paragraphs_to_text,
)
from mailbot.reply.branding import text_on
from mailbot.reply.markdown import markdown_to_html, markdown_to_text
from mailbot.reply.names import greeting_name
from mailbot.reply.overrides import check_override_names, failure_at, sample_contexts
from mailbot.reply.subject import bare_subject, one_line, reply_subject

CUSTOMER_KINDS = (
    "answer",
    "acknowledgement",
    "followup_received",
    "solved",
    "agent_reply",
    "status",
    "out_of_hours",
)
TEAM_KINDS = (
    "team_notice",
    "sla_alert",
    "delivery_failed",
    "oncall_alert",
    "agent_reply_refused",
    "erasure_closed",
    "jira_erasure_refused",
    "review_ticket",
    "reviews_digest",
    "reviews_polling_failed",
)
KINDS = (*CUSTOMER_KINDS, *TEAM_KINDS)
PARTS = ("subject", "txt", "html")

_CUSTOMER_KEYS = frozenset({"reference", "subject", "support_name"})
REQUIRED_KEYS: dict[str, frozenset[str]] = {
    "answer": _CUSTOMER_KEYS | {"article_markdown"},
    "acknowledgement": _CUSTOMER_KEYS,
    "followup_received": _CUSTOMER_KEYS,
    "solved": _CUSTOMER_KEYS | {"message"},
    "agent_reply": _CUSTOMER_KEYS | {"message"},
    "status": _CUSTOMER_KEYS | {"state", "responded"},
    "out_of_hours": frozenset({"subject", "support_name", "next_opening"}),
    "team_notice": frozenset(
        {"reference", "subject", "customer", "reason", "language", "ranking", "rule_hits"}
        | {"body_excerpt", "event"}
    ),
    "sla_alert": frozenset(
        {"reference", "subject", "customer", "language", "severity", "response_due", "share_used", "breached"}
    ),
    "delivery_failed": frozenset({"recipient", "subject", "error"}),
    "agent_reply_refused": frozenset({"sender", "subject", "reason"}),
    "erasure_closed": frozenset({"reference"}),
    "jira_erasure_refused": frozenset({"reference", "external_key"}),
    "oncall_alert": frozenset(
        {"reference", "subject", "customer", "severity", "response_due", "body_excerpt"}
    ),
    "review_ticket": frozenset(
        {"reference", "store_name", "app_name", "rating", "review_number", "review_title", "review_body"}
        | {"language", "reason"}
    ),
    "reviews_digest": frozenset({"support_name", "drafts", "persons", "failed"}),
    "reviews_polling_failed": frozenset(
        {"store_name", "app_name", "app_id", "since", "days", "error", "fix"}
    ),
}
OPTIONAL_DEFAULTS: dict[str, dict[str, object]] = {
    "answer": {"customer_name": "", "article_title": None},
    "acknowledgement": {
        "customer_name": "",
        "interim_markdown": None,
        "due_text": None,
        "severity": None,
        "response_due": None,
        "overdue": False,
    },
    "followup_received": {"customer_name": "", "due_text": None, "response_due": None, "overdue": False},
    "solved": {"customer_name": "", "agent_name": None},
    "agent_reply": {"customer_name": "", "agent_name": None},
    "status": {
        "customer_name": "",
        "severity": None,
        "response_due": None,
        "resolution_due": None,
        "overdue": False,
    },
    "out_of_hours": {"customer_name": ""},
    "team_notice": {
        "severity": None,
        "severity_confidence": None,
        "severity_reasons": (),
        "response_due": None,
        "resolution_due": None,
        "parent_reference": None,
        "external_key": None,
        "answer_by_mail": False,  # a member's reply goes to the customer (tickets.agent_mail)
        "suggestion_title": None,  # a near miss: the best article, sent on "OK"
        "suggestion_markdown": None,
        "suggestion_article": None,
        "suggestion_confidence": None,
        "removed_attachments": (),  # "name (type): why" of attachments not forwarded (privacy.attachments)
        "original_withheld": None,  # why the original mail is not attached at all
    },
    "sla_alert": {},
    "delivery_failed": {"reference": None, "not_sent": False},
    "agent_reply_refused": {"reference": None},
    "erasure_closed": {"external_key": None},
    "jira_erasure_refused": {"http_status": None},
    "oncall_alert": {},
    "review_ticket": {
        "severity": None,
        "severity_confidence": None,
        "severity_reasons": (),
        "response_due": None,
        "resolution_due": None,
        "external_key": None,
        "reply_state": None,  # the "passed on" reply: "draft" waits for approval, "auto" is posted
    },
    "reviews_digest": {},
    "reviews_polling_failed": {"google_window": False},
}
TEAM_EVENTS = ("new", "follow_up", "unverified_follow_up")
STATUS_STATES = ("escalated", "answered", "solved")
REVIEW_REPLY_STATES = (None, "draft", "auto")
STORE_RATINGS = range(1, 6)
SEVERITIES = tuple(s.value for s in Severity)
BRAND_KEYS = frozenset({"brand_name", "brand_accent", "brand_on_accent", "brand_signature", "brand_footer"})
RESERVED_KEYS = frozenset({"lang", "personal", "greet", "sign"}) | BRAND_KEYS
# Kinds that carry an agent's words when their `message` is not empty: a person's reply (RFC 3834).
PERSONAL_KINDS = ("agent_reply", "solved")


def _partials() -> tuple[str, ...]:
    names = ["_layout.html.j2"]
    for lang in Language:
        names += [f"_customer.{lang.value}.txt.j2", f"_customer.{lang.value}.html.j2"]
        names.append(f"_severity.{lang.value}.j2")  # macros: plain words for the severity classes
        names.append(f"_reviews.{lang.value}.j2")  # macros: words of the team mails about store reviews
    return tuple(names)


PARTIALS = _partials()


def template_name(kind: str, language: Language, part: str) -> str:
    return f"{kind}.{language.value}.{part}.j2"


def required_templates() -> tuple[str, ...]:
    """Every file a complete template directory must contain."""
    names = [template_name(k, lang, part) for k in KINDS for lang in Language for part in PARTS]
    return (*names, *PARTIALS)


# --- filters --------------------------------------------------------------------------------------


def _markdown_filter(value: str | None) -> Markup:
    return markdown_to_html(value or "")


def _markdown_text_filter(value: str | None) -> str:
    return markdown_to_text(value or "")


def _quote_filter(value: str) -> str:
    """Mail-style quoting ("> ") of a multi-line text."""
    return "\n".join(f"> {line}" if line else ">" for line in value.splitlines())


def _paragraphs_filter(value: str | None) -> Markup:
    return paragraphs_to_html(value)


def _paragraphs_text_filter(value: str | None) -> str:
    return paragraphs_to_text(value)


def format_due_time(value: datetime | None, language: str) -> str:
    """A due time for a mail: de ``Dienstag, 26. Mai 2026, 10:00 Uhr``, en ``Tuesday, 26 May 2026,
    10:00 CEST``; "" for None.

    `value` must be aware and is shown in its own zone (the business calendar's), not converted.
    English names the zone because English-speaking customers often sit elsewhere; German mails
    go to customers in the calendar's zone.
    """
    if value is None:
        return ""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"due time {value.isoformat()} has no time zone; pass an aware datetime")
    if Language(language) is Language.DE:
        return format_datetime(value, "EEEE, d. MMMM y, HH:mm 'Uhr'", locale="de_DE")
    text = format_datetime(value, "EEEE, d MMMM y, HH:mm", locale="en_GB")
    zone = value.tzname()
    return f"{text} {zone}" if zone else text


def _re_subject(subject: str, fallback: str) -> str:
    """``"Re: <clean subject>"`` for a reply that has no ticket reference (yet)."""
    return f"Re: {bare_subject(subject) or one_line(fallback)}"


# --- Rendering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    personal: bool = False  # a person's reply: no Auto-Submitted header (see `is_personal`)


def is_personal(kind: str, context: Mapping[str, object]) -> bool:
    """Whether the mail is a person's reply: an agent's answer or solution with a message.

    Without a message, `agent_reply` and `solved` are notices the system writes about an agent's
    action, as automatic as an acknowledgement. The templates (no "created automatically" footer, the agent's
    name under the closing) and the outbox (no Auto-Submitted) both ask this one function.
    """
    message = context.get("message")
    return kind in PERSONAL_KINDS and isinstance(message, str) and bool(message.strip())


def _customer_values(kind: str, values: dict[str, object]) -> dict[str, object]:
    """Greeting and sign-off of a customer mail, decided here so that no caller has to."""
    personal = is_personal(kind, values)
    agent = " ".join(str(values.get("agent_name") or "").split())
    values |= {
        "customer_name": greeting_name(str(values.get("customer_name") or "")),
        "personal": personal,
        # a message that greets the customer itself ("Hallo Frau Müller,") gets no second greeting,
        # one that signs itself ("Viele Grüße\nKatrin", as Jira comments do) no second closing
        "greet": not (personal and opens_with_greeting(str(values["message"]))),
        "sign": not (personal and closes_itself(str(values["message"]))),
    }
    if "agent_name" in values:
        values["agent_name"] = agent if personal and "@" not in agent else None
    return values


def _brand_values(
    branding: BrandingSettings, kind: str, language: Language, values: Mapping[str, object]
) -> dict[str, object]:
    """The `[branding]` values a template of `kind` in `language` sees (see the module docstring)."""
    customer = kind in CUSTOMER_KINDS
    default_signature = (str(values["support_name"]),) if "support_name" in values else ()
    return {
        "brand_name": branding.name,
        "brand_accent": branding.accent_color,
        "brand_on_accent": text_on(branding.accent_color),
        "brand_signature": tuple(branding.signature.get(language) or default_signature),
        "brand_footer": tuple(branding.footer.get(language) or ()) if customer else (),
    }


def _check_review_ticket(values: Mapping[str, object]) -> None:
    """A rating or reply state the mail cannot describe is the caller's mistake: say so, not print it."""
    rating = values["rating"]
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in STORE_RATINGS:
        raise ValueError(f"review_ticket rating must be an int from 1 to 5, not {rating!r}")
    if values["reply_state"] not in REVIEW_REPLY_STATES:
        raise ValueError(
            f"review_ticket reply_state must be one of {REVIEW_REPLY_STATES}, not {values['reply_state']!r}"
        )


class CompiledInMemory(BytecodeCache):
    """Templates compiled once per process, kept by file and checked by their source's checksum.

    Every renderer checks the whole template set at start (`TemplateRenderer`): compiling the shipped
    ~110 templates took ~0.25 s each time, again for every client with an override folder and for
    every client restarted by a reload, though the files were the same. Jinja2's bytecode cache
    shares the compiled code and recompiles a file whose text changed. In memory only: compiled code
    read back from a file could be code someone else wrote."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)  # left empty when the source's checksum differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


# one per kind of environment: autoescaping is compiled into the code
_COMPILED = {html: CompiledInMemory() for html in (False, True)}


def template_environment(loader: FileSystemLoader, *, html: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        bytecode_cache=_COMPILED[html],
        autoescape=html,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["markdown"] = _markdown_filter
    env.filters["markdown_text"] = _markdown_text_filter
    env.filters["quote"] = _quote_filter
    env.filters["reply_subject"] = reply_subject
    env.filters["bare_subject"] = bare_subject  # team subjects name the reference once, up front
    env.filters["re_subject"] = _re_subject
    env.filters["paragraphs"] = _paragraphs_filter
    env.filters["paragraphs_text"] = _paragraphs_text_filter
    env.filters["due_time"] = format_due_time
    return env


class TemplateRenderer:
    """Renders one mail kind in one language; checks the whole template set at start-up.

    `directories` is a search path, first match wins: a client's override folder (only the files
    that differ), then a complete set. Every required template must be found somewhere on it, and
    every file that would be used must parse, or construction fails naming the file, line and fix.
    """

    def __init__(self, directories: Path | Sequence[Path], branding: BrandingSettings | None = None) -> None:
        self.directories = [Path(directories)] if isinstance(directories, str | Path) else list(directories)
        if not self.directories:
            raise ValueError("TemplateRenderer needs at least one template directory")
        self.branding = branding if branding is not None else BrandingSettings()
        for directory in self.directories:
            if not directory.is_dir():
                raise ConfigError(
                    f"template directory {directory} does not exist: point [templates] path (or overrides) "
                    "in the configuration at an existing folder, or leave it out for the shipped templates"
                )
        for override in self.directories[:-1]:
            check_override_names(override, required_templates())
        missing = [n for n in required_templates() if not any((d / n).is_file() for d in self.directories)]
        if missing:
            where = " or ".join(str(d) for d in self.directories)
            raise ConfigError(
                f"template directory {where} lacks {', '.join(missing)}: add the "
                "missing file(s), e.g. by copying the same kind in the other language and translating it"
            )
        loader = FileSystemLoader(self.directories, encoding="utf-8")
        self._text_env = template_environment(loader, html=False)
        self._html_env = template_environment(loader, html=True)
        own_partials = [p.name for d in self.directories[:-1] for p in sorted(d.glob("_*.j2"))]
        for name in (*required_templates(), *own_partials):
            self._compile(name)
        self._try_overrides()

    def _compile(self, name: str) -> None:
        """Parse one template as the search path finds it; errors name that file and line."""
        try:
            self._env_for(name).get_template(name)
        except TemplateSyntaxError as exc:
            raise ConfigError(
                f"{exc.filename or self._found(name)}:{exc.lineno}: template syntax error: {exc.message}; "
                "fix the template (compare it with the shipped file of the same name)"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{self._found(name)}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
            ) from exc

    def _try_overrides(self) -> None:
        """Render every kind an override touches with sample values (`mailbot.reply.overrides`)."""
        files = {path.name for directory in self.directories[:-1] for path in directory.glob("*.j2")}
        every_kind = any(name.startswith("_") for name in files)  # a partial frames many kinds
        for kind in KINDS:
            for language in Language:
                if not every_kind and not any(template_name(kind, language, p) in files for p in PARTS):
                    continue
                for context in sample_contexts(REQUIRED_KEYS[kind], OPTIONAL_DEFAULTS[kind]):
                    try:
                        self.render(kind, language, context)
                    except Exception as exc:  # any failure of an edited template: report it at start
                        where = failure_at(exc, self.directories, template_name(kind, language, "*"))
                        message = getattr(exc, "message", None) or str(exc)
                        raise ConfigError(
                            f"{where}: the {kind} mail ({language.value}) fails with sample values: "
                            f"{message}; use only the variables this kind has (listed in "
                            "mailbot/reply/render.py), spelt as there, or compare with the shipped file"
                        ) from exc

    def _found(self, name: str) -> Path:
        return next((d / name for d in self.directories if (d / name).is_file()), self.directories[-1] / name)

    def _env_for(self, name: str) -> ImmutableSandboxedEnvironment:
        return self._html_env if name.endswith(".html.j2") else self._text_env

    def with_branding(self, branding: BrandingSettings) -> TemplateRenderer:
        """The same templates, compiled once, signed with another client's branding: clients that
        share a template set share the compiled templates (about 0.75 MB), not a copy each."""
        twin = copy.copy(self)
        twin.branding = branding
        return twin

    def render(self, kind: str, language: Language, context: Mapping[str, object]) -> Rendered:
        """Render `kind` in `language`; raises UndefinedError naming missing context keys."""
        if kind not in REQUIRED_KEYS:
            raise ValueError(f"unknown mail kind {kind!r}; known: {', '.join(KINDS)}")
        language = Language(language)
        missing = sorted(REQUIRED_KEYS[kind] - context.keys())
        if missing:
            raise UndefinedError(f"mail kind {kind!r} needs context key(s): {', '.join(missing)}")
        reserved = sorted(RESERVED_KEYS & context.keys())
        if reserved:
            raise ValueError(f"context key(s) {', '.join(reserved)} are set by the renderer")
        values: dict[str, object] = {**OPTIONAL_DEFAULTS[kind], **context, "lang": language.value}
        values |= _brand_values(self.branding, kind, language, values)
        if kind in CUSTOMER_KINDS:
            values = _customer_values(kind, values)
        if kind == "team_notice" and values["event"] not in TEAM_EVENTS:
            raise ValueError(f"team_notice event must be one of {TEAM_EVENTS}, not {values['event']!r}")
        if kind == "status" and values["state"] not in STATUS_STATES:
            raise ValueError(f"status state must be one of {STATUS_STATES}, not {values['state']!r}")
        if kind == "review_ticket":
            _check_review_ticket(values)
        if "severity" in values and values["severity"] is not None and values["severity"] not in SEVERITIES:
            raise ValueError(f"severity must be None or one of {SEVERITIES}, not {values['severity']!r}")

        def render_part(part: str) -> str:
            name = template_name(kind, language, part)
            try:
                return self._env_for(name).get_template(name).render(values)
            except UndefinedError as exc:
                raise UndefinedError(f"{name}: {exc.message}") from exc

        return Rendered(
            subject=one_line(render_part("subject")),
            text=render_part("txt"),
            html=render_part("html"),
            personal=bool(values.get("personal")),
        )
