"""Running one command in a fresh child and reading what it cost; base and head interleaved.

Wall time is what a user waits, but on a shared machine it moves with the neighbours' load; CPU time
(user + sys of the child and of every process it waited for: workers, the validator's second process)
moves much less, so both are kept. Peak RSS is the largest of those processes (Linux `ru_maxrss`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: the order the trees run in within each repeat
TREES = ("base", "head")


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, CPU seconds (user + sys), peak RSS in MB, exit code."""

    wall: float
    cpu: float
    rss: float
    code: int


def run_child(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              stdout: Path | None = None, stderr: Path | None = None) -> Run:
    """Start `cmd`, wait for it with wait4 and return its own resource usage (not the bench's)."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    err = open(stderr, "wb") if stderr else subprocess.DEVNULL
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        for fh in (out, err):
            if fh is not subprocess.DEVNULL:
                fh.close()
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


@dataclass
class Figure:
    """One measured quantity (a command on an input), with the runs of each tree."""

    group: str  # parse | validate | secondary | run
    label: str  # the command, e.g. "cob validate --snip 1,2 837P"
    data: str  # which data: "generator", "variety", "sample <file>"
    size: float  # MB of input, or claims
    unit: str = "MB"  # "MB" or "claims": the speed column is size / wall seconds
    runs: dict[str, list[Run]] = field(default_factory=lambda: {t: [] for t in TREES})
    failed: dict[str, str] = field(default_factory=dict)  # tree -> why it was not measured
    notes: list[str] = field(default_factory=list)

    def median(self, tree: str, what: str) -> float | None:
        values = [getattr(r, what) for r in self.runs.get(tree, [])]
        return statistics.median(values) if values else None

    def speed(self, tree: str) -> float | None:
        wall = self.median(tree, "wall")
        return self.size / wall if wall else None


#: one run of one tree; gets the repeat number (0, 1, ...) so it can give each run fresh folders
Step = Callable[[int], Run]


def interleave(figure: Figure, steps: dict[str, Step], repeats: int,
               ok_codes: frozenset[int] = frozenset({0}),
               why: Callable[[str, Run], str] | None = None) -> Figure:
    """Run base, head, base, head, ... `repeats` times each; a tree whose run fails is not run again.

    Running the two trees back to back in every repeat means a change of load on the machine hits both
    alike; the medians then drop the odd disturbed run.
    """
    for repeat in range(repeats):
        for tree in TREES:
            step = steps.get(tree)
            if step is None or tree in figure.failed:
                continue
            run = step(repeat)
            if run.code not in ok_codes:
                figure.failed[tree] = why(tree, run) if why else f"exit code {run.code}"
                continue
            figure.runs[tree].append(run)
    return figure
