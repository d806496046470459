"""Building the next payer's claim from the original claim and the earlier payers' adjudications.

Reference x12-cob.md §3.2-3.6. The original claim knows every payer: its 2000B/2010BB payer (the one it
was sent to) and its 2320/2330 other payers; a coverage roster can add payers the original did not
list. Each payer that adjudicated becomes a 2320 with SBR, claim-level CAS, AMT*D, OI, MOA, 2330A
(with the 835's NM1*74 corrections), 2330B (REF*F8 = CLP07) and one 2430 per service it paid on each
line. The destination payer moves to 2000B/2010BA/2010BB, with a 2000C patient level when the patient
is not that policy's subscriber. Later known payers stay as 2320s without adjudication.

One builder for the 837P and the 837I: what the two guides do differently (the 2320 model, MIA / MOA,
SVD03 / SVD04, OI04, SBR05 and how Medicare as a later payer is told the MSP type) is the claim's form
(`forms.py`). An inpatient stay paid by DRG at claim level (an 835 without SVC) gets everything in its
2320 (CAS, AMT*D, AMT*EAF, MIA) and 2330B (REF*F8, DTP*573), and no 2430.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from cob.rules.book import repeat_limit
from cob.schemas.base import format_date
from cob.schemas.claim import Claim, LineAdjudication, OtherPayer, Patient, ServiceLineBase, Subscriber
from cob.schemas.codes import CasGroup, MedicareSecondaryType, PayerSequence
from cob.schemas.common import Party
from cob.schemas.coverage import RosterCoverage
from cob.schemas.remit import ClaimPayment, ServicePayment
from cob.schemas.segments import CAS, DMG, DTP, N3, N4, NM1, OI, REF, SBR

from .consolidate import Adjudication
from .expected import is_medicare
from .forms import ClaimForm, FormProblem, form_of, roster_msp_type
from .match import LineMatch

PAYER_REFS_2010BB = {"2U", "EI", "FY", "NF"}
PAYER_REFS_2330B = {"2U", "EI", "FY", "NF"}
SELF = "18"
ZERO = Decimal(0)


class CannotBuild(Exception):
    """The claim cannot be built faithfully; `reason` is a triage reason code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class PayerInfo:
    """One payer of the patient, as the original claim (or the roster) describes it."""

    level: int
    sbr: SBR
    relationship: str  # patient's relationship to this policy's subscriber (SBR02 / PAT01 codes)
    subscriber: Party  # 2330A-shaped (NM1*IL ...)
    payer: Party  # 2330B-shaped (NM1*PR ...)
    source: OtherPayer | None = None  # the original 2320, when it came from one
    adjudication: Adjudication | None = None
    existing: bool = False  # the original 2320 already carried this payer's adjudication

    @property
    def payer_id(self) -> str:
        return self.payer.name.id or ""

    @property
    def sequence(self) -> PayerSequence:
        return PayerSequence.for_rank(self.level)


@dataclass
class PayerChain:
    payers: list[PayerInfo] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # the roster and the claim disagree

    def at(self, level: int) -> PayerInfo | None:
        for payer in self.payers:
            if payer.level == level:
                return payer
        return None


def payer_chain(claim: Claim, roster: list[RosterCoverage] | None = None) -> PayerChain:
    """Every payer known for the claim, by level: 2000B/2010BB, each 2320, then roster additions."""
    chain = PayerChain()
    sub = claim.subscriber
    subscriber, payer = (sub.subscriber, sub.payer) if sub is not None else (None, None)
    if subscriber is None or payer is None:
        return chain
    patient = claim.patient
    relationship = SELF if sub.sbr.relationship == SELF or patient is None else (patient.pat.relationship or "21")
    chain.payers.append(PayerInfo(sub.sbr.payer_sequence.rank, sub.sbr, relationship,
                                  subscriber.model_copy(update={"loop": "2330A"}), payer.model_copy(update={"loop": "2330B"})))
    for other in claim.other_payers:
        subscriber, payer, sbr = other.subscriber, other.payer, other.sbr
        if subscriber is None or payer is None or sbr.payer_sequence is PayerSequence.UNKNOWN:
            continue
        chain.payers.append(PayerInfo(sbr.payer_sequence.rank, sbr, sbr.relationship or "21", subscriber, payer,
                                      source=other, existing=other.paid_amount is not None))
    for cov in roster or []:
        known = chain.at(cov.sequence.rank)
        if known is None:
            chain.payers.append(_from_roster(cov))
        elif known.payer_id != cov.payer_id:
            chain.conflicts.append(f"the roster names payer {cov.payer_id} at level {cov.sequence.value}, "
                                   f"the claim names {known.payer_id}")
    chain.payers.sort(key=lambda p: p.level)
    return chain


