"""Which files a user means: the files named, and the X12 files inside the folders named.

`cob parse`, `cob validate` and `cob secondary` take files and folders alike, and `cob run` reads a
drop folder; all of them tell an X12 file by its content (the first characters are `ISA`), never by
its name, so this is the one place that answer lives.
"""

from __future__ import annotations

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


def expand_paths(paths: Iterable[str | Path], notes: list[str] | None = None, kind: str | None = None) -> list[Path]:
    """Files as given, and the X12 files inside given directories (sorted). In a directory, hidden
    files, non-X12 files and (with `kind`, "837" or "835") X12 files of the other transaction type are
    skipped, the non-X12 ones with a note appended to `notes`; a file named explicitly is always
    returned, so that reading a wrong one is reported rather than silently skipped."""
    from .envelope import sniff

    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if not path.is_dir():
            out.append(path)
            continue
        for f in sorted(path.iterdir()):
            if not f.is_file() or f.name.startswith("."):
                continue
            try:
                x12 = looks_like_x12(f)
            except OSError:
                x12 = True  # kept, so the reader reports why it cannot be read
            if not x12:
                if notes is not None:
                    notes.append(f"{f}: skipped, not an X12 file")
            elif kind is not None and sniff(f) not in (kind, None):
                continue  # the other kind of X12 file in a shared folder
            else:
                out.append(f)
    return out
