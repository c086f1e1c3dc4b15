"""What a call costs on the edge of a frame-stack chunk, and through `mailbot.stack_chunk`.

CPython 3.11 (this project's Python) maps a 16 KiB chunk for a call that does not fit into the current
one and unmaps it when that call returns (mailbot/stack_chunk.py). This script calls a small function
in a loop from every call depth 0..400 and prints the cost per call at the cheapest and the dearest
depths, once called directly and once through `call_at_fresh_chunk`. Thread CPU time, best of
`--repeat`; the dearest depths are the ones on a chunk's edge.

    .venv/bin/python bench/stack_chunk.py
    .venv/bin/python bench/stack_chunk.py --calls 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailbot.stack_chunk import call_at_fresh_chunk

DEPTHS = range(400)


def _leaf(a: int = 0, b: int = 0, c: int = 0, d: int = 0) -> int:
    return a + b + c + d


def _loop(calls: int) -> float:
    started = time.thread_time()
    for _ in range(calls):
        _leaf()
    return time.thread_time() - started


def _at_depth(depth: int, run: Callable[[], float]) -> float:
    return _at_depth(depth - 1, run) if depth else run()


def ns_per_call(depth: int, calls: int, repeat: int, fresh: bool) -> float:
    def run() -> float:
        return call_at_fresh_chunk(_loop, calls) if fresh else _loop(calls)

    return min(_at_depth(depth, run) for _ in range(repeat)) / calls * 1e9


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per depth and repetition")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; {args.calls} calls per depth, best of {args.repeat}")
    for fresh in (False, True):
        costs = sorted((ns_per_call(depth, args.calls, args.repeat, fresh), depth) for depth in DEPTHS)
        dearest = ", ".join(f"{cost:.0f} ns at depth {depth}" for cost, depth in costs[-3:][::-1])
        print(
            f"{'through call_at_fresh_chunk' if fresh else 'called directly':28s} "
            f"cheapest {costs[0][0]:.0f} ns, median {costs[len(costs) // 2][0]:.0f} ns, dearest: {dearest}"
        )


if __name__ == "__main__":
    main()
