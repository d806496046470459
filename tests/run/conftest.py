"""Shared helpers for the `cob run` tests: generated drop folders, sites on SQLite or PostgreSQL, runs in
forked children (so a SIGKILL at a fault point kills only the child), and state/outbox snapshots."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from cob.fixtures.generate import generate
from cob.run import faults
from cob.run.config import init_folder, load_config
from cob.run.runner import RunOptions, RunResult, run_batch
from cob.run.state import State

from .pgserver import PgServer, find_bin

NOW = dt.datetime(2026, 3, 2, 1, 30)
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def fixture_set(tmp_path_factory) -> Path:
    """A small generated drop: 20 claims, 4 per claim file (5 claim files + their 835s), every scenario."""
    out = tmp_path_factory.mktemp("fx")
    generate(out, seed=5, claims=20, claims_per_file=4)
    (out / "manifest.jsonl").unlink()
    return out


@pytest.fixture(scope="session")
def sample_set() -> Path:
    return Path(__file__).resolve().parents[2] / "cob" / "fixtures" / "sample"


_server: PgServer | None = None


@pytest.fixture(scope="session")
def pg_server():
    bindir = find_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binary (initdb/pg_ctl/postgres) on this machine")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed")
    server = PgServer(bindir)
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001
        server.stop()
        pytest.skip(f"could not start a throwaway PostgreSQL server: {exc}")
    yield server
    server.stop()


@dataclass
class Site:
    """A `cob init` folder with its configuration and helpers."""

    root: Path
    config_path: Path

    @property
    def config(self):
        return load_config(self.config_path)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def drop(self, folder: Path, pattern: str = "*") -> list[str]:
        names = []
        for f in sorted(folder.glob(pattern)):
            if f.is_file() and f.suffix in (".835", ".837"):
                shutil.copy(f, self.inbox / f.name)
                names.append(f.name)
        return names

    def run(self, **kw) -> RunResult:
        kw.setdefault("now", NOW)
        kw.setdefault("validate", False)
        kw.setdefault("workers", 1)
        return run_batch(self.config, RunOptions(**kw))

    def run_forked(self, env: dict[str, str] | None = None, **kw) -> int:
        """`run_batch` in a forked child; returns its exit code, or -signal when it was killed."""
        kw.setdefault("now", NOW)
        kw.setdefault("validate", False)
        kw.setdefault("workers", 1)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 99
            try:
                os.environ.update(env or {})
                faults.reset()
                code = run_batch(self.config, RunOptions(**kw)).exit_code
                if os.environ.get("COB_FAULT_COUNT"):
                    Path(os.environ["COB_FAULT_COUNT"]).write_text(str(faults._count))
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    def state(self) -> State:
        cfg = self.config
        return State.open(cfg.state_url, cfg.sqlite_path)

    def snapshot(self) -> dict:
        state = self.state()
        try:
            return state.snapshot()
        finally:
            state.close()

    def outbox_files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.outbox)): p.read_bytes() for p in sorted(self.outbox.rglob("*"))
                if p.is_file()}

    def listing(self, name: str) -> list[str]:
        folder = self.root / name
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_site(tmp_path, backend, request):
    """make_site(name="site", **config) -> Site on the test's backend (a fresh PostgreSQL database)."""
    counter = {"n": 0}

    def make(name: str | None = None, extra: str = "", backend_name: str | None = None) -> Site:
        counter["n"] += 1
        root = tmp_path / (name or f"site{counter['n']}")
        config = init_folder(root)
        # files are dropped by copying and run at once: no settle time (tests/run/test_run_unattended.py
        # covers the default)
        config.write_text(config.read_text().replace("settle_seconds = 60", "settle_seconds = 0"))
        which = backend_name or backend
        if which == "postgres":
            server = request.getfixturevalue("pg_server")
            url = server.new_database()
            text = config.read_text().replace('url = "sqlite:///cob-state.db"', f'url = "{url}"')
            config.write_text(text)
        if extra:
            config.write_text(config.read_text() + "\n" + extra)
        return Site(root, config)

    return make
