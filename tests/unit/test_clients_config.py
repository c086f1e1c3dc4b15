"""An installation of several clients: defaults, per-client values, paths, clashes, broken clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.clients import load_installation
from mailbot.clients.layout import merge, password_variable
from mailbot.config import load_settings
from mailbot.domain import Language
from mailbot.errors import ConfigError
from mailbot.toml_lines import line_of

INSTALLATION = """\
[clients]
dir = "clients"

[database]
url = "sqlite:///state/mailbot.db"

[team]
address = "team@agency.example"
language = "de"

[smtp]
host = "smtp.agency.example"
port = 587
security = "starttls"

[business_hours]
timezone = "Europe/Berlin"
monday = ["09:00-17:00"]

[sla.major]
response_hours = 8
resolution_hours = 40
"""


def client_toml(address: str, prefix: str, extra: str = "") -> str:
    return f"""\
[support]
address = "{address}"
name = "{prefix} Support"
ticket_prefix = "{prefix}"

[maildir]
path = "Maildir"
{extra}"""


def make(tmp_path: Path, clients: dict[str, str], installation: str = INSTALLATION) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "mailbot.toml"
    config.write_text(installation, encoding="utf-8")
    for slug, text in clients.items():
        folder = tmp_path / "clients" / slug
        folder.mkdir(parents=True)
        (folder / "client.toml").write_text(text, encoding="utf-8")
    (tmp_path / "clients").mkdir(exist_ok=True)
    return config


def test_each_client_gets_the_defaults_and_its_own_values(tmp_path):
    config = make(
        tmp_path,
        {
            "parkfuchs": client_toml("hilfe@parkfuchs.example", "PF", "[sla.major]\nresponse_hours = 4\n"),
            "aktivo": client_toml("support@aktivo.example", "AK"),
        },
    )
    installation = load_installation(config, env={})
    assert installation.several and not installation.problems
    park, aktivo = installation.clients["parkfuchs"], installation.clients["aktivo"]
    assert park.support.mailbox == "parkfuchs" and aktivo.support.mailbox == "aktivo"
    assert park.team.address == aktivo.team.address == "team@agency.example"  # a default
    assert park.sla.major.response_hours == 4 and park.sla.major.resolution_hours == 40  # merged key by key
    assert aktivo.sla.major.response_hours == 8
    assert park.business_hours.monday == ["09:00-17:00"]
    # paths: the client's own from its folder, the installation's from the installation's folder
    assert park.maildir is not None and park.maildir.path == tmp_path / "clients" / "parkfuchs" / "Maildir"
    assert park.knowledge_base.path == tmp_path / "clients" / "parkfuchs" / "knowledge_base"
    assert park.classifier.model_dir == tmp_path / "model" / "parkfuchs"
    assert aktivo.classifier.model_dir == tmp_path / "model" / "aktivo"
    assert installation.database_url == f"sqlite:///{tmp_path / 'state' / 'mailbot.db'}"
    assert park.database.url == aktivo.database.url == installation.database_url
    assert park.source_file == tmp_path / "clients" / "parkfuchs" / "client.toml"


def test_each_client_has_its_own_password_variables(tmp_path):
    text = client_toml("a@a.example", "AA").replace('[maildir]\npath = "Maildir"\n', "")
    text += '[imap]\nhost = "imap.a.example"\nusername = "a"\n'
    config = make(tmp_path, {"app-one": text})
    installation = load_installation(config, env={})
    assert "MAILBOT_APP_ONE_IMAP_PASSWORD" in installation.problems["app-one"]  # required, and named
    assert password_variable("app-one", "imap") == "MAILBOT_APP_ONE_IMAP_PASSWORD"
    installation = load_installation(config, env={"MAILBOT_APP_ONE_IMAP_PASSWORD": "s3cret"})
    assert installation.clients["app-one"].imap is not None
    assert load_installation(config, env={}, require_secrets=False).clients


def test_a_broken_client_names_file_and_line_and_leaves_the_others(tmp_path):
    config = make(
        tmp_path,
        {
            "good": client_toml("good@good.example", "GO"),
            "typo": client_toml("typo@typo.example", "TY", "[limits]\nmax_atempts = 3\n"),
        },
    )
    installation = load_installation(config, env={})
    assert list(installation.clients) == ["good"]
    problem = installation.problems["typo"]
    assert str(tmp_path / "clients" / "typo" / "client.toml") in problem
    assert "line 9: [limits] max_atempts: unknown key; did you mean max_attempts?" in problem
    with pytest.raises(ConfigError, match="max_atempts"):
        installation.select("typo")
    with pytest.raises(ConfigError, match=r"no such client .* \(clients: good, typo\)"):
        installation.select("nobody")


def test_a_bad_default_names_the_installation_file_and_its_line(tmp_path):
    config = make(
        tmp_path, {"one": client_toml("one@one.example", "ON")}, INSTALLATION + "[limits]\nmax_attempts = 0\n"
    )
    problem = load_installation(config, env={}).problems["one"]
    assert f"{config}, line 24: [limits] max_attempts" in problem


def test_clients_may_not_share_a_prefix_an_address_or_a_mailbox(tmp_path):
    config = make(
        tmp_path,
        {
            "alpha": client_toml("alpha@a.example", "SAME"),
            "beta": client_toml("beta@b.example", "SAME"),
            "gamma": client_toml("alpha@A.example", "GA"),
            "delta": client_toml("delta@d.example", "DE"),
        },
    )
    installation = load_installation(config, env={})
    assert list(installation.clients) == ["delta"]
    alpha_file, beta_file = (str(tmp_path / "clients" / s / "client.toml") for s in ("alpha", "beta"))
    assert "ticket_prefix 'SAME'" in installation.problems["beta"]
    assert alpha_file in installation.problems["beta"] and beta_file in installation.problems["beta"]
    assert "[support] address" in installation.problems["gamma"]


def test_clients_may_not_share_a_store_app(tmp_path):
    """Reviews are keyed by store, app and review id: a shared app would read one client's reviews as
    another's."""

    def reviews(*packages: str) -> str:
        apps = "".join(
            f'[[reviews.apps]]\nstore = "google"\npackage = "{p}"\nname = "App"\n'
            'service_account_env = "KEY"\n'
            for p in packages
        )
        return f"\n[reviews]\n{apps}"

    config = make(
        tmp_path,
        {
            "alpha": client_toml("alpha@a.example", "AL", reviews("de.a.app", "de.shared.app")),
            "beta": client_toml("beta@b.example", "BE", reviews("de.shared.app")),
            "gamma": client_toml("gamma@c.example", "GA", reviews("de.c.app")),
        },
    )
    installation = load_installation(config, env={})
    assert list(installation.clients) == ["gamma"]
    assert "[[reviews.apps]] 'google de.shared.app' is set for two clients" in installation.problems["alpha"]
    assert str(tmp_path / "clients" / "alpha" / "client.toml") in installation.problems["beta"]


