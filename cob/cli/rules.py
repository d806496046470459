"""Click commands ``order`` and ``estimate``; the lead registers them on the main ``cob`` group::

    from cob.cli.rules import estimate, order
    cob.add_command(order)
    cob.add_command(estimate)

Exit codes (scripts rely on them):
  0  decided / every claim estimated
  1  undetermined order / some claim could not be estimated (a fact is missing; the output says which)
  2  bad input: unreadable file, invalid JSON or a field that fails validation. One line on stderr naming
     the file and the field, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from pydantic import BaseModel, TypeAdapter, ValidationError

from cob.schemas.order import EstimateInput, OrderRequest, OrderResult, RuleSet

from cob.rules.order import determine_order
from cob.rules.payment import EstimateInputError, estimate_claim

EXIT_OK, EXIT_UNDETERMINED, EXIT_BAD_INPUT = 0, 1, 2
M = TypeVar("M")


# --- input helpers ---------------------------------------------------------------------------------


def _fail(command: str, path: Path | str, message: str) -> NoReturn:
    click.echo(f"cob {command}: {path}: {message}", err=True)
    raise click.exceptions.Exit(EXIT_BAD_INPUT)


def _read_json(command: str, path: Path) -> Any:
    """JSON numbers become Decimal so money never passes through float."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(command, path, f"cannot read file: {getattr(exc, 'strerror', None) or exc}")
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        _fail(command, path, f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}")


def _where(loc: Sequence[int | str], data: Any) -> str:
    """('coverages', 1, 'kind') -> 'coverages[1] (id "mom").kind': the position plus the id people know."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            ident = node.get("id") or node.get("claim_id") if isinstance(node, dict) else None
            if isinstance(ident, str):
                out += f' (id "{ident}")'
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _validate(command: str, path: Path, adapter: TypeAdapter[M], data: Any) -> M:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        where = _where(first["loc"], data)
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        _fail(command, path, f"field {where}: {message}{more}" if where else f"{message}{more}")


# --- cob order -------------------------------------------------------------------------------------


@click.command("order")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--rules",
    "rule_set",
    type=click.Choice([r.value for r in RuleSet]),
    default=RuleSet.NAIC.value,
    show_default=True,
    help="Order rules between private plans: NAIC (US) or CLHIA (Canada).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--schema", is_flag=True, help="Print the JSON Schema of the input file and exit.")
def order(file: Path | None, rule_set: str, fmt: str, schema: bool) -> None:
    """Order of benefits for one claim: the payers in order and the rule behind each step.

    FILE is JSON (see `--schema`): {"claim": {...}, "patient": {...}, "coverages": [...]}.
    Exit 0 when decided, 1 when undetermined (missing facts are listed), 2 on bad input.
    """
    if schema:
        click.echo(json.dumps(OrderRequest.model_json_schema(), indent=2))
        return
    if file is None:
        _fail("order", "-", "missing FILE argument")
    data = _read_json("order", file)
    request = _validate("order", file, TypeAdapter(OrderRequest), data)
    result = determine_order(request, RuleSet(rule_set))
    if fmt == "json":
        click.echo(result.model_dump_json(indent=2))
    else:
        click.echo(render_order_text(result, request, RuleSet(rule_set)))
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


def inputs_from_remit(remit: Path, coverage: Path | None) -> list[EstimateInput]:
    """Estimate inputs from an 835 and the coverage roster (the next payer's `benefit_terms`)."""
    from cob.billing.expected import estimate_inputs

    return estimate_inputs(remit, coverage)


@click.command("estimate")
@click.option(
    "--adjudication",
    type=click.Path(dir_okay=False, path_type=Path),
    help='JSON list of primary adjudications, each with the next payer\'s "terms".',
)
@click.option("--remit", type=click.Path(dir_okay=False, path_type=Path), help="The payer's 835.")
@click.option("--coverage", type=click.Path(dir_okay=False, path_type=Path),
              help="Coverage roster whose entries give the next payer's benefit_terms.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def estimate(adjudication: Path | None, remit: Path | None, coverage: Path | None, fmt: str) -> None:
    """Expected payment of the next payer and the patient's final balance, per claim.

    Exit 0 when every claim is estimated, 1 when some claim lacks a fact its method needs, 2 on bad input.
    """
    if remit is not None or coverage is not None:
        if remit is None:
            _fail("estimate", coverage, "--coverage needs --remit")  # type: ignore[arg-type]
        from cob.edi.errors import X12SyntaxError
        from cob.schemas.coverage import RosterError

        try:
            inputs = inputs_from_remit(remit, coverage)
        except X12SyntaxError as exc:
            _fail("estimate", remit, exc.error.message)
        except RosterError as exc:
            _fail("estimate", coverage, str(exc))  # type: ignore[arg-type]
    elif adjudication is None:
        _fail("estimate", "-", "give --adjudication FILE")
    else:
        data = _read_json("estimate", adjudication)
        inputs = _validate("estimate", adjudication, TypeAdapter(list[EstimateInput]), data)
    estimates, errors = [], []
    for item in inputs:
        try:
            estimates.append(estimate_claim(item, item.terms))
        except EstimateInputError as exc:
            errors.append({"claim_id": exc.claim_id, "field": exc.field_name, "message": str(exc)})
    if fmt == "json":
        payload = {"estimates": [_dump(e) for e in estimates], "errors": errors}
        click.echo(json.dumps(payload, indent=2))
    else:
        for e in estimates:
            click.echo(
                f"{e.claim_id}: {e.method.value}: next payer pays {e.secondary_pays}, "
                f"patient balance {e.patient_balance} (was {e.patient_responsibility_before})"
            )
            for step in e.steps:
                click.echo(f"    {step}")
        for err in errors:
            click.echo(f"{err['claim_id']}: not estimated: {err['message']}")
    raise click.exceptions.Exit(EXIT_UNDETERMINED if errors else EXIT_OK)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
