"""`cob validate`: the command-line face of `cob.edi.validate` (IG validation, SNIP 1-5, 999/TA1).

Exit codes: 0 every file valid (warnings allowed), 1 errors found (or a file unreadable), 2 usage.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import click

EPILOG = """\b
Examples:
  cob validate claims.837                      # text report, grouped by file and claim
  cob validate inbox/ --format json > report.json
  cob validate remit.835 --ack acks/           # also write a 999 (and a TA1 when the envelope is bad)
  cob validate big.837 --max-errors 20         # stop after 20 errors
"""

#: files at least this big get a progress bar when stderr is a terminal
PROGRESS_BYTES = 5_000_000


class PersistentControlNumbers:
    """Acknowledgment control numbers kept in a small file in the ack folder, so ISA13s of the 999s
    and TA1s written by successive runs increase and never repeat. The file is locked while in use."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / ".cob-ack-control"
        self.fh = open(self.path, "a+", encoding="ascii")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        self.fh.seek(0)
        text = self.fh.read().strip()
        self.last = int(text) if text.isdigit() else 0
        self._st = 0

    def next_interchange(self) -> int:
        self.last = self.last % 999_999_999 + 1
        self._save()
        return self.last

    def next_group(self) -> int:
        return self.last

    def next_transaction(self) -> int:
        self._st += 1
        return self._st

    def _save(self) -> None:
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(str(self.last))
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


@click.command("validate", epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--ack", "ack_dir", type=click.Path(file_okay=False), default=None,
              help="Write a 999 per functional group (and a TA1 for a bad envelope) into this folder.")
@click.option("--max-errors", type=click.IntRange(min=1), default=None,
              help="Report at most N errors per file (without --ack, stop reading the file there).")
@click.option("--snip", default="1,2,3,4,5", show_default=True,
              help="WEDI SNIP types to check, e.g. 1,2 for syntax and IG rules only.")
def validate(paths: tuple[str, ...], fmt: str, ack_dir: str | None, max_errors: int | None, snip: str) -> None:
    """Check 837P and 835 files against the implementation guides, balancing, COB rules and code sets."""
    from cob.edi.validate import validate_file
    from cob.edi.validate.report import dumps, render_text
    from cob.cli import expand_paths

    try:
        types = frozenset(int(x) for x in snip.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of numbers 1-5", param_hint="--snip") from None
    if not types or not types <= {1, 2, 3, 4, 5}:
        raise click.BadParameter("a comma-separated list of numbers 1-5", param_hint="--snip")
    notes: list[str] = []
    files = expand_paths(paths, notes)
    for note in notes:
        click.echo(note, err=True)
    numbers = PersistentControlNumbers(Path(ack_dir)) if ack_dir else None
    results = []
    try:
        for path in files:
            # with --ack every set must be checked to be acknowledged, so the limit only trims the report
            stop = None if ack_dir else max_errors
            result = _validate_one(validate_file, path, types, stop)
            results.append(result)
            if fmt == "text":
                click.echo(render_text(result, max_errors))
            if numbers is not None and result.interchanges:
                from cob.edi.validate.ack import write_acks

                for written in write_acks(result, ack_dir, control_numbers=numbers):
                    click.echo(f"{path}: wrote {written}", err=True)
    finally:
        if numbers is not None:
            numbers.close()
    if fmt == "json":
        click.echo(dumps(results, max_errors))
    elif len(results) > 1:
        bad = sum(1 for r in results if not r.valid)
        click.echo(f"{len(results)} files: {len(results) - bad} valid, {bad} invalid")
    sys.exit(0 if all(r.valid for r in results) else 1)


def _validate_one(validate_file, path: Path, types, stop):
    size = path.stat().st_size if path.exists() else 0
    if size >= PROGRESS_BYTES and sys.stderr.isatty():
        with click.progressbar(length=size, label=path.name, file=sys.stderr) as bar:
            return validate_file(path, snip=types, max_errors=stop, progress=lambda n: bar.update(n))
    return validate_file(path, snip=types, max_errors=stop)
