"""The `cob` command line: a thin click layer over importable functions.

Exit codes: 0 success, 1 bad input (each problem printed as `FILE: segment N (ID): message`), 2 usage.
No command shows a traceback for bad input; unexpected failures print one line and exit 1.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Iterable

import click


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


#: commands that live with their own library modules, imported only when asked for, so `cob validate`
#: does not pay for the models, the rules and the state database at start-up
LAZY_COMMANDS = {
    "order": "cob.cli.rules:order",
    "estimate": "cob.cli.rules:estimate",
    "validate": "cob.cli.validate:validate",
    "init": "cob.cli.run:init",
    "run": "cob.cli.run:run",
    "status": "cob.cli.run:status",
}


class _Group(click.Group):
    """Turns unexpected exceptions into one line on stderr and exit 1 (never a traceback); loads the
    `LAZY_COMMANDS` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, name: str):
        command = super().get_command(ctx, name)
        if command is None and name in LAZY_COMMANDS:
            import importlib

            module, attr = LAZY_COMMANDS[name].split(":")
            command = getattr(importlib.import_module(module), attr)
            self.add_command(command, name)
        return command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            sys.exit(0)
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            if os.environ.get("COB_DEBUG"):
                raise
            # The exception text may quote input values (patient data), so only its type is shown.
            click.echo(f"cob: internal error ({type(exc).__name__}); set COB_DEBUG=1 to see details", err=True)
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


def expand_paths(paths: Iterable[str], notes: list[str] | None = None, kind: str | None = None) -> list[Path]:
    """Files as given, and the X12 files inside given directories (sorted). In a directory, hidden
    files, non-X12 files and (with `kind`) X12 files of another transaction type are skipped with a
    note; a file named explicitly is always read, so a wrong one is reported."""
    from cob.edi.envelope import sniff

    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if not path.is_dir():
            out.append(path)
            continue
        for f in sorted(path.iterdir()):
            if not f.is_file() or f.name.startswith("."):
                continue
            if not looks_like_x12(f):
                if notes is not None:
                    notes.append(f"{f}: skipped, not an X12 file")
            elif kind is not None and sniff(f) not in (kind, None):
                continue  # the other kind of X12 file in a shared folder
            else:
                out.append(f)
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
    from cob.edi.errors import X12SyntaxError
    from cob.edi.reader import X12Reader

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
    from cob.fixtures.generate import generate

    kwargs = {"claims_per_file": claims_per_file} if claims_per_file else {}
    result = generate(Path(out_dir), seed=seed, claims=claims, **kwargs)
    click.echo(f"wrote {len(result.claims_files)} claim files and {len(result.remit_files)} remittance files "
               f"({result.claims} claims, {result.claim_payments} claim payments) to {out_dir}")


EPILOG_SECONDARY = """\b
Examples:
  cob secondary --claims claims/ --remit remits/ --out outbox/ --report report.json
  cob secondary --claims c.837 --remit primary.835 --remit secondary.835 --out out/   # tertiary
  cob secondary --claims c.837 --remit r.835 --coverage roster.csv --out out/ --control-start 1001
"""


def _party(value: str | None):
    """QUALIFIER:ID -> an envelope party (qualifier ZZ when only an id is given)."""
    from cob.edi.envelope import Party as EnvParty

    if not value:
        return None
    qualifier, _, ident = value.rpartition(":")
    return EnvParty(qualifier or "ZZ", ident)


@main.command(epilog=EPILOG_SECONDARY)
@click.option("--claims", "claims", multiple=True, required=True, type=click.Path(exists=True),
              help="Original 837P claim file or folder (repeatable).")
@click.option("--remit", "remits", multiple=True, required=True, type=click.Path(exists=True),
              help="835 remittance file or folder from the primary (and later) payers (repeatable).")
@click.option("--coverage", type=click.Path(exists=True, dir_okay=False),
              help="Coverage roster (JSON or CSV) for claims whose original lists no other payer.")
@click.option("--order-facts", type=click.Path(exists=True, dir_okay=False),
              help="Order-of-benefits facts per claim or member (JSON); claims billed against the rules are held.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the new 837P files, one interchange per destination payer.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--sender", help="ISA sender as QUALIFIER:ID (default: the original file's ISA sender).")
@click.option("--receiver", help="ISA receiver as QUALIFIER:ID (default: the original file's ISA receiver).")
@click.option("--control-start", default=1, show_default=True, type=click.IntRange(1, 999_999_999),
              help="First ISA13/GS06 control number to use.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes to read, bill and validate with (default: one per CPU, up to 4, for inputs of 4 MB "
                   "or more; 1 for smaller ones).")
def secondary(claims: tuple[str, ...], remits: tuple[str, ...], coverage: str | None, order_facts: str | None,
              out_dir: str, report_path: str | None, sender: str | None, receiver: str | None, control_start: int,
              workers: int | None) -> None:
    """Build secondary (or tertiary) 837P claims from original claims and the payers' 835s.

    Every claim is reported as billed, skipped, held or rejected with a reason. A claim that fails COB
    balancing or implementation-guide validation is rejected and never written. Exit 0 when every input
    was readable and nothing was rejected, 1 otherwise.
    """
    from cob.edi.writer import atomic_output
    from cob.billing.secondary import SecondaryOptions, run_secondary

    notes: list[str] = []
    claim_files = expand_paths(claims, notes, kind="837")
    remit_files = expand_paths(remits, notes, kind="835")
    for note in dict.fromkeys(notes):  # a folder given for both claims and remits is noted once
        click.echo(note, err=True)
    options = SecondaryOptions(out_dir=Path(out_dir), sender=_party(sender), receiver=_party(receiver),
                               control_start=control_start, workers=workers)
    report = run_secondary(claim_files, remit_files, options, Path(coverage) if coverage else None,
                           Path(order_facts) if order_facts else None)
    if report_path:
        with atomic_output(report_path) as fh:
            fh.write(report.to_json())
            fh.write("\n")
    click.echo(report.human_summary(), err=True)
    failed = any(i.status == "error" for i in report.inputs) or any(c.status == "rejected" for c in report.claims)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
