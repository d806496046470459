"""Consolidating remittances (reversals, splits, predeterminations) and matching service lines."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cob.edi.reader import read_claims, read_remittance
from cob.billing.consolidate import RemitIndex
from cob.billing.match import check_coverage, match_lines
from cob.schemas.codes import ClaimStatus
from cob.schemas.remit import ClaimPayment

from conftest import DATA

D = Decimal


def remit(tmp_path: Path, name: str, date: str, body: list[str]) -> Path:
    """A minimal balanced-enough 835 around claim payment segments (BPR02 is not checked here); each claim
    payment gets the patient name (NM1*QC) the IG requires, so that the set's structure is sound."""
    claims: list[str] = []
    name_due = False
    for seg in body:
        if name_due and not seg.startswith("CAS*"):  # the name follows the CLP and its claim-level CAS
            claims.append("NM1*QC*1*DOE*JANE")
        name_due = seg.startswith("CLP*") or (name_due and seg.startswith("CAS*"))
        claims.append(seg)
    if name_due:
        claims.append("NM1*QC*1*DOE*JANE")
    segs = ["ST*835*0001", f"BPR*I*0*C*NON************{date}", "TRN*1*T1*1999999999", "N1*PR*PRIMARY PLAN",
            "N3*1 MAIN ST", "N4*CITY*IL*60601", "REF*2U*11111", "PER*BL*EDI*TE*5555550100",
            "N1*PE*NORTHWIND CLINIC*XX*1234567893", "LX*1", *claims]
    segs.append(f"SE*{len(segs) + 1}*0001")
    text = ("ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *260301*1200*^*00501*"
            "000000001*0*P*:~GS*HP*PAYER*CLINIC*20260301*1200*1*X*005010X221A1~" + "~".join(segs) +
            "~GE*1*1~IEA*1*000000001~")
    path = tmp_path / name
    path.write_text(text)
    return path


def index_of(*paths: Path) -> RemitIndex:
    index = RemitIndex()
    for p in paths:
        index.add_file(str(p), [x for x in read_remittance(p) if isinstance(x, ClaimPayment)])
    return index


PAYMENT = ["CLP*PCN123*1*250*116*34*12*ICN987", "CAS*CO*45*100",
           "SVC*HC:99214*200*100**1", "CAS*PR*3*20", "REF*6R*L1",
           "SVC*HC:87880:QW*50*16**2", "CAS*PR*1*10**2*4", "REF*6R*L2"]


def test_reversal_in_a_later_file_leaves_only_the_correction(tmp_path):
    first = remit(tmp_path, "a.835", "20260301", PAYMENT)
    second = remit(tmp_path, "b.835", "20260410", [
        "CLP*PCN123*22*-250*-116*-34*12*ICN987", "CAS*CO*45*-100",
        "SVC*HC:99214*-200*-100**1", "CAS*PR*3*-20", "REF*6R*L1",
        "SVC*HC:87880:QW*-50*-16**2", "CAS*PR*1*-10**2*-4", "REF*6R*L2",
        "CLP*PCN123*1*250*126*24*12*ICN988", "CAS*CO*45*100",
        "SVC*HC:99214*200*110**1", "CAS*PR*3*10", "REF*6R*L1",
        "SVC*HC:87880:QW*50*16**2", "CAS*PR*1*10**2*4", "REF*6R*L2"])
    remits = index_of(second, first).consolidate("PCN123")  # order of files does not matter: dates do
    assert remits.reversed_pairs == 1 and remits.orphan_reversals == 0
    (adj,) = remits.adjudications
    assert adj.level == 1 and adj.payment.clp.payer_claim_control_number == "ICN988"
    assert adj.payment.clp.paid == D("126")


def test_reversal_alone_is_pending(tmp_path):
    first = remit(tmp_path, "a.835", "20260301", PAYMENT)
    second = remit(tmp_path, "b.835", "20260410", ["CLP*PCN123*22*-250*-116*-34*12*ICN987", "CAS*CO*45*-100"])
    remits = index_of(first, second).consolidate("PCN123")
    assert remits.adjudications == [] and remits.reversal_pending


