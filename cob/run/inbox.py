"""What is in an inbox, told apart before anything is opened: files to read, entries to quarantine, entries
to report, and how every name is shown.

Why a module of its own: an inbox is written by others (an SFTP user, a share, a script), so every entry is
hostile until classified. Nothing here follows a link or opens an entry: it is classified from `lstat`
alone, so a link to `/etc/passwd` or to an X12 file elsewhere is never read (the link itself is
quarantined), and a FIFO never blocks the run. Names come in as the operating system gives them: a name
that is not UTF-8 cannot be stored in the state database, written to a JSON report or printed faithfully,
so such a file is quarantined under a safe name that says what it was; a name near the file system's
255-byte limit leaves no room for the names cob derives from it (`<name>.reason.txt`, `.<name>.<random>.tmp`,
`<name>.2`), so it is read as any other and kept in archive/ or rejected/ under a shortened name
(`kept_name`). Control characters in a name are escaped wherever it is shown (stderr, reports,
logs, reason files), so a name cannot rewrite a terminal or forge a log line.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

#: the longest (in UTF-8 bytes) input name kept as it is; longer names are shortened where cob derives
#: names from them. 255 is the usual limit; the longest derived name adds 36 bytes
#: (`.` + name + `.99` + `.reason.txt` + `.` + 8 random + `.tmp`), rounded up to leave room.
MAX_NAME_BYTES = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPED = re.compile(r"\\x([0-9a-f]{2})")


class EntryKind(str, Enum):
    """What an inbox entry is, from `lstat` alone."""

    FILE = "file"  # a regular file: read it
    HIDDEN = "hidden"  # starts with ".": an upload in progress by convention; not looked at
    LINK = "link"  # a symbolic link (to anything, or dangling): quarantined, never followed
    BAD_NAME = "bad_name"  # a regular file whose name is not UTF-8: quarantined under a safe name
    FOLDER = "folder"  # reported every run, left alone
    SPECIAL = "special"  # a FIFO, socket or device: reported every run, never opened


@dataclass(frozen=True)
class Entry:
    path: Path
    kind: EntryKind
    reason: str = ""  # why it is quarantined or reported

    @property
    def shown(self) -> str:
        return shown(self.path.name)


def classify(folder: Path) -> list[Entry]:
    """Every entry of an inbox, in name order (by the name's bytes), classified without following links."""
    out = []
    for name in sorted(os.listdir(folder), key=os.fsencode):
        path = folder / name
        if name.startswith("."):
            out.append(Entry(path, EntryKind.HIDDEN))
            continue
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:  # gone since the listing: nothing to do
            continue
        if stat.S_ISLNK(mode):
            target = "dangling" if not os.path.exists(path) else "not followed"
            out.append(Entry(path, EntryKind.LINK, f"a symbolic link ({target}); cob reads only regular files "
                                                   "dropped into the inbox, never what a link points to"))
        elif stat.S_ISDIR(mode):
            out.append(Entry(path, EntryKind.FOLDER, "a folder inside the inbox: not read (cob reads only the "
                                                     "files directly in the inbox)"))
        elif not stat.S_ISREG(mode):
            what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
            out.append(Entry(path, EntryKind.SPECIAL, f"{what}, not a regular file: never opened"))
        elif not _utf8(name):
            out.append(Entry(path, EntryKind.BAD_NAME, "the file name is not UTF-8 (shown with \\x escapes); "
                                                       "rename it and drop it again"))
        else:
            out.append(Entry(path, EntryKind.FILE))
    return out


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str) -> str:
    """A file name as printed and reported: bytes that are not UTF-8 and control characters as `\\xNN`."""
    if not _utf8(name):
        name = os.fsencode(name).decode("utf-8", "backslashreplace")
    if _CONTROL.search(name):
        name = _CONTROL.sub(lambda m: "".join(f"\\x{b:02x}" for b in m.group().encode()) if ord(m.group()) > 0xff
                            else f"\\x{ord(m.group()):02x}", name)
    return name


def kept_name(name: str) -> str:
    """The name an input gets in archive/ or rejected/: its shown name, shortened (head + hash of the whole
    name) when it would leave no room for the names derived from it."""
    text = shown(name)
    raw = text.encode()
    if len(raw) <= MAX_NAME_BYTES:
        return text
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    head = raw[:MAX_NAME_BYTES - 16].decode("utf-8", "ignore")
    return f"{head}~{digest}"


def stored(path: Path) -> str:
    """A path as text the state database can hold (UTF-8); `fs_path` turns it back into the path."""
    text = str(path)
    return text if _utf8(text) else os.fsencode(text).decode("utf-8", "backslashreplace")


def fs_path(text: str) -> Path:
    """The path `stored` was given: the text itself when such an entry exists, else its `\\xNN` escapes
    read back as the bytes they stand for."""
    path = Path(text)
    if os.path.lexists(path) or not _ESCAPED.search(text):
        return path
    data = bytearray()
    for i, piece in enumerate(_ESCAPED.split(text)):  # odd pieces are the two hex digits of an escape
        data += bytes([int(piece, 16)]) if i % 2 else piece.encode()
    return Path(os.fsdecode(bytes(data)))
