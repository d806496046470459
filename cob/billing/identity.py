"""Who a claim is and who a claim payment is for: the facts that tie an 835 CLP to one 837P or 837I claim.

CLP01 = CLM01 is only where matching starts. Practice-management systems reuse CLM01 (the patient's
account number, a visit counter per patient), billing companies submit for several practices, and payers
answer several visits under one CLP01; so a payment is tied to a claim only when the patient, the service
dates, the charge, the payer and the provider it pays agree too (reference §3.1). Each of those is one
comparison here, answered YES (both sides say it and agree), NO (both say it and differ) or UNKNOWN (a side
is silent): a claim stays a candidate for a payment while nothing says NO.

A claim's identity (`claim_identity`) is CLM01 with its submitter and billing provider (two practices' claims
with one CLM01 are two claims) and its visit (service dates and patient, as a hash: the key names no PHI);
`cob run` keys its state database by it.

Payment facts are worked out once per payment as it is read (`payment_facts`), header facts once per 835
payment header (`header_facts`): matching then compares small tuples, not models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from cob.schemas.claim import Claim
from cob.schemas.common import Party
from cob.schemas.remit import ClaimPayment, PaymentHeader


class Verdict(IntEnum):
    NO = -1
    UNKNOWN = 0
    YES = 1


Span = tuple[dt.date, dt.date]


def _norm(text: str | None) -> str:
    return " ".join((text or "").upper().split())


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    """Who sent an 835 and whom it pays: every payer id it gives (REF*2U, N1*PR N104, TRN03 with and without
    its leading '1'), the payer's name, and the payee's NPI (N1*PE XX) and tax ids (N1*PE FI, REF*TJ)."""

    payer_ids: frozenset[str]
    payer_name: str
    payee_npi: str | None
    payee_tins: frozenset[str]


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What one CLP says about the claim it answers (see module doc)."""

    header: HeaderFacts
    patient_last: str
    patient_first: str
    member_ids: frozenset[str]
    period: Span | None  # DTM*232/233
    service_dates: tuple[Span, ...]  # each service's DTM*472 or DTM*150/151
    charge: Decimal  # CLP03 (a reversal's negated back)
    corrected: bool  # NM1*74 present: the payer corrected the insured's name or id


NO_HEADER = HeaderFacts(frozenset(), "", None, frozenset())


def header_facts(header: PaymentHeader | None) -> HeaderFacts:
    if header is None:
        return NO_HEADER
    ids: set[str] = set()
    payer, payee = header.payer, header.payee
    name = ""
    if payer is not None:
        name = _norm(payer.n1.name)
        for value in (payer.ref("2U"), payer.n1.id):
            if value:
                ids.add(value.strip())
    if header.trn is not None and header.trn.originating_company_id:
        trn03 = header.trn.originating_company_id.strip()
        ids.add(trn03)
        if len(trn03) == 10 and trn03[0] == "1":
            ids.add(trn03[1:])  # '1' + EIN
    npi, tins = None, set()
    if payee is not None:
        qualifier, value = payee.n1.id_qualifier, (payee.n1.id or "").strip()
        if value and qualifier == "XX":
            npi = value
        elif value and qualifier == "FI":
            tins.add(value.replace("-", ""))
        tj = payee.ref("TJ")
        if tj:
            tins.add(tj.strip().replace("-", ""))
    return HeaderFacts(frozenset(ids), name, npi, frozenset(tins))


