"""Worker processes of `cob run --workers N`: they hold nothing of the run's, and they die with it.

Why spawn and not fork: a forked worker inherits every descriptor of the run, the lock file's and the
database connections' among them. A worker orphaned by `kill -9` of the run then kept the flock (or the
PostgreSQL session with the advisory lock) alive, and every later run found the lock held. A spawned
worker is a fresh interpreter that receives only its pipe: it never has the lock or a connection, and it
opens nothing of the state (workers only read inputs and write spool files, see `ingest`).

Why they die with the run: `PR_SET_PDEATHSIG` (Linux, through ctypes) has the kernel SIGKILL the worker
when the run's process ends, however it ends; a watchdog thread checks the parent pid every second for
the systems without it and for the race where the parent died before the worker set it up.

Why they ignore SIGINT and SIGTERM: Ctrl-C reaches the whole foreground process group. A
KeyboardInterrupt raised inside pydantic-core's serialization is swallowed ("Exception ignored in") and
leaves a corrupt body; a worker that dies of it breaks the pool. The run itself decides when to stop
(`signals`), between files, and shuts the pool down cleanly. A worker must ignore them from its first
instruction (a Ctrl-C while it imports would kill it): the pool is made and fed with the two signals
ignored *and* blocked in the run (`signals_held`). An ignored disposition survives exec (the mask does
not: spawn clears it), so the worker starts ignoring them; a blocked signal is never discarded, so what
arrives meanwhile is delivered to the run's own handler once it is back and the mask restored.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from . import signals

PR_SET_PDEATHSIG = 1
WATCHDOG_SECONDS = 1.0


def pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers inherit nothing and die with this process (see module doc)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_start, initargs=(os.getpid(),))


class Workers:
    """A run's worker processes (`pool`), started at first use and kept for every step that needs them:
    each spawn imports cob, about a second of CPU, which a run that parses and then bills in workers would
    otherwise pay twice. `close()` ends them (a run closes them in its `finally`)."""

    def __init__(self, n: int):
        self.n = max(1, n)
        self._executor: ProcessPoolExecutor | None = None

    def in_order(self, fn: Callable[..., Any], calls: Sequence[tuple],
                 died: Callable[[list[int]], BaseException]) -> Iterator[Any]:
        """`fn(*call)` for each call, in the workers, yielded in the order of `calls`.

        A stop signal while waiting kills the workers (they only ever write into the run's work folder) and
        raises `signals.StopRequested`; a worker's death (`BrokenProcessPool`) raises `died(unfinished)`, the
        indexes of the calls not finished, in order (the first `n` of them were running). Either way the
        workers are ended before this raises, so nothing hangs at exit; the next use starts new ones."""
        if self._executor is None:
            with signals_held():  # workers start with the stop signals ignored (see module doc)
                self._executor = pool(self.n)
        executor = self._executor
        with signals_held():
            futures = [executor.submit(fn, *call) for call in calls]
        try:
            for future in futures:
                while True:
                    try:
                        signals.check()
                        value = future.result(timeout=0.2)
                        break
                    except TimeoutError:
                        continue
                    except signals.StopRequested:
                        for process in list(getattr(executor, "_processes", {}).values()):
                            process.kill()
                        raise
                    except BrokenProcessPool:
                        unfinished = [n for n, f in enumerate(futures) if not f.done() or f.exception() is not None]
                        raise died(unfinished) from None
                yield value
        except BaseException:
            self.close()
            raise
        finally:
            for future in futures:
                future.cancel()  # (a caller that stopped reading early: the rest is not wanted)

    def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM blocked (kept pending, not lost) within; processes started within inherit it."""
    held = (signal.SIGINT, signal.SIGTERM)
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    handlers = {s: signal.signal(s, signal.SIG_IGN) for s in held}  # blocked: kept pending, not discarded
    try:
        yield
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _worker_start(parent: int) -> None:
    for name in ("COB_FAULT_AFTER", "COB_FAULT_AT", "COB_FAULT_COUNT", "COB_FAULT_TRACE"):
        os.environ.pop(name, None)  # the run's fault points count the run's own steps, not a worker's
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """Be killed when `parent` ends: PR_SET_PDEATHSIG where there is one, and a parent-pid watchdog."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watchdog alone
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="cob-parent-watchdog", daemon=True).start()
