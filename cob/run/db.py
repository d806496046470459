"""One small database interface over SQLite (stdlib) and PostgreSQL (psycopg 3).

SQL is written once with `?` placeholders and portable syntax (INSERT ... ON CONFLICT, RETURNING,
partial unique indexes work in SQLite >= 3.35 and PostgreSQL); `Database.sql` converts placeholders for
psycopg. Column types that differ are written as `{id}` (auto-increment key), `{blob}` and `{time}` (the server's
timestamps: TIMESTAMPTZ on PostgreSQL, TEXT on SQLite) in migrations.

Transactions are explicit (`with db.transaction():`): SQLite runs in autocommit mode with
``BEGIN IMMEDIATE`` so a writer takes the write lock at the start, not half-way; nested transactions are
savepoints. A dry run wraps everything in one outer transaction that is rolled back at the end.
SQLite runs in WAL mode with synchronous=FULL: a commit is on disk before the runner renames an output
that depends on it.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence


class Database:
    """Common interface; see `SQLiteDatabase` and `PostgresDatabase`."""

    dialect = ""
    types: dict[str, str] = {}

    def __init__(self) -> None:
        self._depth = 0
        self._savepoint = 0

    # -- to implement
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def _begin(self) -> None: ...

    def _commit(self) -> None: ...

    def _rollback(self) -> None: ...

    def close(self) -> None: ...

    # -- shared
    def sql(self, text: str) -> str:
        return text

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._execute(self.sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._executemany(self.sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self._execute(self.sql(sql), params).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._execute(self.sql(sql), params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] = (), default: Any = None) -> Any:
        row = self.one(sql, params)
        return default if row is None or row[0] is None else row[0]

    @contextmanager
    def transaction(self) -> Iterator["Database"]:
        """A transaction, or a savepoint inside one: everything in it commits or none of it does."""
        if self._depth == 0:
            self._begin()
            name = None
        else:
            self._savepoint += 1
            name = f"sp{self._savepoint}"
            self._execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if name is None:
                self._rollback()
            else:
                self._execute(f"ROLLBACK TO SAVEPOINT {name}")
                self._execute(f"RELEASE SAVEPOINT {name}")
            raise
        self._depth -= 1
        if name is None:
            self._commit()
        else:
            self._execute(f"RELEASE SAVEPOINT {name}")

    @property
    def in_transaction(self) -> bool:
        """True inside `transaction()` (or `begin_outer`): what a row lock taken now is held until."""
        return self._depth > 0

    def begin_outer(self) -> None:
        """Open a transaction that `transaction()` blocks nest inside (dry run); end with `rollback_outer`."""
        self._begin()
        self._depth += 1

    def rollback_outer(self) -> None:
        if self._depth:
            self._depth = 0
            self._rollback()


#: how long a SQLite statement waits for another process's write lock before failing ("database is locked",
#: named by `failures`); runs take turns by the run lock, so only a foreign program makes this wait
SQLITE_BUSY_SECONDS = 60.0


class SQLiteDatabase(Database):
    dialect = "sqlite"
    types = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "blob": "BLOB", "time": "TEXT"}

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), isolation_level=None, timeout=SQLITE_BUSY_SECONDS)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")

    def _execute(self, sql, params=()):
        return self.conn.execute(sql, params)

    def _executemany(self, sql, rows):
        self.conn.executemany(sql, rows)

    def _begin(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def _commit(self):
        self.conn.execute("COMMIT")

    def _rollback(self):
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self):
        self.conn.close()


class PostgresDatabase(Database):
    dialect = "postgresql"
    types = {"id": "BIGSERIAL PRIMARY KEY", "blob": "BYTEA", "time": "TIMESTAMPTZ"}

    def __init__(self, url: str):
        super().__init__()
        import psycopg

        self.url = url  # for a second connection to the same database (`units`: the lease heartbeat's)

        self.conn = psycopg.connect(url, autocommit=True)

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def _execute(self, sql, params=()):
        return self.conn.execute(sql, params)

    def _executemany(self, sql, rows):
        with self.conn.cursor() as cur:
            cur.executemany(sql, list(rows))

    def _begin(self):
        self.conn.execute("BEGIN")

    def _commit(self):
        self.conn.execute("COMMIT")

    def _rollback(self):
        self.conn.execute("ROLLBACK")

    def close(self):
        self.conn.close()


def connect(url: str, sqlite_file: Path | None) -> Database:
    """A database for a configuration's state URL (`sqlite_file` is the resolved SQLite path)."""
    if sqlite_file is not None:
        return SQLiteDatabase(sqlite_file)
    try:
        return PostgresDatabase(url)
    except ImportError:  # pragma: no cover - psycopg is a dependency
        raise RuntimeError("PostgreSQL state needs psycopg (pip install 'psycopg[binary]')") from None