def payment_facts(payment: ClaimPayment, header: HeaderFacts) -> PaymentFacts:
    last = first = ""
    members: set[str] = set()
    corrected = False
    for nm1 in payment.names:
        if nm1.entity_id == "QC":
            last, first = _norm(nm1.last_or_org_name), _norm(nm1.first_name)
            if nm1.id and nm1.id_qualifier in ("MI", "II"):
                members.add(nm1.id.strip())
        elif nm1.entity_id == "IL" and nm1.id:
            members.add(nm1.id.strip())
        elif nm1.entity_id == "74":
            corrected = True
    start = end = None
    for dtm in payment.dates:
        if dtm.qualifier == "232":
            start = dtm.date
        elif dtm.qualifier == "233":
            end = dtm.date
    period = (start or end, end or start) if (start or end) else None
    spans: list[Span] = []
    for service in payment.services:
        s = e = None
        for d in service.dates:
            if d.qualifier == "472" and d.date:
                s = e = d.date
                break
            if d.qualifier == "150":
                s = d.date
            elif d.qualifier == "151":
                e = d.date
        if s or e:
            spans.append((s or e, e or s))
    charge = payment.clp.charge
    return PaymentFacts(header, last, first, frozenset(members), period, tuple(spans),
                        -charge if charge < 0 else charge, corrected)


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What an original claim says about itself for matching (see module doc)."""

    charge: Decimal
    payers: tuple[tuple[frozenset[str], str], ...]  # (ids, name) of 2010BB and every 2330B
    npi: str | None
    tins: frozenset[str]
    patient_last: str
    patient_first: str
    member_ids: frozenset[str]
    line_dates: tuple[Span, ...]


def _party_ids(party: Party | None) -> tuple[frozenset[str], str]:
    if party is None:
        return frozenset(), ""
    ids = {party.name.id.strip()} if party.name.id else set()
    for ref in party.refs:
        if ref.value and ref.qualifier in ("2U", "EI", "FY", "NF"):
            ids.add(ref.value.strip())
    return frozenset(ids), _norm(party.name.last_or_org_name)


def claim_facts(claim: Claim) -> ClaimFacts:
    payers = [_party_ids(claim.payer)] + [_party_ids(o.payer) for o in claim.other_payers]
    npi, tins = _billing_ids(claim)
    members: set[str] = set()
    sub = claim.subscriber.subscriber if claim.subscriber is not None else None
    if sub is not None and sub.name.id:
        members.add(sub.name.id.strip())
    for other in claim.other_payers:
        if other.subscriber is not None and other.subscriber.name.id:
            members.add(other.subscriber.name.id.strip())
    person = claim.patient.name if claim.patient is not None else sub
    last = _norm(person.name.last_or_org_name) if person is not None else ""
    first = _norm(person.name.first_name) if person is not None else ""
    return ClaimFacts(claim.charge, tuple(p for p in payers if p[0] or p[1]), npi, tins, last, first,
                      frozenset(members), _claim_dates(claim))


def _billing_ids(claim: Claim) -> tuple[str | None, frozenset[str]]:
    """2010AA NPI and tax id (REF*EI, or NM109 under EI/FI)."""
    billing = claim.billing_provider.billing if claim.billing_provider is not None else None
    if billing is None:
        return None, frozenset()
    npi = billing.name.id.strip() if billing.name.id and billing.name.id_qualifier == "XX" else None
    tins = {r.value.strip().replace("-", "") for r in billing.refs if r.qualifier in ("EI", "SY") and r.value}
    if billing.name.id and billing.name.id_qualifier in ("EI", "FI", "24"):
        tins.add(billing.name.id.strip().replace("-", ""))
    return npi, frozenset(tins)


def _claim_dates(claim: Claim) -> tuple[Span, ...]:
    """The claim's service dates: its lines' DTP*472; for lines without one (an 837I inpatient stay's lines
    need none) the claim's own dates, the 837I's statement period DTP*434 (or a 2300 DTP*472)."""
    spans: list[Span] = []
    undated = False
    for line in claim.lines:
        dated = False
        for dtp in line.dates:
            if dtp.qualifier == "472":
                spans.append(_span(dtp))
                dated = True
        undated = undated or not dated
    if undated or not spans:
        for dtp in claim.dates:
            if dtp.qualifier in ("434", "472"):
                spans.append(_span(dtp))
    return tuple(s for s in spans if s[0] is not None)


def _span(dtp) -> Span:
    try:
        return dtp.start, dtp.end
    except ValueError:
        return None, None  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- comparing

@dataclass(frozen=True, slots=True)
class Comparison:
    """The five verdicts of one payment against one claim, and for each NO what differs (no PHI)."""

    patient: Verdict
    dates: Verdict
    charge: Verdict
    payer: Verdict
    provider: Verdict
    differences: tuple[str, ...]

    @property
    def candidate(self) -> bool:
        return Verdict.NO not in (self.patient, self.dates, self.charge, self.payer, self.provider)


def compare(claim: ClaimFacts, pay: PaymentFacts) -> Comparison:
    diffs: list[str] = []
    patient = _patient(claim, pay)
    if patient is Verdict.NO:
        diffs.append("its patient (NM1*QC/IL) is not the claim's patient or subscriber")
    dates = _dates(claim, pay)
    if dates is Verdict.NO:
        diffs.append("its service dates (DTM*232/233, DTM*472) are not the claim's (DTP*472, 837I DTP*434)")
    if pay.charge == claim.charge:
        charge = Verdict.YES
    elif pay.charge > claim.charge:
        charge = Verdict.NO
        diffs.append(f"its charge CLP03 {pay.charge} exceeds the claim's CLM02 {claim.charge}")
    else:
        charge = Verdict.UNKNOWN  # a split part (the parts must add up: consolidation and triage check)
    payer = payer_verdict(pay.header, claim.payers)
    if payer is Verdict.NO:
        diffs.append(f"its payer ({_payer_text(pay.header)}) is none of the claim's payers")
    provider = _provider(claim, pay.header)
    if provider is Verdict.NO:
        paid = pay.header.payee_npi or ", ".join(sorted(pay.header.payee_tins))
        diffs.append(f"it pays provider {paid} (N1*PE/REF*TJ), the claim's billing provider is "
                     f"{claim.npi or ', '.join(sorted(claim.tins)) or 'unnamed'}")
    return Comparison(patient, dates, charge, payer, provider, tuple(diffs))


def _payer_text(header: HeaderFacts) -> str:
    return ", ".join(sorted(header.payer_ids)) or "unnamed"


def _patient(claim: ClaimFacts, pay: PaymentFacts) -> Verdict:
    verdict = Verdict.UNKNOWN
    if pay.patient_last and claim.patient_last:
        if pay.patient_last != claim.patient_last:
            return Verdict.NO
        if pay.patient_first and claim.patient_first and pay.patient_first[:1] != claim.patient_first[:1]:
            return Verdict.NO
        verdict = Verdict.YES
    if pay.member_ids and claim.member_ids and not pay.corrected:
        if pay.member_ids & claim.member_ids:
            verdict = Verdict.YES
        elif verdict is not Verdict.YES:
            return Verdict.NO  # a different member and no name that agrees
    return verdict


def _within(span: Span, spans: tuple[Span, ...]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in spans)


def _dates(claim: ClaimFacts, pay: PaymentFacts) -> Verdict:
    if not claim.line_dates or (pay.period is None and not pay.service_dates):
        return Verdict.UNKNOWN
    if pay.service_dates and not all(_within(s, claim.line_dates) for s in pay.service_dates):
        return Verdict.NO
    if pay.period is not None:
        first = min(s for s, _e in claim.line_dates)
        last = max(e for _s, e in claim.line_dates)
        if pay.period[1] < first or pay.period[0] > last:
            return Verdict.NO
        if not pay.service_dates and not (pay.period[0] <= first and last <= pay.period[1]):
            return Verdict.NO  # a claim-level answer must cover every line's date
    return Verdict.YES


def payer_verdict(header: HeaderFacts, payers: tuple[tuple[frozenset[str], str], ...]) -> Verdict:
    """Is the 835's payer one of `payers` ((ids, name) each)? By any id, else by name."""
    if not payers or (not header.payer_ids and not header.payer_name):
        return Verdict.UNKNOWN
    return Verdict.YES if any(same_payer(header, p) for p in payers) else Verdict.NO


