"""Give the node's OS threads their Python names, so ``top -H``, ``ps -L`` and ``/proc`` show them.

Why: Python 3.11 leaves every thread named after the interpreter ("python"), so an operator (or a
benchmark) reading per-thread CPU cannot tell the event loop from block building or transaction intake.
Linux lets a process rename any of its own threads through ``/proc/self/task/<tid>/comm`` (15 bytes).
Threads started later (executor threads are created on demand) are named on the next call.
"""

from __future__ import annotations

import threading
from pathlib import Path

_named: dict[int, str] = {}


def name_os_threads() -> int:
    """Write each live Python thread's name to its OS thread (Linux; elsewhere a no-op).

    Returns how many threads were (re)named. Cheap enough to call every few seconds: threads already
    named are skipped.
    """
    done = 0
    for t in threading.enumerate():
        tid = t.native_id
        if tid is None:
            continue
        name = ("loop" if t is threading.main_thread() else t.name)[:15]
        if _named.get(tid) == name:
            continue
        try:
            Path(f"/proc/self/task/{tid}/comm").write_text(name)
        except OSError:  # not Linux, or the thread just ended
            continue
        _named[tid] = name
        done += 1
    return done
