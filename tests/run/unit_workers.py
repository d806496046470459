"""Child processes for tests/run/test_units.py (started with multiprocessing's spawn method, so each is a
fresh interpreter with its own connections, as a `cob run` on another machine would be). Light imports
only: the module is imported again in every child."""

from __future__ import annotations

import os
import socket
import time

from cob.run.db import PostgresDatabase
from cob.run.units import LeaseLost, Units


def create_racer(url: str, ready, go, log_path: str, out) -> None:
    """Wait for `go`, then `create_once` the round's ingest units; each run of make_items appends a line
    to `log_path` (and sleeps, so the others arrive while the winner is inside its transaction)."""
    units = Units.connect(url, lease_seconds=5)
    units.register(socket.gethostname(), os.getpid())

    def make_items():
        with open(log_path, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        return [(f"inbox/claims-{n}.837", f"payload {n}".encode()) for n in range(1, 6)]

    ready.set()
    go.wait()
    won = units.create_once("batch-7", "ingest", make_items)
    out.put((os.getpid(), won, units.open_count("batch-7", "ingest")))
    units.finish_process()
    units.close()


def leaser(url: str, ready, go, out) -> None:
    """Lease and finish bill units until none is open; each unit's work is a row in `worked`, committed in
    the same transaction as `done`. Puts (pid, keys in the order done)."""
    units = Units.connect(url, lease_seconds=10)
    me = units.register(socket.gethostname(), os.getpid())
    db = PostgresDatabase(url)
    keys: list[str] = []

    def work(lease) -> None:
        time.sleep(0.05)
        with db.transaction():
            db.execute("INSERT INTO worked (process, key) VALUES (?, ?)", (me, lease.key))
            units.done(db, lease, f"shard {lease.key} by {me}".encode())
        keys.append(lease.key)

    ready.set()
    go.wait()
    units.drain("batch-7", "bill", work, poll_seconds=0.05)
    out.put((os.getpid(), keys))
    units.finish_process()
    units.close()
    db.close()


def holder(url: str, lease_seconds: float, out, commit_now=None) -> None:
    """Lease the one bill unit and say so; then (with `commit_now`) wait for it and try to commit the unit
    with a row in `worked`, putting what happened; without it, sleep until killed."""
    units = Units.connect(url, lease_seconds=lease_seconds)
    me = units.register(socket.gethostname(), os.getpid())
    lease = units.lease("batch-7", "bill")
    out.put(("leased", lease.key if lease else None))
    if commit_now is None:
        time.sleep(600)
        return
    commit_now.wait()
    db = PostgresDatabase(url)
    try:
        with db.transaction():
            db.execute("INSERT INTO worked (process, key) VALUES (?, ?)", (me, lease.key))
            units.done(db, lease, b"from the stopped process")
        out.put(("committed", None))
    except LeaseLost as lost:
        out.put(("lost", str(lost)))
    finally:
        db.close()
        units.finish_process()
        units.close()
