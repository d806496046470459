"""Running one command in a fresh child and reading what it cost; base and head interleaved.

Wall time is what a user waits, but on a shared machine it moves with the neighbours' load; CPU time
(user + sys of the child and of every process it waited for: workers, the validator's second process)
moves much less, so both are kept. Peak RSS is the largest of those processes (Linux `ru_maxrss`).

On a VM whose neighbours come and go even CPU seconds of the same code move by 10-20 %. Instructions
executed do not: with `count_instructions` the child runs under valgrind's callgrind (about 50 times
slower), and `Run.instructions` is the sum of its "I refs" over every process of the run (workers
are forked, and valgrind follows them). Its times and RSS are then valgrind's, not cob's.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
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
    instructions: float | None = None  # counted only under valgrind (`run_child(count_instructions=True)`)


#: valgrind's summary line of one process: "==123== I   refs:      5,209,256,239"
_I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def valgrind() -> str | None:
    """The valgrind executable, or None when it is not installed."""
    return shutil.which("valgrind")


def run_child(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              stdout: Path | None = None, stderr: Path | None = None, count_instructions: bool = False) -> Run:
    """Start `cmd`, wait for it with wait4 and return its own resource usage (not the bench's); with
    `count_instructions`, under callgrind, with the instructions every process of it executed."""
    if not count_instructions:
        return _run(cmd, env, cwd, stdout, stderr)
    tool = valgrind()
    if tool is None:
        raise RuntimeError("counting instructions needs valgrind, which is not installed")
    with tempfile.TemporaryDirectory(prefix="cob-bench-vg-") as logs:
        run = _run([tool, "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={logs}/%p.log",
                    *cmd], env, cwd, stdout, stderr)
        counts = [int(m.group(1).replace(",", "")) for log in Path(logs).iterdir()
                  for m in _I_REFS.finditer(log.read_text(errors="replace"))]
    return Run(run.wall, run.cpu, run.rss, run.code, float(sum(counts)) if counts else None)


def _run(cmd: Sequence[str], env: dict[str, str] | None, cwd: Path | None, stdout: Path | None,
         stderr: Path | None) -> Run:
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


def run_children(cmds: Sequence[Sequence[str]], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 stdouts: Sequence[Path | None] | None = None,
                 stderrs: Sequence[Path | None] | None = None) -> tuple[float, list[Run]]:
    """Start every command at once and wait for all: the wall seconds until the last has exited, and
    each child's own Run (its wall is its own start to when it was reaped: a child reaped after a
    slower one shows the slower one's end)."""
    n = len(cmds)
    stdouts = list(stdouts) if stdouts is not None else [None] * n
    stderrs = list(stderrs) if stderrs is not None else [None] * n
    handles = []
    procs: list[subprocess.Popen] = []
    try:
        for out_path, err_path in zip(stdouts, stderrs, strict=True):
            handles.append((open(out_path, "wb") if out_path else subprocess.DEVNULL,
                            open(err_path, "wb") if err_path else subprocess.DEVNULL))
        started = time.perf_counter()
        for cmd, (out, err) in zip(cmds, handles, strict=True):
            procs.append(subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                          cwd=cwd))
        runs = []
        for proc in procs:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            runs.append(Run(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                            proc.returncode))
        return time.perf_counter() - started, runs
    except BaseException:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                proc.wait()
        raise
    finally:
        for pair in handles:
            for fh in pair:
                if fh is not subprocess.DEVNULL:
                    fh.close()


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
        values = [v for r in self.runs.get(tree, []) if (v := getattr(r, what)) is not None]
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
