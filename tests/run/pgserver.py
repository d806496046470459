"""A throwaway PostgreSQL server for the tests: initdb into a temp folder, listen on a Unix socket only.

initdb and postgres refuse to run as root, so as root the server runs as the `postgres` user (Debian's
package creates it) or else `nobody`, via runuser. No server binary found: `find_bin()` is None and the
PostgreSQL variants of the tests skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def find_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres (PATH first, then Debian's versioned folders)."""
    initdb = shutil.which("initdb")
    if initdb:
        real = Path(os.path.realpath(initdb)).parent
        if (real / "pg_ctl").exists() and (real / "postgres").exists():
            return real
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        path = Path(folder)
        if all((path / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


class PgServer:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.user = None
        self.role = "cobtest"
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                    self.user = name
                    break
                except KeyError:
                    continue
        self.dir = Path(tempfile.mkdtemp(prefix="cob-pg-"))
        os.chmod(self.dir, 0o755)
        self.data = self.dir / "data"
        self.socket_dir = self.dir / "sock"
        self.socket_dir.mkdir()
        self.port = 5433 + os.getpid() % 1000
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.dir, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._n = 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", self.role, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-k {self.socket_dir} -c listen_addresses='' -p {self.port} -c fsync=off -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "-t", "60",
                  "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.role}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def new_database(self) -> str:
        import psycopg

        self._n += 1
        name = f"cob_{os.getpid()}_{self._n}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)