def _from_roster(cov: RosterCoverage) -> PayerInfo:
    sbr = SBR(payer_sequence=cov.sequence, relationship=cov.relationship, group_number=cov.group_number,
              group_name=None if cov.group_number else cov.group_name, insurance_type=cov.medicare_secondary_type,
              filing_indicator=cov.filing_indicator)
    subscriber = Party(loop="2330A", name=NM1(entity_id="IL", entity_type="1", last_or_org_name=cov.subscriber_last_name,
                                               first_name=cov.subscriber_first_name,
                                               id_qualifier=cov.subscriber_id_qualifier, id=cov.subscriber_id))
    payer = Party(loop="2330B", name=NM1(entity_id="PR", entity_type="2", last_or_org_name=cov.payer_name,
                                          id_qualifier=cov.payer_id_qualifier, id=cov.payer_id))
    return PayerInfo(cov.sequence.rank, sbr, cov.relationship, subscriber, payer)


# ------------------------------------------------------------------------------------------------ CAS


def merge_cas(segments: list[CAS], where: str) -> list[CAS]:
    """One CAS per group code, same reasons summed, zero amounts dropped, at most six reasons a group."""
    if _merged_already(segments):
        return list(segments)
    groups: dict[CasGroup, dict[str, list]] = {}
    for cas in segments:
        reasons = groups.setdefault(cas.group, {})
        for reason, amount, quantity in cas.trios():
            slot = reasons.setdefault(reason, [ZERO, None])
            slot[0] += amount
            if quantity is not None:
                slot[1] = (slot[1] or Decimal(0)) + quantity
    out = []
    for group, reasons in groups.items():
        trios = [(r, a, q) for r, (a, q) in reasons.items() if a != 0]
        if not trios:
            continue
        if len(trios) > 6:
            raise CannotBuild("cannot_represent", f"{where}: {len(trios)} reasons in group {group.value}, "
                                                  "an 837 CAS carries six")
        out.append(CAS.build(group, trios))
    if len(out) > 5:
        raise CannotBuild("cannot_represent", f"{where}: more than five adjustment groups")
    return out


def _merged_already(segments: list[CAS]) -> bool:
    """Would merging give `segments` back as they are? The usual case, told without building a CAS: one
    segment per group, each reason once with a non-zero amount, trios packed from the first (a merged
    amount is 0 + the amount: the same number, written the same)."""
    if len(segments) > 1 and (len(segments) > 5 or len({cas.group for cas in segments}) < len(segments)):
        return False
    for cas in segments:
        values = cas.element_values()  # the group, then six (reason, amount, quantity) trios
        reasons, amounts = values[1::3], values[2::3]
        n = 6 - reasons.count(None)  # trios with a reason; packed when all that follow them are empty
        if values[1 + 3 * n:].count(None) != 18 - 3 * n or not all(reasons[:n]) or len(set(reasons[:n])) < n \
                or None in amounts[:n] or 0 in amounts[:n]:
            return False
    return True


def _cas_total(segments: list[CAS], group: CasGroup | None = None) -> Decimal:
    return sum([c.total for c in segments if group is None or c.group is group], Decimal(0))


def patient_responsibility(payment: ClaimPayment) -> Decimal:
    """All PR adjustments of a payment, claim and line level."""
    pr = CasGroup.PATIENT
    return sum([c.total for c in payment.adjustments if c.group is pr]
               + [c.total for service in payment.services for c in service.adjustments if c.group is pr], ZERO)


