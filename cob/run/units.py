"""Work units with leases: how several `cob run` processes, on any number of machines, share one drop
through the PostgreSQL that holds the state (issue 19, scale-out).

A *unit* is one piece of work of a *round* (an opaque string the runner chooses: `team` uses `run-<run id>`):
one input to parse, one claim shard to bill, one payer's output to check (`team.KINDS`). Its `kind` names the
phase, its `key` the piece (inbox path, shard number, output file; never patient data: `cob status` shows
keys), `seq` its order within the kind, `payload` / `result` runner-defined bytes. A unit is

    ready ──lease──▶ leased ──done (guarded)──▶ done
                      │  └────fail (guarded)──▶ failed
                      └─ lease expired: `lease` by another process takes it over (attempts + 1; past
                         `max_attempts` takeovers it is failed instead: a unit that kills every process)

**Leases.** `lease(round, kind)` picks the first unit by `seq` that is ready, or leased with an expired
`lease_until` (its process died or stalled), with `SELECT ... FOR UPDATE SKIP LOCKED`: concurrent processes
never wait for each other and never get the same row. The unit gets a new random `token`, this process as
`holder` and `lease_until = clock_timestamp() + lease_seconds`, committed at once on the Units' own
connection. Time is always the server's (`clock_timestamp()`, not `now()`, which is frozen at the start of a
transaction: a guard inside a long commit must see the time of the check). A heartbeat thread, on a
connection of its own (a psycopg connection must not be used by two threads at once), extends every
`lease_seconds / 3` the leases this process still holds by token and not yet expired, and bumps
`processes.heartbeat_at`. A process stopped by SIGSTOP (or a machine that froze) stops renewing as a whole,
its leases expire and another process takes the units over.

**The guard.** `done(db, lease, result)` runs INSIDE the runner's commit transaction on the runner's own
`Database`, the one that writes the work's rows: it locks the unit row (`FOR UPDATE`) and raises `LeaseLost`
unless the token is still ours, the unit still leased and the lease not expired; then marks it done with
its result. The row lock is held to the commit, so nobody can take the unit over between the check and the
commit, and a process whose lease expired cannot commit: its transaction is rolled back and nothing it
built is published (an expired lease is refused even when nobody has taken it over yet: it may be any
moment, and the unit is simply leased again).

**Creating a phase's units once.** `create_once(round, kind, make_items)` inserts the phase's row in
`unit_phases` first: the process that inserts it wins and runs `make_items` in the same transaction; the
others' inserts of the same key wait on the winner's transaction (PostgreSQL's unique index) and then find
it there, with its units committed. A winner that dies rolls back, and the next waiter wins.

**The worker loop** (`drain` is this loop)::

    while True:
        lease = units.lease(round, kind)
        if lease is not None:
            work it, then in the commit transaction: units.done(db, lease, result)   # LeaseLost: roll back
            continue
        if units.wait_for(round, kind, poll_seconds, stop_check) != Wait.LEASABLE:
            break          # Wait.DONE: no unit of the kind is open; Wait.STOPPED: stop_check said so

`wait_for` returns DONE when nothing of the kind is ready or leased, LEASABLE as soon as a unit can be leased
again (a dead process's lease expired, a unit was added), STOPPED when `stop_check()` is true.

**Why `FOR UPDATE SKIP LOCKED`, not a job-queue library (Procrastinate).** cob already has psycopg and the
state database; the guarded commit must be in the same transaction as the state rows the work writes
(claims decided, control numbers, outputs staged), on the runner's connection, which an external job queue
(its own connection, its own job table and worker loop) cannot give. A queue would also bring a second
worker model next to `cob run`'s, for about one table and three statements.

PostgreSQL only (SKIP LOCKED, the server's clock, `make_interval`): SQLite keeps today's single-machine
run lock, and its state has these tables (migration 6), empty.
"""

from __future__ import annotations

import enum
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .db import Database, PostgresDatabase
from .inbox import shown

log = logging.getLogger(__name__)

#: `[run] lease_seconds` when not configured
DEFAULT_LEASE_SECONDS = 120.0
#: takeovers of one unit before it is failed instead of leased again (each means a process died on it)
DEFAULT_MAX_ATTEMPTS = 3

READY, LEASED, DONE, FAILED = "ready", "leased", "done", "failed"
WORKING, WAITING, FINISHED = "working", "waiting", "finished"


