"""`cob validate`: the command-line face of `cob.edi.validate.validate_files` (SNIP 1-5, 999/TA1).

Exit codes: 0 every file valid (warnings allowed), 1 errors found (or a file unreadable), 2 usage.
"""

from __future__ import annotations

import sys

import click

from .conventions import Output, format_option, output_options, stdin_spooled

EPILOG = """\b
Examples:
  cob validate claims.837                      # text report, grouped by file and claim
  cob validate /tmp/fx --format json > report.json
  cat remit.835 | cob validate -               # from stdin (named <stdin> in the report)
  cob validate remit.835 --ack acks/           # also write a 999 (and a TA1 when the envelope is bad)
  cob validate big.837 --max-errors 20         # stop after 20 errors
  cob validate -q inbox/ || echo "fix me"      # print only the invalid files
  cob validate bad.837 --show-values           # local debugging: quote segments unmasked
"""


def _snip_types(value: str) -> frozenset[int]:
    try:
        types = frozenset(int(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of numbers 1-5", param_hint="--snip") from None
    if not types or not types <= {1, 2, 3, 4, 5}:
        raise click.BadParameter("a comma-separated list of numbers 1-5", param_hint="--snip")
    return types


@click.command("validate", epilog=EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True))
@format_option()
@click.option("--ack", "ack_dir", type=click.Path(file_okay=False), default=None,
              help="Write a 999 per functional group (and a TA1 for a bad envelope) into this folder.")
@click.option("--max-errors", type=click.IntRange(min=1), default=None,
              help="Report at most N errors per file (without --ack, stop reading the file there).")
@click.option("--snip", default="1,2,3,4,5", show_default=True,
              help="WEDI SNIP types to check, e.g. 1,2 for syntax and IG rules only.")
@click.option("--show-values", is_flag=True,
              help="Quote segments unmasked: patient names, member ids, birth dates and addresses are shown. "
                   "For local debugging only; by default person data is masked with #.")
@output_options
def validate(paths: tuple[str, ...], fmt: str, ack_dir: str | None, max_errors: int | None, snip: str,
             show_values: bool, out: Output) -> None:
    """Check 837P and 835 files (or - for stdin) against the implementation guides, balancing, COB
    rules and code sets. A progress bar is drawn on a terminal. Quoted segments have person data
    (names, member ids, birth dates, addresses, patient account numbers) masked; --show-values turns
    that off."""
    from cob.edi.inputs import expand_paths
    from cob.edi.validate import validate_files
    from cob.edi.validate.report import dumps, render_skipped, render_text

    types = _snip_types(snip)
    with stdin_spooled(paths) as (given, names):
        notes: list[str] = []
        skipped: list = []
        files = expand_paths(given, notes, skipped=skipped)
        notes = [n for n in notes if n not in {s.note() for s in skipped}]  # an empty folder
        if fmt == "text":
            for note in notes:
                out.data(note)
            for skip in skipped:  # named in the report; one that looks like X12 fails the run
                if skip.x12 or not out.quiet:
                    out.data(render_skipped(skip))
        results = []
        for done in validate_files(files, snip=types, max_errors=max_errors, ack_dir=ack_dir, names=names,
                                   progress=out.progress, show_values=show_values):
            result = done.result
            results.append(result)
            if fmt == "text" and not (out.quiet and result.valid):
                out.data(render_text(result, max_errors))
            for written in done.acks:
                out.info(f"{result.file}: wrote {written}")
            out.detail(f"{result.file}: {done.size} bytes in {done.seconds:.2f} s")
    if fmt == "json":
        out.data(dumps(results, max_errors, skipped, notes))
    elif len(results) > 1 or out.verbose or skipped:
        bad = sum(1 for r in results if not r.valid)
        if not out.quiet:
            out.data(f"{len(results)} files: {len(results) - bad} valid, {bad} invalid"
                     + (f", {len(skipped)} skipped" if skipped else ""))
    sys.exit(0 if all(r.valid for r in results) and not any(s.x12 for s in skipped) else 1)
