"""xSID German/English (CC BY-SA 4.0, van der Goot et al. 2021): train on one language, test on the other.

Only the 300-row parallel validation file is available, so it is split by a fixed hash of the
utterance id: a parallel pair is either all training or all test, never a translation of a training
text as a test case. The same split serves both directions.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from bench.datasets.writer import ArticleSpec, Case, Dataset, slugify

FILE = "valid.csv"
TEST_SHARE = 1 / 3


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows with columns id, text_de, text_en, intent."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def is_test(utterance_id: str, seed: str = "mailbot-bench") -> bool:
    """A fixed ~1/3 of the ids, independent of row order and Python's hash randomisation."""
    digest = int(hashlib.sha256(f"{seed}:xsid:{utterance_id}".encode()).hexdigest(), 16)
    return digest % 1000 < TEST_SHARE * 1000


def dataset(rows: Iterable[Mapping[str, str]], train_lang: str, test_lang: str) -> Dataset:
    """Articles from the `train_lang` texts of training ids, cases from the `test_lang` texts of test ids."""
    name = f"xsid_{train_lang}2{test_lang}"
    by_intent: dict[str, list[str]] = {}
    test_rows = []
    for row in rows:
        if is_test(row["id"]):
            test_rows.append(row)
        else:
            by_intent.setdefault(row["intent"], []).append(row[f"text_{train_lang}"])
    missing = sorted({row["intent"] for row in test_rows} - set(by_intent))
    return Dataset(
        name=name,
        language=train_lang,
        articles=[ArticleSpec(slugify(intent), intent, tuple(texts)) for intent, texts in by_intent.items()],
        oos_examples=[],
        cases=[
            Case(f"{name}-{n}", row[f"text_{test_lang}"], slugify(row["intent"]), test_lang)
            for n, row in enumerate(test_rows, 1)
        ],
        notes=[f"test cases of intents without a training row are dropped: {', '.join(missing)}"]
        if missing
        else [],
    )


def build_de2en(data: Path) -> Dataset:
    return dataset(read_rows(data / "xsid_de_en" / FILE), "de", "en")


def build_en2de(data: Path) -> Dataset:
    return dataset(read_rows(data / "xsid_de_en" / FILE), "en", "de")
