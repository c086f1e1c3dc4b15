"""The optional `review_answer` of an article: the short answer for public store replies (issue 16).

`kb check` names file, line and fix for one that is too long, empty or marked up; the model snapshot
keeps it, so the last good model answers reviews as it answers mail.
"""

from __future__ import annotations

from pathlib import Path

from mailbot.classify.snapshot import read_snapshot, write_snapshot
from mailbot.domain import Language
from mailbot.kb import check_knowledge_base, load_knowledge_base
from mailbot.kb.validate import REVIEW_ANSWER_MAX

SHORT = (
    "Tippen Sie auf dem Anmeldebildschirm auf „Passwort vergessen?“ und folgen Sie dem Link in der E-Mail."
)


def write(root: Path, review_answer: str | None) -> Path:
    line = "" if review_answer is None else f"review_answer: {review_answer}\n"
    path = root / "password-reset.de.md"
    path.write_text(
        "---\nid: password-reset\ntitle: Passwort\nlanguage: de\nexamples:\n  - Passwort vergessen\n"
        f"{line}---\nTippen Sie auf **Passwort vergessen**.\n",
        encoding="utf-8",
    )
    return path


def test_the_review_answer_is_read_as_plain_text(tmp_path: Path):
    write(tmp_path, f'"{SHORT}"')
    article = load_knowledge_base(tmp_path).article("password-reset", Language.DE)
    assert article is not None and article.review_answer == SHORT


def test_without_it_the_field_is_empty(tmp_path: Path):
    write(tmp_path, None)
    article = load_knowledge_base(tmp_path).article("password-reset", Language.DE)
    assert article is not None and article.review_answer == ""


def test_a_long_review_answer_is_a_problem_with_line_and_fix(tmp_path: Path):
    path = write(tmp_path, "x" * (REVIEW_ANSWER_MAX + 1))
    (problem,) = check_knowledge_base(tmp_path)
    assert (problem.path, problem.line) == (path, 7)  # the line of the value
    assert f"review_answer is {REVIEW_ANSWER_MAX + 1} characters" in problem.message
    assert f"at most {REVIEW_ANSWER_MAX}" in problem.fix


def test_an_empty_or_marked_up_review_answer_is_a_problem(tmp_path: Path):
    write(tmp_path, '""')
    (problem,) = check_knowledge_base(tmp_path)
    assert "non-empty" in problem.message and problem.line == 7
    for markup in ("Tippen Sie auf **Speichern**.", "Siehe <a href=x>hier</a>.", "'Hallo {{ name }}'"):
        write(tmp_path, markup)
        (problem,) = check_knowledge_base(tmp_path)
        assert "markup" in problem.message, markup


def test_the_snapshot_keeps_the_review_answer(tmp_path: Path):
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    write(kb_dir, f'"{SHORT}"')
    kb = load_knowledge_base(kb_dir)
    write_snapshot(kb, tmp_path / "model")
    saved = read_snapshot(tmp_path / "model", kb.digest, kb_dir)
    assert saved is not None
    assert saved.articles == kb.articles
