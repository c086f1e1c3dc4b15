"""The further demo clients' sample mails are well-formed and addressed to their own client, so the demo
shows the pipeline, not parse errors or mail for the wrong client."""

from __future__ import annotations

import email
import json
import tomllib
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.kb import load_knowledge_base
from mailbot.paths import DEMO_CLIENTS

CLIENTS = sorted(path for path in DEMO_CLIENTS.iterdir() if (path / "client.toml").is_file())
SAMPLES = [sample for client in CLIENTS for sample in sorted((client / "samples").glob("*.eml"))]


def parse(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_demo_clients_have_five_or_six_numbered_samples():
    assert "kerbside" in [client.name for client in CLIENTS]
    for client in CLIENTS:
        samples = sorted((client / "samples").glob("*.eml"))
        assert 5 <= len(samples) <= 6
        assert [path.name[:3] for path in samples] == [f"{n:02d}-" for n in range(1, len(samples) + 1)]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: f"{path.parents[1].name}/{path.name}")
def test_sample_parses_without_defects_and_goes_to_its_clients_address(path: Path):
    message = parse(path)
    for part in message.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
        if not part.is_multipart():
            assert part.get_content().strip()
    for name in ("Message-ID", "Date", "From", "To", "Subject"):
        assert len(message.get_all(name, [])) == 1, name
    address = tomllib.loads((path.parents[1] / "client.toml").read_text(encoding="utf-8"))["support"][
        "address"
    ]
    assert [to.addr_spec for to in message["To"].addresses] == [address]
    assert message["From"].addresses[0].domain in ("example.org", "example.net")
    assert message["Date"].datetime.tzinfo is not None


@pytest.mark.parametrize("client", CLIENTS, ids=lambda path: path.name)
def test_the_mix_of_samples_and_cases(client: Path):
    """Two answerable, one fault, one out of scope (cases.jsonl says which) and one auto-reply."""
    cases = [json.loads(line) for line in (client / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    kb = load_knowledge_base(client / "knowledge_base")
    actions = {article.id: article.action for article in kb.articles}
    answered = [case for case in cases if case["expected"] and actions[case["expected"]] == "answer"]
    faults = [case for case in cases if case["expected"] and actions[case["expected"]] == "escalate"]
    assert len(answered) == 2 and len(faults) == 1
    assert len([case for case in cases if case["expected"] is None]) == 1
    assert all((client / case["eml"]).is_file() for case in cases)
    auto = [
        parse(path) for path in sorted((client / "samples").glob("*.eml")) if parse(path)["Auto-Submitted"]
    ]
    assert [message["Auto-Submitted"] for message in auto] == ["auto-replied"]
    languages = {article.language.value for article in kb.articles}
    assert languages == {"de", "en"}
    by_topic: dict[str, set[str]] = {}
    for article in kb.articles:
        by_topic.setdefault(article.id, set()).add(article.language.value)
    assert all(found == {"de", "en"} for found in by_topic.values())  # every topic in both languages
    assert len(by_topic) >= 10 and len(kb.out_of_scope.examples) >= 15
