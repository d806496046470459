"""The permissions of everything `cob run` and `cob init` create: private by default, whatever the umask.

Why: the outbox 837s, the state database (whole claims), the reports and the reason files hold or point at
PHI, and a scheduler's umask (often 022) would make them world-readable. A run sets the process umask
from `[files] mode` (default 0600: files 0600, folders 0700) for its whole length, so every file and
folder made by any layer (SQLite's database and journal files, temp files, reports, archive/ and
rejected/ sub-folders, worker processes) gets it without each writer having to know; `mode` widens it on
purpose (e.g. 0640 for a group that uploads the outbox: files 0640, folders 0750). Inputs moved into
archive/ or rejected/ are given the same mode (they were written by someone else's umask).
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

DEFAULT_MODE = 0o600


def folder_mode(mode: int) -> int:
    """The folder mode that goes with a file mode: search (x) wherever read is granted."""
    return mode | ((mode & 0o444) >> 2)


def umask_for(mode: int) -> int:
    """The umask under which new files get `mode` (from 0666) and new folders `folder_mode(mode)` (from 0777)."""
    return 0o777 & ~folder_mode(mode)


@contextmanager
def created_with(mode: int = DEFAULT_MODE) -> Iterator[None]:
    """Everything created inside gets `mode` (folders `folder_mode(mode)`); the old umask is restored after."""
    old = os.umask(umask_for(mode))
    try:
        yield
    finally:
        os.umask(old)


def make_private(path: Path, mode: int = DEFAULT_MODE) -> None:
    """Give a moved input cob's mode. A link is left as it is (chmod would change its target); a file
    someone else owns keeps its mode (its folder is private anyway)."""
    try:
        if not stat.S_ISLNK(os.lstat(path).st_mode):
            os.chmod(path, mode)
    except OSError:
        pass