class LeaseLost(Exception):
    """The unit's lease is no longer this process's (expired, taken over, or the unit is finished): the
    transaction that asked must roll back; nothing of it is committed."""

    def __init__(self, kind: str, key: str, why: str):
        super().__init__(f"unit {kind} {key}: lease lost to another process; nothing committed")
        self.kind, self.key, self.why = kind, key, why


class Wait(enum.Enum):
    DONE = "done"  # no unit of the kind is ready or leased
    LEASABLE = "leasable"  # a unit can be leased (ready, or its lease expired): call `lease` again
    STOPPED = "stopped"  # stop_check() said stop


@dataclass(frozen=True)
class Lease:
    """A unit this process leased; `token` proves it at commit (`Units.done`)."""

    id: int
    round: str
    kind: str
    key: str
    seq: int
    payload: bytes | None
    token: str
    attempts: int  # how many times the unit was taken over from a process whose lease expired
    taken_over: bool  # this lease took it over (the runner logs it)
    previous_holder: int | None = None  # the process it was taken from (processes.id)
    holder: int | None = None  # this process (processes.id)


@dataclass
class HeldUnit:
    round: str
    kind: str
    key: str
    lease_remaining_seconds: float

    def to_dict(self) -> dict:
        return {"round": self.round, "kind": self.kind, "key": self.key,
                "lease_remaining_seconds": round(self.lease_remaining_seconds, 1)}


@dataclass
class ProcessAtWork:
    """One `cob run` process with a recent heartbeat, for `cob status`."""

    id: int
    host: str
    pid: int
    started_at: str
    heartbeat_age_seconds: float
    state: str
    run_id: int | None
    units: list[HeldUnit] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "host": self.host, "pid": self.pid, "started_at": self.started_at,
                "heartbeat_age_seconds": round(self.heartbeat_age_seconds, 1), "state": self.state,
                "run_id": self.run_id, "units": [u.to_dict() for u in self.units]}

    def line(self) -> str:
        held = ", ".join(f"{shown(u.kind)} {shown(u.key)} (lease {max(u.lease_remaining_seconds, 0):.0f} s left)"
                         for u in self.units)  # keys may be file names: control characters escaped
        return (f"  pid {self.pid} on {self.host}, started {self.started_at}, {self.state}"
                + (f": {held}" if held else ""))


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def _require_postgres(db: Database) -> None:
    if db.dialect != "postgresql":
        raise ValueError("work units need the PostgreSQL state ([state] url = \"postgresql://...\"); "
                         "on SQLite one run at a time holds the run lock")


def _limit_idle_transactions(conn: Any, lease_seconds: float) -> None:
    """A process stopped (SIGSTOP, a frozen machine) inside one of the Units' short transactions would keep
    its row locks, and the units it locked could not be taken over: the server ends such a transaction
    after a lease's time."""
    conn.execute(f"SET idle_in_transaction_session_timeout = {max(int(lease_seconds * 1000), 1000)}")


def guard(db: Database, lease: Lease) -> None:
    """Inside the runner's commit transaction on `db`: lock the unit's row until that transaction ends and
    raise `LeaseLost` unless the lease is still ours (our token, still leased, not expired)."""
    if not db.in_transaction:
        raise RuntimeError("units.guard must run inside the transaction that commits the unit's work")
    row = db.one("SELECT token, state, lease_until > clock_timestamp() FROM units WHERE id = ? FOR UPDATE",
                 (lease.id,))
    if row is None:
        raise LeaseLost(lease.kind, lease.key, "the unit no longer exists")
    token, state, current = row
    if token != lease.token:
        raise LeaseLost(lease.kind, lease.key, "taken over by another process")
    if state != LEASED:
        raise LeaseLost(lease.kind, lease.key, f"the unit is {state}")
    if not current:
        raise LeaseLost(lease.kind, lease.key, "the lease expired")


def done(db: Database, lease: Lease, result: bytes | None = None) -> None:
    """`guard`, then mark the unit done with `result`, in the runner's transaction on `db`."""
    _finish(db, lease, DONE, result)


def fail(db: Database, lease: Lease, result: bytes | None = None) -> None:
    """`guard`, then mark the unit failed (the runner's account of why in `result`): not leased again."""
    _finish(db, lease, FAILED, result)


def _finish(db: Database, lease: Lease, state: str, result: bytes | None) -> None:
    guard(db, lease)
    db.execute("UPDATE units SET state = ?, result = ?, lease_until = NULL WHERE id = ?",
               (state, result, lease.id))
    db.execute("UPDATE processes SET unit_id = NULL WHERE id = ? AND unit_id = ?", (lease.holder, lease.id))


