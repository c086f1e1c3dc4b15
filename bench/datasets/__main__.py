"""`python -m bench.datasets [names...]`: (re)build the chosen benchmark sets, all by default."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.datasets import DATA, OUT, SETS, build


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.datasets", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(SETS)} (default all)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the shared data folder (default {DATA})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the sets go (default {OUT})")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in SETS]
    if unknown:
        parser.error(f"unknown set {', '.join(unknown)}; choose from {', '.join(SETS)}")
    for stats, seconds in build(args.names or list(SETS), args.data, args.out):
        print(stats.line(seconds), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
