"""Progress of long library calls, told to whoever asks; the library itself draws nothing.

A caller passes `progress(done, total, label)` (`Progress`): it is called with done = 0 when a phase
(`label`) starts, then with a growing `done`, up to `total` when the phase is complete. The `cob` command
draws one click bar per label when stderr is a terminal, and passes no callback otherwise; library code
counts its steps with `Steps`, which costs nothing when there is no callback.
"""

from __future__ import annotations

from typing import Callable

Progress = Callable[[int, int, str], None]


class Steps:
    """The steps of one phase, told to `progress`; silent without one (or when there is nothing to do)."""

    __slots__ = ("progress", "total", "label", "done")

    def __init__(self, progress: Progress | None, total: int, label: str):
        self.progress = progress if total > 0 else None
        self.total, self.label, self.done = total, label, 0
        if self.progress is not None:
            self.progress(0, total, label)

    def update(self, n: int = 1) -> None:
        """`n` more steps done."""
        if self.progress is not None and n:
            self.done += n
            self.progress(self.done, self.total, self.label)

    def to(self, done: int) -> None:
        """`done` steps done in all (told only when that is news)."""
        if self.progress is not None and done != self.done:
            self.done = done
            self.progress(done, self.total, self.label)

    def close(self) -> None:
        """The phase is over (a caller's bar ends with the next label, or when the call returns)."""
        self.progress = None
