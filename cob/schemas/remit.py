"""The 835 remittance (005010X221A1): payment header, claim payments, service payments, PLB.

Institutional payments read the same loops: CLP08 facility type, CLP09 frequency, CLP11/CLP12 DRG and its
weight, MIA (inpatient) / MOA (outpatient) adjudication, SVC01 `NU:<revenue code>` and SVC04.

A `ClaimPayment` is loop 2100 with its context (the payment header and the 2000 provider-summary
header), so each can be consolidated and matched alone.
"""

from __future__ import annotations

from decimal import Decimal
from pydantic import Field
from typing import ClassVar, Optional

from .base import Loop, X12Model
from .common import Envelope, SourceLocation
from .segments import (AMT, BPR, CAS, CLP, DTM, LQ, LX, MIA, MOA, N1, N3, N4, NM1, PER, PLB, QTY, REF, SVC,
                       TRN)


class RemitParty(Loop):
    """Loop 1000A payer (N1*PR) or 1000B payee (N1*PE) identification."""

    loop: str
    n1: N1
    address: Optional[N3] = None
    location: Optional[N4] = None
    refs: list[REF] = Field(default_factory=list)
    contacts: list[PER] = Field(default_factory=list)

    def loop_id(self) -> str:
        return self.loop

    def ref(self, qualifier: str) -> str | None:
        return next((r.value for r in self.refs if r.qualifier == qualifier), None)


class PaymentHeader(Loop):
    """835 header: BPR financial information, TRN trace, REF, DTM*405, 1000A payer, 1000B payee."""

    LOOP_ID: ClassVar[str] = "HEADER"
    LOOPS: ClassVar[dict[str, str]] = {"1000A": "parties", "1000B": "parties"}

    bpr: BPR
    trn: Optional[TRN] = None
    refs: list[REF] = Field(default_factory=list)
    dates: list[DTM] = Field(default_factory=list)
    parties: list[RemitParty] = Field(default_factory=list)
    envelope: Envelope = Field(default_factory=Envelope)

    @property
    def payer(self) -> RemitParty | None:
        return next((p for p in self.parties if p.loop == "1000A"), None)

    @property
    def payee(self) -> RemitParty | None:
        return next((p for p in self.parties if p.loop == "1000B"), None)

    @property
    def payment_date(self):
        """BPR16 check issue / EFT effective date; DTM*405 production date when BPR16 is missing."""
        if self.bpr.payment_date is not None:
            return self.bpr.payment_date
        return next((d.date for d in self.dates if d.qualifier == "405"), None)


class ProviderSummary(Loop):
    """Loop 2000 header number (LX) with TS3/TS2 provider summaries, kept raw."""

    LOOP_ID: ClassVar[str] = "2000"

    lx: LX


class ServicePayment(Loop):
    """Loop 2110 service payment information: SVC, dates, line CAS, REF*6R, AMT, QTY, LQ remarks."""

    LOOP_ID: ClassVar[str] = "2110"

    svc: SVC
    dates: list[DTM] = Field(default_factory=list)
    adjustments: list[CAS] = Field(default_factory=list)
    refs: list[REF] = Field(default_factory=list)
    amounts: list[AMT] = Field(default_factory=list)
    quantities: list[QTY] = Field(default_factory=list)
    remarks: list[LQ] = Field(default_factory=list)

    @property
    def control_number(self) -> str | None:
        return next((r.value for r in self.refs if r.qualifier == "6R"), None)

    @property
    def adjustment_total(self) -> Decimal:
        return sum((c.total for c in self.adjustments), Decimal(0))

    @property
    def revenue_code(self) -> str | None:
        """The institutional revenue code: SVC04, or SVC01's code when the payer paid by revenue code
        alone (`SVC*NU:0450*...`); None on a professional service."""
        if self.svc.revenue_code:
            return self.svc.revenue_code
        return self.svc.procedure.code if self.svc.procedure.qualifier == "NU" else None


class ClaimPayment(Loop):
    """Loop 2100 claim payment information with its 2110 service payments and payment context."""

    LOOP_ID: ClassVar[str] = "2100"
    LOOPS: ClassVar[dict[str, str]] = {"2110": "services"}

    clp: CLP
    adjustments: list[CAS] = Field(default_factory=list)
    names: list[NM1] = Field(default_factory=list)
    mia: Optional[MIA] = None
    moa: Optional[MOA] = None
    refs: list[REF] = Field(default_factory=list)
    dates: list[DTM] = Field(default_factory=list)
    contacts: list[PER] = Field(default_factory=list)
    amounts: list[AMT] = Field(default_factory=list)
    quantities: list[QTY] = Field(default_factory=list)
    services: list[ServicePayment] = Field(default_factory=list)

    header: Optional[PaymentHeader] = None
    summary: Optional[ProviderSummary] = None
    source: SourceLocation = Field(default_factory=SourceLocation)

    @property
    def claim_id(self) -> str:
        """CLP01: the provider's patient control number (837 CLM01)."""
        return self.clp.patient_control_number

    def name(self, entity_id: str) -> NM1 | None:
        """NM1 by entity code: QC patient, IL insured, 74 corrected insured, 82 rendering, TT crossover
        carrier, PR corrected priority payer, GB other subscriber."""
        return next((n for n in self.names if n.entity_id == entity_id), None)

    @property
    def adjustment_total(self) -> Decimal:
        return sum((c.total for c in self.adjustments), Decimal(0))


class ProviderAdjustment(X12Model):
    """A PLB provider level adjustment with the payment it belongs to."""

    plb: PLB
    header: Optional[PaymentHeader] = None
    source: SourceLocation = Field(default_factory=SourceLocation)
