"""Smoke tests of the test-server harness itself (tests/servers): if these fail, fix the harness
(or install dovecot: scripts/test does) before reading anything into other integration failures."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import uuid
from collections.abc import Callable

import aiosmtplib
import pytest
from imapclient import IMAPClient

from tests.servers import DovecotError, DovecotServer, SmtpSink
from tests.servers import dovecot as dovecot_module
from tests.servers import postgres as postgres_module
from tests.servers.common import LOOPBACK, free_ports, port_open
from tests.servers.postgres import SUPERUSER, PostgresServer
from tests.servers.smtp_sink import TlsMode

pytestmark = pytest.mark.servers


def make_raw(to: str, subject: str = "Hallo", body: str = "Grüße aus dem Test") -> bytes:
    """A small RFC 5322 message with CRLF line endings and an 8-bit body."""
    return (
        f"From: Kunde <kunde@example.test>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@example.test>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n.leading dot line\r\n"
    ).encode()


# --- Dovecot ---------------------------------------------------------------------------------


def test_lmtp_delivery_lands_in_inbox_with_exact_bytes(dovecot: DovecotServer, imap_user: str) -> None:
    raw = make_raw(imap_user)
    dovecot.deliver_lmtp(imap_user, raw)
    (stored,) = dovecot.list_folder(imap_user, "INBOX")
    # Dovecot prepends trace headers like a real MTA; everything after them is our bytes.
    assert stored.endswith(raw)
    header = stored[: -len(raw)]
    assert header.startswith(b"Return-Path: <sender@example.test>\r\n")
    assert f"Delivered-To: {imap_user}\r\n".encode() in header


def test_append_stores_exact_bytes_flags_and_returns_uid(dovecot: DovecotServer, imap_user: str) -> None:
    raw = make_raw(imap_user, subject="appended")
    uid = dovecot.append(imap_user, "Archive", raw, flags=[r"\Seen"])
    uid2 = dovecot.append(imap_user, "Kunden/Neu", raw)  # a missing folder gets created
    assert (uid, uid2) == (1, 1)
    assert dovecot.list_folder(imap_user, "Archive") == [raw]
    with dovecot.imap_client(imap_user) as client:
        client.select_folder("Archive", readonly=True)
        assert rb"\Seen" in client.get_flags([uid])[uid]
    assert dovecot.uidvalidity(imap_user, "Archive") > 0


def test_users_are_isolated(dovecot: DovecotServer) -> None:
    alice, bob = dovecot.new_user(), dovecot.new_user()
    assert alice != bob
    dovecot.deliver_lmtp(alice, make_raw(alice))
    assert len(dovecot.list_folder(alice)) == 1
    assert dovecot.list_folder(bob) == []


def test_capabilities_move_and_uidplus(dovecot: DovecotServer, imap_user: str) -> None:
    dovecot.deliver_lmtp(imap_user, make_raw(imap_user))
    with dovecot.imap_client(imap_user) as client:
        caps = set(client.capabilities())
        assert {b"IDLE", b"MOVE", b"UIDPLUS", b"CONDSTORE", b"SPECIAL-USE"} <= caps
        client.select_folder("INBOX")
        client.move([1], "Archive")
    assert dovecot.list_folder(imap_user, "INBOX") == []
    assert len(dovecot.list_folder(imap_user, "Archive")) == 1


def test_idle_wakes_on_lmtp_delivery(dovecot: DovecotServer, imap_user: str) -> None:
    with dovecot.imap_client(imap_user) as client:
        client.select_folder("INBOX")
        client.idle()
        started = time.monotonic()
        dovecot.deliver_lmtp(imap_user, make_raw(imap_user))
        responses: list = []
        while not any(r[1:2] == (b"EXISTS",) for r in responses):
            remaining = 2.0 - (time.monotonic() - started)
            assert remaining > 0, f"IDLE not woken within 2 s, got {responses}"
            responses += client.idle_check(timeout=remaining)
        client.idle_done()
    assert (1, b"EXISTS") in responses


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_imaps_verifies_against_cafile(dovecot: DovecotServer, imap_user: str, host: str) -> None:
    with IMAPClient(host, port=dovecot.imaps_port, ssl=True, ssl_context=dovecot.ssl_context()) as c:
        c.login(imap_user, "secret")
        assert c.select_folder("INBOX")[b"EXISTS"] == 0
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(host, port=dovecot.imaps_port, ssl=True, ssl_context=ssl.create_default_context())


def test_starttls_verifies_against_cafile(dovecot: DovecotServer, imap_user: str) -> None:
    with IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False) as client:
        assert b"STARTTLS" in client.capabilities()
        client.starttls(dovecot.ssl_context())
        client.login(imap_user, "secret")
    client = IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False)
    with pytest.raises(ssl.SSLCertVerificationError):
        client.starttls(ssl.create_default_context())  # closes the socket on failure


def test_restart_keeps_mail_and_ports(dovecot: DovecotServer, imap_user: str) -> None:
    dovecot.deliver_lmtp(imap_user, make_raw(imap_user, subject="before"))
    validity = dovecot.uidvalidity(imap_user)
    try:
        dovecot.stop()
        assert not dovecot.running
        assert not port_open(dovecot.host, dovecot.imap_port)
        with pytest.raises(ConnectionRefusedError):
            dovecot.imap_client(imap_user)
    finally:
        dovecot.start()  # other tests share this server: always bring it back
    assert dovecot.running
    dovecot.deliver_lmtp(imap_user, make_raw(imap_user, subject="after"))
    assert len(dovecot.list_folder(imap_user)) == 2
    assert dovecot.uidvalidity(imap_user) == validity


def test_missing_dovecot_fails_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILBOT_TEST_DOVECOT", "/nonexistent/dovecot")
    with pytest.raises(DovecotError, match="MAILBOT_TEST_DOVECOT"):
        DovecotServer()
    monkeypatch.delenv("MAILBOT_TEST_DOVECOT")
    monkeypatch.setattr("shutil.which", lambda *args, **kwargs: None)
    with pytest.raises(DovecotError, match="apt-get install -y --no-install-recommends dovecot-imapd"):
        DovecotServer()


def _squatted_first(real: Callable[..., list[int]], squatter: socket.socket) -> Callable[..., list[int]]:
    """free_ports as the servers call it, whose first answer starts with a port someone else took
    meanwhile (as any outgoing connection on the machine may)."""
    calls: list[int] = []

    def pick(count: int, *args: object) -> list[int]:
        calls.append(count)
        ports = real(count, *args)
        if len(calls) == 1:
            squatter.bind((LOOPBACK, ports[0]))
            squatter.listen()
        return ports

    return pick


def test_dovecot_takes_new_ports_when_one_was_taken_before_it_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        monkeypatch.setattr(dovecot_module, "free_ports", _squatted_first(free_ports, squatter))
        with DovecotServer.started() as server:
            taken = squatter.getsockname()[1]
            assert taken not in (server.imap_port, server.imaps_port, server.lmtp_port)
            user = server.new_user()
            server.deliver_lmtp(user, make_raw(user))
            assert len(server.list_folder(user)) == 1


def test_postgresql_takes_a_new_port_when_its_port_was_taken_before_it_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import psycopg

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        monkeypatch.setattr(postgres_module, "free_ports", _squatted_first(free_ports, squatter))
        with PostgresServer.started() as server:
            assert server.port != squatter.getsockname()[1]
            with psycopg.connect(host=LOOPBACK, port=server.port, user=SUPERUSER, dbname="postgres") as db:
                assert db.execute("SELECT 1").fetchone() == (1,)


# --- SMTP sink -------------------------------------------------------------------------------


def send(sink: SmtpSink, *messages: tuple[str, list[str], bytes], **client_kwargs: object) -> list:
    """Send over one aiosmtplib connection; return what each sendmail() returned."""

    async def run() -> list:
        kwargs = {"start_tls": False, **client_kwargs}
        async with aiosmtplib.SMTP(hostname=sink.host, port=sink.port, timeout=10, **kwargs) as smtp:
            return [await smtp.sendmail(*m) for m in messages]

    return asyncio.run(run())


def test_sink_receives_exact_bytes(smtp_sink: SmtpSink) -> None:
    raw1, raw2 = make_raw("a@example.test"), make_raw("b@example.test", subject="zwei")
    send(
        smtp_sink,
        ("bot@example.test", ["a@example.test"], raw1),
        ("bot@example.test", ["b@example.test"], raw2),
    )
    first, second = smtp_sink.wait_for(2, timeout=5)
    assert first == ("bot@example.test", ["a@example.test"], raw1)
    assert second.data == raw2
    smtp_sink.clear()
    assert smtp_sink.messages == []


def test_sink_fail_next_451_then_succeeds(smtp_sink: SmtpSink) -> None:
    raw = make_raw("a@example.test")
    smtp_sink.fail_next(451, "4.3.0 try later")
    with pytest.raises(aiosmtplib.SMTPResponseException) as excinfo:
        send(smtp_sink, ("bot@example.test", ["a@example.test"], raw))
    assert excinfo.value.code == 451
    assert smtp_sink.messages == []
    assert [r.reply for r in smtp_sink.rejections] == ["451 4.3.0 try later"]
    send(smtp_sink, ("bot@example.test", ["a@example.test"], raw))
    assert smtp_sink.wait_for(1)[0].data == raw


def test_sink_fail_recipient(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_recipient("Bad@Example.test", 550)
    raw = make_raw("good@example.test")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as excinfo:
        send(smtp_sink, ("bot@example.test", ["bad@example.test"], raw))
    assert excinfo.value.recipients[0].code == 550
    ((errors, _),) = send(smtp_sink, ("bot@example.test", ["good@example.test", "bad@example.test"], raw))
    assert errors["bad@example.test"][0] == 550
    assert smtp_sink.wait_for(1)[0].rcpt_tos == ["good@example.test"]


def test_sink_outage_refuses_then_recovers(smtp_sink: SmtpSink) -> None:
    raw = make_raw("a@example.test")
    smtp_sink.stop()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        send(smtp_sink, ("bot@example.test", ["a@example.test"], raw))
    smtp_sink.start()
    send(smtp_sink, ("bot@example.test", ["a@example.test"], raw))
    assert len(smtp_sink.wait_for(1)) == 1


@pytest.mark.parametrize("tls", ["implicit", "starttls"])
def test_sink_tls_verifies_against_cafile(tls: TlsMode) -> None:
    mode = {"use_tls": True} if tls == "implicit" else {"start_tls": True}
    raw = make_raw("a@example.test")
    with SmtpSink(tls=tls, require_starttls=True) as sink:
        send(
            sink, ("bot@example.test", ["a@example.test"], raw), tls_context=sink.client_ssl_context(), **mode
        )
        assert sink.wait_for(1)[0].data == raw
        # aiosmtplib 5 wraps the implicit-TLS failure in SMTPConnectError but lets the STARTTLS
        # one through as a bare ssl.SSLCertVerificationError: the bot must map both.
        expected = aiosmtplib.SMTPConnectError if tls == "implicit" else ssl.SSLCertVerificationError
        with pytest.raises(expected) as excinfo:
            send(sink, ("bot@example.test", ["a@example.test"], raw), **mode)  # system CAs only
        assert "CERTIFICATE_VERIFY_FAILED" in str(excinfo.value)
        assert len(sink.messages) == 1
