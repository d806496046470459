"""The `cob` command line: a thin click layer over importable functions.

Every command parses its options, makes ONE library call and renders what it returns; the library
never imports click. Conventions shared by all commands live in `conventions` (`-` for stdin,
`--format text|json`, `--quiet`/`--verbose`, progress bars on a terminal only).

Exit codes: 0 success, 1 bad input (each problem printed as `FILE: segment N (ID): message`), 2 usage,
3 internal error. No command shows a traceback for bad input; unexpected failures print one line
(the exception type and where in cob it was raised, never its text) and exit 3.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path

import click

from .conventions import Output, format_option, output_options, stdin_spooled


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
    "codesets": "cob.cli.codesets:codesets",
}


class _Group(click.Group):
    """Turns unexpected exceptions into one line on stderr and exit 3 (never a traceback); loads the
    `LAZY_COMMANDS` on first use.

    Ctrl-C while the command's modules are imported (most of a start-up) only sets a flag, acted on once
    they are (exit 130): Python's KeyboardInterrupt raised inside an import is swallowed there ("Exception
    ignored in: _get_module_lock") and the Ctrl-C lost, the command going on as if never interrupted."""

    def main(self, *args, **kwargs):
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return super().main(*args, **kwargs)
        self._sigint_at_start = False
        self._sigint_before = signal.signal(signal.SIGINT, self._starting_sigint)
        try:
            return super().main(*args, **kwargs)
        finally:
            self._started()

    def _starting_sigint(self, _signum, _frame) -> None:
        self._sigint_at_start = True

    def _started(self) -> None:
        """Start-up is over: Ctrl-C raises KeyboardInterrupt again (or the command's own handling takes over);
        one that came during start-up does now."""
        import signal

        before = getattr(self, "_sigint_before", None)
        if before is None:
            return
        self._sigint_before = None
        signal.signal(signal.SIGINT, before)
        if self._sigint_at_start:
            raise KeyboardInterrupt

    def resolve_command(self, ctx: click.Context, args: list[str]):
        resolved = super().resolve_command(ctx, args)  # a lazy command's modules are imported here
        self._started()
        return resolved

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
        except KeyboardInterrupt:  # Ctrl-C before a command set its own handling (`cob run` at start-up)
            click.echo(f"{' '.join(['cob', *filter(None, [ctx.invoked_subcommand])])}: stopped by SIGINT", err=True)
            sys.exit(130)
        except BrokenPipeError:
            _quiet_stdout()  # the reader of our stdout went away (`cob parse big.837 | head`): not an error
            sys.exit(0)
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            if os.environ.get("COB_DEBUG"):
                raise
            # The exception text may quote input values (patient data), so only its type and where it was
            # raised are shown; exit 3 tells an internal error from bad input (1) and configuration (2).
            click.echo(f"cob {ctx.invoked_subcommand or ''}: internal error ({type(exc).__name__} at "
                       f"{_where(exc)}); set COB_DEBUG=1 to see details", err=True)
            sys.exit(3)


def _where(exc: BaseException) -> str:
    """file:line in function of the innermost frame in cob's own code (where it failed; no values)."""
    import traceback

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if os.path.abspath(f.filename).startswith(root + os.sep)] or frames
    if not ours:
        return "unknown place"
    f = ours[-1]
    return f"{os.path.relpath(f.filename, os.path.dirname(root))}:{f.lineno} in {f.name}"


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain about the pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (tests)
        pass


EPILOG_MAIN = """\b
Examples:
  cob fixtures --out /tmp/fx --claims 100      # synthetic 837P claims and the primary payers' 835s
  cob parse --summary /tmp/fx                  # one line per file: type, items, errors, warnings
  cob validate /tmp/fx                         # SNIP 1-5 report per file; exit 1 when errors
  cob secondary --claims /tmp/fx --remit /tmp/fx --out /tmp/fx-out --report /tmp/fx-report.json
  cob init /tmp/fx-site                        # drop folders and a cob.toml for unattended runs

\b
Every command takes -q/--quiet and -v/--verbose, and `cob COMMAND --help` shows its own examples.
Shell completion (bash): eval "$(_COB_COMPLETE=bash_source cob)"   (zsh_source, fish_source)
"""


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG_MAIN)
@click.version_option(_version(), prog_name="cob")
def main() -> None:
    """cob: secondary billing from primary 835 remittances and original 837P claims (X12 005010)."""


# ------------------------------------------------------------------------------------------------ parse