# ------------------------------------------------------------------------------------------------ build


def _date(value) -> dict:
    """DTP*573 of a payment date, as the data of a new segment: each 2330B and 2430 gets its own instance
    (models are mutable; a segment shared by claims would carry an edit of one claim into the others)."""
    return {"qualifier": "573", "format": "D8", "value": format_date(value)}


def _corrected_subscriber(party: Party, payment: ClaimPayment) -> Party:
    """2330A with the payer's NM1*74 corrected name / id applied (corrections win)."""
    fix = payment.name("74")
    if fix is None:
        return party
    name = party.name
    update: dict = {}
    if fix.last_or_org_name:
        update.update(last_or_org_name=fix.last_or_org_name, first_name=fix.first_name,
                      middle_name=fix.middle_name, suffix=fix.suffix)
    if fix.id:
        update["id"] = fix.id
    return party.model_copy(update={"name": name.model_copy(update=update)})


def _line_adjudications(payer_id: str, line: ServiceLineBase, services: list[ServicePayment], date: dict,
                        bundled_with: dict[int, int], form: ClaimForm) -> list[LineAdjudication]:
    """One 2430 per service; `date` is the payer's DTP*573 (`_date`). Each 2430 is validated in one call
    with its new SVD, DTP and AMT (a call per segment costs more than the segments)."""
    out = []
    where = f"line {line.lx.number}"
    bundled = bundled_with.get(line.lx.number)
    for service in services:
        svc = service.svc
        if svc.paid < 0:
            raise CannotBuild("adjudication_incomplete", f"{where}: negative paid amount (an unmatched reversal?)")
        units = svc.paid_units if svc.paid_units is not None else line.units
        cas = merge_cas(service.adjustments, where)
        adjudication = LineAdjudication.model_validate({
            "svd": form.svd(payer_id, service, line, units, bundled),
            "adjustments": cas,
            "dates": [date],
            "amounts": [{"qualifier": "EAF", "amount": _cas_total(cas, CasGroup.PATIENT)}],
        })
        out.append(adjudication)
    return out


def _bundling(claim: Claim, match: LineMatch) -> dict[int, int]:
    """LX of an absorbed (bundled) line -> LX of the line it was bundled into (SVD06)."""
    keepers: dict[str, int] = {}
    for i, services in match.services.items():
        for s in services:
            if _absorbs(s):
                keepers[s.svc.procedure.code] = claim.lines[i].lx.number
    out: dict[int, int] = {}
    if not keepers:
        return out
    for i, services in match.services.items():
        line = claim.lines[i]
        for s in services:
            keeper = keepers.get(s.svc.procedure.code)
            if keeper is not None and keeper != line.lx.number and s.svc.procedure.code != _billed_code(line):
                out[line.lx.number] = keeper
    return out


def _billed_code(line: ServiceLineBase) -> str | None:
    """The line's billed procedure code (an 837I line without HCPCS: its revenue code)."""
    procedure = line.procedure
    return procedure.code if procedure is not None else line.revenue_code


def _absorbs(service: ServicePayment) -> bool:
    """A negative CARC 94 on a service: the payer moved another line's charge into this one."""
    for cas in service.adjustments:
        if "94" not in cas.element_values()[1::3]:  # (the reasons; most services have no CARC 94)
            continue
        for reason, amount, _quantity in cas.trios():
            if reason == "94" and amount < 0:
                return True
    return False


