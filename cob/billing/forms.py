"""What the 837P and the 837I build differently: the transaction-specific part of the next payer's claim.

`build.py` is the one builder (payer chain, CAS merging, 2320/2330A/2330B, one 2430 per service, AMT*D
derived and checked against CLP04, levels, limits); it asks the claim's form for the few things the two
implementation guides do differently:

| | 837P (X222A1) | 837I (X223A2) |
|---|---|---|
| 2320 model | `OtherPayer` | `InstitutionalOtherPayer` (with MIA) |
| 835 MIA / MOA | MOA | MIA (MIA02 is not used in the 837I) and / or MOA, as the 835 reported them |
| SVD03 | the adjudicated code (ER/HC/IV/WK) or the billed SV101 | the adjudicated code (ER/HC/HP/IV/WK) only: an `NU` service leaves it out |
| SVD04 | not used | the revenue code (required): SVC04, SVC01's `NU` code, else the billed SV201 |
| OI04 | patient signature source `P` when the claim says so | not used |
| SBR05 (2000B, 2320) | the MSP type when Medicare is not first | not used: the MSP type and the primary's payment are value codes (HI*BE) |

The MSP value codes follow the Medicare contractors' 837I instructions: value code 12 (working aged,
EGHP), 13 (ESRD in the coordination period), 14 (no-fault), 15 (workers' compensation), 16 (PHS / other
federal agency), 41 (black lung), 42 (VA), 43 (disabled, LGHP), 47 (liability) - the same codes as the
837P's SBR05 MSP types - with the amount the primary paid (its AMT*D) as the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cob.schemas.base import format_amount
from cob.schemas.claim import Claim, OtherPayer, ServiceLineBase
from cob.schemas.codes import MedicareSecondaryType
from cob.schemas.coverage import RosterCoverage
from cob.schemas.institutional import VALUE_CODE, InstitutionalClaim, InstitutionalOtherPayer
from cob.schemas.remit import ClaimPayment, ServicePayment
from cob.schemas.segments import CLM, HI, SBR, HealthCareCode

#: MSP types (SBR05) that have a value code of the same number (UB-04 value codes 12-16, 41-43, 47)
MSP_VALUE_CODES = frozenset({"12", "13", "14", "15", "16", "41", "42", "43", "47"})
#: HI*BE segments the 837I 2300 allows, and value codes in one
_BE_SEGMENTS = 2
_CODES_PER_HI = 12


class FormProblem(Exception):
    """What the form cannot represent (the builder turns it into `CannotBuild`)."""


@dataclass(frozen=True)
class ClaimForm:
    """The 837P (the default behaviour); `InstitutionalForm` overrides what the 837I does differently."""

    name: str = "837P"
    guide: str = "005010X222A1"
    other_payer: type[OtherPayer] = OtherPayer
    svd_qualifiers: frozenset[str] = frozenset({"ER", "HC", "IV", "WK"})

    def svd(self, payer_id: str, service: ServicePayment, line: ServiceLineBase, units: Decimal | None,
            bundled: int | None) -> dict:
        """The SVD of one service's 2430, as model data."""
        svc = service.svc
        procedure = svc.procedure if svc.procedure.qualifier in self.svd_qualifiers else line.procedure
        return {"payer_id": payer_id, "paid": svc.paid, "procedure": procedure, "paid_units": units,
                "bundled_line_number": bundled}

    def oi(self, clm: CLM) -> dict:
        """A new 2320 OI from the claim's CLM (when the original 2320 had none)."""
        return {"benefits_assignment": clm.benefits_assignment or "Y",
                "patient_signature_source": "P" if clm.patient_signature_source == "P" else None,
                "release_of_information": clm.release_of_information or "Y"}

    def adjudication(self, payment: ClaimPayment) -> dict:
        """The 835's claim adjudication segments a 2320 carries."""
        return {"moa": payment.moa}

    def without_adjudication(self) -> dict:
        """What a pending payer's 2320 (copied from the original) must not keep."""
        return {"moa": None}

    def sbr(self, sbr: SBR) -> SBR:
        """An SBR as this guide writes it."""
        return sbr

    def tell_msp(self, built: Claim, msp_type: MedicareSecondaryType | None, medicare: bool,
                 primary_paid: Decimal | None) -> None:
        """Tell a Medicare destination (not first) why: 2000B SBR05 = the MSP type, unless it has one."""
        if msp_type is not None and medicare and built.subscriber.sbr.insurance_type is None:
            built.subscriber.sbr.insurance_type = msp_type


