"""Issue 12 over the wire: a client's [branding] and one override file, as the SMTP sink receives them."""

from __future__ import annotations

import pytest

from tests.e2e import conftest
from tests.e2e.conftest import Bot, make_mail, parse

pytestmark = pytest.mark.servers
CUSTOMER = "katrin.mueller@kunde.example"
BRANDING = """
[branding]
name = "Parkfuchs"
accent_color = "#0A7D4F"
[branding.signature]
de = ["Ihr Parkfuchs-Support-Team", "Telefon 030 1234560"]
[branding.footer]
de = ["Parkfuchs GmbH · Musterstraße 1 · 10115 Berlin"]
"""


def text_of(raw: bytes) -> str:
    return conftest.text_of(raw).replace("\r\n", "\n")


def html_of(raw: bytes) -> str:
    body = parse(raw).get_body(("html",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def test_a_branded_client_with_one_override_file(tmp_path, dovecot, imap_user, smtp_sink):
    overrides = tmp_path / "client-templates"
    overrides.mkdir()
    (overrides / "acknowledgement.de.subject.j2").write_text(
        "{{ subject | reply_subject(reference, fallback='Ihre Anfrage') }} (Parkfuchs)\n", encoding="utf-8"
    )
    config = conftest.write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, extra=BRANDING)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[templates]\n", '[templates]\noverrides = "client-templates"\n'), "utf-8")
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    bot.deliver(
        make_mail(
            CUSTOMER, "Passwort vergessen", "Ich habe mein Passwort vergessen. Wie setze ich es zurück?"
        )
    )
    bot.deliver(make_mail(CUSTOMER, "App stürzt ab", "Seit dem Update stürzt die App beim Öffnen sofort ab."))
    bot.run_once()

    answer, ack = sorted(bot.sent_to(CUSTOMER), key=lambda raw: "Passwort" not in parse(raw)["Subject"])
    assert parse(ack)["Subject"] == "Re: App stürzt ab [MB-000002] (Parkfuchs)"  # the override
    assert parse(answer)["Subject"] == "Re: Passwort vergessen [MB-000001]"  # the shipped file
    for mail in (answer, ack):
        assert "Mit freundlichen Grüßen\nIhr Parkfuchs-Support-Team\nTelefon 030 1234560\n" in text_of(mail)
        assert text_of(mail).endswith("\nParkfuchs GmbH · Musterstraße 1 · 10115 Berlin\n")
        html = html_of(mail)
        assert "background-color:#0a7d4f;" in html and ">Parkfuchs</td>" in html
        assert parse(mail)["From"] == f"Aktivo Support <{conftest.SUPPORT}>"  # From stays [support] name