def same_payer(header: HeaderFacts, payer: tuple[frozenset[str], str]) -> bool:
    ids, name = payer
    return bool(header.payer_ids & ids) or bool(name and name == header.payer_name)


def party_key(party: Party) -> tuple[frozenset[str], str]:
    """A 2010BB/2330B payer as `same_payer` compares it."""
    return _party_ids(party)


def _provider(claim: ClaimFacts, header: HeaderFacts) -> Verdict:
    verdict = Verdict.UNKNOWN
    if header.payee_npi and claim.npi:
        if header.payee_npi != claim.npi:
            return Verdict.NO
        verdict = Verdict.YES
    if header.payee_tins and claim.tins:
        if not header.payee_tins & claim.tins:
            return Verdict.NO
        verdict = Verdict.YES
    return verdict


# --------------------------------------------------------------------------------------------- identity

@dataclass(frozen=True, slots=True)
class ClaimIdentity:
    """CLM01, its submitter and billing provider (`provider`, readable ids) and its visit (`visit`, a hash of
    the service dates and the patient: the key names no PHI)."""

    claim_id: str
    provider: str
    visit: str

    @property
    def key(self) -> str:
        return f"{self.provider}#{self.visit}"


def claim_identity(claim: Claim) -> ClaimIdentity:
    env = claim.header.envelope if claim.header is not None else None
    submitter = claim.header.submitter if claim.header is not None else None
    sender = (env.sender_id.strip() if env is not None and env.sender_id else "") or \
        (submitter.name.id.strip() if submitter is not None and submitter.name.id else "")
    npi, tins = _billing_ids(claim)
    provider = f"{sender}/{npi or ','.join(sorted(tins))}"
    facts = claim_facts(claim)
    sub = claim.subscriber.subscriber if claim.subscriber is not None else None
    member = (sub.name.id or "").strip() if sub is not None else ""  # not the 2330A ids: adding a payer keeps the visit
    visit = "|".join([f"{s.isoformat()}..{e.isoformat()}" for s, e in sorted(set(facts.line_dates))]
                     + [facts.patient_last, facts.patient_first, member])
    return ClaimIdentity(claim.claim_id, provider, hashlib.sha256(visit.encode()).hexdigest()[:16])
