"""One run at a time, a lock that names its holder, and never a wedge.

SQLite: `fcntl.flock` on `<database>.lock` beside the database. The kernel drops it when the last
descriptor of it closes, so a run killed by `kill -9` or a reboot leaves no stale lock (a PID file would).
PostgreSQL: a session-level `pg_advisory_lock` on a connection held for the whole run; the server
releases it when that connection closes, and it works across machines, where flock on a network file
system is not to be trusted.

Both die with the run only if no other process shares the descriptor: worker processes are spawned (not
forked) so they inherit neither the lock nor a database connection (`workers`), and they die with their
parent. What an older, orphaned process may still hold is handled here: the lock names its **holder**
(pid, host, start time: written into the lock file, or the lock connection's `application_name`), so

- a holder on this host whose process is gone is *taken over*: the SQLite lock file is replaced by a
  fresh one (under a second lock, so two runs never both take over), the PostgreSQL backend that still
  holds the advisory lock is terminated;
- a holder older than `max_run_minutes` is reported (`LockStuck`, a non-zero exit) instead of being
  waited for: `--wait` polls and gives up then, it never blocks forever on a dead or hung holder;
- `cob status` shows the holder (`current_holder`).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_KEY = 0x636F6202  # "cob" + 2: the advisory-lock key of `cob run`
APP_PREFIX = "cob-run "
POLL_SECONDS = 0.5


class LockBusy(Exception):
    """Another run holds the lock (and has not held it for longer than `max_run_minutes`)."""


class LockStuck(Exception):
    """The lock has been held longer than `max_run_minutes`: the holder may be hung; a person should look."""


@dataclass
class Holder:
    """Who holds (or last held) the lock."""

    pid: int
    host: str
    started: float  # epoch seconds
    held_seconds: float | None = None  # as the lock's owner measures it (PostgreSQL: the server's clock)
    backend: int | None = None  # PostgreSQL: the server process of the connection holding the lock

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.started))
        return f"pid {self.pid} on {self.host}, started {when}"

    @property
    def age_seconds(self) -> float:
        return self.held_seconds if self.held_seconds is not None else max(time.time() - self.started, 0.0)

    def gone(self) -> bool:
        """True only when the holder is known to be dead: on this host and no such process."""
        if self.host != socket.gethostname():
            return False
        return not pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _me() -> Holder:
    return Holder(os.getpid(), socket.gethostname(), time.time())


class RunLock:
    """Acquire with `acquire(wait, max_run_minutes)`; release with `release()` (or process exit)."""

    def __init__(self, sqlite_file: Path | None, url: str | None):
        self.sqlite_file = sqlite_file
        self.url = url
        self._fd: int | None = None
        self._conn = None
        self.took_over: Holder | None = None  # a dead holder this run replaced (the runner logs it)

    @property
    def path(self) -> Path | None:
        return self.sqlite_file.with_name(self.sqlite_file.name + ".lock") if self.sqlite_file else None

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "the PostgreSQL advisory lock of this state database"

    def acquire(self, wait: bool = False, max_run_minutes: float | None = None) -> None:
        """Take the lock. Raises `LockBusy` (held, `wait` false) or `LockStuck` (held longer than
        `max_run_minutes`, waiting or not); takes over a lock whose holder is gone."""
        while True:
            holder = self._try_sqlite() if self.sqlite_file is not None else self._try_postgres()
            if holder is None:
                return
            if holder.gone():
                self._take_over(holder)
                self.took_over = holder
                continue
            if max_run_minutes and holder.age_seconds > max_run_minutes * 60:
                raise LockStuck(f"another cob run has held {self.where} ({holder.describe()}) for "
                                f"{holder.age_seconds / 60:.0f} minutes, longer than run.max_run_minutes = "
                                f"{max_run_minutes:g}: it may be hung; check that process (stop it if it is "
                                "stuck; the next run finishes its work)")
            if not wait:
                raise LockBusy(f"another cob run holds {self.where} ({holder.describe()})")
            time.sleep(POLL_SECONDS)

    # -- SQLite: flock on a file that names its holder

    def _try_sqlite(self) -> Holder | None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd) or Holder(0, "?", time.time())
            os.close(fd)
            return holder
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # taken over (replaced) between our open and our flock: lock the new file instead
            os.close(fd)
            return self._try_sqlite()
        me = _me()
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": me.pid, "host": me.host, "started": me.started}).encode() + b"\n", 0)
        self._fd = fd
        return None

    def _take_over(self, holder: Holder) -> None:
        """Make a lock whose holder is gone free again (see module doc)."""
        if self.sqlite_file is None:
            if holder.backend:
                import psycopg

                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute("SELECT pg_terminate_backend(%s)", (holder.backend,))
                    for _ in range(100):  # until the server has released it
                        if _pg_holder(conn) is None:
                            break
                        time.sleep(0.05)
            return
        path = self.path
        guard = os.open(path.with_name(path.name + ".takeover"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                return
            try:
                current = _read_holder(fd)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return  # free now: nothing to take over
                except BlockingIOError:
                    pass
                if current is not None and current.pid == holder.pid and current.gone():
                    os.unlink(path)  # the orphan keeps its lock on the old file; nobody else looks at it
            finally:
                os.close(fd)
        finally:
            os.close(guard)

    # -- PostgreSQL: advisory lock on a connection named after its holder

    def _try_postgres(self) -> Holder | None:
        import psycopg

        me = _me()
        conn = psycopg.connect(self.url, autocommit=True,
                               application_name=f"{APP_PREFIX}{me.pid}@{me.host[:30]} {int(me.started)}")
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
        if got:
            self._conn = conn
            return None
        try:
            return _pg_holder(conn) or Holder(0, "?", time.time(), held_seconds=0.0)
        finally:
            conn.close()

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)  # nobody holds it now
            except OSError:
                pass
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


def _read_holder(fd: int) -> Holder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(int(data["pid"]), str(data["host"]), float(data["started"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _pg_holder(conn) -> Holder | None:
    row = conn.execute(
        "SELECT a.pid, a.application_name, EXTRACT(EPOCH FROM (now() - a.backend_start)) "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
        (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)).fetchone()
    if row is None:
        return None
    backend, app, held = row
    pid, host, started = 0, "?", time.time() - float(held or 0)
    if app and app.startswith(APP_PREFIX):
        try:
            who, epoch = app[len(APP_PREFIX):].rsplit(" ", 1)
            pid_text, host = who.split("@", 1)
            pid, started = int(pid_text), float(epoch)
        except ValueError:
            pass
    return Holder(pid, host, started, held_seconds=float(held or 0), backend=int(backend))


def current_holder(sqlite_file: Path | None, url: str | None) -> tuple[Holder | None, bool]:
    """(holder, held) for `cob status`, without taking the lock: the holder named by the lock, and whether
    the lock is held now (a holder whose process is gone is shown, but not as holding it)."""
    if sqlite_file is not None:
        path = sqlite_file.with_name(sqlite_file.name + ".lock")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.EACCES):
                return None, False
            raise
        try:
            holder = _read_holder(fd)
        finally:
            os.close(fd)
        return holder, holder is not None and not holder.gone()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        holder = _pg_holder(conn)
    return holder, holder is not None and not holder.gone()
