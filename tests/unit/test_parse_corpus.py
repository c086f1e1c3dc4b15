"""Real-world corpora: every message parses or is quarantined with a reason, nothing else.

Data: the CPython email test messages (hand-made edge cases) and a SpamAssassin sample, in the
``shared`` directory beside the repository. Run with ``-s`` to see the counts.
"""

import re
from collections import Counter
from pathlib import Path

import pytest

from mailbot.domain import ParsedMail
from mailbot.errors import Quarantine
from mailbot.ingest.keys import content_keys
from mailbot.parse import message_id_of, parse_mail

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CORPORA = {
    "python_testdata": DATA / "raw_emails_python_testdata" / "eml",
    "spamassassin": DATA / "raw_emails_spamassassin" / "eml",
}
# CPython's set is mostly fragments without a From header or with deliberately broken MIME
MAX_QUARANTINED = {"python_testdata": 0.25, "spamassassin": 0.02}
KNOWN_REASONS = ("empty message:", "not an e-mail:", "no sender:", "broken MIME:")
MOJIBAKE = re.compile("Ã[\x80-\xbf¡-¿]")


def _results(directory: Path) -> dict[str, ParsedMail | Quarantine]:
    results: dict[str, ParsedMail | Quarantine] = {}
    for path in sorted(directory.glob("*.eml")):
        try:
            results[path.name] = parse_mail(path.read_bytes())
        except Quarantine as exc:
            results[path.name] = exc
    return results


@pytest.fixture(scope="module", params=sorted(CORPORA))
def corpus(request) -> tuple[str, dict[str, ParsedMail | Quarantine]]:
    directory = CORPORA[request.param]
    if not directory.is_dir():
        pytest.skip(f"corpus {request.param} not found at {directory}")
    return request.param, _results(directory)


def test_every_message_parses_or_is_quarantined_for_a_known_reason(corpus):
    name, results = corpus
    quarantined = {file: r.reason for file, r in results.items() if isinstance(r, Quarantine)}
    reasons = Counter(reason.split(":")[0] for reason in quarantined.values())
    print(f"\n{name}: {len(results)} messages, {len(quarantined)} quarantined {dict(reasons)}")
    for file, reason in sorted(quarantined.items()):
        print(f"  {file}: {reason}")
    assert results, f"no .eml files in corpus {name}"
    unexpected = {f: r for f, r in quarantined.items() if not r.startswith(KNOWN_REASONS)}
    assert not unexpected, f"library errors turned into quarantine: {unexpected}"
    assert len(quarantined) <= MAX_QUARANTINED[name] * len(results)


def test_parsed_messages_are_complete(corpus):
    _, results = corpus
    for file, mail in results.items():
        if isinstance(mail, Quarantine):
            continue
        assert mail.message_id.startswith("<") and mail.message_id.endswith(">"), file
        assert mail.text.strip() == "" or mail.body.strip(), f"{file}: body empty although text is not"
        assert not MOJIBAKE.search(mail.text), f"{file}: mojibake in text"
        assert "\ufffd" not in mail.text, f"{file}: replacement character in text"


def test_spamassassin_sample_is_readable():
    directory = CORPORA["spamassassin"]
    if not directory.is_dir():
        pytest.skip(f"corpus not found at {directory}")
    results = _results(directory)
    parsed = [m for m in results.values() if isinstance(m, ParsedMail)]
    with_text = sum(1 for m in parsed if m.text.strip())
    html_only = [m for m in parsed if m.content_type == "text/html"]
    print(f"\nspamassassin: {len(parsed)} parsed, {with_text} with text, {len(html_only)} HTML-only")
    assert with_text == len(parsed)
    # HTML declared as text/plain (3 spam mails) stays as written; declared HTML is converted
    assert html_only
    assert not [m.subject for m in html_only if re.search(r"<(html|body|p|div|br)\b", m.text, re.I)]


def test_ingest_key_equals_the_parsed_message_id(corpus):
    """Ingest de-duplicates on message_id_of() before parsing; threading compares parse results."""
    name, results = corpus
    for file, result in results.items():
        if isinstance(result, ParsedMail):
            raw = (CORPORA[name] / file).read_bytes()
            assert message_id_of(raw) == result.message_id, file
            assert content_keys(raw).message_id == result.message_id, file