def test_installation_wide_sections_stay_in_mailbot_toml(tmp_path):
    config = make(
        tmp_path,
        {
            "own-db": client_toml("a@a.example", "AA", '[database]\nurl = "sqlite:///x.db"\n'),
            "renamed": client_toml("b@b.example", "BB").replace(
                "[support]\n", '[support]\nmailbox = "other"\n'
            ),
            "Bad Name": client_toml("c@c.example", "CC"),
        },
    )
    problems = load_installation(config, env={}).problems
    assert "[database] is the installation's" in problems["own-db"]
    assert "a client's key is its folder's name ('renamed')" in problems["renamed"]
    assert "is not a client name" in problems["Bad Name"]
    shared_kb = INSTALLATION + '[knowledge_base]\npath = "kb"\n'
    with pytest.raises(ConfigError, match=r"\[knowledge_base\] would give every client the same articles"):
        load_installation(make(tmp_path / "x", {}, shared_kb), env={})


def test_a_folder_without_client_toml_says_how_to_make_one(tmp_path):
    config = make(tmp_path, {"ready": client_toml("r@r.example", "RE")})
    (tmp_path / "clients" / "half").mkdir()
    problems = load_installation(config, env={}).problems
    assert "mailbot init --client" in problems["half"]


def test_single_file_configuration_is_one_client(tmp_path):
    text = client_toml("s@s.example", "SI") + '[team]\naddress = "t@s.example"\n[smtp]\nhost = "h"\n'
    config = tmp_path / "mailbot.toml"
    config.write_text(text, encoding="utf-8")
    installation = load_installation(config, env={})
    assert not installation.several and list(installation.clients) == ["default"]
    assert installation.clients["default"] == load_settings(config, env={})


def test_merge_replaces_values_and_merges_tables():
    assert merge({"a": {"x": 1, "y": [1]}, "b": 2}, {"a": {"y": [2]}, "c": 3}) == {
        "a": {"x": 1, "y": [2]},
        "b": 2,
        "c": 3,
    }


