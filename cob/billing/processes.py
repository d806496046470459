"""Forked processes of a `cob secondary` run: when to fork, how many, and taking their results back.

Both the workers that bill shares of the claims (parallel.py) and the processes that check the output
files (output.py) are forked children that send one pickled result, or the exception that stopped them,
back over a pipe.
"""

from __future__ import annotations

import gc
import os
import pickle
import threading
from typing import Any

#: claim files from this size on are read by several processes (when the machine has several CPUs); output
#: files from this size on are checked in processes of their own
PARALLEL_BYTES = 4_000_000


def default_workers() -> int:
    """Processes for a big run: one per CPU, at most 4 (beyond that the parent's joining and each
    worker's walk of the others' claims eat the gain, and memory grows with every worker)."""
    return min(os.cpu_count() or 1, 4)


def can_fork() -> bool:
    """Forking a process that runs other threads is unsafe (a lock one of them holds stays held)."""
    return threading.active_count() == 1


def receive(conn, raw: bool = False) -> Any:
    """A child's result from its end of a pipe (`raw`: sent as pickled bytes); an exception it sent is
    raised here, and a child that died without a word is an error."""
    try:
        value = unpickled(conn.recv_bytes()) if raw else conn.recv()
    except EOFError:
        raise RuntimeError("a cob secondary worker process ended without its result") from None
    if isinstance(value, BaseException):
        raise value
    return value


def unpickled(data: bytes) -> Any:
    """`pickle.loads` with the collector paused: a worker's share is tens of thousands of small containers,
    all kept, and with collection on they set off passes over everything unpickled so far (two shares of
    25,000 claims: 0.31 s of the parent's CPU with collection on, 0.14 s paused)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        if enabled:
            gc.enable()
