"""Run a hot loop's body at the start of a fresh chunk of CPython's frame stack.

Why: since 3.11, CPython keeps the frames of Python calls in 16 KiB chunks. It maps a new chunk with
mmap when a call does not fit into the current one and unmaps it as soon as that call returns. A call
that sits on a chunk's edge, repeated for every statement or header of every mail, maps and unmaps a
chunk each time: ~7 µs instead of ~60 ns per call on this project's machine (`bench/stack_chunk.py`).
Upstream keeps one spare chunk since March 2026 (cpython gh-142183, backported to 3.13 and 3.14);
the 3.11 that mailbot runs on here (Debian's, and this machine's 3.11.7) does not. Where a chunk's
edges fall depends on how deep the caller is, so it differed from run to run: in one `run --once`
of 1,000 mails the worker mapped 26,635 chunks, ~27 per mail, for part of the run and none for the
rest (bench/README.md, session 21).

`call_at_fresh_chunk` calls through a function whose own frame is larger than a chunk. CPython gives
that frame a chunk of its own, so the function it calls starts at the very beginning of the next one,
which stays mapped until that call returns. A batch's work called so has a whole chunk (~60 frames of
SQLAlchemy's size) before it reaches an edge, whatever the depth of its caller. It costs two mappings
per call, so it is meant for a batch or a process's loop, not for each small call. Where CPython keeps
a spare chunk, it is one ordinary call more.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

CHUNK_BYTES = 16 * 1024  # CPython's _PY_DATA_STACK_CHUNK_SIZE
_SLOTS = CHUNK_BYTES // 8 + 64  # one slot is 8 bytes: a frame this large does not fit into a chunk


def _through_own_chunk(
    call: Callable[..., object], args: tuple[object, ...], kwargs: dict[str, object]
) -> object:
    return call(*args, **kwargs)


# Its frame made larger than a chunk: a frame reserves room for as many values as its code's stack
# size says, and more room than the code uses is never touched. An interpreter whose code objects
# cannot be changed so has no such chunks either: the call stays an ordinary one there.
with contextlib.suppress(AttributeError, TypeError, ValueError):
    _through_own_chunk.__code__ = _through_own_chunk.__code__.replace(co_stacksize=_SLOTS)


def call_at_fresh_chunk(call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`call(*args, **kwargs)`, its frame the first of a fresh frame-stack chunk (see the module)."""
    return _through_own_chunk(call, args, kwargs)  # type: ignore[return-value]
