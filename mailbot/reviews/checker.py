"""What a public reply to a store review must never contain, each problem with a one-line reason.

A store reply is public, permanent and signed with the client's name. Apple's guidelines ask for replies
"targeted to the user's comments" without "personal information, spam, or marketing"; Google's for no
request for a higher rating and no incentives. So the checker blocks, whatever wrote the text (a
template, a knowledge-base article, a person editing a draft):

- personal data taken from the review: the reviewer's nickname, numbers that look like an order or
  account number, and any four words in a row copied from the review (a quote repeats what the
  reviewer may regret having posted, and it is how a name or an address slips through);
- any e-mail address or phone number (a support address belongs on the support page, not in a reply
  that search engines index), and any link or domain not on the client's allow-list;
- asking for a (better) rating or stars, and incentives (discounts, vouchers, free months);
- HTML, Markdown or entities (the stores show them as typed);
- more characters than the store takes (`LIMITS`; Google refuses more than 350).

Every check is a named predicate in `CHECKS`, so a blocked draft shows all its problems at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from mailbot.stores.model import Store

# what each store takes at most (code points). Google refuses more than 350; Apple takes far more, but a
# reply of more than a few lines is not read, so 600 is our ceiling there (the composer aims at 350)
LIMITS: dict[Store, int] = {Store.GOOGLE: 350, Store.APPLE: 600}
COPIED_WORDS = 4  # this many words in a row from the review count as a quote
SHOWN = 40  # characters of an offending piece shown in a reason


@dataclass(frozen=True)
class Problem:
    check: str  # the CHECKS row that found it
    reason: str  # one line, naming the offending piece


@dataclass(frozen=True)
class ReplyUnderCheck:
    text: str
    review_text: str
    store: Store
    allowed_links: tuple[str, ...]
    author: str


def _shown(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


# --- personal data from the review ------------------------------------------------------------------------
_WORD = re.compile(r"\w+")
# words too common to make a quote on their own: four of these in a row are no quote
_COMMON_WORDS = (
    "der die das den dem des ein eine einen einem einer und oder aber ich sie es wir ihr ist sind war hat"
    " habe mit für von zu zum zur auf in im an am bei nach aus um so wie auch noch nur nicht the a an and"
    " or but i you it we they is are was be to of in on at for with from this that my your our not"
)
_COMMON = frozenset(_COMMON_WORDS.split())
_CODE = re.compile(r"(?<![\w.])(?=[\w-]*\d)[A-Za-z0-9][\w-]{3,}(?![\w])")  # contains a digit, 4+ characters


def _digits(token: str) -> int:
    return sum(char.isdigit() for char in token)


def check_copied(reply: ReplyUnderCheck) -> str | None:
    """Four words in a row from the review (not counting runs of only the most common words)."""
    review = [word for word in _WORD.findall(_fold(reply.review_text))]
    if len(review) < COPIED_WORDS:
        return None
    grams = {tuple(review[i : i + COPIED_WORDS]) for i in range(len(review) - COPIED_WORDS + 1)}
    words = _WORD.findall(_fold(reply.text))
    for i in range(len(words) - COPIED_WORDS + 1):
        gram = tuple(words[i : i + COPIED_WORDS])
        if gram in grams and not all(word in _COMMON for word in gram):
            return f'quotes the review: "{" ".join(gram)}" (replies never repeat what the reviewer wrote)'
    return None


def check_author(reply: ReplyUnderCheck) -> str | None:
    """The reviewer's nickname (personal data, even when it is not a real name)."""
    name = " ".join(reply.author.split())
    if len(name) < 3:
        return None
    if re.search(rf"(?<!\w){re.escape(_fold(name))}(?!\w)", _fold(reply.text)):
        return f"names the reviewer ('{_shown(name)}'): the nickname is personal data"
    return None