@pytest.mark.parametrize(
    ("location", "line"),
    [
        (("limits", "max_attempts"), 1),
        (("support", "address"), 3),
        (("sla", "major", "response_hours"), 7),
        (("sla", "minor", "response_hours"), 9),  # not written: its table's header
        (("sla", "minor"), 9),
        (("team", "address"), None),
    ],
)
def test_line_of_finds_keys_tables_and_dotted_keys(location, line):
    text = (
        'limits.max_attempts = 2\n[support]\naddress = "a@b"\n# comment\n\n'
        "[sla.major]\nresponse_hours = 4\n\n[sla.minor]\n"
    )
    assert line_of(text, location) == line


def test_own_opening_hours_win_over_an_always_open_default(tmp_path):
    always = INSTALLATION.replace('monday = ["09:00-17:00"]', "always_open = true")
    config = make(
        tmp_path,
        {
            "own": client_toml("o@o.example", "OW", '[business_hours]\ntuesday = ["08:00-12:00"]\n'),
            "default": client_toml("d@d.example", "DF"),
        },
        always,
    )
    clients = load_installation(config, env={}).clients
    assert not clients["own"].business_hours.always_open
    assert clients["own"].business_hours.tuesday == ["08:00-12:00"]
    assert clients["default"].business_hours.always_open


def test_a_client_signature_is_its_own_whole(tmp_path):
    defaults = INSTALLATION + '[branding.signature]\nde = ["Ihr Agentur-Team"]\nen = ["Your agency team"]\n'
    own = '[branding.signature]\nde = ["Ihr Parkfuchs-Team"]\n'
    config = make(
        tmp_path,
        {"pf": client_toml("p@p.example", "PF", own), "other": client_toml("o@o.example", "OT")},
        defaults,
    )
    clients = load_installation(config, env={}).clients
    assert clients["pf"].branding.signature == {
        Language.DE: ["Ihr Parkfuchs-Team"]
    }  # not the agency's English
    assert clients["other"].branding.signature[Language.EN] == ["Your agency team"]


def test_oauth2_mailboxes_get_the_clients_own_variables_and_paths(tmp_path):
    imap = (
        '[imap]\nhost = "outlook.office365.com"\nusername = "help@ms.example"\nauth = "oauth2"\n'
        '[imap.oauth2]\nprovider = "microsoft"\ntenant = "t"\nclient_id = "c"\n'
    )
    google = (
        '[imap]\nhost = "imap.gmail.com"\nusername = "help@g.example"\nauth = "oauth2"\n'
        '[imap.oauth2]\nprovider = "google"\nservice_account_file = "keys/sa.json"\n'
    )
    no_maildir = '[maildir]\npath = "Maildir"\n'
    config = make(
        tmp_path,
        {
            "ms-app": client_toml("m@ms.example", "MS").replace(no_maildir, "") + imap,
            "g-app": client_toml("g@g.example", "GG").replace(no_maildir, "") + google,
        },
    )
    installation = load_installation(config, env={}, require_secrets=False)
    assert not installation.problems, installation.problems
    ms = installation.clients["ms-app"].imap
    assert ms is not None and ms.oauth2 is not None
    assert ms.oauth2.client_secret_env == "MAILBOT_MS_APP_IMAP_CLIENT_SECRET" and ms.password_env is None
    g = installation.clients["g-app"].imap
    assert g is not None and g.oauth2 is not None
    assert g.oauth2.service_account_file == tmp_path / "clients" / "g-app" / "keys" / "sa.json"
    assert g.oauth2.client_secret_env is None  # a service account has no client secret


def test_retention_is_the_installations_default_unless_a_client_agreed_otherwise(tmp_path):
    installation_text = INSTALLATION + '\n[privacy]\nretention_days = 365\nfolders = "leave"\n'
    config = make(
        tmp_path,
        {
            "parkfuchs": client_toml("hilfe@parkfuchs.example", "PF", "[privacy]\nretention_days = 90\n"),
            "aktivo": client_toml("support@aktivo.example", "AK"),
        },
        installation_text,
    )
    installation = load_installation(config, env={})
    park, aktivo = installation.clients["parkfuchs"].privacy, installation.clients["aktivo"].privacy
    assert (park.retention_days, park.folders) == (90, "leave")  # its own days, the default's folders
    assert (aktivo.retention_days, aktivo.folders, aktivo.unhandled_retention_days) == (365, "leave", 30)
