"""mailbot.stack_chunk: a call through it behaves as the plain call, and its frame cannot share a chunk."""

from __future__ import annotations

import sys

import pytest

from mailbot import stack_chunk
from mailbot.stack_chunk import CHUNK_BYTES, call_at_fresh_chunk


def _joined(*parts: str, separator: str = "-") -> str:
    return separator.join(parts)


def _recursing(depth: int) -> int:
    return 0 if depth == 0 else 1 + _recursing(depth - 1)


def test_it_passes_arguments_and_returns_the_result() -> None:
    assert call_at_fresh_chunk(_joined, "a", "b", separator="+") == "a+b"
    assert call_at_fresh_chunk(_joined) == ""


def test_an_exception_reaches_the_caller_unchanged() -> None:
    def fail() -> None:
        raise KeyError("the batch's own error")

    with pytest.raises(KeyError, match="the batch's own error"):
        call_at_fresh_chunk(fail)


def test_deep_calls_after_it_work_across_many_chunks() -> None:
    # 600 frames are several chunks: the chunks after the fresh one are mapped as usual
    assert call_at_fresh_chunk(_recursing, 600) == 600


def test_it_nests() -> None:
    assert call_at_fresh_chunk(call_at_fresh_chunk, _joined, "x", "y") == "x-y"


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's frame stack")
def test_its_frame_is_larger_than_a_chunk() -> None:
    # what makes CPython give the spacer a chunk of its own, so that the call after it starts a new one
    code = stack_chunk._through_own_chunk.__code__
    assert code.co_stacksize * 8 > CHUNK_BYTES