def at_work(db: Database, recent_seconds: float) -> list[ProcessAtWork]:
    """Processes not finished whose heartbeat is at most `recent_seconds` old, with the units they hold."""
    rows = db.query(
        "SELECT p.id, p.host, p.pid, p.started_at, EXTRACT(EPOCH FROM (clock_timestamp() - p.heartbeat_at)), "
        "p.state, p.run_id, u.round, u.kind, u.key, EXTRACT(EPOCH FROM (u.lease_until - clock_timestamp())) "
        "FROM processes p LEFT JOIN units u ON u.holder = p.id AND u.state = ? "
        "WHERE p.state <> ? AND p.heartbeat_at > clock_timestamp() - make_interval(secs => ?) "
        "ORDER BY p.id, u.kind, u.seq", (LEASED, FINISHED, float(recent_seconds)))
    found: dict[int, ProcessAtWork] = {}
    for pid_row, host, pid, started, age, state, run_id, rnd, kind, key, remaining in rows:
        process = found.get(pid_row)
        if process is None:
            process = found[pid_row] = ProcessAtWork(int(pid_row), host, int(pid),
                                                     started.isoformat(timespec="seconds"), float(age), state,
                                                     run_id)
        if kind is not None:
            process.units.append(HeldUnit(rnd, kind, key, float(remaining)))
    return list(found.values())


