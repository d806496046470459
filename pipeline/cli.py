"""The `cob` command line: a thin click layer over importable functions.

Exit codes: 0 success, 1 bad input (each problem printed as `FILE: segment N (ID): message`), 2 usage.
No command shows a traceback for bad input; unexpected failures print one line and exit 1.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Iterable

import click

from edi.errors import X12SyntaxError
from edi.reader import X12Reader

EPILOG_PARSE = """\b
Examples:
  cob parse claims.837                 # one JSON object per claim
  cob parse remit.835 | jq .clp        # claim payments (and PLB adjustments)
  cob parse --summary fixtures/sample/*
"""


def _version() -> str:
    try:
        return metadata.version("cob")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0.0.0+source"


class _Group(click.Group):
    """Turns unexpected exceptions into one line on stderr and exit 1 (never a traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            sys.exit(0)
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            click.echo(f"cob: error: {type(exc).__name__}: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nExamples:\n  make demo                      # generate fixtures, read them\n"
                    "  cob fixtures --claims 1000 --out /tmp/fx\n  cob parse /tmp/fx/claims-0001.837\n")
@click.version_option(_version(), prog_name="cob")
def main() -> None:
    """cob: secondary billing from primary 835 remittances and original 837P claims (X12 005010)."""


def looks_like_x12(path: Path) -> bool:
    """Content, not name, decides: the first non-blank characters (after a BOM) are 'ISA'."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return True  # let the reader report why it cannot be read
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISA")


def expand_paths(paths: Iterable[str], notes: list[str] | None = None) -> list[Path]:
    """Files as given, and the X12 files inside given directories (sorted; hidden and non-X12 files in
    a directory are skipped with a note, a named file is always read)."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for f in sorted(path.iterdir()):
                if not f.is_file() or f.name.startswith("."):
                    continue
                if looks_like_x12(f):
                    out.append(f)
                elif notes is not None:
                    notes.append(f"{f}: skipped, not an X12 file")
        else:
            out.append(path)
    return out


@main.command(epilog=EPILOG_PARSE)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--summary", is_flag=True, help="Print one count line per file instead of JSON.")
@click.option("--lenient", is_flag=True, help="Skip claims with errors and go on; report all errors at the end.")
def parse(files: tuple[str, ...], summary: bool, lenient: bool) -> None:
    """Read 837P and 835 files and print their claims / claim payments as JSON lines.

    Each line is one Claim (837P loop 2300 with its hierarchy context) or ClaimPayment (835 loop 2100
    with its payment header), or a ProviderAdjustment (PLB). The transaction type is told by content.
    """
    failed = False
    out = sys.stdout
    notes: list[str] = []
    paths = expand_paths(files, notes)
    for note in notes:
        click.echo(note, err=True)
    for path in paths:
        reader = X12Reader(path, strict=not lenient)
        count = 0
        try:
            for item in reader:
                count += 1
                if not summary:
                    out.write(item.model_dump_json(exclude_none=True))
                    out.write("\n")
        except X12SyntaxError as exc:
            click.echo(str(exc.error), err=True)
            failed = True
        except OSError as exc:
            click.echo(f"{path}: cannot read: {exc.strerror or exc}", err=True)
            failed = True
        for err in reader.errors if lenient else []:
            click.echo(str(err), err=True)
            failed = True
        if summary:
            kinds = ",".join(sorted(set(reader.transactions))) or "-"
            click.echo(f"{path}\t{kinds}\t{count} items\t{len(reader.errors)} errors\t{len(reader.warnings)} warnings")
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--claims", default=100, show_default=True, type=click.IntRange(10, 1_000_000))
@click.option("--claims-per-file", default=None, type=click.IntRange(1, None))
def fixtures(out_dir: str, seed: int, claims: int, claims_per_file: int | None) -> None:
    """Generate synthetic 837P claim files and the matching primary 835s (deterministic by seed)."""
    from fixtures.generate import generate

    kwargs = {"claims_per_file": claims_per_file} if claims_per_file else {}
    result = generate(Path(out_dir), seed=seed, claims=claims, **kwargs)
    click.echo(f"wrote {len(result.claims_files)} claim files and {len(result.remit_files)} remittance files "
               f"({result.claims} claims, {result.claim_payments} claim payments) to {out_dir}")


def _register_optional_commands() -> None:
    """Commands that live with their own library modules."""
    try:
        from pipeline.rules.cli import estimate, order
    except ImportError:  # pragma: no cover - rules package absent
        return
    main.add_command(order)
    main.add_command(estimate)


_register_optional_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
