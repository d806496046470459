"""The two trees `make bench` compares: this working tree (head) and a base commit (the previous main).

The base is checked out in a temporary `git worktree add --detach` and run with the SAME interpreter
and installed dependencies as the head: no second venv, so the figures differ by the code alone. Each
tree's `cob` is started as `python -P -c "<launcher>" ARGS` with PYTHONPATH=<tree>, where the launcher
calls the function named by the tree's own `[project.scripts] cob = "module:function"` (the old layout
had `pipeline.cli:main`, this one `cob.cli:main`). `-P` and a working folder outside both trees keep
the current folder off sys.path, so a tree only ever imports its own packages (PYTHONPATH comes before
the editable install's finder, which Python consults last).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: the repository this bench belongs to (the head tree)
REPO = Path(__file__).resolve().parent.parent
#: refs whose merge-base with HEAD is the default base, the first that exists wins
MAIN_REFS = ("origin/main", "main")


class BenchSetupError(RuntimeError):
    """The base cannot be resolved, checked out or started; the message says which and why."""


def git(repo: Path, *args: str) -> str:
    """Output of a git command in `repo`, stripped; BenchSetupError with git's message if it fails."""
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchSetupError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def _commit(repo: Path, rev: str) -> str | None:
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


@dataclass(frozen=True)
class BaseChoice:
    """The base commit and how it was chosen (printed, so a reader knows what was compared)."""

    commit: str
    how: str


def resolve_base(spec: str | None, repo: Path = REPO) -> BaseChoice | None:
    """The commit to compare with; None for BENCH_BASE=none.

    Default: the merge-base of HEAD and origin/main (or main, if there is no origin) when that is not
    HEAD itself, i.e. the main this branch started from, however many commits the branch has; else
    HEAD~1, HEAD's first parent, which on main after a merge is the main before it.
    """
    if spec is not None and spec.strip():
        spec = spec.strip()
        if spec.lower() == "none":
            return None
        commit = _commit(repo, spec)
        if commit is None:
            raise BenchSetupError(f"BENCH_BASE={spec} is not a commit in {repo}")
        return BaseChoice(commit, f"BENCH_BASE={spec}")
    head = _commit(repo, "HEAD")
    if head is None:
        raise BenchSetupError(f"{repo} has no HEAD commit")
    for ref in MAIN_REFS:
        if _commit(repo, ref) is None:
            continue
        base = git(repo, "merge-base", "HEAD", ref)
        if base != head:
            return BaseChoice(base, f"merge-base of HEAD and {ref}")
        break
    parent = _commit(repo, "HEAD~1")
    if parent is None:
        raise BenchSetupError("HEAD has no parent and is the merge-base with main: set BENCH_BASE")
    return BaseChoice(parent, "HEAD~1 (HEAD is the merge-base with main)")


def describe(commit: str, repo: Path = REPO, width: int = 72) -> str:
    """Short commit and subject (cut to `width` characters)."""
    line = git(repo, "log", "-1", "--format=%h %s", commit)
    return line if len(line) <= width else line[: width - 3] + "..."


def head_description(repo: Path = REPO) -> str:
    """HEAD's short commit and subject, and whether the working tree (what is measured) differs from it."""
    try:
        dirty = git(repo, "status", "--porcelain", "--untracked-files=no")
        return describe("HEAD", repo) + (" (+ uncommitted changes: the working tree is measured)" if dirty else "")
    except BenchSetupError:
        return "(not a git checkout)"


@contextlib.contextmanager
def base_worktree(commit: str, path: Path, repo: Path = REPO) -> Iterator[Path]:
    """`commit` checked out (detached) at `path` for the duration; removed again even on failure."""
    git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        yield path
    finally:
        remove_worktree(path, repo)


def remove_worktree(path: Path, repo: Path = REPO) -> None:
    """`git worktree remove --force`; if git cannot, delete the folder and prune git's record of it."""
    done = subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0 or path.exists():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True, text=True)


def entry_point(pyproject_text: str, script: str = "cob") -> tuple[str, str]:
    """(module, attribute) of `[project.scripts] <script> = "module:attribute"` in a pyproject.toml."""
    try:
        spec = tomllib.loads(pyproject_text)["project"]["scripts"][script]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise BenchSetupError(f"no [project.scripts] {script} = \"module:function\" in pyproject.toml") from exc
    module, sep, attr = str(spec).partition(":")
    attr = attr.split("[", 1)[0].strip()  # an entry point may name extras: "mod:func [extra]"
    module = module.strip()
    if not sep or not all(p.isidentifier() for p in module.split(".")) \
            or not all(p.isidentifier() for p in attr.split(".")):
        raise BenchSetupError(f"[project.scripts] {script} = {spec!r} is not \"module:function\"")
    return module, attr


def launcher(module: str, attr: str, prog: str = "cob") -> str:
    """Python source that runs the entry point as its console script would (argv[0], sys.exit)."""
    first, _, rest = attr.partition(".")
    call = f"{first}.{rest}" if rest else first
    return f"import sys; sys.argv[0] = {prog!r}; from {module} import {first}; sys.exit({call}())"


@dataclass(frozen=True)
class Tree:
    """One tree to run `cob` from: its folder, commit and entry point, and a compiled-table cache of its own."""

    name: str  # "base" | "head"
    root: Path
    label: str  # commit and subject, for the header
    module: str
    attr: str
    cache_dir: Path  # COB_CACHE_DIR: the trees' pickled IG tables may differ in layout, so never shared

    @classmethod
    def at(cls, name: str, root: Path, label: str, cache_dir: Path) -> Tree:
        module, attr = entry_point((root / "pyproject.toml").read_text(encoding="utf-8"))
        return cls(name, root, label, module, attr, cache_dir)

    def cob(self, *args: str) -> list[str]:
        return [sys.executable, "-P", "-c", launcher(self.module, self.attr), *args]

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COB_")}
        env.update(PYTHONPATH=str(self.root), COB_CACHE_DIR=str(self.cache_dir), **extra)
        return env
