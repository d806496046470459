"""`cob order` and `cob estimate`: thin commands over `cob.rules.inputs` (and `cob.billing.expected`).

Exit codes (scripts rely on them):
  0  decided / every claim estimated
  1  undetermined order / some claim could not be estimated (a fact is missing; the output says which)
  2  bad input: unreadable file, invalid JSON or a field that fails validation. One line on stderr naming
     the file and the field, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import click

from cob.rules.inputs import InputError
from cob.schemas.order import OrderRequest, OrderResult, RuleSet

from .conventions import STDIN, STDIN_NAME, Output, format_option, output_options, read_stdin_text

EXIT_OK, EXIT_UNDETERMINED, EXIT_BAD_INPUT = 0, 1, 2


def _fail(command: str, error: InputError) -> NoReturn:
    click.echo(f"cob {command}: {error}", err=True)
    raise click.exceptions.Exit(EXIT_BAD_INPUT)


def _source(path: str) -> tuple[str, str | None]:
    """(name, text): a path to be read by the library, or `<stdin>` with the text read here."""
    return (STDIN_NAME, read_stdin_text()) if path == STDIN else (path, None)


# --- cob order -------------------------------------------------------------------------------------

EPILOG_ORDER = """\b
Examples:
  cob order facts.json                          # payers in order, and why
  cob order facts.json --rules clhia --format json
  cat facts.json | cob order -                  # from stdin
  cob order --schema                            # the JSON Schema of FILE
"""


@click.command("order", epilog=EPILOG_ORDER)
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--rules",
    "rule_set",
    type=click.Choice([r.value for r in RuleSet]),
    default=RuleSet.NAIC.value,
    show_default=True,
    help="Order rules between private plans: NAIC (US) or CLHIA (Canada).",
)
@format_option()
@click.option("--schema", is_flag=True, help="Print the JSON Schema of the input file and exit.")
@output_options
def order(file: str | None, rule_set: str, fmt: str, schema: bool, out: Output) -> None:
    """Order of benefits for one claim: the payers in order and the rule behind each step.

    FILE is JSON (see `--schema`; - reads stdin): {"claim": {...}, "patient": {...}, "coverages": [...]}.
    Exit 0 when decided, 1 when undetermined (missing facts are listed), 2 on bad input.
    """
    from cob.rules.inputs import order_of_benefits

    if schema:
        out.data(json.dumps(OrderRequest.model_json_schema(), indent=2))
        return
    if file is None:
        _fail("order", InputError(STDIN, "missing FILE argument"))
    name, text = _source(file)
    try:
        request, result = order_of_benefits(name, RuleSet(rule_set), text=text)
    except InputError as exc:
        _fail("order", exc)
    if fmt == "json":
        out.data(result.model_dump_json(indent=2))
    elif result.undetermined or not out.quiet:
        out.data(render_order_text(result, request, RuleSet(rule_set)))
    out.detail(f"{name}: {len(request.coverages)} coverages ("
               + ", ".join(f"{c.id}: {c.kind.value}" for c in request.coverages)
               + f"), {RuleSet(rule_set).value.upper()} rules, {len(result.decisions)} decisions")
    raise click.exceptions.Exit(EXIT_UNDETERMINED if result.undetermined else EXIT_OK)


def render_order_text(result: OrderResult, request: OrderRequest, rule_set: RuleSet) -> str:
    """Numbered payers, then the decisions in plain words (and what is missing, if anything)."""
    kinds = {c.id: c.kind.value for c in request.coverages}
    status = " - UNDETERMINED" if result.undetermined else ""
    lines = [f"Order of benefits ({rule_set.value.upper()} rules){status}:"]
    if result.undetermined:
        lines.append("  certain so far:" if result.order else "  no payer is certain yet")
    lines += [f"  {n}. {pid} ({kinds[pid]})" for n, pid in enumerate(result.order, 1)]
    if result.msp_type is not None:
        lines.append(f"Medicare secondary payer type (SBR05): {result.msp_type.value}")
    if result.missing:
        lines.append("Missing facts:")
        lines += [f"  - {m}" for m in result.missing]
    if result.decisions:
        lines.append("Why:")
        lines += [f"  - {d.explanation} [{d.rule}]" for d in result.decisions]
    return "\n".join(lines)


# --- cob estimate ----------------------------------------------------------------------------------

EPILOG_ESTIMATE = """\b
Examples:
  cob estimate --adjudication adjudications.json      # each row with the next payer's "terms"
  cob estimate --remit remit.835 --coverage roster.json --format json
  cat adjudications.json | cob estimate --adjudication -
  cob estimate --schema roster                        # JSON Schema of the roster (adjudication, facts too)
