"""Is an inbox file finished, and is it still the file we read? (`cob run` reads only settled files and
moves only the file it read.)

A file is read when it is **settled**: its last write is at least `settle_seconds` old, or it *arrived by
rename* (its inode changed after its last write: `mv`, an SFTP upload renamed into place, a hard link,
`cp -p`; the kernel then sets ctime past mtime). A file written in place is not read while a writer may
still be adding to it: a file cut between two interchanges would be read half and archived whole, a file
written in two halves quarantined though it is complete a minute later.

Then the file must stay the same **across the looks** the run takes: at the scan, after hashing, after
parsing (before its transaction commits) and before it is moved. A `Look` is (device, inode, size,
mtime); any difference means a writer was still at work or the file was replaced under the same name
(`mv -f new daily.837` during billing): the file is left in the inbox for the next run, never
ingested half, quarantined as truncated, or archived unread. Before a move the content is compared by
sha256 when the look differs (a `touch` changes nothing that matters), and again after the rename when
the moved file is not the one looked at (replaced in between): it goes back to the inbox.

A writer that pauses longer than the settle time and resumes only after its half file was quarantined
writes the rest into rejected/ (its descriptor follows the file): `return_grown` puts a quarantined file
that grew since it was read back into its inbox once its last write is settled, to be read whole.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .ingest import hash_file


@dataclass(frozen=True)
class Look:
    """What `os.stat` says about a file at one moment."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> "Look":
        st = os.stat(path)
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    @classmethod
    def now_or_none(cls, path: Path) -> "Look | None":
        try:
            return cls.of(path)
        except OSError:
            return None

    def same(self, other: "Look | None") -> bool:
        """The same file, not written since (ctime may move: a chmod or a link is no change of content)."""
        return other is not None and (self.dev, self.ino, self.size, self.mtime_ns) == \
            (other.dev, other.ino, other.size, other.mtime_ns)

    def settled(self, settle_seconds: float, now: float | None = None) -> bool:
        """Finished by the module's rule: written long enough ago, or renamed (or linked) into place."""
        if settle_seconds <= 0 or self.ctime_ns > self.mtime_ns:
            return True
        now = time.time() if now is None else now
        return now - self.mtime_ns / 1e9 >= settle_seconds


def unchanged(path: Path, look: Look | None, sha256: str | None) -> tuple[bool, Look | None]:
    """(True, look now) when `path` still holds what was read (`look` then, content `sha256`); a file that
    cannot be looked at or read is not judged changed (it cannot be compared; the move reports it)."""
    now = Look.now_or_none(path)
    if now is None:
        return True, None
    if now.same(look) or sha256 is None:
        return True, now
    try:
        return hash_file(path)[0] == sha256, now
    except OSError:
        return True, now


def move_unchanged(source: Path, dest: Path, look: Look | None, sha256: str | None,
                   mover: Callable[[Path, Path], None]) -> bool:
    """Move `source` to `dest` with `mover` only if it still holds what was read; False (nothing moved)
    when it changed. A file swapped in between the check and the rename is moved back (see module doc)."""
    same, before = unchanged(source, look, sha256)
    if not same:
        return False
    mover(source, dest)
    after = Look.now_or_none(dest)
    if before is None or after is None or sha256 is None or \
            (after.size, after.mtime_ns) == (before.size, before.mtime_ns):
        return True
    if hash_file(dest)[0] == sha256:
        return True
    back = source
    n = 1
    while True:  # the inbox name may be taken again by now: never replace a file there
        try:
            os.link(dest, back)
            break
        except FileExistsError:
            n += 1
            back = source.with_name(f"{source.name}.{n}")
    os.unlink(dest)
    return False


def return_grown(quarantined: list[tuple[str | Path, str, int]], settle_seconds: float,
                 now: float | None = None) -> tuple[list[str], list[str]]:
    """Put back into the inbox each quarantined file (inbox path, rejected/ path, size when read) that grew
    since and whose last write is settled; its reason file goes. Returns (names put back, names that grew but
    cannot be put back: another file system). The file keeps its inode (a link, then the old name
    removed), so a writer still holding it writes into the inbox, where the look checks see it."""
    back: list[str] = []
    stuck: list[str] = []
    now = time.time() if now is None else now
    for inbox_path, dest_path, size in quarantined:
        dest = Path(dest_path)
        look = Look.now_or_none(dest)
        if look is None or look.size <= size or now - look.mtime_ns / 1e9 < settle_seconds:
            continue
        target, n = Path(inbox_path), 1
        while True:  # never replace a file in the inbox
            try:
                os.link(dest, target)
                break
            except FileExistsError:
                n += 1
                target = Path(inbox_path).with_name(f"{Path(inbox_path).name}.{n}")
            except OSError:
                target = None
                break
        if target is None:
            stuck.append(dest.name)
            continue
        os.unlink(dest)
        dest.with_name(dest.name + ".reason.txt").unlink(missing_ok=True)
        back.append(target.name)
    return back, stuck
