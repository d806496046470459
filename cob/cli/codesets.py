"""`cob codesets update`: regenerate the committed code lists (CARC, RARC, ICD-10-CM) from their source
packages (the `[codesets]` extra). Options -> one library call (`cob.edi.codesets.update`) -> render."""

from __future__ import annotations

import click

from .conventions import Output, output_options

EPILOG = """\b
Examples:
  pip install -e '.[codesets]' && cob codesets update    # what `make codesets` does
  cob codesets update --as-of 2026-10-01                  # a source release cob has no date for
Then review and commit cob/edi/codesets/ (git diff shows the codes added).
"""


@click.command(epilog=EPILOG)
@click.argument("action", type=click.Choice(["update"]))
@click.option("--as-of", metavar="YYYY-MM-DD",
              help="The date the CARC/RARC source list is current as of (default: its known release date).")
@output_options
def codesets(action: str, as_of: str | None, out: Output) -> None:
    """Regenerate the code lists cob ships (cob/edi/codesets: CARC, RARC, ICD-10-CM) from their PyPI
    sources; needs the [codesets] extra. Validation itself never needs the network."""
    from cob.edi.codesets.update import SourceMissing, update

    try:
        written = update(as_of=as_of)
    except SourceMissing as exc:
        raise click.ClickException(str(exc)) from None
    for w in written:
        added = f", {len(w.added)} new: {' '.join(w.added[:12])}{' ...' if len(w.added) > 12 else ''}" if w.added else ""
        out.info(f"{w.path.name}: {w.codes} codes{added}")
