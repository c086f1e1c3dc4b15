"""`mailbot kb gaps`: topics the knowledge base lacks, from a client's unanswered mail, as draft articles.

Reads mails, tickets and the knowledge base; writes only the client's rows of `kb_gaps` (the stable
ids, in one transaction) and the files in --out. gaps.json is written to a temporary name and renamed,
so a reader never sees half of it; a draft already in --out is replaced only by a new version of the
same gap's draft, which an agent edits under another name or in the knowledge base itself.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from mailbot.atomic_file import write_atomically
from mailbot.clock import Clock
from mailbot.errors import ConfigError
from mailbot.reports.gap_model import NEAR_MARGIN, GapSettings
from mailbot.reports.one_client import one_client
from mailbot.reports.period import between

DEFAULTS = GapSettings()


def add_parser(kb_commands: Any, config_option: Any, now_option: Any) -> None:
    gaps = kb_commands.add_parser(
        "gaps",
        help="topics of unanswered mail the knowledge base lacks: gaps.json and draft articles "
        "(docs/metrics.md, Knowledge-base gaps)",
    )
    config_option(gaps)
    now_option(gaps)
    gaps.add_argument("--since", type=date.fromisoformat, required=True, help="first day (YYYY-MM-DD)")
    gaps.add_argument("--until", type=date.fromisoformat, help="last day, included (default: today)")
    gaps.add_argument("--out", type=Path, required=True, help="folder for gaps.json and the drafts")
    gaps.add_argument(
        "--distance",
        type=float,
        default=DEFAULTS.distance,
        help=f"cosine distance up to which mails form one topic (default {DEFAULTS.distance})",
    )
    gaps.add_argument(
        "--new-below",
        type=float,
        default=DEFAULTS.new_below,
        help=f"similarity to the nearest article below which a topic is new (default {DEFAULTS.new_below})",
    )
    gaps.add_argument(
        "--margin",
        type=float,
        default=NEAR_MARGIN,
        help=f"answers below threshold + this count as unanswered (default {NEAR_MARGIN})",
    )


def run_gaps_command(args: argparse.Namespace, clock: Clock) -> int:
    from mailbot.app import load_configured_kb
    from mailbot.reports.gap_corpus import load_gap_mails, load_known_gaps, save_gaps
    from mailbot.reports.gap_drafts import Gap, draft_article, draft_name, gaps_document
    from mailbot.reports.gap_ids import assign_ids
    from mailbot.reports.gap_model import article_texts
    from mailbot.reports.gaps import find_gaps

    settings = GapSettings(distance=args.distance, new_below=args.new_below)
    with one_client(args, clock, "kb gaps") as app:
        now = app.clock()
        until = args.until or now.astimezone(app.calendar.zone).date()
        try:
            period = between(args.since, until, app.calendar.zone)
        except ValueError as exc:
            raise ConfigError(f"mailbot kb gaps: {exc}") from None
        kb = load_configured_kb(app.settings)
        with app.sessions() as session:
            mails = load_gap_mails(session, app.mailbox, period.start, period.end, args.margin)
        analysis = find_gaps(mails, article_texts(kb.articles), period.start, period.end, settings)
        with app.sessions.begin() as session:
            ids = assign_ids(analysis.clusters, load_known_gaps(session, app.mailbox))
            save_gaps(session, app.mailbox, analysis.clusters, ids, now)
    references = {mail.inbound_id: mail.reference for mail in mails}
    gaps = [Gap(gap_id, cluster) for gap_id, cluster in zip(ids, analysis.clusters, strict=True)]
    paths = {article.id: str(article.path.relative_to(kb.root)) for article in kb.articles}
    args.out.mkdir(parents=True, exist_ok=True)
    for gap in gaps:
        sources = sorted(ref for ref in (references[m] for m in gap.cluster.members) if ref)
        write_atomically(args.out / draft_name(gap), draft_article(gap, sources, paths))
    meta = {
        "client": app.mailbox,
        "period": {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat()},
        "generated_at": now.isoformat(timespec="seconds"),
    }
    corpus = {"mails": len(mails), **Counter(mail.why for mail in mails)}
    one_offs = [references[m] for m in analysis.one_offs]
    document = gaps_document(gaps, one_offs, corpus, meta, settings)
    write_atomically(args.out / "gaps.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    _print_table(app.mailbox, period.label, gaps, len(mails), len(one_offs), args.out)
    return 0


def _print_table(mailbox: str, label: str, gaps: list[Any], mails: int, one_offs: int, out: Path) -> None:
    print(f"{mailbox} {label}: {mails} unanswered mails, {len(gaps)} gaps, {one_offs} one-offs; {out}")
    for gap in gaps:
        cluster = gap.cluster
        verdict = "new topic" if cluster.verdict == "new" else f"extend {cluster.article_id}"
        trend = f"{cluster.first_half}->{cluster.second_half}"
        print(
            f"  {gap.gap_id}  {len(cluster.members):>4}  {trend:>7}  {verdict:<28} "
            f"{cluster.similarity:.2f}  {cluster.name}  — {cluster.title}"
        )