def test_split_claim_parts_are_merged(tmp_path):
    path = remit(tmp_path, "a.835", "20260301", [
        "CLP*PCN123*1*200*100*20*12*ICN1", "MOA***MA15", "SVC*HC:99214*200*100**1", "CAS*CO*45*80",
        "CAS*PR*3*20", "REF*6R*L1",
        "CLP*PCN123*1*50*16*14*12*ICN2", "MOA***MA15", "SVC*HC:87880:QW*50*16**2", "CAS*CO*45*20",
        "CAS*PR*1*10**2*4", "REF*6R*L2"])
    (adj,) = index_of(path).consolidate("PCN123").adjudications
    assert adj.parts == 2
    assert (adj.payment.clp.charge, adj.payment.clp.paid) == (D("250"), D("116"))
    assert [s.control_number for s in adj.payment.services] == ["L1", "L2"]


def test_predetermination_and_denial_are_not_adjudications(tmp_path):
    path = remit(tmp_path, "a.835", "20260301", ["CLP*PCN123*25*250*0**12*P1", "CLP*PCN9*4*90*0**12*D1",
                                                  "CAS*CO*31*90"])
    index = index_of(path)
    assert index.consolidate("PCN123").predeterminations == 1
    assert index.consolidate("PCN123").adjudications == []
    assert [r.status for r in index.consolidate("PCN9").denied] == [ClaimStatus.DENIED]
    assert index.consolidate("NOPE") is None


@pytest.fixture
def claim():
    (c,) = read_claims(DATA / "cob-claim.837")
    return c


def _payment(tmp_path, body):
    (p,) = [x for x in read_remittance(remit(tmp_path, "m.835", "20260301", body)) if isinstance(x, ClaimPayment)]
    return p


def test_lines_matched_by_control_number(tmp_path, claim):
    match = check_coverage(claim, match_lines(claim, _payment(tmp_path, PAYMENT)))
    assert match.ok
    assert {i: [s.svc.paid for s in ss] for i, ss in match.services.items()} == {0: [D("100")], 1: [D("16")]}


def test_fallback_match_tolerates_a_dropped_modifier_and_any_order(tmp_path, claim):
    body = ["CLP*PCN123*1*250*116*34*12*ICN987",
            "SVC*HC:87880*50*16**2", "DTM*472*20260215", "CAS*CO*45*20", "CAS*PR*1*10**2*4",
            "SVC*HC:99214*200*100**1", "DTM*472*20260215", "CAS*CO*45*80", "CAS*PR*3*20"]
    match = check_coverage(claim, match_lines(claim, _payment(tmp_path, body)))
    assert match.ok
    assert match.services[1][0].svc.procedure.code == "87880"  # QW dropped by the payer, still line 2
    assert match.services[0][0].svc.charge == D("200")


def test_unmatched_service_and_missing_line_are_problems(tmp_path, claim):
    unknown = ["CLP*PCN123*1*250*0*0*12*X", "SVC*HC:12345*250*0**1", "CAS*CO*50*250"]
    assert match_lines(claim, _payment(tmp_path, unknown)).problem == "ambiguous_line_match"
    partial = ["CLP*PCN123*1*200*100*20*12*X", "SVC*HC:99214*200*100**1", "CAS*CO*45*80", "CAS*PR*3*20",
               "REF*6R*L1"]
    match = check_coverage(claim, match_lines(claim, _payment(tmp_path, partial)))
    assert match.problem == "adjudication_incomplete" and "line 2" in match.detail


def test_repriced_line_charge_is_a_mismatch(tmp_path, claim):
    body = ["CLP*PCN123*1*240*116*34*12*X", "SVC*HC:99214*190*100**1", "CAS*CO*45*70", "CAS*PR*3*20",
            "REF*6R*L1", "SVC*HC:87880:QW*50*16**2", "CAS*CO*45*20", "CAS*PR*1*10**2*4", "REF*6R*L2"]
    match = check_coverage(claim, match_lines(claim, _payment(tmp_path, body)))
    assert match.problem == "line_charge_mismatch"
    assert match.detail == "line 1: the payer adjudicated a charge of 190, billed 200"


def test_index_gives_back_each_payment_as_read_and_keeps_it_small(tmp_path):
    """Payments are compressed against their file's first payment: each comes back equal to what was
    read (header included), and the later ones keep only what differs from the first."""
    second = [s.replace("PCN123", "PCN124").replace("ICN987", "ICN988") for s in PAYMENT]
    path = remit(tmp_path, "a.835", "20260301", PAYMENT + second)
    read = [x for x in read_remittance(path) if isinstance(x, ClaimPayment)]
    index = index_of(path)
    records = [r for cid in ("PCN123", "PCN124") for r in index.records[cid]]
    assert [r.payment(index.headers) for r in records] == read
    assert records[0].dictionary is records[1].dictionary
    assert len(records[1].payload) < len(records[1].dictionary) // 4