def check_review_numbers(reply: ReplyUnderCheck) -> str | None:
    """An order, account or transaction number from the review (a token of 4+ characters with 4+ digits)."""
    review_codes = {_fold(code) for code in _CODE.findall(reply.review_text) if _digits(code) >= 4}
    for code in _CODE.findall(reply.text):
        if _fold(code) in review_codes:
            return (
                f"repeats a number from the review ('{_shown(code)}'): order and account numbers are personal"
            )
    return None


# --- addresses, phone numbers, links --------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b")
_PHONE = re.compile(r"(?<![\w.-])(?:\+|00)?\d[\d ()/.-]{5,}\d(?![\w-])")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_TLDS = (
    "com|de|net|org|io|app|co|uk|at|ch|eu|info|biz|me|ly|gl|to|tv|xyz|page|dev|ai|shop|store|online|site|link"
    "|fr|it|es|nl|be|pl|us|ru|cn|gg|gd"
)
_DOMAIN = re.compile(
    rf"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})\b(?:/[^\s]*)?", re.I
)


def check_email(reply: ReplyUnderCheck) -> str | None:
    match = _EMAIL.search(reply.text)
    if match:
        return f"contains an e-mail address ('{_shown(match.group())}'): point to the support page instead"
    return None


def check_phone(reply: ReplyUnderCheck) -> str | None:
    text = _DATE.sub(" ", reply.text)
    for match in _PHONE.finditer(text):
        if _digits(match.group()) >= 7:
            return f"contains a phone number ('{_shown(match.group())}'): point to the support page instead"
    return None


def _allowed(link: str, allowed: Collection[str]) -> bool:
    def parts(url: str) -> tuple[str, str]:
        split = urlsplit(url if "://" in url else f"https://{url}")
        return (split.hostname or "").removeprefix("www."), split.path.rstrip("/.,;:!?)")

    host, path = parts(link)
    for entry in allowed:
        allowed_host, allowed_path = parts(entry.strip())
        if host == allowed_host and (path + "/").startswith(allowed_path + "/"):
            return True
    return False


def check_links(reply: ReplyUnderCheck) -> str | None:
    """Every link and bare domain must be (under) an allow-listed link of the client."""
    text = _EMAIL.sub(" ", reply.text)
    for match in [*_URL.finditer(text), *_DOMAIN.finditer(_URL.sub(" ", text))]:
        link = match.group().rstrip(".,;:!?)")
        if not _allowed(link, reply.allowed_links):
            return f"links to '{_shown(link)}', which is not on the client's allow-list"
    return None


# --- rating requests and incentives -----------------------------------------------------------------------
_RATING = re.compile(
    r"\b(?:\d|ein|zwei|drei|vier|fünf|one|two|three|four|five)[- ]?(?:sterne?n?|stars?)\b"
    r"|\bmehr sterne|\bmore stars|\bsterne (?:vergeben|geben|hinzufügen)"
    r"|\b(?:bewerten|bewertet) sie (?:uns|die app|unsere app)?\s*(?:neu|erneut|besser|noch ?mal|nochmals)?"
    r"|\b(?:ihre|deine|eure) bewertung (?:\w+ ){0,2}(?:ändern|anpassen|aktualisieren|überdenken|erhöhen"
    r"|verbessern|überarbeiten)"
    r"|\b(?:bessere|höhere) bewertung|\bbewertung (?:zu )?(?:ändern|anheben|erhöhen)"
    r"|\b(?:bitte|please) (?:\w+ ){0,3}(?:bewerten|rate|review)\b"
    r"|\b(?:update|change|revise|reconsider|raise|edit|improve|increase|adjust) (?:your|the)"
    r" (?:rating|review|stars)"
    r"|\b(?:re-?)?rate (?:us|the app|our app)\b|\bleave (?:us )?an? (?:rating|review)"
    r"|\b(?:better|higher) (?:rating|review)",
    re.IGNORECASE,
)
_INCENTIVE = re.compile(
    r"\b(?:discount\w*|vouchers?|coupons?|promo ?codes?|gift ?cards?|cashback|rewards?|rabatt\w*|gutschein\w*"
    r"|aktionscodes?|geschenk\w*|belohnung\w*|prämie\w*|freimonat\w*|gratismonat\w*)\b"
    r"|\bfree (?:months?|weeks?|years?|premium|upgrade|subscription|trial extension)\b"
    r"|\b(?:\d+|ein|einen|zwei|drei|one|two|three) (?:\w+ )?(?:months?|weeks?|monate?n?|wochen) "
    r"(?:\w+ )?(?:free|gratis|kostenlos|umsonst|geschenkt)"
    r"|\b(?:gratis|kostenlose?[nrsm]?|geschenkte?[nrsm]?) (?:\w+ )?"
    r"(?:monate?n?|wochen|premium|upgrade|abo\w*)"
    r"|\d+ ?%\s*(?:off|rabatt|günstiger|discount)",
    re.IGNORECASE,
)