class Units:
    """The work units of a PostgreSQL state, as one process sees them.

    `db` is a connection of the Units' own (`Units.connect(url)` makes one): leases, additions and
    heartbeats commit at once, whatever transaction the runner's main connection is in. The runner's
    main `Database` is only handed to `done` / `fail` / `guard`, inside its commit transaction."""

    def __init__(self, db: Database, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, owns_db: bool = False):
        _require_postgres(db)
        if not lease_seconds > 0:
            raise ValueError("lease_seconds must be above 0")
        self.db = db
        self.lease_seconds = float(lease_seconds)
        _limit_idle_transactions(db.conn, self.lease_seconds)
        self.max_attempts = max_attempts
        self.process_id: int | None = None
        self._owns_db = owns_db
        self._held: dict[int, str] = {}  # unit id -> token, of the leases the heartbeat renews
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def connect(cls, url: str, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> "Units":
        """Units on a new connection of their own to the state at `url` (closed by `close`)."""
        return cls(PostgresDatabase(url), lease_seconds, max_attempts, owns_db=True)

    # ------------------------------------------------------------------------------------ processes

    def register(self, host: str, pid: int, run_id: int | None = None) -> int:
        """Record this process as taking part (state waiting) and start its heartbeat; returns its id."""
        with self.db.transaction():
            self.process_id = int(self.db.one(
                "INSERT INTO processes (host, pid, started_at, heartbeat_at, run_id, state) "
                "VALUES (?, ?, clock_timestamp(), clock_timestamp(), ?, ?) RETURNING id",
                (host, pid, run_id, WAITING))[0])
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"cob-units-heartbeat-{self.process_id}",
                                        daemon=True)
        self._thread.start()
        return self.process_id

    def heartbeat(self, conn: Any = None) -> int:
        """Bump this process's heartbeat and extend the leases it still holds (by token, not expired);
        returns how many were extended. The heartbeat thread calls it on its own connection `conn`."""
        with self._held_lock:
            tokens = list(self._held.values())
        if conn is None:
            conn = self.db.conn
        lease = f"{self.lease_seconds} seconds"
        with conn.transaction():
            conn.execute("UPDATE processes SET heartbeat_at = clock_timestamp() WHERE id = %s",
                         (self.process_id,))
            if not tokens:
                return 0
            # rows a guard has locked (being committed) are skipped, not waited for: nobody can take those over
            kept = {r[0] for r in conn.execute(
                "UPDATE units SET lease_until = clock_timestamp() + %s::interval WHERE id IN ("
                "SELECT id FROM units WHERE token = ANY(%s) AND state = %s AND lease_until > clock_timestamp() "
                "FOR UPDATE SKIP LOCKED) RETURNING token", (lease, tokens, LEASED)).fetchall()}
            gone = set(tokens) - kept - {r[0] for r in conn.execute(
                "SELECT token FROM units WHERE token = ANY(%s) AND state = %s AND lease_until > clock_timestamp()",
                (tokens, LEASED)).fetchall()}
        with self._held_lock:  # done, failed, taken over or expired: nothing to renew any more
            for unit_id, token in list(self._held.items()):
                if token in gone:
                    del self._held[unit_id]
        return len(kept)

    def _beat(self) -> None:
        import psycopg

        conn = None
        interval = self.lease_seconds / 3
        while not self._stop.wait(interval):
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.db.url, autocommit=True)
                    _limit_idle_transactions(conn, self.lease_seconds)
                self.heartbeat(conn)
            except Exception as exc:  # noqa: BLE001 - a missed beat only shortens leases: the guard stays safe
                log.warning("units heartbeat of process %s failed (%s); retrying", self.process_id,
                            type(exc).__name__)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.lease_seconds)  # (a beat stuck on the network: its leases lapse anyway)
            self._thread = None

    def release(self, lease: Lease) -> bool:
        """Give an unfinished unit back (ready again, attempts unchanged) at once instead of letting its lease
        run out, e.g. when the process is stopping; only while the lease is ours. True when given back."""
        with self.db.transaction():
            given = self.db.execute("UPDATE units SET state = ?, holder = NULL, token = NULL, lease_until = NULL "
                                    "WHERE id = ? AND token = ? AND state = ?",
                                    (READY, lease.id, lease.token, LEASED)).rowcount
            self.db.execute("UPDATE processes SET unit_id = NULL WHERE id = ? AND unit_id = ?",
                            (self.process_id, lease.id))
        with self._held_lock:
            self._held.pop(lease.id, None)
        return bool(given)

    def finish_process(self) -> None:
        """This process is done with the drop: heartbeat stopped, the units it still holds given back
        (their work was not committed), state finished."""
        self._stop_heartbeat()
        if self.process_id is None:
            return
        with self._held_lock:
            tokens = list(self._held.values())
            self._held.clear()
        with self.db.transaction():
            if tokens:
                self.db.execute("UPDATE units SET state = ?, holder = NULL, token = NULL, lease_until = NULL "
                                "WHERE token = ANY(?) AND state = ?", (READY, tokens, LEASED))
            self.db.execute("UPDATE processes SET state = ?, unit_id = NULL, heartbeat_at = clock_timestamp() "
                            "WHERE id = ?", (FINISHED, self.process_id))

    def close(self) -> None:
        self._stop_heartbeat()
        if self._owns_db:
            self.db.close()

    def __enter__(self) -> "Units":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ units

    def add(self, round: str, kind: str, items: Iterable[tuple[str, bytes | None]]) -> int:
        """Insert the units that do not exist yet (UNIQUE round, kind, key), numbered (`seq`) in the given
        order after the kind's last; returns how many were new."""
        with self.db.transaction():
            return self._add(round, kind, items)

    def _add(self, round: str, kind: str, items: Iterable[tuple[str, bytes | None]]) -> int:
        start = int(self.db.scalar("SELECT MAX(seq) FROM units WHERE round = ? AND kind = ?", (round, kind),
                                   default=-1)) + 1
        new = 0
        for key, payload in items:
            new += self.db.execute(
                "INSERT INTO units (round, kind, key, seq, payload, state) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (round, kind, key) DO NOTHING", (round, kind, key, start + new, payload, READY)).rowcount
        return new

    def create_once(self, round: str, kind: str,
                    make_items: Callable[[], Sequence[tuple[str, bytes | None]]]) -> bool:
        """Create a round's units of `kind` exactly once among racing processes: only the process that
        records the phase runs `make_items` (in the same transaction). True in that process."""
        with self.db.transaction():
            won = self.db.one("INSERT INTO unit_phases (round, kind, units, created_by) VALUES (?, ?, 0, ?) "
                              "ON CONFLICT (round, kind) DO NOTHING RETURNING 1", (round, kind, self.process_id))
            if won is None:
                return False
            count = self._add(round, kind, make_items())
            self.db.execute("UPDATE unit_phases SET units = ? WHERE round = ? AND kind = ?", (count, round, kind))
        return True

    def created(self, round: str, kind: str) -> bool:
        """The round's units of `kind` were created (`create_once`)."""
        return self.db.one("SELECT 1 FROM unit_phases WHERE round = ? AND kind = ?", (round, kind)) is not None

    def lease(self, round: str, kind: str) -> Lease | None:
        """The next unit of the kind that is ready or whose lease expired, leased to this process; None when
        there is none now (the rest are leased by live processes, or finished)."""
        if self.process_id is None:
            raise RuntimeError("Units.register first: a lease names the process that holds it")
        while True:
            with self.db.transaction():
                row = self.db.one(
                    "SELECT id, key, seq, payload, state, attempts, holder FROM units WHERE round = ? AND kind = ? "
                    "AND (state = ? OR (state = ? AND lease_until < clock_timestamp())) "
                    "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED", (round, kind, READY, LEASED))
                if row is None:
                    self.db.execute("UPDATE processes SET state = ?, unit_id = NULL, heartbeat_at = clock_timestamp() "
                                    "WHERE id = ?", (WAITING, self.process_id))
                    return None
                unit_id, key, seq, payload, state, attempts, holder = row
                taken_over = state == LEASED
                if taken_over:
                    attempts += 1
                if attempts > self.max_attempts:
                    self.db.execute("UPDATE units SET state = ?, attempts = ?, lease_until = NULL, result = ? "
                                    "WHERE id = ?", (FAILED, attempts, f"lease expired {attempts} times".encode(),
                                                     unit_id))
                    log.warning("unit %s %s: failed, its lease expired %d times (each process that took it "
                                "stopped)", kind, key, attempts)
                    continue
                token = secrets.token_hex(16)
                self.db.execute(
                    "UPDATE units SET state = ?, holder = ?, token = ?, attempts = ?, "
                    "lease_until = clock_timestamp() + make_interval(secs => ?) WHERE id = ?",
                    (LEASED, self.process_id, token, attempts, self.lease_seconds, unit_id))
                self.db.execute("UPDATE processes SET state = ?, unit_id = ?, heartbeat_at = clock_timestamp() "
                                "WHERE id = ?", (WORKING, unit_id, self.process_id))
            with self._held_lock:
                self._held[unit_id] = token
            if taken_over:
                log.warning("unit %s %s: taken over from process %s, whose lease expired (attempt %d)",
                            kind, key, holder, attempts)
            return Lease(int(unit_id), round, kind, key, int(seq), _bytes(payload), token, int(attempts),
                         taken_over, holder, self.process_id)

    # guarded commits, on the runner's database inside its transaction (module functions, here for reach)
    guard = staticmethod(guard)
    done = staticmethod(done)
    fail = staticmethod(fail)

    def open_count(self, round: str, kind: str) -> int:
        """Units of the kind still ready or leased (expired leases included: someone must take them over)."""
        return int(self.db.scalar("SELECT COUNT(*) FROM units WHERE round = ? AND kind = ? AND state IN (?, ?)",
                                  (round, kind, READY, LEASED), default=0))

    def leasable(self, round: str, kind: str) -> bool:
        """`lease` would find a unit now (rows another transaction has locked are skipped, as there)."""
        with self.db.transaction():
            return self.db.one("SELECT 1 FROM units WHERE round = ? AND kind = ? AND (state = ? OR (state = ? AND "
                               "lease_until < clock_timestamp())) LIMIT 1 FOR UPDATE SKIP LOCKED",
                               (round, kind, READY, LEASED)) is not None

    def wait_for(self, round: str, kind: str, poll_seconds: float = 1.0,
                 stop_check: Callable[[], bool] = lambda: False) -> Wait:
        """Poll until no unit of the kind is open (DONE), one can be leased (LEASABLE) or `stop_check()`
        (STOPPED). See the module doc for the loop around it."""
        while True:
            if stop_check():
                return Wait.STOPPED
            if self.open_count(round, kind) == 0:
                return Wait.DONE
            if self.leasable(round, kind):
                return Wait.LEASABLE
            time.sleep(poll_seconds)

    def drain(self, round: str, kind: str, work: Callable[[Lease], None], poll_seconds: float = 1.0,
              stop_check: Callable[[], bool] = lambda: False) -> Wait:
        """The worker loop of the module doc: lease and `work` units of the kind until none is open (DONE)
        or `stop_check()` (STOPPED). `work` commits each unit with `done` in its own transaction; a
        `LeaseLost` it raises is this process's loss, not an error: the loop goes on."""
        while True:
            if stop_check():
                return Wait.STOPPED
            lease = self.lease(round, kind)
            if lease is not None:
                try:
                    work(lease)
                except LeaseLost as lost:
                    log.warning("%s (%s)", lost, lost.why)
                continue
            waited = self.wait_for(round, kind, poll_seconds, stop_check)
            if waited != Wait.LEASABLE:
                return waited

    def results(self, round: str, kind: str) -> list[tuple[str, int, bytes | None]]:
        """(key, seq, result) of the kind's done units, in seq order: what the finisher merges."""
        return [(k, int(s), _bytes(r)) for k, s, r in self.db.query(
            "SELECT key, seq, result FROM units WHERE round = ? AND kind = ? AND state = ? ORDER BY seq",
            (round, kind, DONE))]

    def failures(self, round: str, kind: str) -> list[tuple[str, int, int, bytes | None]]:
        """(key, seq, attempts, result) of the kind's failed units, in seq order."""
        return [(k, int(s), int(a), _bytes(r)) for k, s, a, r in self.db.query(
            "SELECT key, seq, attempts, result FROM units WHERE round = ? AND kind = ? AND state = ? ORDER BY seq",
            (round, kind, FAILED))]

    def clear(self, round: str) -> int:
        """Delete a finished round's units (and its phase records); returns how many units."""
        with self.db.transaction():
            count = self.db.execute("DELETE FROM units WHERE round = ?", (round,)).rowcount
            self.db.execute("DELETE FROM unit_phases WHERE round = ?", (round,))
        return int(count)

    def at_work(self, recent_seconds: float | None = None) -> list[ProcessAtWork]:
        """Processes with a heartbeat in the last `recent_seconds` (default two leases) and their units."""
        return at_work(self.db, 2 * self.lease_seconds if recent_seconds is None else recent_seconds)

    # ------------------------------------------------------------------------------ what `team` asks

    def outcome(self, round: str, kind: str, key: str) -> tuple[str | None, bytes | None]:
        """(state, result) of one unit; (None, None) when there is no such unit."""
        row = self.db.one("SELECT state, result FROM units WHERE round = ? AND kind = ? AND key = ?",
                          (round, kind, key))
        return (None, None) if row is None else (row[0], _bytes(row[1]))

    def open_rounds(self) -> list[str]:
        """Rounds with a unit ready or leased, oldest first."""
        return [r[0] for r in self.db.query(
            "SELECT round FROM units WHERE state IN (?, ?) GROUP BY round ORDER BY MIN(id)", (READY, LEASED))]

    def round_open(self, round: str) -> bool:
        """The round still has units (it is deleted, `clear`, when its run is over)."""
        return self.db.one("SELECT 1 FROM units WHERE round = ? LIMIT 1", (round,)) is not None

    def clear_other_rounds(self, round: str) -> int:
        """Delete every round but `round`: a run that holds the lock starting, the units of runs that died
        before they finished (what they committed stands; the rest is redone); returns how many units."""
        with self.db.transaction():
            count = self.db.execute("DELETE FROM units WHERE round <> ?", (round,)).rowcount
            self.db.execute("DELETE FROM unit_phases WHERE round <> ?", (round,))
        return int(count)

    def tally(self, round: str) -> list[dict]:
        """Who did the round's units: per process (host, pid), how many of each kind were done, and how many
        it took over from a process whose lease expired."""
        rows = self.db.query(
            "SELECT p.host, p.pid, u.kind, COUNT(*), SUM(CASE WHEN u.attempts > 0 THEN 1 ELSE 0 END) "
            "FROM units u JOIN processes p ON p.id = u.holder WHERE u.round = ? AND u.state = ? "
            "GROUP BY p.host, p.pid, u.kind ORDER BY MIN(u.id)", (round, DONE))
        team: dict[tuple[str, int], dict] = {}
        for host, pid, kind, count, taken in rows:
            entry = team.setdefault((host, int(pid)), {"host": host, "pid": int(pid), "units": {},
                                                       "taken_over": 0})
            entry["units"][kind] = int(count)
            entry["taken_over"] += int(taken or 0)
        return list(team.values())

    def reclaim_dead(self, host: str, alive: Callable[[int], bool]) -> int:
        """Give back at once (ready, attempts + 1) the units leased by processes of `host` whose pid is gone:
        a process of this machine known dead need not be waited for until its lease expires (a machine
        cannot know that of another's: those wait for their lease). Returns how many."""
        rows = self.db.query("SELECT u.id, p.pid FROM units u JOIN processes p ON p.id = u.holder "
                             "WHERE u.state = ? AND p.host = ?", (LEASED, host))
        dead = [unit_id for unit_id, pid in rows if not alive(int(pid))]
        given = 0
        for unit_id in dead:
            with self.db.transaction():
                given += self.db.execute("UPDATE units SET state = ?, holder = NULL, token = NULL, lease_until = NULL, "
                                         "attempts = attempts + 1 WHERE id = ? AND state = ?",
                                         (READY, unit_id, LEASED)).rowcount
        if given:
            log.warning("%d unit(s) of dead processes on %s given back", given, host)
        return int(given)
