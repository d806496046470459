"""One run at a time.

SQLite: `fcntl.flock` on `<database>.lock` beside the database. The kernel drops it when the process
dies, so a run killed by `kill -9` or a reboot never leaves a stale lock behind (a PID file would).
PostgreSQL: a session-level `pg_advisory_lock` on a connection held for the whole run; the server
releases it when that connection closes, for the same reason, and it works across machines, where
flock on a network file system is not to be trusted.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_KEY = 0x636F6202  # "cob" + 2: the advisory-lock key of `cob run`


class LockBusy(Exception):
    """Another run holds the lock."""


class RunLock:
    """Acquire with `acquire(wait)`; release with `release()` (or process exit)."""

    def __init__(self, sqlite_file: Path | None, url: str | None):
        self.sqlite_file = sqlite_file
        self.url = url
        self._fd: int | None = None
        self._conn = None

    @property
    def where(self) -> str:
        return str(self.sqlite_file.with_name(self.sqlite_file.name + ".lock")) if self.sqlite_file else \
            "a PostgreSQL advisory lock"

    def acquire(self, wait: bool = False) -> None:
        if self.sqlite_file is not None:
            path = self.sqlite_file.with_name(self.sqlite_file.name + ".lock")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                raise LockBusy(f"another cob run holds {path}") from None
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True)
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        else:
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
            if not got:
                conn.close()
                raise LockBusy("another cob run holds the PostgreSQL advisory lock of this state database")
        self._conn = conn

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
