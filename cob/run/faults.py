"""Fault injection for the crash tests; inert unless a COB_FAULT_* variable is set.

The runner calls `checkpoint(name)` at every step whose interruption matters (after each commit, between
a commit and a rename, between a rename and the next, per claim spooled...). With

- ``COB_FAULT_AFTER=N``: the Nth checkpoint of the process acts: ``COB_FAULT_KIND=kill`` (default)
  SIGKILLs the process (what a reboot or ``kill -9`` does); ``enospc`` raises ``OSError(ENOSPC)`` (a full
  disk); ``pause`` holds there until the file named by ``COB_FAULT_RELEASE`` exists (two concurrent runs).
- ``COB_FAULT_AT=name``: as COB_FAULT_AFTER, at the first checkpoint called `name`.
- ``COB_FAULT_COUNT=FILE``: at exit the number of checkpoints passed is written to FILE, so a test can
  pick kill points across the whole run.
- ``COB_FAULT_UNREADABLE=name1,name2``: opening those inputs raises PermissionError. Tests run as root,
  where ``chmod 000`` does not stop reads; this exercises the same path.
- ``COB_FAULT_KILL_READER=name``: the process reading that input SIGKILLs itself (a worker killed by the
  OOM killer: the run must name it and exit 3).
"""

from __future__ import annotations

import atexit
import errno
import os
import signal
import time
from pathlib import Path

_count = 0
_registered = False


def checkpoint(name: str) -> None:
    """One instrumented step (`name` is for debugging: COB_FAULT_TRACE=FILE appends it)."""
    global _count, _registered
    after = os.environ.get("COB_FAULT_AFTER")
    count_file = os.environ.get("COB_FAULT_COUNT")
    trace = os.environ.get("COB_FAULT_TRACE")
    at = os.environ.get("COB_FAULT_AT")
    if not (after or count_file or trace or at):
        return
    _count += 1
    if at and at == name:  # the first step of that name acts
        os.environ.pop("COB_FAULT_AT")
        after = str(_count)
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(f"{_count} {name}\n")
    if count_file and not _registered:
        _registered = True
        atexit.register(lambda: Path(count_file).write_text(str(_count)))
    if after and _count == int(after):
        kind = os.environ.get("COB_FAULT_KIND", "kill")
        if kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif kind == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        elif kind == "pause":
            release = Path(os.environ["COB_FAULT_RELEASE"])
            ready = os.environ.get("COB_FAULT_PAUSED")
            if ready:
                Path(ready).write_text(str(os.getpid()))
            deadline = time.monotonic() + 120
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.02)


def host_name() -> str:
    """This machine's name as `cob run` records it for its units (`team`); ``COB_FAULT_HOST`` makes a
    process look as if it ran on another machine (a test of a dead machine, whose pids nobody can check)."""
    import socket

    return os.environ.get("COB_FAULT_HOST") or socket.gethostname()


def check_readable(path: Path) -> None:
    """Raise PermissionError for inputs named in COB_FAULT_UNREADABLE (see module doc)."""
    names = os.environ.get("COB_FAULT_UNREADABLE")
    if names and path.name in names.split(","):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))


def kill_reader(path: Path) -> None:
    """SIGKILL this process when it is about to parse the input named by COB_FAULT_KILL_READER."""
    if os.environ.get("COB_FAULT_KILL_READER") == path.name:
        os.kill(os.getpid(), signal.SIGKILL)


def reset() -> None:
    """Start counting again (in-process tests that run several batches)."""
    global _count
    _count = 0
