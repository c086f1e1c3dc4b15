"""The knowledge-base answer as plain sentences for a store reply, cut only between sentences (issue 16)."""

from __future__ import annotations

from mailbot.domain import Language
from mailbot.reviews.excerpt import fit, sentences

ARTICLE = """\
So geht es:

1. Öffnen Sie **Profil → Einstellungen**, z. B. auf dem iPhone.
2. Tippen Sie auf [Sync jetzt](https://aktivo.example/x) bzw. **Jetzt abgleichen**
3. ![Bild](https://cdn.example/a.png) Fertig!

```
code that a reply never shows
```

<div>raw html</div>
"""


def test_markdown_becomes_plain_sentences():
    assert sentences(ARTICLE, Language.DE) == (
        "Öffnen Sie „Profil → Einstellungen“, z. B. auf dem iPhone.",  # "So geht es:" is a lead-in
        "Tippen Sie auf Sync jetzt bzw. „Jetzt abgleichen“.",
        "Fertig!",
    )


def test_english_bold_becomes_curly_quotes():
    assert sentences("Tap **Forgot password?** on the login screen.", Language.EN) == (
        "Tap “Forgot password?” on the login screen.",
    )


def test_an_opening_lead_in_is_left_out_for_the_replys_own():
    """Seen in `mailbot demo`: "Das geht so: So setzen Sie Ihr Passwort zurück: Öffnen Sie die App …"."""
    lead_in = "So setzen Sie Ihr Passwort zurück:\n\n"
    markdown = lead_in + "1. Öffnen Sie die App.\n2. Tippen Sie auf **Passwort vergessen?**\n"
    assert sentences(markdown, Language.DE) == (
        "Öffnen Sie die App.",
        "Tippen Sie auf „Passwort vergessen?“.",
    )
    assert sentences("Nur dies:\n", Language.DE) == ("Nur dies:",)


def test_fit_takes_whole_sentences_only():
    parts = ("One two three.", "Four five six.", "Seven.")
    assert fit(parts, 14) == "One two three."
    assert fit(parts, 29) == "One two three. Four five six."
    assert fit(parts, 28) == "One two three."
    assert fit(parts, 13) == ""
    assert fit((), 100) == ""
