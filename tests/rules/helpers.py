"""Builders for order-of-benefits requests, written as the JSON a script would send."""

from __future__ import annotations

from typing import Any

from cob.rules.order import determine_order
from cob.schemas.order import OrderRequest, OrderResult, RuleSet

SERVICE_DATE = "2025-04-02"


def cov(id: str, kind: str = "employer_group", **facts: Any) -> dict[str, Any]:
    """One coverage as JSON; subscriber given as sub=(first_name, birth_date)."""
    sub = facts.pop("sub", None)
    out: dict[str, Any] = {"id": id, "kind": kind, **facts}
    if sub is not None:
        out["subscriber"] = {"first_name": sub[0], "birth_date": sub[1]}
    return out


def request(
    *coverages: dict[str, Any], claim: dict[str, Any] | None = None, patient: dict[str, Any] | None = None
) -> OrderRequest:
    claim_json = {"service_date": SERVICE_DATE, "work_related": False, "auto_accident": False, "liability": False}
    claim_json.update(claim or {})
    return OrderRequest.model_validate(
        {"claim": claim_json, "patient": patient or {"first_name": "Pat"}, "coverages": list(coverages)}
    )


def order(*coverages: dict[str, Any], rules: str = "naic", **kw: Any) -> OrderResult:
    return determine_order(request(*coverages, **kw), RuleSet(rules))


def rules_used(result: OrderResult) -> list[str]:
    return [d.rule for d in result.decisions]


def explanation(result: OrderResult, rule: str) -> str:
    found = [d.explanation for d in result.decisions if d.rule == rule]
    assert found, f"no decision by rule {rule}: {result.decisions}"
    return found[0]


def medicare(basis: str | None = "age", **facts: Any) -> dict[str, Any]:
    return cov("mcr", "medicare", relationship="self", medicare_basis=basis, **facts)
