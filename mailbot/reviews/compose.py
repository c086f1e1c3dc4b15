"""The draft of a public reply to a store review: a phrasing from `templates/reviews/`, fitted and checked.

Templates live in `templates/reviews/<lang>/<kind>/<n>.j2`, one file per phrasing (a client's override
folder may add or replace phrasings). Several phrasings per kind keep a page of replies from reading like
a bot; which one a review gets is decided by its id (a hash, so a re-run drafts the same words), and the
caller may name the phrasings used just before (`ReplyContext.recent_phrasings`) so that neighbours on a
page differ. German replies use "Sie"; no reply names the reviewer.

The review's text never reaches a template, not even as a value: the variables are the client's app name,
sign-off and support link, the knowledge-base answer, the ticket reference and the fixed version. The
environment is sandboxed with `StrictUndefined`, like the mail renderer (`mailbot.reply.render`).

Length rule (documented, never a silent cut): a reply aims at `TARGET` characters in every store (Google
refuses more than 350; Apple takes more, but nobody reads a long reply). For an answer, the knowledge-base
text is the only part that shrinks: whole sentences from its start while they fit (`excerpt.fit`); an
article's `review_answer` is used as written. A phrasing that still does not fit is skipped for the next
one; on Apple a second round allows up to `checker.LIMITS[APPLE]`. Every candidate must pass
`checker.check_reply`; when none does, the result is a `Refusal` that says why, and a person writes.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mailbot.domain import Language
from mailbot.kb.model import Article
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.reviews import excerpt
from mailbot.reviews.checker import LIMITS, Problem, check_reply
from mailbot.reviews.decide import ReviewAction, ReviewDecision, ReviewFacts
from mailbot.stores.model import Store

TARGET = 350  # characters every reply aims at (Google's limit)
SHIPPED_REVIEW_TEMPLATES = SHIPPED_TEMPLATES / "reviews"
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+-]{0,19}")
_REFERENCE = re.compile(r"[A-Z][A-Z0-9]{0,11}-[0-9A-Za-z]{1,16}")


class ReplyKind(StrEnum):
    THANK = "thank"
    ANSWER = "answer"
    PASSED_ON = "passed_on"  # the review became a ticket
    FIXED = "fixed"  # the ticket behind the review is solved: the follow-up that replaces the first reply


@dataclass(frozen=True)
class ReplyContext:
    """What the client and the rest of mailbot add to a reply; the review itself is in `ReviewFacts`.

    `sign_off`: per language ("Ihr Aktivo-Team"); `support_link`: the one link a reply may carry (it
    must be on the checker's allow-list, with `allowed_links`); `article`: the knowledge-base article of an
    ANSWER; `ticket_reference`: shown in a PASSED_ON reply when set; `solved` turns a TICKET decision into
    the FIXED follow-up, naming `fixed_version` when known. The store (and so the length budget) is
    `ReviewFacts.store`.
    """

    app_name: str
    sign_off: Mapping[Language, str] = field(default_factory=dict)
    support_link: str = ""
    allowed_links: tuple[str, ...] = ()
    article: Article | None = None
    ticket_reference: str = ""
    solved: bool = False
    fixed_version: str = ""
    recent_phrasings: tuple[str, ...] = ()  # phrasings drafted just before (same app): avoided if possible
    # a client's template folders ([templates] path): their `reviews/` subfolders come before the shipped one
    template_dirs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Draft:
    text: str
    kind: ReplyKind
    phrasing: str  # "de/thank/3": the template it came from


@dataclass(frozen=True)
class Refusal:
    """No reply is drafted: a person writes one (or decides that none is needed)."""

    reason: str
    kind: ReplyKind | None = None
    problems: tuple[Problem, ...] = ()


def draft_reply(decision: ReviewDecision, facts: ReviewFacts, context: ReplyContext) -> Draft | Refusal:
    """The reply for `decision`, or why there is none."""
    kind = _kind(decision, context)
    if kind is None:
        return Refusal(f"a person decides: {decision.reason}")
    if facts.language is None:
        return Refusal("we do not write the review's language", kind)
    if kind is ReplyKind.ANSWER:
        article = context.article
        if article is None:
            return Refusal("an answer needs its knowledge-base article", kind)
        if article.language != facts.language:
            return Refusal(
                f"article {article.id} has no {facts.language} version: a person replies in the review's"
                " language",
                kind,
            )
    directories = (*(folder / "reviews" for folder in context.template_dirs), SHIPPED_REVIEW_TEMPLATES)
    phrasings = available_phrasings(directories, facts.language, kind)
    if not phrasings:
        return Refusal(
            f"no templates for {facts.language}/{kind} in {', '.join(map(str, directories))}", kind
        )
    job = _Job(facts, context, kind, facts.language, context.article if kind is ReplyKind.ANSWER else None)
    return _first_that_passes(job, directories, order(phrasings, facts.review_id, context))


@dataclass(frozen=True)
class _Job:
    facts: ReviewFacts
    context: ReplyContext
    kind: ReplyKind
    language: Language
    article: Article | None  # ANSWER only


def _kind(decision: ReviewDecision, context: ReplyContext) -> ReplyKind | None:
    if decision.action is ReviewAction.THANK:
        return ReplyKind.THANK
    if decision.action is ReviewAction.ANSWER:
        return ReplyKind.ANSWER
    if decision.action is ReviewAction.TICKET:
        return ReplyKind.FIXED if context.solved else ReplyKind.PASSED_ON
    return None


def available_phrasings(directories: Sequence[Path], language: Language, kind: ReplyKind) -> tuple[str, ...]:
    """'de/thank/1' ... for every template file of the kind in any directory (the first one found wins)."""
    names = set()
    for directory in directories:
        folder = directory / language.value / kind.value
        if folder.is_dir():
            names.update(path.stem for path in folder.glob("*.j2") if path.is_file())
    return tuple(f"{language.value}/{kind.value}/{name}" for name in sorted(names))


def order(phrasings: Sequence[str], review_id: str, context: ReplyContext) -> tuple[str, ...]:
    """The phrasings in the order to try them for this review: a fixed shuffle by the review's id, with
    the ones drafted just before moved to the end (kept, so that a reply is still found)."""

    def rank(phrasing: str) -> str:
        return hashlib.sha256(f"{review_id}\0{phrasing}".encode()).hexdigest()

    shuffled = sorted(phrasings, key=rank)
    recent = set(context.recent_phrasings)
    return tuple([p for p in shuffled if p not in recent] + [p for p in shuffled if p in recent])


def _budgets(store: Store) -> tuple[int, ...]:
    limit = LIMITS[store]
    return (TARGET,) if limit <= TARGET else (TARGET, limit)


def _first_that_passes(
    job: _Job, directories: tuple[Path, ...], phrasings: tuple[str, ...]
) -> Draft | Refusal:
    facts, context, kind = job.facts, job.context, job.kind
    env = _environment(directories)
    review_text = "\n".join(part for part in (facts.title, facts.body) if part)
    failures: dict[str, str] = {}
    problems: tuple[Problem, ...] = ()
    for budget in _budgets(facts.store):
        for phrasing in phrasings:
            text = _render(env, phrasing, job, budget, failures)
            if text is None:
                continue
            if len(text) > budget:
                failures[phrasing] = f"{len(text)} characters, more than {budget}"
                continue
            found = check_reply(text, review_text, facts.store, context.allowed_links, author=facts.author)
            if not found:
                return Draft(text, kind, phrasing)
            failures[phrasing] = "; ".join(problem.reason for problem in found)
            problems = found
    summary = " | ".join(f"{phrasing}: {why}" for phrasing, why in failures.items())
    return Refusal(f"no phrasing of {kind} fits and passes the reply check ({summary})", kind, problems)


def _render(
    env: ImmutableSandboxedEnvironment, phrasing: str, job: _Job, budget: int, failures: dict[str, str]
) -> str | None:
    """The phrasing's text within `budget` where the answer can shrink, or None (the reason in `failures`)."""
    context, article = job.context, job.article
    values: dict[str, object] = {
        "app_name": " ".join(context.app_name.split()),
        "support_link": context.support_link.strip(),
        "reference": context.ticket_reference if _REFERENCE.fullmatch(context.ticket_reference) else "",
        "version": context.fixed_version if _VERSION.fullmatch(context.fixed_version) else "",
        "answer": "",
    }
    sign_off = " ".join(context.sign_off.get(job.language, "").split())

    def text(answer: str = "") -> str:
        return "\n".join(
            part for part in (tidy(template.render(values | {"answer": answer})), sign_off) if part
        )

    try:
        template = env.get_template(f"{phrasing}.j2")
        if article is None:
            return text()
        answer = article.review_answer
        if not answer:
            room = budget - len(text()) - 1
            answer = excerpt.fit(excerpt.sentences(article.body, job.language), room)
            if not answer:
                failures[phrasing] = (
                    f"the first sentence of article {article.id} does not fit the {room} characters"
                    " left: give the article a short 'review_answer'"
                )
                return None
        return text(answer)
    except Exception as exc:  # a client's template is code: any failure skips that phrasing
        failures[phrasing] = f"template {phrasing}.j2 failed: {type(exc).__name__}: {exc}"
        return None


def tidy(text: str) -> str:
    """Paragraphs (blank-line separated in the template) on one line each, spaces collapsed."""
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n", text))
    return "\n".join(paragraph for paragraph in paragraphs if paragraph)


@functools.lru_cache(maxsize=32)
def _environment(directories: tuple[Path, ...]) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader([str(directory) for directory in directories]),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