"""

SCHEMAS = ("adjudication", "roster", "facts")


def input_schema(kind: str) -> dict:
    """JSON Schema of an input file of `cob estimate` / `cob secondary` / `cob run`: the adjudication
    list, the coverage roster (JSON form; CSV takes the same columns) and the order-facts file."""
    from pydantic import TypeAdapter

    if kind == "adjudication":
        from cob.schemas.order import EstimateInput

        return TypeAdapter(list[EstimateInput]).json_schema()
    if kind == "roster":
        from pydantic import create_model

        from cob.schemas.coverage import RosterCoverage

        return create_model("Roster", coverages=(list[RosterCoverage], ...)).model_json_schema()
    from cob.billing.expected import OrderFactsFile

    return OrderFactsFile.model_json_schema()


@click.command("estimate", epilog=EPILOG_ESTIMATE)
@click.option(
    "--adjudication",
    type=click.Path(dir_okay=False, allow_dash=True),
    help='JSON list of primary adjudications, each with the next payer\'s "terms" (- reads stdin).',
)
@click.option("--remit", type=click.Path(dir_okay=False, path_type=Path), help="The payer's 835.")
@click.option("--coverage", type=click.Path(dir_okay=False, path_type=Path),
              help="Coverage roster whose entries give the next payer's benefit_terms.")
@click.option("--schema", "schema", type=click.Choice(SCHEMAS), default=None,
              help="Print the JSON Schema of an input file (adjudication list, roster, order facts) and exit.")
@format_option()
@output_options
def estimate(adjudication: str | None, remit: Path | None, coverage: Path | None, schema: str | None, fmt: str,
             out: Output) -> None:
    """Expected payment of the next payer and the patient's final balance, per claim.

    Every claim is listed: estimated, or why not (no next payer in the roster, no benefit terms, a fact
    the method needs). Exit 0 when every claim is estimated, 1 when some claim is not (or none could be),
    2 on bad input.
    """
    if schema is not None:
        out.data(json.dumps(input_schema(schema), indent=2))
        return
    try:
        if remit is not None or coverage is not None:
            from cob.billing.expected import estimate_remit

            if remit is None:
                _fail("estimate", InputError(str(coverage), "--coverage needs --remit"))
            found = estimate_remit(remit, coverage)
        elif adjudication is None:
            _fail("estimate", InputError(STDIN, "give --adjudication FILE"))
        else:
            from cob.rules.inputs import estimate_file

            name, text = _source(adjudication)
            found = estimate_file(name, text=text)
    except InputError as exc:
        _fail("estimate", exc)
    if fmt == "json":
        out.data(json.dumps(found.to_json(), indent=2))
    else:
        if not out.quiet:
            for e in found.estimates:
                out.data(f"{e.claim_id}: {e.method.value}: next payer pays {e.secondary_pays}, "
                         f"patient balance {e.patient_balance} (was {e.patient_responsibility_before})")
                for step in e.steps:
                    out.data(f"    {step}")
        for err in found.errors:
            out.data(f"{err['claim_id']}: not estimated: {err['message']}")
    out.detail(f"{len(found.estimates) + len(found.errors)} claims: {len(found.estimates)} estimated, "
               f"{len(found.errors)} not estimated")
    if not found.estimates:
        out.error("cob estimate: no claim could be estimated")
    raise click.exceptions.Exit(EXIT_UNDETERMINED if found.errors or not found.estimates else EXIT_OK)
