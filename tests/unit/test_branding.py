"""`[branding]` and `[templates] overrides`: a client's look without copying the template set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.config import BrandingSettings, TemplateSettings, load_settings
from mailbot.domain import Language
from mailbot.errors import ConfigError
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.reply.branding import accent_colour, text_on
from mailbot.reply.render import TemplateRenderer
from tests.unit.branding_cases import CASES, GOLDEN, TEMPLATES, render_all

MINIMAL = """
[support]
address = "support@example.com"
name = "Beispiel Support"
[team]
address = "team@example.com"
[maildir]
path = "Maildir"
[smtp]
host = "127.0.0.1"
security = "none"
"""
PARKFUCHS = BrandingSettings(
    name="Parkfuchs",
    accent_color="#0A7D4F",
    signature={
        Language.DE: ["Ihr Parkfuchs-Support-Team", "Telefon 030 1234560", "www.parkfuchs.example"],
        Language.EN: ["Your Parkfuchs support team", "Phone +49 30 1234560"],
    },
    footer={Language.DE: ["Parkfuchs GmbH · Musterstraße 1 · 10115 Berlin", "Amtsgericht Berlin HRB 123456"]},
)


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(MINIMAL + extra, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def branded() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES, PARKFUCHS)


# --- defaults: today's mails, byte for byte ------------------------------------------------------


def test_default_branding_renders_todays_mails_byte_for_byte(tmp_path):
    # golden/render_before_branding.json was rendered by main's code before [branding] existed
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    settings = load_settings(config(tmp_path), env={})
    assert settings.branding == BrandingSettings()
    renderer = TemplateRenderer(settings.templates.directories, settings.branding)
    assert render_all(renderer) == expected
    assert render_all(TemplateRenderer(TEMPLATES)) == expected
    assert len(expected) == 2 * len(CASES)


# --- accent colour --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attempt",
    [
        "#fff;background:url(https://evil.example/x)",
        '#fff"><script>alert(1)</script>',
        "#ffffff\n",
        " #ffffff",
        "red",
        "rgb(0,0,0)",
        "expression(alert(1))",
        "#12345",
        "#1234567",
        "#ggg",
        "",
        "#fff\u037e",  # Greek question mark, looks like ;
    ],
)
def test_accent_colour_refuses_anything_but_hex(tmp_path, attempt):
    with pytest.raises(ValueError, match="is not a colour"):
        accent_colour(attempt)
    with pytest.raises(ConfigError, match=r"\[branding\] accent_color: .*is not a colour like"):
        load_settings(config(tmp_path, f"[branding]\naccent_color = {json.dumps(attempt)}\n"), env={})


def test_accent_colour_is_normalised_and_reaches_the_html(tmp_path):
    settings = load_settings(config(tmp_path, '[branding]\naccent_color = "#0A7D4F"\n'), env={})
    assert settings.branding.accent_color == "#0a7d4f"
    renderer = TemplateRenderer(settings.templates.directories, settings.branding)
    kind, context = CASES["answer"]
    html = renderer.render(kind, Language.DE, context).html
    assert "border-left:3px solid #0a7d4f;" in html and "#2f6feb" not in html


def test_text_on_the_accent_stays_readable():
    assert text_on("#0a7d4f") == "#ffffff"  # dark green: white text
    assert text_on("#ffd200") == "#1f2328"  # yellow: dark text
    assert text_on("#fff") == "#1f2328"


# --- a branded client -----------------------------------------------------------------------------


def test_branded_mail_has_header_signature_and_legal_lines(branded):
    kind, context = CASES["ack-full"]
    de = branded.render(kind, Language.DE, context)
    assert (
        "Mit freundlichen Grüßen\nIhr Parkfuchs-Support-Team\nTelefon 030 1234560\nwww.parkfuchs.example\n"
        in de.text
    )
    assert "Beispiel Support" not in de.text + de.html  # the signature replaces [support] name
    assert de.text.endswith(
        "\n\nParkfuchs GmbH · Musterstraße 1 · 10115 Berlin\nAmtsgericht Berlin HRB 123456\n"
    )
    assert "background-color:#0a7d4f;" in de.html and "color:#ffffff;" in de.html
    assert ">Parkfuchs</td>" in de.html
    assert "Ihr Parkfuchs-Support-Team<br>Telefon 030 1234560<br>www.parkfuchs.example</p>" in de.html
    assert "Musterstraße 1 · 10115 Berlin<br>Amtsgericht Berlin HRB 123456</p>" in de.html


def test_language_without_its_own_lines_keeps_the_support_name_and_no_footer(branded):
    kind, context = CASES["answer"]
    en = branded.render(kind, Language.EN, context)
    assert "Kind regards\nYour Parkfuchs support team\nPhone +49 30 1234560\n\n-- \n" in en.text
    assert "Amtsgericht" not in en.text + en.html  # the footer was given in German only
    no_en = TemplateRenderer(TEMPLATES, PARKFUCHS.model_copy(update={"signature": {}}))
    assert "Kind regards\nBeispiel Support\n" in no_en.render(kind, Language.EN, context).text


def test_legal_lines_stand_under_a_kind_with_its_own_footer_and_after_an_agent_letter(branded):
    # answer replaces the footer block; an agent's signed letter has no closing of ours
    for case in ("answer", "agent-reply-signed"):
        kind, context = CASES[case]
        out = branded.render(kind, Language.DE, context)
        assert out.text.endswith("Amtsgericht Berlin HRB 123456\n")
        assert "Amtsgericht Berlin HRB 123456</p>" in out.html
    kind, context = CASES["agent-reply-signed"]
    assert "Telefon 030 1234560" not in branded.render(kind, Language.DE, context).text


def test_team_mails_get_the_header_but_no_customer_signature_or_legal_lines(branded):
    kind, context = CASES["team-notice"]
    out = branded.render(kind, Language.DE, context)
    assert ">Parkfuchs</td>" in out.html
    assert "Amtsgericht" not in out.text + out.html and "Telefon" not in out.text + out.html


def test_branding_values_are_escaped_in_html_and_verbatim_in_text():
    evil = BrandingSettings(
        name="<b>Fuchs & Co</b>",
        signature={Language.DE: ["<img src=x onerror=alert(1)>", "{{ 7*7 }}"]},
        footer={Language.DE: "<script>x</script>"},
    )
    kind, context = CASES["ack-plain"]
    out = TemplateRenderer(TEMPLATES, evil).render(kind, Language.DE, context)
    assert "&lt;b&gt;Fuchs &amp; Co&lt;/b&gt;" in out.html
    assert "&lt;img src=x onerror=alert(1)&gt;<br>{{ 7*7 }}" in out.html
    assert "&lt;script&gt;x&lt;/script&gt;" in out.html and "<script>" not in out.html
    assert "<img src=x onerror=alert(1)>\n{{ 7*7 }}\n" in out.text


def test_branding_from_toml_with_a_footer_string(tmp_path):
    settings = load_settings(
        config(
            tmp_path,
            '[branding]\nname = "Parkfuchs"\n[branding.signature]\nde = ["Ihr Parkfuchs-Team", "0800 1"]\n'
            '[branding.footer]\nde = "Parkfuchs GmbH, Berlin"\nen = "Parkfuchs GmbH, Berlin"\n',
        ),
        env={},
    )
    assert settings.branding.signature == {Language.DE: ["Ihr Parkfuchs-Team", "0800 1"]}
    assert settings.branding.footer[Language.EN] == ["Parkfuchs GmbH, Berlin"]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[branding.signature]\nfr = ["Bonjour"]', r"\[branding\] signature\.fr"),
        ('[branding.signature]\nde = ["Zeile\\nZeile"]', r"signature\.de: line 1 contains the control"),
        ('[branding.footer]\nde = ["\\u202eevil"]', r"footer\.de: line 1 contains the control"),
        ('[branding]\nname = ""', r"\[branding\] name"),
        ('[branding]\naccent_colour = "#fff"', r"unknown key; did you mean accent_color\?"),
    ],
)
def test_branding_mistakes_name_the_key(tmp_path, toml, expected):
    with pytest.raises(ConfigError, match=expected):
        load_settings(config(tmp_path, toml + "\n"), env={})


def test_brand_keys_are_set_by_the_renderer_only(branded):
    kind, context = CASES["ack-plain"]
    with pytest.raises(ValueError, match="brand_signature"):
        branded.render(kind, Language.DE, {**context, "brand_signature": ["x"]})


# --- overrides, file by file ---------------------------------------------------------------------


def test_overrides_come_first_and_are_relative_to_the_config_file(tmp_path):
    (tmp_path / "client-templates").mkdir()
    settings = load_settings(config(tmp_path, '[templates]\noverrides = "client-templates"\n'), env={})
    assert settings.templates.directories == [tmp_path / "client-templates", SHIPPED_TEMPLATES]
    assert TemplateSettings().directories == [SHIPPED_TEMPLATES]
    assert TemplateSettings(path=Path("/a"), overrides=Path("/b")).directories == [Path("/b"), Path("/a")]


def test_one_override_file_changes_one_kind_and_the_rest_come_from_the_base_set(tmp_path):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "acknowledgement.de.txt.j2").write_text(
        '{% extends "_customer.de.txt.j2" %}\n{% block body %}\nIhr Parkplatz-Anliegen {{ reference }} ist'
        " bei uns angekommen.\n{% endblock %}\n",
        encoding="utf-8",
    )
    (overrides / "README.md").write_text("only the files that differ\n", encoding="utf-8")
    base = TemplateRenderer(TEMPLATES)
    client = TemplateRenderer([overrides, TEMPLATES])

    kind, context = CASES["ack-plain"]
    text = client.render(kind, Language.DE, context).text
    assert "Ihr Parkplatz-Anliegen MB-000123 ist bei uns angekommen.\n" in text
    assert "So geht es weiter" not in text
    assert text.endswith(base.render(kind, Language.DE, context).text.partition("Beispiel Support")[2])
    assert client.render(kind, Language.DE, context).html == base.render(kind, Language.DE, context).html
    assert client.render(kind, Language.EN, context) == base.render(kind, Language.EN, context)
    for other in ("answer", "status", "team-notice"):
        kind, context = CASES[other]
        assert client.render(kind, Language.DE, context) == base.render(kind, Language.DE, context)


def test_an_overridden_partial_changes_every_kind_that_uses_it(tmp_path):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    frame = (TEMPLATES / "_customer.de.txt.j2").read_text(encoding="utf-8")
    (overrides / "_customer.de.txt.j2").write_text(frame.replace("Guten Tag", "Hallo"), encoding="utf-8")
    client = TemplateRenderer([overrides, TEMPLATES])
    for case in ("answer", "ack-plain", "status"):
        kind, context = CASES[case]
        assert client.render(kind, Language.DE, context).text.startswith("Hallo Erika Müller,\n")
        assert client.render(kind, Language.EN, context).text.startswith("Hello Erika Müller,\n")


def test_a_broken_override_names_its_file_and_line(tmp_path):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "answer.en.html.j2").write_text(
        '{% extends "_customer.en.html.j2" %}\n{% block body %}\n<p>{{ article_markdown | markdown }</p>\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        TemplateRenderer([overrides, TEMPLATES])
    assert str(info.value).startswith(f"{overrides / 'answer.en.html.j2'}:3: template syntax error")
    assert "fix the template" in str(info.value)


def test_an_override_that_is_not_utf8_names_its_file(tmp_path):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "status.de.subject.j2").write_bytes("Stand Ihrer Anfrage – ".encode("cp1252"))
    with pytest.raises(ConfigError, match=rf"{overrides / 'status.de.subject.j2'}: not UTF-8 text"):
        TemplateRenderer([overrides, TEMPLATES])


def test_a_broken_own_partial_of_an_override_folder_is_found_at_start(tmp_path):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "_parkfuchs.j2").write_text("{% macro hotline() %}\n0800 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"_parkfuchs\.j2:\d+: template syntax error"):
        TemplateRenderer([overrides, TEMPLATES])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("acknowledgment.de.txt.j2", "did you mean acknowledgement.de.txt.j2?"),
        ("answer.de.text.j2", "did you mean answer.de.txt.j2?"),
        ("_costumer.de.txt.j2", "did you mean _customer.de.txt.j2?"),
        ("answer.fr.txt.j2", "mails are written in de, en only"),
        ("welcome.de.txt.j2", "names are <kind>.<lang>.<txt|html|subject>.j2"),
    ],
)
def test_a_misnamed_override_is_refused_with_the_name_it_meant(tmp_path, name, expected):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / name).write_text("x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        TemplateRenderer([overrides, TEMPLATES])
    assert str(info.value).startswith(f"{overrides / name}: no mail uses this template")
    assert expected in str(info.value)


def test_required_templates_are_looked_for_along_the_whole_search_path(tmp_path):
    base = tmp_path / "base"
    shutil.copytree(TEMPLATES, base)
    (base / "solved.en.txt.j2").unlink()
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    with pytest.raises(ConfigError, match=r"lacks solved\.en\.txt\.j2: add the missing file") as info:
        TemplateRenderer([overrides, base])
    assert str(overrides) in str(info.value) and str(base) in str(info.value)
    shutil.copy(TEMPLATES / "solved.en.txt.j2", overrides)
    TemplateRenderer([overrides, base])  # the override completes the set


def test_a_missing_override_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"does not exist: point \[templates\] path \(or overrides\)"):
        TemplateRenderer([tmp_path / "nope", TEMPLATES])


def test_the_example_configuration_explains_branding_and_its_keys_work(tmp_path):
    example = (Path(__file__).resolve().parents[2] / "mailbot.example.toml").read_text(encoding="utf-8")
    section = example[example.index("\n[branding]") : example.index("\n[classifier]")]
    # uncomment every key of the section, as an operator would: the result must load and brand the mails
    keys = "\n".join(
        line.removeprefix("# ").split("  #")[0]
        for line in section.splitlines()
        if line.startswith(("# [branding", "# name", "# de", "# en", "accent_color", "[branding]"))
    )
    settings = load_settings(config(tmp_path, keys + "\n"), env={})
    assert settings.branding.name == "Parkfuchs" and settings.branding.accent_color == "#2f6feb"
    assert settings.branding.signature[Language.DE][0] == "Ihr Parkfuchs-Support-Team"
    assert settings.branding.footer[Language.EN][1] == "Register court Berlin HRB 123456"
    overrides = example[example.index("\n[templates]") : example.index("\n[branding]")]
    assert '# overrides = "my-templates"' in overrides


def test_the_app_renders_with_the_configured_overrides_and_branding(tmp_path):
    (tmp_path / "client-templates").mkdir()
    (tmp_path / "client-templates" / "status.en.subject.j2").write_text(
        "Parkfuchs: {{ subject | reply_subject(reference, fallback='Your request') }}\n", encoding="utf-8"
    )
    settings = load_settings(
        config(
            tmp_path,
            '[templates]\noverrides = "client-templates"\n[branding]\nname = "Parkfuchs"\n'
            '[branding.signature]\nen = ["Your Parkfuchs team"]\n',
        ),
        env={},
    )
    app = App(settings, engine=None, sessions=None)  # type: ignore[arg-type]  # rendering needs no database
    kind, context = CASES["status"]
    out = app.renderer.render(kind, Language.EN, context)
    assert out.subject == "Parkfuchs: Re: Passwort vergessen [MB-000123]"
    assert "Kind regards\nYour Parkfuchs team\n" in out.text and ">Parkfuchs</td>" in out.html


def test_a_misspelt_variable_in_an_override_stops_the_start_with_file_and_line(tmp_path):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    (overrides / "followup_received.de.txt.j2").write_text(
        '{% extends "_customer.de.txt.j2" %}\n{% block body %}\nIhre Nachricht zu {{ referenc }} ist da.\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        TemplateRenderer([overrides, TEMPLATES])
    message = str(info.value)
    assert message.startswith(
        f"{overrides / 'followup_received.de.txt.j2'}:3: the followup_received mail (de)"
    )
    assert "'referenc' is undefined" in message and "mailbot/reply/render.py" in message


def test_a_mistake_in_an_optional_branch_of_an_override_is_found_by_the_full_sample(tmp_path):
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    shipped = (TEMPLATES / "status.en.html.j2").read_text(encoding="utf-8")
    broken = shipped.replace("{{ sev.words(severity) }}", "{{ sev.words(severity_class) }}", 1)
    assert broken != shipped
    (overrides / "status.en.html.j2").write_text(broken, encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"status\.en\.html\.j2:\d+: the status mail \(en\).*severity_class"
    ):
        TemplateRenderer([overrides, TEMPLATES])


def test_the_whole_shipped_set_as_overrides_passes_the_sample_renders(tmp_path):
    overrides = tmp_path / "overrides"
    shutil.copytree(TEMPLATES, overrides)
    client = TemplateRenderer([overrides, TEMPLATES])  # every kind, both languages, both samples
    assert render_all(client) == render_all(TemplateRenderer(TEMPLATES))