def adjudicated_2320(payer: PayerInfo, claim: Claim, match: LineMatch, form: ClaimForm | None = None) -> OtherPayer:
    """The 2320/2330A/2330B of a payer that adjudicated, from its 835 claim payment."""
    form = form or form_of(claim)
    adj = payer.adjudication
    assert adj is not None
    payment = adj.payment
    paid_on = adj.payment_date
    if paid_on is None:
        raise CannotBuild("adjudication_incomplete", f"payer {payer.payer_id}: the 835 has no payment date")
    claim_cas = merge_cas(payment.adjustments, "claim level")
    line_level = bool(match.services)
    if line_level:
        svd_total = sum([s.svc.paid for services in match.services.values() for s in services], Decimal(0))
        paid = svd_total - _cas_total(claim_cas)
    else:
        paid = payment.clp.charge - _cas_total(claim_cas)
    if paid != payment.clp.paid:
        raise CannotBuild("balancing_failed",
                          f"payer {payer.payer_id}: the 835 does not balance (CLP04 {payment.clp.paid}, "
                          f"derived from its adjustments {paid})")
    amounts = [{"qualifier": "D", "amount": paid}]
    if not line_level:
        amounts.append({"qualifier": "EAF", "amount": _cas_total(claim_cas, CasGroup.PATIENT)})
    clm = claim.clm
    oi = payer.source.oi if payer.source is not None and payer.source.oi is not None else form.oi(clm)
    sbr = form.sbr(payer.sbr.model_copy(update={"payer_sequence": payer.sequence, "relationship": payer.relationship}))
    subscriber = _corrected_subscriber(payer.subscriber, payment)
    subscriber = subscriber.model_copy(update={
        "loop": "2330A", "demographics": None, "dates": [], "contacts": [], "provider": None,
        "refs": [r for r in subscriber.refs if r.qualifier == "SY"][:1]})
    refs = [r for r in payer.payer.refs if r.qualifier in PAYER_REFS_2330B][:2]
    if payment.clp.payer_claim_control_number:
        refs.append(REF(qualifier="F8", value=payment.clp.payer_claim_control_number))
    payer_party = payer.payer.model_copy(update={
        "loop": "2330B", "refs": refs, "dates": [] if line_level else [DTP.model_validate(_date(paid_on))],
        "demographics": None, "contacts": [], "provider": None})
    # one validation for the 2320 and its new AMTs and OI
    return form.other_payer.model_validate({"sbr": sbr, "adjustments": claim_cas, "amounts": amounts, "oi": oi,
                                            **form.adjudication(payment), "parties": [subscriber, payer_party]})


def _pending_2320(payer: PayerInfo, claim: Claim, form: ClaimForm) -> OtherPayer:
    """A later known payer: its 2320 as the original had it, without adjudication."""
    if payer.source is not None:
        return payer.source.model_copy(update={
            "adjustments": [], "amounts": [a for a in payer.source.amounts if a.qualifier not in ("D", "EAF")],
            **form.without_adjudication()})
    clm = claim.clm
    return form.other_payer(sbr=form.sbr(payer.sbr.model_copy(update={"relationship": payer.relationship})),
                            oi=OI(benefits_assignment=clm.benefits_assignment or "Y",
                                  release_of_information=clm.release_of_information or "Y"),
                            parties=[payer.subscriber, payer.payer])


def _with_entity(name: NM1, entity_id: str) -> NM1:
    """`name` as NM1*`entity_id` (the usual name already is: then it is shared, not copied)."""
    return name if name.entity_id == entity_id else name.model_copy(update={"entity_id": entity_id})


def _patient_source(claim: Claim) -> tuple[NM1, N3 | None, N4 | None, DMG | None]:
    """The patient's name, address and demographics from the original claim (2010CA or 2010BA)."""
    party = claim.patient.name if claim.patient is not None else claim.subscriber.subscriber
    return party.name, party.address, party.location, party.demographics


