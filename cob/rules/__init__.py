"""COB rules: the rule book every COB 837P claim must satisfy, the order of benefits and the next
payer's expected payment.

  book.check(ClaimView) -> [Violation]                                  cob.rules.book (view: cob.rules.view)
  determine_order(OrderRequest, RuleSet) -> OrderResult                cob.rules.order
  estimate_claim(PrimaryAdjudication, BenefitTerms) -> PaymentEstimate   cob.rules.payment

The JSON files of `cob order` / `cob estimate` are read in cob.rules.inputs (`order_of_benefits`,
`estimate_file`). Models live in cob.schemas.order; the click commands `order` and `estimate` in cob.cli.rules.

The names below are imported on first use: the validator imports `cob.rules.book`, which must not pull
in pydantic and the order models with this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .order import determine_order
    from .payment import EstimateInputError, estimate_claim

__all__ = ["determine_order", "estimate_claim", "EstimateInputError"]

_LAZY = {"determine_order": "order", "estimate_claim": "payment", "EstimateInputError": "payment"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
