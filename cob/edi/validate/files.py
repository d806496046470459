"""Many files, with their acknowledgments: what `cob validate` does, as a library call.

`validate_file` checks one file; `validate_files` checks a list of them in order, writes the 999s and
TA1s of each into an ack folder (control numbers persisted there, so successive runs never reuse one),
and reports progress over the bytes of all files, so a caller can draw one bar for the whole run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from cob.edi.inputs import STDIN_NAME
from cob.progress import Progress, Steps

from .engine import ALL_SNIP, validate_file
from .findings import FileResult

#: the phase told to `progress(done, total, label)`: bytes validated so far of all the files' bytes
LABEL = "validating"


@dataclass
class Validated:
    """One file's result, the acknowledgments written for it, and what it cost."""

    result: FileResult
    acks: list[Path] = field(default_factory=list)
    size: int = 0
    seconds: float = 0.0


def validate_files(paths: Iterable[str | Path], *, snip: Iterable[int] = ALL_SNIP, max_errors: int | None = None,
                   ack_dir: str | Path | None = None, names: Mapping[Path, str] | None = None,
                   progress: Progress | None = None, show_values: bool = False) -> Iterator[Validated]:
    """Validate each file in turn and yield its `Validated` as soon as it is done.

    With `ack_dir`, every set must be checked to be acknowledged, so `max_errors` does not stop the
    reading (render the result with the limit to trim the report); without it, a file stops at its
    `max_errors`-th error. `names` gives a display name to some paths (a spooled stdin is `<stdin>`;
    its acknowledgments are filed as `stdin.<ISA13>.999`)."""
    files = [Path(p) for p in paths]
    names = names or {}
    sizes = [_size(p) for p in files]
    steps = Steps(progress, sum(sizes), LABEL)
    numbers = None
    if ack_dir is not None:  # imported only then: the writer and the models cost a validate-only run 0.2 s
        from .ack import PersistentControlNumbers, write_acks

        numbers = PersistentControlNumbers(ack_dir)
    stop = None if ack_dir is not None else max_errors
    snip = frozenset(snip)
    try:
        start = 0
        for path, size in zip(files, sizes):
            end = start + size
            report: Callable[[int], None] | None = None
            if steps.progress is not None:
                def report(n: int, end: int = end) -> None:  # characters read, clamped to the file's bytes
                    steps.to(min(steps.done + n, end))
            began = time.perf_counter()
            name = names.get(path)
            result = validate_file(path, snip=snip, max_errors=stop, name=name, progress=report,
                                   show_values=show_values)
            acks: list[Path] = []
            if numbers is not None and result.interchanges:
                acks = write_acks(result, ack_dir, control_numbers=numbers,
                                  name="stdin" if name == STDIN_NAME else None)
            steps.to(end)
            start = end
            yield Validated(result, acks, size, time.perf_counter() - began)
    finally:
        if numbers is not None:
            numbers.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
