"""The knowledge-base loader: every problem kind with its file and line, and the shipped articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.domain import Language
from mailbot.errors import ConfigError
from mailbot.kb import (
    Article,
    KnowledgeBase,
    KnowledgeBaseError,
    Problem,
    check_knowledge_base,
    load_knowledge_base,
)
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE

GOOD_DE = """\
---
id: password-reset
title: Passwort zurücksetzen
language: de
tags: [account, login]
examples:
  - Ich habe mein Passwort vergessen
  - Wie kann ich mein Passwort ändern?
---
Tippen Sie auf **Passwort vergessen**.
"""

GOOD_EN = """\
---
id: password-reset
title: Reset your password
language: en
examples:
  - I forgot my password
---
Tap **Forgot password**.
"""


def article_text(front: str, body: str = "Answer.") -> str:
    return f"---\n{front}---\n{body}\n"


BASE = "id: topic\ntitle: Topic\nlanguage: en\n"

# (case name, file text, expected line, expected fragment of the message)
BROKEN = [
    ("no front matter", "# Just Markdown\n", 1, "does not start with front matter"),
    ("unclosed front matter", "---\nid: x\ntitle: X\n", 1, "not closed"),
    ("empty front matter", "---\n---\nAnswer\n", 1, "front matter is empty"),
    ("yaml syntax", article_text(BASE + "examples:\n  - ok\n  - [broken\n"), 7, "not valid YAML"),
    ("yaml colon in text", article_text("id: t\ntitle: Hilfe: Login\nlanguage: en\n"), 3, "not valid YAML"),
    ("yaml bad indent", article_text("id: x\n  title: y\n"), 3, "not valid YAML"),
    ("not a mapping", article_text("- a\n- b\n"), 2, "not a list of 'key: value' lines"),
    ("missing id", article_text("title: T\nlanguage: en\nexamples:\n  - q\n"), 1, "required key 'id'"),
    ("missing title", article_text("id: t\nlanguage: en\nexamples:\n  - q\n"), 1, "required key 'title'"),
    ("missing language", article_text("id: t\ntitle: T\nexamples:\n  - q\n"), 1, "required key 'language'"),
    ("missing examples", article_text(BASE), 1, "required key 'examples'"),
    (
        "bad id",
        article_text("id: Password Reset\ntitle: T\nlanguage: en\nexamples: [q]\n"),
        2,
        "id 'Password",
    ),
    ("id is a list", article_text("id: [a]\ntitle: T\nlanguage: en\nexamples: [q]\n"), 2, "id must be"),
    ("empty title", article_text("id: t\ntitle:\nlanguage: en\nexamples: [q]\n"), 3, "title must be"),
    ("bad language", article_text("id: t\ntitle: T\nlanguage: fr\nexamples: [q]\n"), 4, "language 'fr'"),
    ("examples not a list", article_text(BASE + "examples: just one\n"), 5, "examples must be a list"),
    ("examples empty list", article_text(BASE + "examples: []\n"), 5, "examples is empty"),
    ("examples no value", article_text(BASE + "examples:\n"), 5, "examples is empty"),
    ("empty example", article_text(BASE + "examples:\n  - fine\n  -\n"), 7, "examples entry 2 is empty"),
    ("nested example", article_text(BASE + "examples:\n  - fine\n  - {a: b}\n"), 7, "entry 2"),
    ("tags not a list", article_text(BASE + "tags: {a: b}\nexamples: [q]\n"), 5, "tags must be a list"),
    ("unknown key", article_text(BASE + "examples: [q]\nowner: anna\n"), 6, "unknown key 'owner'"),
    ("misspelt key", article_text(BASE + "examples: [q]\nacton: escalate\n"), 6, "unknown key 'acton'"),
    ("duplicate key", article_text(BASE + "examples: [q]\ntitle: Again\n"), 6, "key 'title' appears twice"),
    ("bad action", article_text(BASE + "examples: [q]\naction: forward\n"), 6, "action 'forward'"),
    ("empty answer", article_text(BASE + "examples: [q]\n", body="  \n"), 6, "answer below the front matter"),
]


@pytest.mark.parametrize(
    ("text", "line", "fragment"), [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_broken_article_is_reported_with_file_and_line(tmp_path: Path, text: str, line: int, fragment: str):
    path = tmp_path / "topic.md"
    path.write_text(text, encoding="utf-8")

    problems = check_knowledge_base(tmp_path)

    assert [(p.path, p.line) for p in problems] == [(path, line)], problems
    assert fragment in problems[0].message
    assert problems[0].fix


def test_invalid_utf8_is_reported_at_line_one(tmp_path: Path):
    path = tmp_path / "latin1.md"
    path.write_bytes(GOOD_DE.encode("latin-1"))

    [problem] = check_knowledge_base(tmp_path)

    assert (problem.path, problem.line) == (path, 1)
    assert "UTF-8" in problem.message


def test_all_problems_of_a_file_are_reported_together(tmp_path: Path):
    (tmp_path / "a.md").write_text(article_text("id: A\ntitle: T\nlanguage: xx\nexamples: []\nfoo: 1\n"))

    lines = [p.line for p in check_knowledge_base(tmp_path)]

    assert lines == [2, 4, 5, 6]


def test_unknown_key_names_the_allowed_keys_and_a_close_match(tmp_path: Path):
    (tmp_path / "a.md").write_text(article_text(BASE + "exampels: [q]\n"))

    problems = check_knowledge_base(tmp_path)

    unknown = next(p for p in problems if "unknown key" in p.message)
    assert "did you mean 'examples'" in unknown.fix
    assert "id, title, language, tags, examples, action" in unknown.fix


def test_duplicate_id_and_language_names_both_files(tmp_path: Path):
    (tmp_path / "a.md").write_text(GOOD_DE, encoding="utf-8")
    (tmp_path / "b.md").write_text(GOOD_DE.replace("Ich habe", "Ich hab"), encoding="utf-8")

    [problem] = check_knowledge_base(tmp_path)

    assert (problem.path, problem.line) == (tmp_path / "b.md", 2)
    assert f"{tmp_path / 'a.md'}:2" in problem.message


def test_same_example_in_two_topics_names_both_files(tmp_path: Path):
    (tmp_path / "a.md").write_text(GOOD_EN, encoding="utf-8")
    (tmp_path / "b.md").write_text(GOOD_EN.replace("password-reset", "login"), encoding="utf-8")

    [problem] = check_knowledge_base(tmp_path)

    assert (problem.path, problem.line) == (tmp_path / "b.md", 6)
    assert "'password-reset'" in problem.message
    assert f"{tmp_path / 'a.md'}:6" in problem.message


def test_same_example_counts_regardless_of_case_spacing_and_end_punctuation(tmp_path: Path):
    (tmp_path / "a.md").write_text(GOOD_EN, encoding="utf-8")
    other = GOOD_EN.replace("password-reset", "login").replace(
        "I forgot my password", "i  FORGOT my password!"
    )
    (tmp_path / "b.md").write_text(other, encoding="utf-8")

    assert len(check_knowledge_base(tmp_path)) == 1


def test_same_example_in_two_languages_of_one_topic_is_fine(tmp_path: Path):
    (tmp_path / "a.en.md").write_text(GOOD_EN, encoding="utf-8")
    (tmp_path / "a.de.md").write_text(GOOD_EN.replace("language: en", "language: de"), encoding="utf-8")

    assert check_knowledge_base(tmp_path) == []


def test_problem_string_names_file_line_and_fix():
    problem = Problem(Path("knowledge_base/x.md"), 3, "examples must be a list of texts", "write '  - text'")

    assert str(problem) == "knowledge_base/x.md:3: examples must be a list of texts — fix: write '  - text'"


def test_load_raises_config_error_listing_every_problem(tmp_path: Path):
    (tmp_path / "a.md").write_text("no front matter\n")
    (tmp_path / "b.md").write_text(article_text(BASE + "examples: []\n"))

    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(tmp_path)

    assert isinstance(caught.value, ConfigError)
    assert [p.path.name for p in caught.value.problems] == ["a.md", "b.md"]
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]


def test_missing_folder_is_a_problem_not_an_exception(tmp_path: Path):
    [problem] = check_knowledge_base(tmp_path / "nope")

    assert "does not exist" in str(problem)


def write_good_kb(root: Path) -> None:
    (root / "account").mkdir(parents=True)
    (root / "account" / "password-reset.de.md").write_text(GOOD_DE, encoding="utf-8")
    (root / "account" / "password-reset.en.md").write_text(GOOD_EN, encoding="utf-8")
    escalate = article_text(
        "id: app-crash\ntitle: App crashes\nlanguage: en\naction: escalate\nseverity: major\n"
        "examples:\n  - The app crashes\n  - 'no'\n  - 2024\n",
        body="",
    )
    (root / "app-crash.en.md").write_text(escalate, encoding="utf-8")


def test_good_knowledge_base_loads(tmp_path: Path):
    write_good_kb(tmp_path)

    kb = load_knowledge_base(tmp_path)

    assert kb.root == tmp_path
    assert kb.topic_ids() == ("app-crash", "password-reset")
    de = kb.article("password-reset", Language.DE)
    assert de == Article(
        id="password-reset",
        title="Passwort zurücksetzen",
        language=Language.DE,
        tags=("account", "login"),
        examples=("Ich habe mein Passwort vergessen", "Wie kann ich mein Passwort ändern?"),
        body="Tippen Sie auf **Passwort vergessen**.",
        action="answer",
        path=tmp_path / "account" / "password-reset.de.md",
    )
    crash = kb.article("app-crash", Language.EN)
    assert crash is not None
    assert (crash.action, crash.body, crash.tags) == ("escalate", "", ())
    assert crash.examples == ("The app crashes", "no", "2024")  # raw text, not YAML's bool and int


def test_special_and_hidden_files_are_skipped(tmp_path: Path):
    write_good_kb(tmp_path)
    for name in ("README.md", "_severity/critical.md", ".drafts/x.md", "notes.txt", "sub/_out_of_scope.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("not an article\n")

    kb = load_knowledge_base(tmp_path)

    assert len(kb.articles) == 3


OUT_OF_SCOPE = """---
id: _out_of_scope
title: Never answered automatically
language: en
examples:
  - What is the weather tomorrow?
  - Tell me a joke
