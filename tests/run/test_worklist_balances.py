"""`worklist.cob_denials` and `balances.compute_balance` on hand-written 835s (issue 17 clauses 1 and 2)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from cob.billing.build import payer_chain
from cob.billing.consolidate import RemitIndex
from cob.edi.reader import X12Reader
from cob.run.balances import compute_balance
from cob.run.worklist import cob_denials
from cob.schemas.claim import Claim
from cob.schemas.remit import ClaimPayment

DATA = Path(__file__).parent / "data"


def remit(tmp_path, name, payer, clp, body, bpr="0"):
    segs = [f"BPR*H*{bpr}*C*NON************20260320", "TRN*1*T9*1888888888", f"N1*PR*{payer} PLAN",
            "N3*5 PAYER AVE", "N4*PEORIA*IL*61602", f"REF*2U*{payer}", "PER*BL*EDI*TE*8005550100",
            "N1*PE*NORTHWIND CLINIC*XX*1234567893", "LX*1", clp, "NM1*QC*1*TESTER*ALEX****MI*SEC456", *body]
    text = ("ISA*00*          *00*          *ZZ*PAYER          *ZZ*SUBMIT01       *260320*0900*^*00501*000000009*0*T*:~"
            "GS*HP*PAYER*SUBMIT01*20260320*0900*9*X*005010X221A1~ST*835*0001~" + "~".join(segs)
            + f"~SE*{len(segs) + 2}*0001~GE*1*9~IEA*1*000000009~")
    path = tmp_path / name
    path.write_text(text)
    return [p for p in X12Reader(path) if isinstance(p, ClaimPayment)]


DENY_22 = ["SVC*HC:99214*200*0**1", "CAS*CO*22*200", "REF*6R*S01L1",
           "SVC*HC:87880:QW*50*0**2", "CAS*CO*22*50", "REF*6R*S01L2"]


def test_both_payers_deny_as_secondary(tmp_path):
    first = remit(tmp_path, "a.835", "11111", "CLP*S01*1*250*0*0*12*P1", DENY_22)
    second = remit(tmp_path, "b.835", "22222", "CLP*S01*2*250*0*0*12*P2", DENY_22)
    items = cob_denials("S01", [(p, "a.835") for p in first] + [(p, "b.835") for p in second])
    assert [(i.kind, i.payer) for i in items] == [("both_deny_as_secondary", "11111,22222")]
    assert "call both payers" in items[0].action
    assert [e["payer_claim_number"] for e in items[0].evidence["payers"]] == ["P1", "P2"]


def test_carc_16_counts_only_with_a_remark_asking_for_the_primary_eob(tmp_path):
    body = ["SVC*HC:99214*200*0**1", "CAS*CO*16*200", "REF*6R*S01L1", "LQ*HE*MA04",
            "SVC*HC:87880:QW*50*0**2", "CAS*CO*16*50", "REF*6R*S01L2"]
    with_ma04 = remit(tmp_path, "c.835", "22222", "CLP*S01*2*250*0*0*12*P3", body)
    (item,) = cob_denials("S01", [(p, "c.835") for p in with_ma04])
    assert item.kind == "carc_16" and "MA04" in item.says and item.action.startswith("send the primary's EOB")
    plain = remit(tmp_path, "d.835", "22222", "CLP*S01*2*250*0*0*12*P4",
                  [s for s in body if not s.startswith("LQ")])
    assert cob_denials("S01", [(p, "d.835") for p in plain]) == []


def test_the_primarys_cob_denial_is_not_a_secondary_worklist_item(tmp_path):
    first = remit(tmp_path, "e.835", "11111", "CLP*S01*1*250*0*0*12*P5", DENY_22)
    assert cob_denials("S01", [(p, "e.835") for p in first]) == []


def test_medicaid_last_payer_leaves_only_its_copay(tmp_path):
    # The claim's secondary is Medicaid (SBR09 MC). Medicaid pays 20 of line 1 and 1 of line 2, leaving
    # PR 3 (copay) 3 on line 2 and PR 1 10: the copay may be collected, the 10 is written off.
    text = (DATA / "afterpay.837").read_text().replace("SBR*S*18*GRP200******CI", "SBR*S*18*GRP200******MC")
    (tmp_path / "c.837").write_text(text)
    (claim,) = [c for c in X12Reader(tmp_path / "c.837") if isinstance(c, Claim)]
    primary = [p for p in X12Reader(DATA / "afterpay-primary.835") if isinstance(p, ClaimPayment)]
    medicaid = remit(tmp_path, "m.835", "22222", "CLP*S01*2*250*21*13*MC*MCD1",
                     ["SVC*HC:99214*200*20**1", "CAS*OA*23*180", "REF*6R*S01L1",
                      "SVC*HC:87880:QW*50*1**2", "CAS*OA*23*36", "CAS*PR*3*3**1*10", "REF*6R*S01L2"], bpr="21")
    index = RemitIndex()
    index.add_file("primary.835", primary)
    index.add_file("m.835", medicaid)
    balance = compute_balance(claim, payer_chain(claim), index.consolidate("S01"))
    assert (balance.patient_owes, balance.medicaid_write_off) == (D("3"), D("10"))
    # write-off: 250 - 116 - 21 - 3 = 110 (the primary's CO 100 and Medicaid's 10)
    assert balance.write_off == D("110")
    assert [(ln.line, ln.patient_owes, ln.write_off) for ln in balance.lines] == [(1, D("0"), D("80")),
                                                                                   (2, D("3"), D("30"))]
