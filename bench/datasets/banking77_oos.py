"""BANKING77-OOS (Zhang et al. 2022; texts CC BY 4.0 PolyAI and CC BY 3.0 Clinc): 50 banking intents in scope.

The hard part is in-domain out-of-scope: utterances of the 27 held-out banking intents that sound like
the answered ones. Each escalation case keeps its kind (`oos_kind` "id" or "ood") so the runner can
report both recalls; the ID-OOS training texts become the `_out_of_scope` examples.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from bench.datasets.writer import ArticleSpec, Case, Dataset, slugify

NAME = "banking77_oos"


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of one CSV file with columns text,label,label_original."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def dataset(
    train: Iterable[Mapping[str, str]],
    oos_train: Iterable[Mapping[str, str]],
    valid: Iterable[Mapping[str, str]],
    id_oos_valid: Iterable[Mapping[str, str]],
    ood_oos_valid: Iterable[Mapping[str, str]],
) -> Dataset:
    """KB from the in-scope and ID-OOS training rows; cases: valid, then ID-OOS, then OOD-OOS valid."""
    by_label: dict[str, list[str]] = {}
    for row in train:
        by_label.setdefault(row["label"], []).append(row["text"])
    rows: list[tuple[str, str | None, str | None]] = [
        (row["text"], slugify(row["label"]), None) for row in valid
    ]
    rows += [(row["text"], None, "id") for row in id_oos_valid]
    rows += [(row["text"], None, "ood") for row in ood_oos_valid]
    return Dataset(
        name=NAME,
        language="en",
        articles=[ArticleSpec(slugify(label), label, tuple(texts)) for label, texts in by_label.items()],
        oos_examples=[row["text"] for row in oos_train],
        cases=[
            Case(f"{NAME}-{n}", text, expected, "en", oos_kind=kind)
            for n, (text, expected, kind) in enumerate(rows, 1)
        ],
    )


def build(data: Path) -> Dataset:
    folder = data / "banking77_oos"
    return dataset(
        *(read_rows(folder / f"{part}.csv") for part in ("train", "id-oos_train", "valid", "id-oos_valid")),
        read_rows(folder / "ood-oos_valid.csv"),
    )
