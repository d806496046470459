"""A built claim shares no DTP*573 with another claim: models are mutable, and a shared segment would carry an
edit of one claim (or one 2430) into every other that holds it.

The builder used to keep one DTP*573 instance per payment date for every 2330B and 2430 of every claim paid
that day; each now gets its own.
"""

from __future__ import annotations

from pathlib import Path

from cob.billing.build import build_next_claim, payer_chain
from cob.billing.consolidate import RemitIndex
from cob.billing.match import check_coverage, match_lines
from cob.edi.reader import read_claims, read_remittance
from cob.schemas.claim import Claim
from cob.schemas.remit import ClaimPayment
from cob.schemas.segments import DTP

from conftest import DATA
from test_consolidate_match import remit


def _secondary(claim_file: Path, remit_file: Path) -> Claim:
    """The secondary claim built from the (only) claim of `claim_file` and its primary payment."""
    (claim,) = list(read_claims(claim_file))
    index = RemitIndex()
    index.add_file(str(remit_file), [p for p in read_remittance(remit_file) if isinstance(p, ClaimPayment)])
    (adjudication,) = index.consolidate(claim.claim_id).adjudications
    chain = payer_chain(claim)
    primary, secondary = chain.at(1), chain.at(2)
    primary.adjudication = adjudication
    match = check_coverage(claim, match_lines(claim, adjudication.payment))
    assert match.ok, match.detail
    return build_next_claim(claim, chain, secondary, {1: match})


def _adjudication_dates(claim: Claim) -> list[DTP]:
    """Every DTP*573 of the claim: its 2330Bs' and its 2430s'."""
    dates = [d for other in claim.other_payers if other.payer is not None for d in other.payer.dates
             if d.qualifier == "573"]
    return dates + [d for line in claim.lines for adj in line.adjudications for d in adj.dates if d.qualifier == "573"]


def test_each_2430_of_each_claim_has_its_own_adjudication_date():
    remit_file = DATA / "primary-remit.835"
    first, second = (_secondary(DATA / "original-claim.837", remit_file) for _ in range(2))
    dates = _adjudication_dates(first)
    others = _adjudication_dates(second)
    assert [d.value for d in dates] == [d.value for d in others] == ["20260301", "20260301"]  # two 2430s each
    assert len({id(d) for d in dates + others}) == 4

    dates[0].value = "20260302"  # an in-place edit of one claim's first 2430
    assert [d.value for d in _adjudication_dates(first)] == ["20260302", "20260301"]
    assert [d.value for d in _adjudication_dates(second)] == ["20260301", "20260301"]


def test_each_claim_level_adjudication_has_its_own_2330b_date(tmp_path: Path):
    # a payment without service lines: the date goes on the 2330B
    remit_file = remit(tmp_path, "claim-level.835", "20260301",
                       ["CLP*PCN123*1*250*116*134*12*ICN987", "CAS*CO*45*100", "CAS*PR*1*34"])
    first, second = (_secondary(DATA / "original-claim.837", remit_file) for _ in range(2))
    (date,) = _adjudication_dates(first)
    (other,) = _adjudication_dates(second)
    assert (date.value, other.value) == ("20260301", "20260301") and date is not other
    assert first.lines[0].adjudications == []

    date.value = "20260302"
    assert [d.value for d in _adjudication_dates(second)] == ["20260301"]
