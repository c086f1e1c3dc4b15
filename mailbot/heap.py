"""Give the C heap's free pages back to the system after a large one-off load.

glibc keeps memory that was freed for reuse instead of returning it, so a process's RSS stays at
its high-water mark. Two loads in the worker leave much of it behind (bench/memory.py): lingua's
German and English n-gram models, read at the first detection, free ~48 MB of scratch memory for
the ~50 MB they keep, and loading the saved article model (skops) frees ~20 MB. Returning it
lowers the worker's resident memory for the rest of its life by about as much, and the next load
no longer starts from a heap that is already at its peak. `malloc_trim(0)` costs a few
milliseconds, so it is called after such loads only, never per mail. Elsewhere than on glibc
(musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def release_free_heap() -> bool:
    """Return the heap's free pages to the system; False where the C library cannot (not glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
