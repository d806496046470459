"""The 837P claim (005010X222A1) as the pipeline needs it; the 837I's loops that differ are in
`cob.schemas.institutional`.

Model names follow the TR3 loops; each docstring says which loop it is. A `Claim` is loop 2300 plus its
hierarchy context (transaction header, 2000A billing provider, 2000B subscriber and destination payer,
2000C patient), so each claim can be handled alone and written back under the right HL levels.
"""

from __future__ import annotations

from decimal import Decimal
from pydantic import Field
from typing import ClassVar, Optional

from .base import Loop
from .common import Envelope, Party, SourceLocation
from .segments import (AMT, BHT, CAS, CLM, DTP, HI, HL, LX, MOA, NTE, OI, PAT, PRV, REF, SBR, SV1, SV2, SVD,
                       ProcedureCode)


def _first(items, qualifier: str):
    for item in items:
        if item.qualifier == qualifier:
            return item
    return None


class TransactionHeader(Loop):
    """837 header: BHT, 1000A submitter, 1000B receiver, and the envelope it arrived in."""

    LOOP_ID: ClassVar[str] = "HEADER"
    LOOPS: ClassVar[dict[str, str]] = {"1000A": "parties", "1000B": "parties"}

    bht: BHT
    parties: list[Party] = Field(default_factory=list)
    envelope: Envelope = Field(default_factory=Envelope)

    @property
    def submitter(self) -> Party | None:
        return next((p for p in self.parties if p.loop == "1000A"), None)

    @property
    def receiver(self) -> Party | None:
        return next((p for p in self.parties if p.loop == "1000B"), None)


class BillingProvider(Loop):
    """Loop 2000A billing provider hierarchical level, with 2010AA billing provider, 2010AB/AC pay-to."""

    LOOP_ID: ClassVar[str] = "2000A"
    LOOPS: ClassVar[dict[str, str]] = {"2010AA": "parties", "2010AB": "parties", "2010AC": "parties"}

    hl: Optional[HL] = None
    specialty: Optional[PRV] = None
    parties: list[Party] = Field(default_factory=list)

    @property
    def billing(self) -> Party | None:
        return next((p for p in self.parties if p.loop == "2010AA"), None)


class Subscriber(Loop):
    """Loop 2000B subscriber level: SBR of the destination payer, 2010BA subscriber, 2010BB payer."""

    LOOP_ID: ClassVar[str] = "2000B"
    LOOPS: ClassVar[dict[str, str]] = {"2010BA": "parties", "2010BB": "parties"}

    hl: Optional[HL] = None
    sbr: SBR
    pat: Optional[PAT] = None
    parties: list[Party] = Field(default_factory=list)

    @property
    def subscriber(self) -> Party | None:
        return next((p for p in self.parties if p.loop == "2010BA"), None)

    @property
    def payer(self) -> Party | None:
        return next((p for p in self.parties if p.loop == "2010BB"), None)


class Patient(Loop):
    """Loop 2000C patient level (the patient is not the subscriber): PAT and 2010CA patient name."""

    LOOP_ID: ClassVar[str] = "2000C"
    LOOPS: ClassVar[dict[str, str]] = {"2010CA": "parties"}

    hl: Optional[HL] = None
    pat: PAT
    parties: list[Party] = Field(default_factory=list)

    @property
    def name(self) -> Party | None:
        return next((p for p in self.parties if p.loop == "2010CA"), None)


class LineAdjudication(Loop):
    """Loop 2430 line adjudication information: one prior payer's decision on one service line."""

    LOOP_ID: ClassVar[str] = "2430"

    svd: SVD
    adjustments: list[CAS] = Field(default_factory=list)
    dates: list[DTP] = Field(default_factory=list)
    amounts: list[AMT] = Field(default_factory=list)

    @property
    def adjudication_date(self) -> DTP | None:
        return _first(self.dates, "573")

    @property
    def remaining_patient_liability(self) -> Decimal | None:
        amt = _first(self.amounts, "EAF")
        return amt.amount if amt else None


class ServiceLineBase(Loop):
    """What loop 2400 (service line) has in the 837P and the 837I alike: LX, DTP*472, REF*6R, AMT, NTE,
    line providers and the 2430 prior-payer adjudications. The service segment (SV1 / SV2) is the
    subclass's; `procedure`, `charge` and `units` read it, so matching and building read either."""

    lx: LX
    dates: list[DTP] = Field(default_factory=list)
    refs: list[REF] = Field(default_factory=list)
    amounts: list[AMT] = Field(default_factory=list)
    notes: list[NTE] = Field(default_factory=list)
    providers: list[Party] = Field(default_factory=list)
    adjudications: list[LineAdjudication] = Field(default_factory=list)

    @property
    def control_number(self) -> str | None:
        """REF*6R line item control number: the line matching key the 835 echoes back."""
        ref = _first(self.refs, "6R")
        return ref.value if ref else None

    @property
    def service_date(self) -> DTP | None:
        return _first(self.dates, "472")

    @property
    def service(self) -> SV1 | SV2:
        raise NotImplementedError

    @property
    def procedure(self) -> ProcedureCode | None:
        """The billed procedure composite (SV101; SV202, which an 837I line may leave out)."""
        return self.service.procedure

    @property
    def charge(self) -> Decimal:
        """The line charge (SV102 / SV203)."""
        return self.service.charge

    @property
    def units(self) -> Decimal | None:
        """The billed units (SV104 / SV205)."""
        return self.service.units

    @property
    def revenue_code(self) -> str | None:
        """SV201 revenue code (837I); None on a professional line."""
        return None


