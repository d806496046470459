"""Which files a user means: the files named, and the X12 files inside the folders named.

`cob parse`, `cob validate` and `cob secondary` take files and folders alike, and `cob run` reads a
drop folder; all of them tell an X12 file by its content (the first characters are `ISA`), never by
its name, so this is the one place that answer lives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: what messages call input read from a pipe (`cob validate -`): spooled to a private temp file first
STDIN_NAME = "<stdin>"


def looks_like_x12(path: str | Path) -> bool:
    """Content, not name, decides: the first non-blank characters (after a BOM) are 'ISA'.
    An unreadable file raises OSError: the caller decides whether that is a skip or a reject."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISA")


@dataclass(frozen=True)
class Skipped:
    """A file of a folder that is not read, and why. `x12`: it looks like X12 content all the same (a
    fragment without its ISA, UTF-16 text): the sender probably meant it, so skipping it is a problem."""

    path: Path
    reason: str
    x12: bool = False

    def note(self) -> str:
        return f"{self.path}: skipped, {self.reason}"


#: a segment that opens X12 content without an interchange: a functional group or transaction set header
_FRAGMENT = re.compile(rb"(?:GS|ST)[^A-Za-z0-9\s]")


def why_not_x12(path: str | Path) -> tuple[str, bool]:
    """For a file that does not start with ISA: (why it is skipped, whether it looks like X12 content)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) >= 8 and head[1:8:2] == b"\0\0\0\0"):
        try:
            text = head.decode("utf-16").lstrip("\ufeff \t\r\n")
        except UnicodeDecodeError:
            text = ""
        if text[:3] == "ISA" or _FRAGMENT.match(text[:3].encode("ascii", "replace")):
            return "X12 content in UTF-16 (X12 files are ASCII / UTF-8: convert it)", True
        return "UTF-16 text, not an X12 file", False
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if _FRAGMENT.match(body):
        what = "a transaction set (ST..SE)" if body[:2] == b"ST" else "a functional group (GS..GE)"
        return f"{what} without an ISA interchange header: X12 content that cannot be read as it is", True
    if not body:
        return "empty file", False
    return "not an X12 file", False


def expand_paths(paths: Iterable[str | Path], notes: list[str] | None = None, kind: str | None = None,
                 skipped: list[Skipped] | None = None) -> list[Path]:
    """Files as given, and the X12 files inside given directories (sorted). In a directory, hidden
    files, non-X12 files and (with `kind`, "837" or "835") X12 files of the other transaction type are
    skipped, the non-X12 ones with a note appended to `notes` and a `Skipped` to `skipped` (an empty
    folder is a note too); a file named explicitly is always returned, so that reading a wrong one is
    reported rather than silently skipped."""
    from .envelope import sniff

    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if not path.is_dir():
            out.append(path)
            continue
        seen = 0
        for f in sorted(path.iterdir()):
            if not f.is_file() or f.name.startswith("."):
                continue
            seen += 1
            try:
                x12 = looks_like_x12(f)
            except OSError:
                x12 = True  # kept, so the reader reports why it cannot be read
            if not x12:
                try:
                    reason, like_x12 = why_not_x12(f)
                except OSError:
                    reason, like_x12 = "not an X12 file", False
                skip = Skipped(f, reason, like_x12)
                if notes is not None:
                    notes.append(skip.note())
                if skipped is not None:
                    skipped.append(skip)
            elif kind is not None and sniff(f) not in (kind, None):
                continue  # the other kind of X12 file in a shared folder
            else:
                out.append(f)
        if not seen and notes is not None:
            notes.append(f"{path}: the folder is empty, nothing to read")
    return out
