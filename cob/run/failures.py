"""Failures of what the configuration points at, named: which state database, and what is wrong with it.

Each becomes `StateUnavailable` (a `ConfigError`: `cob run` and `cob status` exit 2 with the message),
never a bare exception type: a truncated or overwritten SQLite file, a state path that is a folder, a
PostgreSQL server that does not answer, a URL it does not accept, a database locked by another program.
Messages name the database by `RunConfig.describe_state()` (no password) and quote the driver's own
words only for connection problems (host, port, option names: never data).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Iterator

from .config import ConfigError, RunConfig
from .controls import ControlsUnreadable
from .migrations import SchemaTooNew


class StateUnavailable(ConfigError):
    """The state database cannot be used; the message says which and why (exit 2)."""


class WorkerDied(Exception):
    """A worker process died (killed, out of memory): an internal failure of the run (exit 3)."""


def check_state_path(config: RunConfig) -> None:
    """Refuse a SQLite state path that is a folder, before SQLite says only 'unable to open'."""
    path = config.sqlite_path
    if path is not None and path.is_dir():
        raise StateUnavailable(f"state database {path}: is a folder, not a file (state.url in {config.path})")


@contextmanager
def state_errors(config: RunConfig) -> Iterator[None]:
    """Within: database errors become `StateUnavailable` naming the database and the problem."""
    where = f"state database {config.describe_state()}"
    try:
        yield
    except (SchemaTooNew, ControlsUnreadable) as exc:
        raise StateUnavailable(f"{where}: {exc}") from None
    except sqlite3.Error as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            why = ("is locked by another program (not a cob run: they take turns by the run lock); close it, "
                   "e.g. an sqlite3 shell left inside a transaction, then run again")
        elif "not a database" in text or "malformed" in text or "disk image" in text:
            why = ("is not a readable SQLite database (truncated, overwritten or damaged); restore it from a "
                   "backup, or move it away and rebuild the state with `cob init --adopt`")
        elif "unable to open" in text:
            why = "cannot be opened (its folder is missing or read-only, or the path is a folder)"
        elif "readonly" in text or "read-only" in text:
            why = "is read-only to this user"
        else:
            why = f"failed ({type(exc).__name__}: {text})"
        raise StateUnavailable(f"{where} {why}") from None
    except Exception as exc:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a dependency
            raise exc from None
        if not isinstance(exc, psycopg.Error):
            raise
        first = (str(exc).strip().splitlines() or [""])[0].replace(config.state_url, config.describe_state())
        if isinstance(exc, psycopg.OperationalError):
            raise StateUnavailable(f"{where}: cannot reach the PostgreSQL server or it refused us ({first})") \
                from None
        if isinstance(exc, psycopg.ProgrammingError) and getattr(exc, "sqlstate", None) is None:
            raise StateUnavailable(f"{where}: state.url is not a PostgreSQL URL it accepts ({first})") from None
        raise StateUnavailable(f"{where} failed ({type(exc).__name__}: {first})") from None
