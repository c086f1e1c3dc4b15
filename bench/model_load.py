"""How long loading one saved article model takes: what every client costs a worker's start (issue 13).

Trains the shipped knowledge base's model once into a temporary folder, then reads it back with
`classify.store.load` (card check, checksum, skops with its type audit, the vocabularies made again)
`--runs` times in this process, after one load that pays for the imports. Prints the file's size
and the median and range of the loads. To compare two commits, run it with the other checkout first
on PYTHONPATH (each trains and reads its own format).

Usage: .venv/bin/python bench/model_load.py [--runs 20] [--kb knowledge_base]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if os.environ.get("PYTHONPATH") is None:
    sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kb", type=Path, default=ROOT / "knowledge_base")
    args = parser.parse_args()

    from mailbot.classify import store
    from mailbot.classify.model import train
    from mailbot.kb import load_knowledge_base

    kb = load_knowledge_base(args.kb)
    with tempfile.TemporaryDirectory(prefix="mailbot-model-load-") as folder:
        directory = Path(folder)
        store.save(train(kb), directory, kb.digest, kb)
        precision = 0.97
        if store.load(directory, kb.digest, precision) is None:  # the imports; and the card must fit
            raise SystemExit("the saved model was not loaded: see the log")
        seconds = []
        for _ in range(args.runs):
            began = time.perf_counter()
            store.load(directory, kb.digest, precision)
            seconds.append(time.perf_counter() - began)
        size = (directory / store.MODEL_FILE).stat().st_size
    print(f"code: {store.__file__}")
    print(f"model file: {size / 1024:.0f} KiB ({kb.root}, {len(kb.articles)} articles)")
    print(
        f"load: median {statistics.median(seconds) * 1000:.1f} ms, "
        f"range {min(seconds) * 1000:.1f}-{max(seconds) * 1000:.1f} ms over {args.runs} loads"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