---
"""


def test_out_of_scope_file_is_read_as_its_own_class(tmp_path: Path):
    write_good_kb(tmp_path)
    (tmp_path / "_out_of_scope.md").write_text(OUT_OF_SCOPE)

    kb = load_knowledge_base(tmp_path)

    assert len(kb.articles) == 3
    assert kb.out_of_scope is not None
    assert kb.out_of_scope.examples == ("What is the weather tomorrow?", "Tell me a joke")
    assert "_out_of_scope" not in kb.topic_ids()


def test_out_of_scope_file_must_say_so_in_its_id(tmp_path: Path):
    (tmp_path / "_out_of_scope.md").write_text(OUT_OF_SCOPE.replace("id: _out_of_scope", "id: other"))

    [problem] = check_knowledge_base(tmp_path)

    assert problem.line == 2 and "_out_of_scope" in problem.message


def test_crlf_and_bom_are_accepted(tmp_path: Path):
    (tmp_path / "a.md").write_bytes(b"\xef\xbb\xbf" + GOOD_DE.replace("\n", "\r\n").encode())

    [article] = load_knowledge_base(tmp_path).articles

    assert article.examples[1] == "Wie kann ich mein Passwort ändern?"


def test_article_falls_back_to_another_language(tmp_path: Path):
    write_good_kb(tmp_path)
    kb = load_knowledge_base(tmp_path)

    assert kb.article("password-reset", Language.EN).language == Language.EN
    assert kb.article("app-crash", Language.DE).language == Language.EN
    assert kb.article("no-such-topic", Language.DE) is None


def test_digest_is_deterministic_and_changes_with_any_file(tmp_path: Path):
    write_good_kb(tmp_path)
    first = load_knowledge_base(tmp_path).digest
    assert load_knowledge_base(tmp_path).digest == first
    assert len(first) == 64

    path = tmp_path / "account" / "password-reset.en.md"
    path.write_text(GOOD_EN.replace("Tap", "Please tap"), encoding="utf-8")
    changed = load_knowledge_base(tmp_path).digest
    assert changed != first

    path.rename(tmp_path / "account" / "reset.en.md")
    assert load_knowledge_base(tmp_path).digest not in (first, changed)


def test_digest_ignores_skipped_files(tmp_path: Path):
    write_good_kb(tmp_path)
    first = load_knowledge_base(tmp_path).digest

    (tmp_path / "README.md").write_text("edited\n")

    assert load_knowledge_base(tmp_path).digest == first


def test_empty_folder_is_an_empty_knowledge_base(tmp_path: Path):
    kb = load_knowledge_base(tmp_path)

    assert kb == KnowledgeBase(root=tmp_path, articles=(), digest=kb.digest)
    assert kb.topic_ids() == ()


# --- the shipped sample knowledge base ---------------------------------------------------------

REQUIRED_TOPICS = {
    "password-reset",
    "account-deletion",
    "subscription-cancel",
    "push-notifications",
    "app-crash",
    "data-export",
    "language-settings",
    "change-email",
    "verification-code",
    "sync-devices",
    "supported-devices",
    "privacy-contact",
    "invoice-receipt",
    "support-contact",
}


def test_shipped_knowledge_base_has_no_problems():
    assert check_knowledge_base(SHIPPED_KNOWLEDGE_BASE) == []


def test_shipped_knowledge_base_covers_every_topic_in_german_and_english():
    kb = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)

    assert set(kb.topic_ids()) >= REQUIRED_TOPICS
    assert len(kb.topic_ids()) >= 14
    for topic in kb.topic_ids():
        languages = sorted(a.language for a in kb.articles if a.id == topic)
        assert languages == [Language.DE, Language.EN], topic


def test_shipped_articles_have_enough_varied_examples():
    kb = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)

    for article in kb.articles:
        assert 10 <= len(article.examples) <= 15, article.path
        assert len({e.casefold() for e in article.examples}) == len(article.examples), article.path


def test_shipped_crash_topic_goes_to_the_second_level():
    kb = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)

    assert {a.action for a in kb.articles if a.id == "app-crash"} == {"escalate"}
    assert {a.action for a in kb.articles if a.id != "app-crash"} == {"answer"}
