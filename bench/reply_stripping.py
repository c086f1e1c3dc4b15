"""How well ``ParsedMail.body`` holds the customer's own words, on the shared fixtures.

    .venv/bin/python bench/reply_stripping.py [--verbose]

1. forge_signatures (Enron mails, signature lines marked ``#sig#`` in ``P/``, none in ``N/``): the
   body is compared line by line with the input. Lines removed after the first kept line count as
   "removed as signature" (signature, disclaimer); lines removed before it as greeting.
2. email_reply_fixtures: talon's standard replies (reply = ``X_reply_text.txt`` or "Hello") and
   HTML replies (reply = "Hi. I am fine. Thanks, Alex"), and the hand-labelled bodies of the
   github / zapier / mail-parser-reply fixtures in ``tests/unit/test_parse_reply_fixtures.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.parse import parse_mail  # noqa: E402
from mailbot.parse.html import html_to_text  # noqa: E402
from mailbot.parse.reply import extract_body, split_reply, strip_quotes  # noqa: E402
from tests.unit.test_parse_reply_fixtures import (  # noqa: E402
    FIXTURES,
    LABELS,
    OTHER_LANGUAGES,
    expected_body,
    normalise,
)
from tests.unit.test_parse_signatures import FORGE, score_forge  # noqa: E402


def print_forge(verbose: bool) -> None:
    score = score_forge(FORGE)
    m = score.mails
    print(f"forge_signatures ({m['P']} P + {m['N']} N mails, {FORGE})")
    print(f"  lines removed as signature: precision {score.precision:.3f}  recall {score.recall:.3f}", end="")
    print(f"  F1 {score.f1:.3f}  (TP {score.tp}, FP {score.fp}, FN {score.fn})")
    print(f"  exact signature removal: P {m['P exact']}/{m['P']} = {score.exact('P'):.3f}", end="")
    print(f"   N {m['N exact']}/{m['N']} = {score.exact('N'):.3f}")
    print(f"  mails with real content removed: P {m['P content removed']}  N {m['N content removed']}")
    print(f"  leading lines removed as greeting: {len(score.greetings)} {score.greetings}")
    for miss in score.misses if verbose else []:
        print(f"    {miss}")


def fixtures(verbose: bool) -> None:
    print(f"\nemail_reply_fixtures ({FIXTURES})")
    talon = FIXTURES / "talon" / "standard_replies"
    reply_ok = body_ok = 0
    emls = sorted(talon.glob("*.eml"))
    for path in emls:
        expected = path.with_name(f"{path.stem}_reply_text.txt")
        mail = parse_mail(path.read_bytes())
        want = expected.read_text() if expected.exists() else "Hello"
        reply_ok += normalise(strip_quotes(mail.text)) == normalise(want)
        body_ok += mail.body == "Hello"
        if verbose and mail.body != "Hello":
            print(f"    talon/{path.name}: body {mail.body[:120]!r}")
    print(f"  talon standard_replies: reply (talon's notion) {reply_ok}/{len(emls)}, body 'Hello' {body_ok}")
    reply_ok = body_ok = 0
    pages = sorted((FIXTURES / "talon" / "html_replies").glob("*.html"))
    for path in pages:
        reply = split_reply(html_to_text(path.read_text(encoding="utf-8", errors="replace")))
        reply_ok += normalise(reply.text) == "Hi. I am fine. Thanks, Alex"
        body_ok += reply.body == "Hi. I am fine."
    print(f"  talon html_replies: reply {reply_ok}/{len(pages)}, body 'Hi. I am fine.' {body_ok}")

    per_folder: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key in sorted(LABELS):
        folder = key.split("/")[0] + (" (other languages)" if key in OTHER_LANGUAGES else "")
        body = extract_body((FIXTURES / key).read_text(encoding="utf-8"))
        ok = normalise(body) == normalise(expected_body(key))
        per_folder[folder][0] += ok
        per_folder[folder][1] += 1
        if verbose and not ok:
            print(f"    {key}: got {normalise(body)[:150]!r}")
    for folder, (ok, total) in sorted(per_folder.items()):
        files = len(list((FIXTURES / folder.split(" ")[0]).glob("*.txt")))
        print(f"  {folder}: labelled body exact {ok}/{total} (folder has {files} files)")
    for name in ("email_long_quote.txt", "pathological.txt"):
        text = (FIXTURES / "github_email_reply_parser" / name).read_text(encoding="utf-8")
        start = time.perf_counter()
        extract_body(text)
        print(f"  {name}: {1000 * (time.perf_counter() - start):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    if FORGE.is_dir():
        print_forge(args.verbose)
    if FIXTURES.is_dir():
        fixtures(args.verbose)


if __name__ == "__main__":
    main()
