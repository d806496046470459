"""What a report page shows of a claim beyond its decision: service dates, charge, the payers it was sent
to, and (only when `[report] include_patient_names = true`) the patient's name.

Why a module of its own: the run report (JSON) is PHI-free and holds no service dates or charges of held
claims, so the pages read them from the original claims in the state database, for the few claims a page
lists (the ones needing a person), never for the whole night. Names are read only when asked for.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from cob.schemas.claim import Claim
from cob.schemas.institutional import claim_model

from .state import State

#: claim ids per query (SQL parameter limits)
CHUNK = 500


@dataclass
class ClaimFacts:
    claim_id: str
    service_from: str | None = None  # ISO dates, from the service lines' DTP*472
    service_to: str | None = None
    charge: Decimal | None = None  # CLM02
    payers: tuple[str, ...] = ()  # payer ids the original was sent to, in payer order (primary first)
    patient_name: str | None = None  # only with include_patient_names

    @property
    def service(self) -> str:
        if not self.service_from:
            return ""
        if self.service_to and self.service_to != self.service_from:
            return f"{self.service_from} to {self.service_to}"
        return self.service_from


def claim_facts(state: State, claim_ids: Iterable[str], with_names: bool = False) -> dict[str, ClaimFacts]:
    """Facts of each claim id that has an original claim in the state (ids without one are left out)."""
    ids = sorted(set(claim_ids))
    out: dict[str, ClaimFacts] = {}
    for start in range(0, len(ids), CHUNK):
        payers: dict[str, list[tuple[int, str]]] = {}
        for row in state.claims_for(ids[start:start + CHUNK]):
            claim_id, payer_id, rank, body = row[0], row[1], row[2], row[5]
            payers.setdefault(claim_id, []).append((rank, payer_id))
            if claim_id in out:
                continue  # rows come lowest payer rank first: the original sent to the primary
            data = zlib.decompress(bytes(body))
            out[claim_id] = _facts(claim_model(data).model_validate_json(data), with_names)  # 837P or 837I
        for claim_id, ranked in payers.items():
            out[claim_id].payers = tuple(dict.fromkeys(p for _, p in sorted(ranked)))
    return out


def _facts(claim: Claim, with_names: bool) -> ClaimFacts:
    starts, ends = [], []
    for line in claim.lines:
        dtp = line.service_date
        if dtp is not None:
            starts.append(dtp.start)
            ends.append(dtp.end)
    if not starts:  # an 837I stay's lines carry no date: its statement period (DTP*434)
        for dtp in claim.dates:
            if dtp.qualifier == "434":
                starts.append(dtp.start)
                ends.append(dtp.end)
    facts = ClaimFacts(claim.claim_id, charge=claim.charge,
                       service_from=min(starts).isoformat() if starts else None,
                       service_to=max(ends).isoformat() if ends else None)
    if with_names:
        facts.patient_name = patient_name(claim)
    return facts


def patient_name(claim: Claim) -> str | None:
    """LAST, FIRST of the patient (2010CA), or of the subscriber (2010BA) when the patient is the subscriber."""
    party = claim.patient.name if claim.patient is not None else (
        claim.subscriber.subscriber if claim.subscriber is not None else None)
    if party is None:
        return None
    name = party.name
    return ", ".join(p for p in (name.last_or_org_name, name.first_name) if p) or None
