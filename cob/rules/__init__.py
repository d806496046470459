"""COB rules: the order of benefits and the next payer's expected payment.

Public API (the pipeline calls both once per claim):
  determine_order(OrderRequest, RuleSet) -> OrderResult        cob.rules.order
  estimate_claim(PrimaryAdjudication, BenefitTerms) -> PaymentEstimate   cob.rules.payment
The JSON files of `cob order` / `cob estimate` are read in cob.rules.inputs (`order_of_benefits`,
`estimate_file`). Models live in cob.schemas.order; the click commands `order` and `estimate` in cob.cli.rules.
"""

from .order import determine_order
from .payment import EstimateInputError, estimate_claim

__all__ = ["determine_order", "estimate_claim", "EstimateInputError"]