class ServiceLine(ServiceLineBase):
    """Loop 2400 service line of the 837P: LX, SV1, DTP*472, REF*6R, ..., with 2430 prior-payer adjudications."""

    LOOP_ID: ClassVar[str] = "2400"
    LOOPS: ClassVar[dict[str, str]] = {
        "2420A": "providers", "2420B": "providers", "2420C": "providers", "2420D": "providers",
        "2420E": "providers", "2420F": "providers", "2420G": "providers", "2420H": "providers",
        "2430": "adjudications",
    }

    sv1: SV1

    @property
    def service(self) -> SV1:
        return self.sv1


class OtherPayer(Loop):
    """Loop 2320 other subscriber information, with 2330A other subscriber and 2330B other payer.

    One per other payer: those that adjudicated (with CAS, AMT*D, ...) and known later payers.
    """

    LOOP_ID: ClassVar[str] = "2320"
    LOOPS: ClassVar[dict[str, str]] = {
        "2330A": "parties", "2330B": "parties", "2330C": "parties", "2330D": "parties",
        "2330E": "parties", "2330F": "parties", "2330G": "parties",
    }

    sbr: SBR
    adjustments: list[CAS] = Field(default_factory=list)
    amounts: list[AMT] = Field(default_factory=list)
    oi: Optional[OI] = None
    moa: Optional[MOA] = None
    parties: list[Party] = Field(default_factory=list)

    @property
    def subscriber(self) -> Party | None:
        """2330A other subscriber name."""
        return next((p for p in self.parties if p.loop == "2330A"), None)

    @property
    def payer(self) -> Party | None:
        """2330B other payer name."""
        return next((p for p in self.parties if p.loop == "2330B"), None)

    @property
    def payer_id(self) -> str | None:
        payer = self.payer
        return payer.name.id if payer else None

    @property
    def paid_amount(self) -> Decimal | None:
        """AMT*D payer paid amount (present when this payer adjudicated)."""
        amt = _first(self.amounts, "D")
        return amt.amount if amt else None

    @property
    def remaining_patient_liability(self) -> Decimal | None:
        amt = _first(self.amounts, "EAF")
        return amt.amount if amt else None


class Claim(Loop):
    """Loop 2300 claim information with its 2310A-F providers, 2320 other payers and 2400 lines,
    plus the hierarchy context it was billed under."""

    LOOP_ID: ClassVar[str] = "2300"
    #: the implementation guide the claim is read and written by (GS08 / ST03)
    GUIDE: ClassVar[str] = "005010X222A1"
    #: "P" professional, "I" institutional: with the destination payer, what an output file holds
    CLAIM_TYPE: ClassVar[str] = "P"
    LOOPS: ClassVar[dict[str, str]] = {
        "2310A": "providers", "2310B": "providers", "2310C": "providers", "2310D": "providers",
        "2310E": "providers", "2310F": "providers", "2320": "other_payers", "2400": "lines",
    }

    clm: CLM
    dates: list[DTP] = Field(default_factory=list)
    refs: list[REF] = Field(default_factory=list)
    amounts: list[AMT] = Field(default_factory=list)
    notes: list[NTE] = Field(default_factory=list)
    diagnoses: list[HI] = Field(default_factory=list)
    providers: list[Party] = Field(default_factory=list)
    other_payers: list[OtherPayer] = Field(default_factory=list)
    lines: list[ServiceLine] = Field(default_factory=list)

    header: Optional[TransactionHeader] = None
    billing_provider: Optional[BillingProvider] = None
    subscriber: Optional[Subscriber] = None
    patient: Optional[Patient] = None
    source: SourceLocation = Field(default_factory=SourceLocation)

    @property
    def claim_id(self) -> str:
        """CLM01 patient control number (echoed by the 835 in CLP01)."""
        return self.clm.patient_control_number

    @property
    def charge(self) -> Decimal:
        return self.clm.total_charge

    @property
    def frequency(self) -> str | None:
        return self.clm.location.frequency if self.clm.location else None

    @property
    def payer(self) -> Party | None:
        """2010BB: the payer this claim is addressed to."""
        return self.subscriber.payer if self.subscriber else None

    def provider(self, loop_id: str) -> Party | None:
        return next((p for p in self.providers if p.loop == loop_id), None)

    def ref(self, qualifier: str) -> str | None:
        ref = _first(self.refs, qualifier)
        return ref.value if ref else None
