"""SIGINT and SIGTERM during `cob run`: a flag, checked between files and claims; never an exception
raised wherever the interpreter happens to be.

Why: Python's default SIGINT handler raises KeyboardInterrupt at any bytecode, also inside pydantic-core's
Decimal serialization, where it is swallowed ("Exception ignored in: Decimal(...)") and the JSON body
stored reads "<unprintable Decimal object>"; the run then exited 0 with a corrupt claim in the state.
Here the handler only records the signal; the runner calls `check()` where stopping is clean (between
input files, between claims being decided, before the billing commit) and `StopRequested` ends the run
with nothing half-written: the next run continues from the last commit, as after `kill -9`. A second
signal while stopping exits at once (`os._exit`), which is as safe as `kill -9` and what a person
pressing Ctrl-C twice wants. Exit status 128 + signal number (130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: the signal that asked the run to stop, or None
requested: int | None = None


class StopRequested(Exception):
    """Raised by `check()` in the run's own code once a stop signal arrived."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _handle(signum: int, _frame) -> None:
    global requested
    if requested is not None:
        os._exit(128 + signum)
    requested = signum


def check() -> None:
    """Raise `StopRequested` when a stop signal arrived (cheap: one global lookup)."""
    if requested is not None:
        raise StopRequested(requested)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within: SIGINT and SIGTERM set the flag instead of raising (main thread only; elsewhere inert)."""
    global requested
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    requested = None
    previous = {s: signal.signal(s, _handle) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        requested = None
