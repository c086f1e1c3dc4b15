"""Freed C heap goes back to the system (mailbot.heap), as the worker needs after loading its models."""

from __future__ import annotations

import os

import pytest

from mailbot.heap import release_free_heap

MB = 1024 * 1024


def resident_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_freed_between_live_blocks_is_returned():
    if not release_free_heap():
        pytest.skip("not glibc: nothing to return")
    blocks = [bytearray(4000) for _ in range(25_000)]  # 100 MB in malloc's heap (above pymalloc's sizes)
    kept = blocks[::100]  # one in a hundred stays alive, so the freed memory is not at the heap's top
    del blocks
    before = resident_bytes()
    assert release_free_heap()
    returned = before - resident_bytes()
    assert len(kept) == 250
    assert returned > 50 * MB, f"only {returned / MB:.1f} MB went back"