def check_rating_request(reply: ReplyUnderCheck) -> str | None:
    """Asking for a rating, a better one, or stars (both stores forbid it)."""
    match = _RATING.search(reply.text)
    if match:
        return f"asks for a rating or stars ('{_shown(match.group())}'): the stores forbid it"
    return None


def check_incentive(reply: ReplyUnderCheck) -> str | None:
    """Discounts, vouchers, free months: an incentive for a rating (both stores forbid it)."""
    match = _INCENTIVE.search(reply.text)
    if match:
        return f"offers an incentive ('{_shown(match.group())}'): the stores forbid rewards around reviews"
    return None


# --- markup and length --------------------------------------------------------------------------------------
_MARKUP = re.compile(
    r"<\s*/?\s*[a-zA-Z][^>]*>|<!--|&(?:[a-zA-Z]{2,8}|#\d{1,7}|#x[0-9a-fA-F]{1,6});"
    r"|\*\*[^*\n]+\*\*|__[^_\n]+__|\[[^\]\n]*\]\([^)\n]*\)|^#{1,6} |^```|\{\{|\{%"
)


def check_markup(reply: ReplyUnderCheck) -> str | None:
    """HTML tags, entities, Markdown or template syntax: the stores show them as typed."""
    for line in reply.text.split("\n"):
        match = _MARKUP.search(line)
        if match:
            return f"contains markup ('{_shown(match.group())}'): store replies are plain text"
    return None


def check_length(reply: ReplyUnderCheck) -> str | None:
    limit = LIMITS[reply.store]
    if len(reply.text) > limit:
        return f"{len(reply.text)} characters, more than the {limit} {reply.store} takes"
    if not reply.text.strip():
        return "the reply is empty"
    return None


CHECKS: tuple[tuple[str, Callable[[ReplyUnderCheck], str | None]], ...] = (
    ("copied_text", check_copied),
    ("reviewer_name", check_author),
    ("review_number", check_review_numbers),
    ("email", check_email),
    ("phone", check_phone),
    ("link", check_links),
    ("rating_request", check_rating_request),
    ("incentive", check_incentive),
    ("markup", check_markup),
    ("length", check_length),
)


def check_reply(
    text: str, review_text: str, store: Store, allowed_links: Collection[str] = (), *, author: str = ""
) -> tuple[Problem, ...]:
    """Every problem of `text` as a public reply to the review `review_text` (title and body) in `store`.

    `allowed_links`: the client's support links (a link is allowed when it is one of them or below one);
    `author`: the reviewer's nickname as the store shows it. An empty result means the reply may be posted.
    """
    reply = ReplyUnderCheck(text, review_text, store, tuple(allowed_links), author)
    problems = []
    for name, check in CHECKS:
        reason = check(reply)
        if reason is not None:
            problems.append(Problem(name, reason))
    return tuple(problems)