def build_next_claim(claim: Claim, chain: PayerChain, destination: PayerInfo,
                     matches: dict[int, LineMatch]) -> Claim:
    """The claim for `destination`, carrying every adjudicated payer of `chain` (levels below it)."""
    form = form_of(claim)
    name, address, location, demographics = _patient_source(claim)
    patient_is_subscriber = destination.relationship == SELF
    dest_sub = destination.subscriber
    dest_payer = destination.payer
    sbr = form.sbr(destination.sbr.model_copy(update={
        "payer_sequence": destination.sequence, "relationship": SELF if patient_is_subscriber else None,
        "group_name": None if destination.sbr.group_number else destination.sbr.group_name}))
    # each new loop is validated in one call with its new parts (a call per model costs more than the models)
    subscriber = Subscriber.model_validate({"sbr": sbr, "parties": [
        {"loop": "2010BA", "name": _with_entity(dest_sub.name, "IL"),
         "address": address if patient_is_subscriber else dest_sub.address,
         "location": location if patient_is_subscriber else dest_sub.location,
         "demographics": demographics if patient_is_subscriber else dest_sub.demographics,
         "refs": [r for r in dest_sub.refs if r.qualifier in ("SY", "Y4")][:1]},
        {"loop": "2010BB", "name": _with_entity(dest_payer.name, "PR"), "address": dest_payer.address,
         "location": dest_payer.location,
         "refs": [r for r in dest_payer.refs if r.qualifier in PAYER_REFS_2010BB][:3]},
    ]})
    patient = None
    if not patient_is_subscriber:
        patient = Patient.model_validate({"pat": {"relationship": destination.relationship}, "parties": [{
            "loop": "2010CA",
            "name": {"entity_id": "QC", "entity_type": "1", "last_or_org_name": name.last_or_org_name,
                     "first_name": name.first_name, "middle_name": name.middle_name, "suffix": name.suffix},
            "address": address, "location": location, "demographics": demographics}]})

    other_payers: list[OtherPayer] = []
    new_lines = [line.model_copy(update={"adjudications": list(line.adjudications)}) for line in claim.lines]
    for payer in chain.payers:
        if payer is destination:
            continue
        if payer.level < destination.level:
            if payer.existing:
                other_payers.append(payer.source)  # adjudication already in the original claim
                continue
            match = matches[payer.level]
            other_payers.append(adjudicated_2320(payer, claim, match, form))
            if match.services:
                bundled = _bundling(claim, match)
                payer_id, date = payer.payer_id, _date(payer.adjudication.payment_date)
                for i, services in match.services.items():
                    line = new_lines[i]
                    line.adjudications.extend(_line_adjudications(payer_id, line, services, date, bundled, form))
        else:
            other_payers.append(_pending_2320(payer, claim, form))
    limit = repeat_limit("2320", form.guide)  # the IG's repeats, as the rule book's `too_many` reads them
    if limit is not None and len(other_payers) > limit:
        raise CannotBuild("cannot_represent", f"{len(other_payers)} other payers; the {form.name} carries {limit}")
    limit = repeat_limit("2430", form.guide)
    for line in new_lines:
        if limit is not None and len(line.adjudications) > limit:
            raise CannotBuild("cannot_represent", f"line {line.lx.number}: more than {limit} line adjudications")

    location_ = claim.clm.location.model_copy(update={"frequency": "1"}) if claim.clm.location else None
    return claim.model_copy(update={
        "clm": claim.clm.model_copy(update={"location": location_}),
        "refs": [r for r in claim.refs if r.qualifier != "F8"],
        "other_payers": other_payers,
        "lines": new_lines,
        "subscriber": subscriber,
        "patient": patient,
    })


def tell_msp(built: Claim, destination: PayerInfo, chain: PayerChain, msp_type: MedicareSecondaryType | None,
             coverages: list[RosterCoverage] | None) -> None:
    """Tell a Medicare destination that is not first why it is not (the MSP type), as the claim's form
    does it: 837P 2000B SBR05, 837I value codes with the primary's payment. The type is the order facts'
    (`msp_type`), else the roster's for the destination."""
    msp_type = msp_type or roster_msp_type(coverages, destination.payer_id)
    if msp_type is None or destination.level < 2:
        return
    primary = chain.at(1)
    paid = primary.adjudication.payment.clp.paid if primary is not None and primary.adjudication is not None \
        else (primary.source.paid_amount if primary is not None and primary.source is not None else None)
    try:
        form_of(built).tell_msp(built, msp_type, is_medicare(destination.sbr.filing_indicator), paid)
    except FormProblem as exc:
        raise CannotBuild("cannot_represent", str(exc)) from None
