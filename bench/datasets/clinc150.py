"""CLINC150 (CC BY 3.0, Larson et al. 2019): 150 English intents plus general out-of-scope queries.

All variants share the same `val`/`oos_val` (see the data README), so `data_small` is scored on the very
cases `data_full` is: the difference shows what halving the examples per article costs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from bench.datasets.email_form import style_mix, wrap_cases
from bench.datasets.writer import ArticleSpec, Case, Dataset, slugify

Row = Sequence[str]  # [text, label]
FULL = "data_full.train_val.json"
SMALL = "data_small.train.json"


def load(path: Path) -> dict[str, list[Row]]:
    """The splits of one CLINC150 JSON file: train, val, oos_train, oos_val (those present)."""
    return json.loads(path.read_text(encoding="utf-8"))


def articles(train: Sequence[Row]) -> list[ArticleSpec]:
    """One article per intent, examples in file order."""
    by_label: dict[str, list[str]] = {}
    for text, label in train:
        by_label.setdefault(label, []).append(text)
    return [ArticleSpec(slugify(label), label, tuple(texts)) for label, texts in by_label.items()]


def cases(name: str, val: Sequence[Row], oos_val: Sequence[Row]) -> list[Case]:
    """In-scope val cases first, then the out-of-scope ones (expected None)."""
    rows = [(text, slugify(label)) for text, label in val] + [(text, None) for text, _ in oos_val]
    return [Case(f"{name}-{n}", text, expected, "en") for n, (text, expected) in enumerate(rows, 1)]


def dataset(name: str, train_file: dict[str, list[Row]], val_file: dict[str, list[Row]]) -> Dataset:
    """KB from `train_file` (train + oos_train), cases from `val_file` (val + oos_val)."""
    return Dataset(
        name=name,
        language="en",
        articles=articles(train_file["train"]),
        oos_examples=[text for text, _ in train_file["oos_train"]],
        cases=cases(name, val_file["val"], val_file["oos_val"]),
    )


def build_full(data: Path) -> Dataset:
    full = load(data / "clinc150" / FULL)
    return dataset("clinc150_full", full, full)


def build_small(data: Path) -> Dataset:
    return dataset("clinc150_small", load(data / "clinc150" / SMALL), load(data / "clinc150" / FULL))


def build_full_email(data: Path) -> Dataset:
    """The clinc150_full KB and cases, each case also written as a real mail under eml/."""
    plain = build_full(data)
    name = "clinc150_full_email"
    renamed = [
        Case(case.id.replace(plain.name, name, 1), case.text, case.expected, case.language)
        for case in plain.cases
    ]
    cases_with_mail, files = wrap_cases(renamed)
    notes = [style_mix(renamed)]
    return Dataset(name, plain.language, plain.articles, plain.oos_examples, cases_with_mail, files, notes)