EPILOG_PARSE = """\b
Examples:
  cob parse claims.837                  # one JSON object per claim
  cob parse remit.835 | jq .clp         # claim payments (and PLB adjustments)
  cat claims.837 | cob parse -          # from stdin
  cob parse --summary /tmp/fx           # one line per file in a folder
  cob parse --summary --format json /tmp/fx
"""


@main.command(epilog=EPILOG_PARSE)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True))
@click.option("--summary", is_flag=True, help="Print one count line per file instead of the items.")
@click.option("--lenient", is_flag=True, help="Skip claims with errors and go on; report all errors at the end.")
@format_option(default=None, help="Of --summary: tab-separated text (default) or JSON lines. Items are "
                                  "always JSON lines.")
@output_options
def parse(files: tuple[str, ...], summary: bool, lenient: bool, fmt: str | None, out: Output) -> None:
    """Read 837P and 835 files (or - for stdin) and print their claims / claim payments as JSON lines.

    Each line is one Claim (837P loop 2300 with its hierarchy context) or ClaimPayment (835 loop 2100
    with its payment header), or a ProviderAdjustment (PLB). The transaction type is told by content.
    Exit 0 when every file was read cleanly, 1 when a file has a problem (each printed on stderr).
    """
    from cob.edi.inputs import expand_paths
    from cob.edi.parse import OutputFailed, parse_files

    if fmt == "text" and not summary:
        raise click.UsageError("--format text goes with --summary (claims are always JSON lines)")
    failed = False
    with stdin_spooled(files) as (given, names):
        notes: list[str] = []
        paths = expand_paths(given, notes)
        for note in notes:
            out.info(note)
        try:
            for parsed in parse_files(paths, None if summary else sys.stdout, strict=not lenient, names=names):
                for error in parsed.errors:
                    out.error(error)
                failed = failed or not parsed.ok
                if summary and fmt == "json":
                    import json  # only here: plain `cob parse` does not pay for it at start-up

                    out.data(json.dumps(parsed.summary()))
                elif summary and not (out.quiet and parsed.ok):
                    out.data(parsed.summary_line())
                out.detail(f"{parsed.name}: {','.join(sorted(set(parsed.transactions))) or '-'}, {parsed.items} "
                           f"items, {len(parsed.errors)} errors, {len(parsed.warnings)} warnings")
                for warning in parsed.warnings:
                    out.detail(f"{warning} (warning)")
        except OutputFailed as exc:
            if isinstance(exc.exc, BrokenPipeError):
                raise exc.exc from None
            out.error(f"cob parse: cannot write the output: {exc.exc.strerror or exc.exc}")
            sys.exit(1)
    sys.exit(1 if failed else 0)


# ------------------------------------------------------------------------------------------------ fixtures

EPILOG_FIXTURES = """\b
Examples:
  cob fixtures --out /tmp/fx                              # 100 claims, seed 1
  cob fixtures --out /tmp/fx --claims 10000 --claims-per-file 1000 --seed 7
"""


@main.command(epilog=EPILOG_FIXTURES)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--claims", default=100, show_default=True, type=click.IntRange(10, 1_000_000))
@click.option("--claims-per-file", default=None, type=click.IntRange(1, None))
@click.option("--institutional", is_flag=True,
              help="837I claims (inpatient DRG stays, outpatient lines) and institutional 835s.")
@output_options
def fixtures(out_dir: str, seed: int, claims: int, claims_per_file: int | None, institutional: bool,
             out: Output) -> None:
    """Generate synthetic 837P (or 837I) claim files and the matching primary 835s (deterministic by seed)."""
    from cob.fixtures.generate import generate

    kwargs = {"claims_per_file": claims_per_file} if claims_per_file else {}
    result = generate(Path(out_dir), seed=seed, claims=claims, institutional=institutional, **kwargs)
    out.info(f"wrote {len(result.claims_files)} claim files and {len(result.remit_files)} remittance files "
             f"({result.claims} claims, {result.claim_payments} claim payments) to {out_dir}")
    for path in [*result.claims_files, *result.remit_files]:
        out.detail(f"  {path}")


# ------------------------------------------------------------------------------------------------ secondary

