"""compose writes a plain To, Subject or Date as its one line itself (issue 13: the stdlib's parse and
refold was a third of an answer's compose); the bytes must be exactly what the stdlib writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.reply import compose
from mailbot.reply.compose import MAIL_POLICY

ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"


def written(policy: object, name: str, value: object) -> bytes:
    stored_name, stored = policy.header_store_parse(name, value)  # type: ignore[attr-defined]
    return policy.fold_binary(stored_name, stored)  # type: ignore[attr-defined]


def by_the_stdlib(name: str, value: object) -> bytes:
    """What the policy wrote before the shortcut: the stdlib's EmailPolicy with the same settings."""
    return written(super(compose._MailPolicy, MAIL_POLICY), name, value)


def by_compose(name: str, value: object) -> bytes:
    return written(MAIL_POLICY, name, value)


# text that looks like an encoded word is encoded whole by compose on purpose (_MailPolicy), not here
subjects = st.one_of(
    st.from_regex(r"[!-~]+(?: [!-~]+)*", fullmatch=True),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1),
    st.text(min_size=1).map(lambda text: " ".join(text.split()) or "x"),
).filter(lambda subject: "=?" not in subject)
addresses = st.one_of(
    st.from_regex(rf"[{ATEXT}]+(?:\.[{ATEXT}]+)*@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", fullmatch=True),
    st.emails().map(str),
)
dates = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.timezones()
).filter(lambda moment: moment.utcoffset() is not None)


@settings(max_examples=400, deadline=None)
@given(subjects)
def test_a_subject_is_written_as_the_stdlib_writes_it(subject: str) -> None:
    assert by_compose("Subject", subject) == by_the_stdlib("Subject", subject)


@settings(max_examples=400, deadline=None)
@given(addresses)
def test_a_recipient_is_written_as_the_stdlib_writes_it(address: str) -> None:
    assert by_compose("To", address) == by_the_stdlib("To", address)


@settings(max_examples=200, deadline=None)
@given(dates)
def test_a_date_is_written_as_the_stdlib_writes_it(moment: datetime) -> None:
    assert by_compose("Date", moment) == by_the_stdlib("Date", moment)


def test_the_shortcut_is_taken_for_the_usual_values_and_not_for_the_others() -> None:
    usual = [
        ("Subject", "Re: Passwort vergessen [MB-10000042]"),
        ("To", "kunde42@example.org"),
        ("Date", datetime(2026, 12, 7, 10, 0, tzinfo=UTC)),
        ("Date", datetime(2026, 12, 7, 10, 0, tzinfo=timezone(timedelta(hours=1)))),
    ]
    for name, value in usual:
        assert isinstance(MAIL_POLICY.header_store_parse(name, value)[1], compose._OneLine), name
    others = [
        ("Subject", "Rücksetzung des Passworts"),  # not ASCII: RFC 2047
        ("Subject", "two  spaces"),
        ("Subject", "x" * 80),  # longer than a line: folded
        ("To", '"quoted local"@example.org'),
        ("To", "Anna <anna@example.org>"),
        ("From", "support@example.com"),
    ]
    for name, value in others:
        assert not isinstance(MAIL_POLICY.header_store_parse(name, value)[1], compose._OneLine), value
