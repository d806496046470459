"""COB rules: the order of benefits and the next payer's expected payment.

Public API (the pipeline calls both once per claim):
  determine_order(OrderRequest, RuleSet) -> OrderResult        pipeline.rules.order
  estimate_claim(PrimaryAdjudication, BenefitTerms) -> PaymentEstimate   pipeline.rules.payment
Models live in schemas.order; the click commands `order` and `estimate` in pipeline.rules.cli.
"""

from .order import determine_order
from .payment import EstimateInputError, estimate_claim

__all__ = ["determine_order", "estimate_claim", "EstimateInputError"]
