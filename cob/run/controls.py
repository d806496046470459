"""The last ISA13/GS06 control numbers, kept in a second place: a small JSON file beside the outbox.

Why: the state database is the first place, but a lost, deleted or restored database used to restart
every sender at ISA13 000000001, and the clearinghouse received numbers it had seen before. The file
`.<outbox name>.control-numbers.json` (in the outbox's parent folder, so a pickup that empties the outbox
leaves it) is written atomically (temp, fsync, rename) after the billing commit and before any output
of that commit is renamed into the outbox, and again at the start of every run from the database, so a
published interchange's number is always in both places. Numbering never goes below the file
(`raise_floor` lifts the database to it before billing); the file never goes below the database.

Writing after the commit (not before) keeps a rerun after `kill -9` byte-identical: a run killed before
its commit leaves no number in the file that the database does not also have.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


class ControlsUnreadable(Exception):
    """The control-number file exists but cannot be read as one (a person must look: exit 2)."""


def controls_path(outbox: Path) -> Path:
    return outbox.parent / f".{outbox.name}.control-numbers.json"


def read(outbox: Path) -> dict[str, int]:
    """sender ("QUALIFIER:ID") -> last ISA13 used; {} when there is no file yet."""
    path = controls_path(outbox)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ControlsUnreadable(f"{path}: the control-number file cannot be read ({exc.__class__.__name__}); "
                                 "restore it or remove it knowingly (numbers would restart from the state "
                                 "database's)") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, int) for k, v in data.items()):
        raise ControlsUnreadable(f"{path}: not a control-number file (sender -> last ISA13)")
    return data


def write(outbox: Path, numbers: dict[str, int]) -> None:
    """Keep the larger of what the file and `numbers` say, per sender; atomic and fsynced."""
    merged = read(outbox)
    changed = False
    for sender, last in numbers.items():
        if last > merged.get(sender, 0):
            merged[sender] = last
            changed = True
    if not changed:
        return
    path = controls_path(outbox)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(sorted(merged.items())), fh, indent=1)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
