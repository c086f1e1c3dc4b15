"""Real-world corpora through the whole pipeline: Dovecot INBOX -> `mailbot run --once` -> database.

Every message of both corpora in ``../shared/data`` (the 48 CPython email test messages and the
250-message SpamAssassin developer sample, 298 in all, no subset) is APPENDed to the test Dovecot's
INBOX in file-name order, then one `mailbot run --once` ingests, parses, decides and delivers them.
The property is the one of issue 5: every stored mail reaches a terminal state (done with a decision
reason, or quarantined with a reason a person understands), no processing attempt raises, nothing is
left in ``received``/``processing``, the inbox is emptied into Processed/Quarantine, and the run exits 0
(`run --once` exits 1 only when a step could not run: IMAP or SMTP unreachable, a delivery or job
error; processing failures do not change the exit code, so they are checked in the database).
SpamAssassin mail is addressed to many people: mailbot answers or acknowledges some of it, into the
local aiosmtpd sink. Run with ``-s`` to see the outcome counts. Takes ~20 s, most of it the run.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from mailbot.config import load_settings
from mailbot.db.schema import InboundState, OutboxState
from mailbot.ingest.keys import content_keys
from tests.e2e.conftest import Bot

pytestmark = pytest.mark.servers

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CORPORA = {
    "python_testdata": DATA / "raw_emails_python_testdata" / "eml",
    "spamassassin": DATA / "raw_emails_spamassassin" / "eml",
}
# reasons parse_mail gives for input it refuses; anything else (an exception text, "failed 3 times",
# "gave up after") would mean a processing step raised
KNOWN_QUARANTINE = ("empty message:", "not an e-mail:", "no sender:", "broken MIME:")
MOJIBAKE = re.compile("Ã[\x80-\xbf¡-¿]")


def _corpus_files() -> list[tuple[str, Path]]:
    files = []
    for name, directory in sorted(CORPORA.items()):
        if not directory.is_dir():
            pytest.skip(f"corpus {name} not found at {directory}")
        files += [(name, path) for path in sorted(directory.glob("*.eml"))]
    return files


def _duplicates(fetched: list[bytes]) -> list[int]:
    """Indexes of the mails ingest skips: the same bytes, or the same Message-ID, From and body, seen
    before (its unique keys; a Message-ID alone is no duplicate)."""
    seen: set[str] = set()
    skipped = []
    for index, raw in enumerate(fetched):
        keys = content_keys(raw)
        if keys.sha256 in seen or keys.fingerprint in seen:
            skipped.append(index)
        seen.update((keys.sha256, keys.fingerprint))
    return skipped


def test_every_corpus_mail_reaches_a_terminal_state(bot: Bot):
    files = _corpus_files()
    originals = [path.read_bytes() for _, path in files]
    with bot.dovecot.imap_client(bot.user) as client:  # one session: 298 logins would cost seconds
        for raw in originals:
            client.append("INBOX", raw)
    fetched = bot.dovecot.list_folder(bot.user, "INBOX")
    assert len(fetched) == len(files)
    # APPEND keeps the bytes; Dovecot's Maildir only hands bare LF line ends back as CRLF
    for (name, path), raw, got in zip(files, originals, fetched, strict=True):
        assert got in (raw, re.sub(rb"(?<!\r)\n", b"\r\n", raw)), f"{name}/{path.name} changed in Dovecot"
    corpus_of = {hashlib.sha256(raw).hexdigest(): name for (name, _), raw in zip(files, fetched, strict=True)}

    started = time.monotonic()
    bot.run_once()  # asserts exit code 0: every step (IMAP, processing, delivery, jobs) could run
    seconds = time.monotonic() - started

    rows = bot.inbound()
    duplicates = [f"{files[i][0]}/{files[i][1].name}" for i in _duplicates(fetched)]
    assert len(rows) == len(files) - len(duplicates)
    states = Counter(str(row.state) for row in rows)
    outcomes: dict[str, Counter[str]] = {name: Counter() for name in CORPORA}
    reasons: Counter[str] = Counter()
    for row in rows:
        where = f"inbound #{row.id} ({corpus_of[row.sha256]}, {row.message_id})"
        outcomes[corpus_of[row.sha256]][str(row.outcome)] += 1
        assert row.state in (InboundState.DONE, InboundState.QUARANTINED), f"{where}: still {row.state}"
        assert row.reason and row.reason.strip(), f"{where}: {row.state} without a reason"
        assert row.last_error is None, f"{where}: a processing attempt raised: {row.last_error}"
        assert row.source_done, f"{where}: not moved out of the inbox"
        if row.state == InboundState.QUARANTINED:
            assert row.reason.startswith(KNOWN_QUARANTINE), f"{where}: quarantined for {row.reason!r}"
            reasons[row.reason.split(":")[0]] += 1
        else:
            assert row.outcome is not None and row.decision is not None, where
            assert not MOJIBAKE.search(row.subject or ""), f"{where}: mojibake in subject {row.subject!r}"

    settings = load_settings(bot.config).imap
    assert bot.dovecot.list_folder(bot.user, "INBOX") == []
    processed = len(bot.dovecot.list_folder(bot.user, settings.processed_folder))
    quarantined = len(bot.dovecot.list_folder(bot.user, settings.quarantine_folder))
    assert processed + quarantined == len(files)
    assert quarantined == states[InboundState.QUARANTINED]

    outbox = bot.outbox()
    assert [o for o in outbox if o.state != OutboxState.SENT] == []
    assert len(bot.sink.messages) == len(outbox)

    print(
        f"\n{len(files)} mails appended, {len(rows)} stored ({len(files) - len(rows)} duplicates), "
        f"run --once took {seconds:.1f} s"
    )
    print(f"  skipped as duplicates (same Message-ID or bytes): {duplicates}")
    print(f"  states: {dict(states)}; quarantine reasons: {dict(reasons)}")
    for name, counts in outcomes.items():
        print(f"  {name}: {dict(sorted(counts.items()))}")
    print(
        f"  Processed folder {processed}, Quarantine folder {quarantined}; "
        f"{len(outbox)} mails sent: {dict(Counter(o.kind for o in outbox))}; "
        f"{len(bot.tickets())} tickets"
    )