@dataclass(frozen=True)
class InstitutionalForm(ClaimForm):
    name: str = "837I"
    guide: str = "005010X223A2"
    other_payer: type[OtherPayer] = InstitutionalOtherPayer
    svd_qualifiers: frozenset[str] = frozenset({"ER", "HC", "HP", "IV", "WK"})

    def svd(self, payer_id: str, service: ServicePayment, line: ServiceLineBase, units: Decimal | None,
            bundled: int | None) -> dict:
        svc = service.svc
        procedure = svc.procedure if svc.procedure.qualifier in self.svd_qualifiers else None
        return {"payer_id": payer_id, "paid": svc.paid, "procedure": procedure,
                "revenue_code": service.revenue_code or line.revenue_code, "paid_units": units,
                "bundled_line_number": bundled}

    def oi(self, clm: CLM) -> dict:
        return {"benefits_assignment": clm.benefits_assignment or "Y",
                "release_of_information": clm.release_of_information or "Y"}

    def adjudication(self, payment: ClaimPayment) -> dict:
        mia = payment.mia.model_copy(update={"pps_operating_outlier": None}) if payment.mia is not None else None
        return {"mia": mia, "moa": payment.moa}

    def without_adjudication(self) -> dict:
        return {"mia": None, "moa": None}

    def sbr(self, sbr: SBR) -> SBR:
        return sbr if sbr.insurance_type is None else sbr.model_copy(update={"insurance_type": None})

    def tell_msp(self, built: Claim, msp_type: MedicareSecondaryType | None, medicare: bool,
                 primary_paid: Decimal | None) -> None:
        """Value code <MSP type> with the primary's payment in HI*BE (the claim's own value code of that
        number is replaced: it states the same fact)."""
        if msp_type is None or not medicare or primary_paid is None or msp_type.value not in MSP_VALUE_CODES:
            return
        code = HealthCareCode(qualifier=VALUE_CODE, code=msp_type.value, amount=format_amount(primary_paid))
        diagnoses = [hi for hi in built.diagnoses]
        be = [i for i, hi in enumerate(diagnoses) if hi.code1.qualifier == VALUE_CODE]
        for i in be:
            codes = diagnoses[i].codes()
            if any(c.code == code.code for c in codes):
                codes = [code if c.code == code.code else c for c in codes]
                diagnoses[i] = _hi(codes)
                break
        else:
            room = next((i for i in be if len(diagnoses[i].codes()) < _CODES_PER_HI), None)
            if room is not None:
                diagnoses[room] = _hi(diagnoses[room].codes() + [code])
            elif len(be) < _BE_SEGMENTS:
                diagnoses.append(HI(code1=code))
            else:
                raise FormProblem(f"no room for value code {code.code}: the claim has "
                                  f"{_BE_SEGMENTS * _CODES_PER_HI} value codes")
        built.diagnoses = diagnoses


def _hi(codes: list[HealthCareCode]) -> HI:
    return HI(**{f"code{i}": c for i, c in enumerate(codes, start=1)})


PROFESSIONAL = ClaimForm()
INSTITUTIONAL = InstitutionalForm()


def form_of(claim: Claim) -> ClaimForm:
    """The form a claim is built by: an `InstitutionalClaim` is an 837I."""
    return INSTITUTIONAL if isinstance(claim, InstitutionalClaim) else PROFESSIONAL


def roster_msp_type(coverages: list[RosterCoverage] | None, payer_id: str) -> MedicareSecondaryType | None:
    """The MSP type the coverage roster gives for a payer (its `medicare_secondary_type`)."""
    for cov in coverages or []:
        if cov.payer_id == payer_id and cov.medicare_secondary_type is not None:
            return cov.medicare_secondary_type
    return None