EPILOG_SECONDARY = """\b
Examples:
  cob secondary --claims /tmp/fx --remit /tmp/fx --out /tmp/fx-out --report /tmp/fx-report.json
  cob secondary --claims c.837 --remit primary.835 --remit secondary.835 --out out/   # tertiary
  cob secondary --claims c.837 --remit r.835 --coverage roster.csv --out out/ --control-start 1001
  cob secondary --claims in/ --remit in/ --out out/ --report - -q | jq .summary   # JSON report on stdout
  cob secondary --claims c.837 --remit r.835 --out out/ --paper SECPAY   # SECPAY's claims: out/paper/*.pdf
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
              help="Original 837P or 837I claim file or folder (repeatable; told apart by content).")
@click.option("--remit", "remits", multiple=True, required=True, type=click.Path(exists=True),
              help="835 remittance file or folder from the primary (and later) payers (repeatable).")
@click.option("--coverage", type=click.Path(exists=True, dir_okay=False),
              help="Coverage roster (JSON or CSV) for claims whose original lists no other payer.")
@click.option("--order-facts", type=click.Path(exists=True, dir_okay=False),
              help="Order-of-benefits facts per claim or member (JSON); claims billed against the rules are held.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the new 837P / 837I files, one interchange per destination payer and type.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the JSON report here (- for stdout; the summary stays on stderr).")
@click.option("--sender", help="ISA sender as QUALIFIER:ID (default: the original file's ISA sender).")
@click.option("--receiver", help="ISA receiver as QUALIFIER:ID (default: the original file's ISA receiver).")
@click.option("--control-start", default=1, show_default=True, type=click.IntRange(1, 999_999_999),
              help="Lowest ISA13/GS06 control number to use.")
@click.option("--control-file", type=click.Path(dir_okay=False),
              help="File keeping the last ISA13 per sender across runs (default: OUT/.cob-control.json).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes to read, bill and validate with (default: one per CPU, up to 4, for inputs of 4 MB "
                   "or more; 1 for smaller ones).")
@click.option("--paper", "paper", multiple=True, metavar="PAYER_ID",
              help="A destination payer that takes paper (repeatable, or comma-separated): its claims are printed "
                   "as CMS-1500 forms with the prior payers' EOBs to OUT/paper/<payer>-<ISA13>.pdf, not sent as 837P.")
@click.option("--paper-proof", is_flag=True,
              help="Draw the form's boxes and captions too, for a proof copy on plain paper (not for the red form).")
@output_options
def secondary(claims: tuple[str, ...], remits: tuple[str, ...], coverage: str | None, order_facts: str | None,
              out_dir: str, report_path: str | None, sender: str | None, receiver: str | None, control_start: int,
              control_file: str | None, workers: int | None, paper: tuple[str, ...], paper_proof: bool,
              out: Output) -> None:
    """Build secondary (or tertiary) 837P / 837I claims from original claims and the payers' 835s.

    Every claim is reported as billed, skipped, held or rejected with a reason. A claim that fails COB
    balancing or implementation-guide validation is rejected and never written. Control numbers continue
    from the last run's (per sender), and no existing output file is ever overwritten. Exit 0 when every
    input was readable and nothing was rejected, 1 otherwise, 2 when an output location cannot be written.
    """
    from cob.billing.nightly import OutputLocationError
    from cob.billing.secondary import SecondaryOptions, bill_paths

    options = SecondaryOptions(out_dir=Path(out_dir), sender=_party(sender), receiver=_party(receiver),
                               control_start=control_start, workers=workers, progress=out.progress,
                               control_file=Path(control_file) if control_file else None,
                               paper_payers=frozenset(p.strip() for v in paper for p in v.split(",") if p.strip()),
                               paper_proof=paper_proof)
    report_to = sys.stdout if report_path == "-" else report_path
    try:
        result = bill_paths(claims, remits, options, coverage, order_facts, report_to=report_to)
    except OutputLocationError as exc:
        out.error(f"cob secondary: {exc}")
        sys.exit(2)
    for note in result.notes:
        out.info(note)
    report = result.report
    if out.quiet:  # errors only: inputs that could not be used, claims rejected
        for i in report.inputs:
            if i.status == "error":
                out.error(f"{i.error}" if i.error and i.file in i.error else f"{i.file}: {i.error}")
        for c in report.claims:
            if c.status == "rejected":
                out.error(f"{c.claim_id}: rejected: {c.reason}: {c.detail}")
    else:
        out.info(report.human_summary(limit=len(report.claims) if out.verbose else 50), nl=False)
    if out.verbose:
        for i in report.inputs:
            out.detail(f"input {i.file} ({i.kind}): {i.status}")
        if report_path and report_path != "-":
            out.detail(f"report: {report_path}")
    sys.exit(1 if result.failed else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
