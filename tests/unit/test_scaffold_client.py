"""`mailbot init --client clients/<slug>`: a client folder that passes `mailbot kb check` at once, a
client.toml that is valid with its slug and ticket prefix, and refusals that say the fix."""

from __future__ import annotations

import re
import tomllib

import pytest

from mailbot.cli import main
from mailbot.config import SupportSettings, settings_from_mapping
from mailbot.errors import ConfigError
from mailbot.kb import check_knowledge_base, load_knowledge_base
from mailbot.scaffold import init_client, ticket_prefix


def test_init_client_writes_a_config_and_a_knowledge_base_that_pass_their_checks(tmp_path, capsys):
    folder = tmp_path / "clients" / "park-pal"

    assert main(["init", "--client", str(folder)]) == 0

    out = capsys.readouterr().out
    assert f"wrote {folder / 'client.toml'}" in out
    assert f"mailbot kb check --kb {folder / 'knowledge_base'}" in out
    assert "MAILBOT_PARK_PAL_IMAP_PASSWORD=... MAILBOT_PARK_PAL_SMTP_PASSWORD=..." in out
    assert main(["kb", "check", "--kb", str(folder / "knowledge_base")]) == 0
    assert "OK" in capsys.readouterr().out
    kb = load_knowledge_base(folder / "knowledge_base")
    assert {(a.id, a.language.value) for a in kb.articles} == {
        ("getting-started", "de"),
        ("getting-started", "en"),
    }
    assert kb.out_of_scope is not None
    languages = {"de": "Ich möchte mit einem Menschen sprechen", "en": "I want to talk to a real person"}
    assert all(any(text in example for example in kb.out_of_scope.examples) for text in languages.values())
    assert (folder / "knowledge_base" / "README.md").is_file()  # how to write articles, for the editor


def test_the_client_toml_carries_slug_name_prefix_and_password_variables(tmp_path):
    folder = tmp_path / "clients" / "park-pal"
    config, _kb = init_client(folder)

    text = config.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    settings = settings_from_mapping(data, config, env={}, require_secrets=False)
    assert settings.support.ticket_prefix == "PARKPAL"
    assert settings.support.name == "Park Pal Support"
    assert "MAILBOT_PARK_PAL_IMAP_PASSWORD" in text and "MAILBOT_PARK_PAL_SMTP_PASSWORD" in text
    assert "<slug>" not in text and "<SLUG>" not in text
    assert "clients/park-pal/knowledge_base" in text
    # the comment of a rewritten line stays in its column
    [line] = [line for line in text.splitlines() if line.startswith("ticket_prefix")]
    assert line.index("#") == text.splitlines()[text.splitlines().index(line) + 1].index("#")


@pytest.mark.parametrize(
    "slug,prefix",
    [
        ("park-pal", "PARKPAL"),
        ("acme", "ACME"),
        ("2fit_club", "FITCLUB"),
        ("123", "C123"),
        ("a-very-long-client-name", "AVERYLONGC"),
    ],
)
def test_ticket_prefix_from_the_slug_is_a_valid_prefix(slug, prefix):
    assert ticket_prefix(slug) == prefix
    assert re.match(SupportSettings.model_fields["ticket_prefix"].metadata[0].pattern, prefix)


def test_a_prefix_another_client_uses_gets_a_number(tmp_path):
    init_client(tmp_path / "clients" / "parkpal")
    config, _ = init_client(tmp_path / "clients" / "park-pal")
    assert tomllib.loads(config.read_text(encoding="utf-8"))["support"]["ticket_prefix"] == "PARKPAL2"
    assert ticket_prefix("a-very-long-client-name", frozenset({"AVERYLONGC"})) == "AVERYLONG2"


@pytest.mark.parametrize("name", ["Park", "park pal", "-park", "park.pal", "p" * 41, "ä"])
def test_an_invalid_slug_is_refused_with_the_rule_and_an_example(tmp_path, capsys, name):
    assert main(["init", "--client", str(tmp_path / "clients" / name)]) == 2
    err = capsys.readouterr().err
    assert "lower-case letters, digits, '_' or '-'" in err
    assert "mailbot init --client clients/park-pal" in err
    assert not (tmp_path / "clients").exists()


@pytest.mark.parametrize("content", [None, "client.toml"])
def test_an_existing_folder_is_never_overwritten(tmp_path, capsys, content):
    folder = tmp_path / "clients" / "acme"
    folder.mkdir(parents=True)
    if content:
        (folder / content).write_text("# mine\n", encoding="utf-8")

    assert main(["init", "--client", str(folder)]) == 2

    err = capsys.readouterr().err
    assert f"{folder} already exists" in err and "never overwrites" in err and "choose another slug" in err
    assert sorted(path.name for path in folder.iterdir()) == ([content] if content else [])
    if content:
        assert (folder / content).read_text(encoding="utf-8") == "# mine\n"


def test_dir_and_client_together_are_refused(tmp_path, capsys):
    assert main(["init", str(tmp_path), "--client", str(tmp_path / "clients" / "acme")]) == 2
    assert "not both" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_init_dir_still_writes_an_installation(tmp_path):
    assert main(["init", str(tmp_path / "new")]) == 0
    assert (tmp_path / "new" / "mailbot.toml").is_file()
    assert check_knowledge_base(tmp_path / "new" / "knowledge_base") == []


def test_init_client_refuses_nothing_it_should_not(tmp_path):
    with pytest.raises(ConfigError):
        init_client(tmp_path / "Bad Name")
    assert init_client(tmp_path / "clients" / "a")[0].is_file()  # one character is a slug
