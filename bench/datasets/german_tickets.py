"""German support tickets (synthetic, Tobi-Bueck/customer-support-tickets, CC BY-NC 4.0): 10 queues.

Internal evaluation only (non-commercial licence). The tickets come in paraphrase families
(`dup_group`), so the validation split takes whole groups: a row split would put near-copies on both
sides and overstate accuracy.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from bench.datasets.writer import ArticleSpec, Case, Dataset, slugify

NAME = "german_tickets"
FILE = "german_normalized.train.csv"
_LINE_BREAK = re.compile(r"\\n|<br\s*/?>", re.IGNORECASE)


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows with columns subject, body, queue, priority, language, dup_group."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def clean_body(body: str) -> str:
    """Literal '\\n' and '<br>' of the source become real line breaks, as a mail client would show them."""
    return _LINE_BREAK.sub("\n", body).strip()


def validation_groups(sizes: Mapping[str, int], share: float = 0.2, seed: str = "mailbot-bench") -> set[str]:
    """Whole groups, in a fixed hash order, until they hold `share` of the rows.

    Hash order instead of a random generator keeps the split identical across Python and library
    versions; filling up to a row share (not a group share) keeps it near 80/20 despite a few big groups.
    """
    order = sorted(sizes, key=lambda group: hashlib.sha256(f"{seed}:{group}".encode()).hexdigest())
    chosen: set[str] = set()
    rows, total = 0, sum(sizes.values())
    for group in order:
        if rows >= share * total:
            break
        chosen.add(group)
        rows += sizes[group]
    return chosen


def dataset(rows: Iterable[Mapping[str, str]], share: float = 0.2) -> Dataset:
    """German rows only; queues become articles, examples are 'subject\\nbody' as a mail is classified."""
    german: Sequence[Mapping[str, str]] = [row for row in rows if row["language"] == "de"]
    held_out = validation_groups(Counter(row["dup_group"] for row in german), share)
    by_queue: dict[str, list[str]] = {}
    cases: list[Case] = []
    for row in german:
        subject, body = row["subject"].strip(), clean_body(row["body"])
        if row["dup_group"] in held_out:
            n = len(cases) + 1
            cases.append(Case(f"{NAME}-{n}", body, slugify(row["queue"]), "de", subject=subject))
        else:
            by_queue.setdefault(row["queue"], []).append(f"{subject}\n{body}")
    note = (
        f"group-aware split: {len(held_out)} dup_groups, {len(cases)} of {len(german)} German rows"
        f" ({len(cases) / max(len(german), 1):.1%}) for validation"
    )
    return Dataset(
        name=NAME,
        language="de",
        articles=[
            ArticleSpec(slugify(queue), queue, tuple(texts)) for queue, texts in sorted(by_queue.items())
        ],
        oos_examples=[],
        cases=cases,
        notes=[note],
    )


def build(data: Path) -> Dataset:
    return dataset(read_rows(data / "customer_support_tickets" / FILE))
