"""The JSON files behind `cob order` and `cob estimate`: read, validated, and answered in one call.

JSON numbers become Decimal, so money never passes through float. A file that cannot be read, is not
JSON, or has a field that fails validation raises `InputError` with one line naming the file and the
field as people know it (`coverages[1] (id "mom").kind`), never the values of a patient.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from cob.schemas.order import EstimateInput, OrderRequest, OrderResult, RuleSet

from .order import determine_order
from .payment import Estimates, estimate_claims

M = TypeVar("M")


class InputError(ValueError):
    """Bad input: `source` (a path, or `<stdin>`) and what is wrong with it."""

    def __init__(self, source: str | Path, message: str):
        super().__init__(f"{source}: {message}")
        self.source = str(source)
        self.message = message


def read_json(source: str | Path, text: str | None = None) -> Any:
    """The JSON in file `source` (or in `text`, read elsewhere, e.g. from a pipe, and named `source`)."""
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(source, f"cannot read file: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def validated(source: str | Path, adapter: TypeAdapter[M], data: Any) -> M:
    """`data` as the model `adapter` describes, or `InputError` naming the first bad field (and how many)."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        where = _where(first["loc"], data)
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(source, f"field {where}: {message}{more}" if where else f"{message}{more}") from None


def order_of_benefits(source: str | Path, rule_set: RuleSet = RuleSet.NAIC,
                      text: str | None = None) -> tuple[OrderRequest, OrderResult]:
    """`cob order`: the request in file `source` (or `text`) and the order the rules decide for it."""
    request = validated(source, TypeAdapter(OrderRequest), read_json(source, text))
    return request, determine_order(request, rule_set)


def estimate_file(source: str | Path, text: str | None = None) -> Estimates:
    """`cob estimate --adjudication`: each adjudication in the file with its next payer's `terms`, estimated."""
    inputs = validated(source, TypeAdapter(list[EstimateInput]), read_json(source, text))
    return estimate_claims(inputs)


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
