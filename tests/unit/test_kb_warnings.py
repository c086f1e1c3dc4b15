"""`kb check` warns about what reaches a customer other than the editor meant (issue 11): raw HTML and
template syntax (shown as text) and remote images (blocked, and a read receipt for whoever serves them),
each with file, line and fix; warnings never stop a knowledge base from loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.kb import knowledge_base_warnings, load_knowledge_base
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE

FRONT = "---\nid: parking-end\ntitle: Parken beenden\nlanguage: de\n"
FRONT += "examples:\n  - Wie beende ich das Parken?\n---\n"
BODY_LINE = FRONT.count("\n") + 2  # one blank line between the front matter and the answer


def write(root: Path, body: str, name: str = "parking-end.de.md") -> Path:
    path = root / name
    path.write_text(f"{FRONT}\n{body}", encoding="utf-8")
    return path


# (case, answer, line of the warning within the answer, fragment of the message, fragment of the fix)
WARNED = [
    (
        "html block",
        "Tippen Sie hier:\n\n<div style='color:red'>Achtung</div>\n",
        2,
        "raw HTML '<div",
        "Markdown",
    ),
    ("inline html", "Tippen Sie auf <b>Beenden</b>.\n", 0, "raw HTML '<b>'", "Markdown"),
    ("html comment", "Text\n\n<!-- intern: noch prüfen -->\n", 2, "raw HTML '<!--", "Markdown"),
    (
        "jinja expression",
        "Hallo {{ customer_name }},\n",
        0,
        "template syntax '{{ customer_name }}",
        "not filled in",
    ),
    (
        "jinja statement",
        "Text\n{% if premium %}Premium{% endif %}\n",
        1,
        "template syntax '{%",
        "not filled in",
    ),
    (
        "remote image",
        "So sieht es aus:\n\n![Knopf](https://cdn.example/knopf.png)\n",
        2,
        "remote image",
        "block",
    ),
    ("protocol-relative image", "![x](//cdn.example/x.png)\n", 0, "remote image //cdn", "block"),
    (
        "image in a list",
        "1. Öffnen\n2. Tippen:\n   ![](http://x.example/a.png)\n",
        2,
        "remote image",
        "block",
    ),
]


@pytest.mark.parametrize(("case", "body", "offset", "message", "fix"), WARNED, ids=[w[0] for w in WARNED])
def test_a_warning_names_file_line_and_fix(tmp_path, case, body, offset, message, fix):
    path = write(tmp_path, body)
    (warning,) = knowledge_base_warnings(tmp_path)
    assert (warning.path, warning.line) == (path, BODY_LINE + offset)
    assert message in warning.message and fix in warning.fix
    assert load_knowledge_base(tmp_path).articles  # a warning never stops the knowledge base


QUIET = [
    ("markdown", "Tippen Sie auf **Beenden** und lesen Sie [die Hilfe](https://hilfe.example).\n"),
    ("autolinks", "Schreiben Sie an <hilfe@example.com> oder <https://hilfe.example>.\n"),
    ("code span", "Geben Sie `{{ code }}` und `<b>` genau so ein.\n"),
    ("fenced code", "```\n<div>{% raw %}</div>\n```\n"),
    ("local image", "![Knopf](bilder/knopf.png)\n"),
    ("comparisons", "Wenn a < b und c > d, dann {x} und {y}.\n"),
]


@pytest.mark.parametrize(("case", "body"), QUIET, ids=[q[0] for q in QUIET])
def test_markdown_code_and_local_images_are_no_warning(tmp_path, case, body):
    write(tmp_path, body)
    assert knowledge_base_warnings(tmp_path) == []


def test_the_shipped_knowledge_base_has_no_warnings():
    assert knowledge_base_warnings(SHIPPED_KNOWLEDGE_BASE) == []


def test_kb_check_prints_warnings_and_still_says_ok(tmp_path, capsys):
    path = write(tmp_path, "Hallo {{ name }}, <b>hier</b>:\n\n![](https://t.example/p.gif)\n")
    assert main(["kb", "check", "--kb", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"warning: {path}:{BODY_LINE}: template syntax" in out
    assert f"warning: {path}:{BODY_LINE}: raw HTML '<b>'" in out
    assert f"warning: {path}:{BODY_LINE + 2}: remote image https://t.example/p.gif" in out
    assert out.rstrip().endswith("OK (3 warning(s) above)")
