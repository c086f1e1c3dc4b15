"""Public benchmark data sets as knowledge-base directories plus evaluation cases for `mailbot evaluate`.

Each converter turns source rows into a `Dataset` (pure, testable without the data); `writer` writes
`bench/out/<name>/kb/*.md`, `kb/_out_of_scope.md` and `cases.jsonl`. Run `python -m bench.datasets`.
`LOCAL_SETS` are kept in the repository and evaluated in place: (KB dir, cases file), nothing to build.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.datasets import aktivo_severity, banking77_oos, clinc150, german_tickets, xsid
from bench.datasets.writer import Dataset, SetStats, write_dataset

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"

SETS: dict[str, Callable[[Path], Dataset]] = {
    "clinc150_full": clinc150.build_full,
    "clinc150_small": clinc150.build_small,
    "banking77_oos": banking77_oos.build,
    "german_tickets": german_tickets.build,
    "xsid_de2en": xsid.build_de2en,
    "xsid_en2de": xsid.build_en2de,
    "clinc150_full_email": clinc150.build_full_email,
}
LOCAL_SETS: dict[str, tuple[Path, Path]] = {
    aktivo_severity.NAME: (aktivo_severity.KB, aktivo_severity.CASES),
    aktivo_severity.INDEPENDENT_NAME: (aktivo_severity.KB, aktivo_severity.INDEPENDENT_CASES),
}


def build(names: Iterable[str], data: Path = DATA, out: Path = OUT) -> list[tuple[SetStats, float]]:
    """Rebuild each named set from scratch; the counts and seconds per set."""
    results = []
    for name in names:
        started = time.perf_counter()
        stats = write_dataset(SETS[name](data), out / name)
        results.append((stats, time.perf_counter() - started))
    return results
