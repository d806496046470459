"""What makes `cob secondary` safe to run every night into the same folder (issue 14).

- **Control numbers persist per sender** (`ControlCounter`): a small JSON file (`.cob-control.json` in
  `--out`, or `--control-file`) keeps the last ISA13/GS06 used per sender, written atomically before any
  output is published, so a second run never repeats an interchange control number (a clearinghouse
  rejects a repeat with TA1 note 025). Numbers a failed run reserved are skipped, never reused.
- **An existing output file is never overwritten**: a spool whose name is taken takes the next number, and
  publishing links the finished file into place (`publish_new`), which fails rather than replace a file.
- **`--out` may not be an input folder**, and `--out`, `--report` and the counter file are checked before any
  work (`check_locations`): a location we cannot write is our problem, said as such ("cannot write to
  DIR: Permission denied"), never blamed on an input (`OutputLocationError`, exit 2).
- **The same input given twice is found by content** (`drop_repeated_inputs`, sha256): the second copy is
  reported as a duplicate of the first and not read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from cob.edi.envelope import Party
from cob.edi.writer import atomic_output

COUNTER_NAME = ".cob-control.json"
HASH_CHUNK = 1 << 20


class OutputLocationError(Exception):
    """A place we write to (the output folder, the report, the counter file) cannot be written. Not an
    OSError on purpose: no `except OSError` around reading an input may take it for the input's fault."""


def sender_key(party: Party) -> str:
    return f"{party.qualifier}:{party.id.strip()}"


class ControlCounter:
    """The last interchange control number used per sender, kept in a JSON file across runs."""

    def __init__(self, path: Path, last: dict[str, int]):
        self.path = path
        self.last = last

    @classmethod
    def load(cls, path: Path) -> "ControlCounter":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path, {})
        except (OSError, ValueError) as exc:
            raise OutputLocationError(f"cannot read the control-number file {path}: "
                                      f"{getattr(exc, 'strerror', None) or exc}") from None
        senders = data.get("senders") if isinstance(data, dict) else None
        if not isinstance(senders, dict) or not all(isinstance(v, int) for v in senders.values()):
            raise OutputLocationError(f"the control-number file {path} is not one cob wrote "
                                      "(expected {\"senders\": {\"QUALIFIER:ID\": last number}})")
        return cls(path, dict(senders))

    def allocate(self, sender: Party, start: int) -> int:
        """The next number for `sender`: after the last one used, and not below `start` (--control-start)."""
        key = sender_key(sender)
        number = max(start, self.last.get(key, 0) + 1)
        if number > 999_999_999:
            raise OutputLocationError(f"ISA13 control numbers of sender {key} are exhausted ({self.path})")
        self.last[key] = number
        return number

    def save(self) -> None:
        """Written atomically (temp file, fsync, rename): a crash leaves the old or the new file."""
        try:
            with atomic_output(self.path) as fh:
                fh.write(json.dumps({"senders": dict(sorted(self.last.items()))}, indent=2) + "\n")
        except OSError as exc:
            raise OutputLocationError(f"cannot write to {self.path.parent}: {exc.strerror or exc}") from None


def check_locations(out_dir: Path, inputs: list[str | Path], report: Path | None, control_file: Path | None) -> None:
    """Before any work: `out_dir` is no input folder and can be written; so can the report and the counter."""
    out = Path(out_dir)
    for given in inputs:
        p = Path(given)
        if p.is_dir() and out.exists() and out.resolve() == p.resolve():
            raise OutputLocationError(f"--out {out} is also an input folder: the next run would read its own "
                                      "output; choose another folder")
    check_dir(out)
    if report is not None:
        check_dir(report.parent if str(report.parent) else Path("."))
        if report.exists() and not os.access(report, os.W_OK):
            raise OutputLocationError(f"cannot write to {report}: Permission denied")
    if control_file is not None:
        check_dir(control_file.parent if str(control_file.parent) else Path("."))
        if control_file.exists() and not os.access(control_file, os.W_OK):
            raise OutputLocationError(f"cannot write to {control_file}: Permission denied")


def check_dir(path: Path) -> None:
    """Create `path` if needed and prove a file can be made in it."""
    if path.exists() and not path.is_dir():
        raise OutputLocationError(f"cannot write to {path}: Not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".cob-probe.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputLocationError(f"cannot write to {path}: {exc.strerror or exc}") from None


def output_name(payer_id: str, isa: int, suffix: str = ".837") -> str:
    """The file name of a destination payer's interchange: `<payer id>-<ISA13>.837` (an 837P), `.837i`
    (an 837I: one output per destination payer and transaction type, `output.output_suffix`)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in payer_id) or "payer"
    return f"{safe}-{isa:09d}{suffix}"


def publish_new(tmp: Path, final: Path) -> None:
    """Make a finished temp file visible as `final` without ever replacing a file there: fsync, hard-link,
    remove the temp name, fsync the folder. FileExistsError when `final` exists."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.link(tmp, final)
    os.unlink(tmp)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def content_hash(path: Path) -> str | None:
    """sha256 of a file; None when it cannot be read (the reader reports why)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def drop_repeated_inputs(files: list[Path], seen: dict[str, Path]) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """`files` without those whose content an earlier file (in `seen`: hash -> first file) has; returns the
    kept files and (repeat, first) pairs. `seen` is updated, so claims and remits share it."""
    kept: list[Path] = []
    repeats: list[tuple[Path, Path]] = []
    for path in files:
        digest = content_hash(path)
        if digest is None:
            kept.append(path)
            continue
        first = seen.get(digest)
        if first is None:
            seen[digest] = path
            kept.append(path)
        else:
            repeats.append((path, first))
    return kept, repeats
