"""`worklist.cob_denials` and `balances.compute_balance` on hand-written 835s (issue 17 clauses 1 and 2)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from cob.billing.build import payer_chain
from cob.billing.consolidate import RemitIndex
from cob.edi.reader import X12Reader
from cob.run.balances import compute_balance
from cob.run.posting import PostingSettings, post_claim
from cob.run.worklist import cob_denials
from cob.schemas.claim import Claim
from cob.schemas.coverage import load_roster
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


def tertiary_claim(tmp_path):
    """afterpay.837 with a third payer, THIRD PLAN (33333), in a second 2320 (SBR01 T)."""
    text = (DATA / "afterpay.837").read_text().replace(
        "NM1*PR*2*SECOND PAYER INC*****PI*22222~",
        "NM1*PR*2*SECOND PAYER INC*****PI*22222~SBR*T*18*GRP300******CI~OI***Y***Y~"
        "NM1*IL*1*TESTER*ALEX****MI*TER789~NM1*PR*2*THIRD PLAN*****PI*33333~").replace("SE*33*0001", "SE*37*0001")
    (tmp_path / "t.837").write_text(text)
    (claim,) = [c for c in X12Reader(tmp_path / "t.837") if isinstance(c, Claim)]
    return claim


def test_with_a_tertiary_the_balance_is_final_only_when_the_tertiary_answers(tmp_path):
    # Primary (afterpay-primary.835): paid 116, CO 100, PR 34. Secondary (afterpay-secondary-paid.835): paid 24
    # (20 + 4), OA 23 216, PR 10 (line 2's deductible). The tertiary is the last payer: the secondary's PR 10 is
    # not the patient's yet. The tertiary pays 6 of line 2 and leaves PR 2 4 (coinsurance): the patient owes 4;
    # write-off 250 - 116 - 24 - 6 - 4 = 100 (the primary's CO).
    claim = tertiary_claim(tmp_path)
    assert [p.level for p in payer_chain(claim).payers] == [1, 2, 3]
    index = RemitIndex()
    index.add_file("primary.835", [p for p in X12Reader(DATA / "afterpay-primary.835") if isinstance(p, ClaimPayment)])
    index.add_file("secondary.835", [p for p in X12Reader(DATA / "afterpay-secondary-paid.835")
                                     if isinstance(p, ClaimPayment)])
    settings = PostingSettings()
    after_secondary = post_claim(claim, index, None, None, {}, settings)
    assert after_secondary is not None and after_secondary.balance is None
    # still to file with the tertiary: its default rule, 90 days from the secondary's payment 2026-03-20
    assert (after_secondary.deadline.payer, after_secondary.deadline.due) == ("33333", dt.date(2026, 6, 18))

    tertiary = remit(tmp_path, "t.835", "33333", "CLP*S01*3*250*6*4*12*TER0001",
                     ["SVC*HC:99214*200*0**1", "CAS*OA*23*200", "REF*6R*S01L1",
                      "SVC*HC:87880:QW*50*6**2", "CAS*OA*23*40", "CAS*PR*2*4", "REF*6R*S01L2"], bpr="6")
    index.add_file("t.835", tertiary)
    posting = post_claim(claim, index, None, None, {}, settings)
    balance = posting.balance
    assert (balance.status, balance.last_payer, balance.last_level) == ("final", "33333", 3)
    assert [(p.payer, p.paid, p.contractual, p.patient_responsibility, p.other) for p in balance.payers] == [
        ("PRIMPLAN", D("116"), D("100"), D("34"), D("0")),
        ("22222", D("24"), D("0"), D("10"), D("216")),
        ("33333", D("6"), D("0"), D("4"), D("240"))]
    assert (balance.patient_owes, balance.write_off) == (D("4"), D("100"))
    assert [(ln.line, [p.paid for p in ln.payers], ln.patient_owes, ln.write_off) for ln in balance.lines] == [
        (1, [D("100"), D("20"), D("0")], D("0"), D("80")),
        (2, [D("16"), D("4"), D("6")], D("4"), D("20"))]
    assert posting.items == []


ZERO_23 = ["SVC*HC:99214*200*0**1", "CAS*OA*23*180", "CAS*PR*3*20", "REF*6R*S01L1",
           "SVC*HC:87880:QW*50*0**2", "CAS*OA*23*36", "CAS*PR*1*10*1*2*4", "REF*6R*S01L2"]


def posted_after_zero_23(tmp_path, roster=None):
    """The secondary pays nothing, OA 23 180 + 36 (the primary's share), and leaves the primary's PR 34."""
    (claim,) = [c for c in X12Reader(DATA / "afterpay.837") if isinstance(c, Claim)]
    index = RemitIndex()
    index.add_file("primary.835", [p for p in X12Reader(DATA / "afterpay-primary.835") if isinstance(p, ClaimPayment)])
    index.add_file("z.835", remit(tmp_path, "z.835", "22222", "CLP*S01*2*250*0*34*12*SEC0009", ZERO_23))
    return post_claim(claim, index, roster, tmp_path, {}, PostingSettings())


def test_a_secondary_paying_nothing_for_the_prior_payment_goes_to_the_worklist(tmp_path):
    # No benefit terms to check it against: a person verifies. The balance is final all the same (the
    # patient owes the 34 the secondary left as PR; write-off 250 - 116 - 0 - 34 = 100).
    posting = posted_after_zero_23(tmp_path)
    (item,) = posting.items
    assert (item.kind, item.payer) == ("carc_23", "22222")
    assert item.says == "the payer paid nothing, citing the prior payer's payment (CARC 23), and left 34 to the patient"
    assert item.action.startswith("check the payer's COB method")
    assert item.evidence["payer_claim_number"] == "SEC0009" and item.evidence["file"] == "z.835"
    assert (posting.balance.status, posting.balance.patient_owes, posting.balance.write_off) == ("final", D("34"),
                                                                                                 D("100"))


def test_carc_23_is_no_job_when_the_payers_own_method_gives_nothing_either(tmp_path):
    # Hard non-duplication, secondary allowed 140: N2 = 0.8 x 140 = 112 < P1 116 -> 0; it paid 0: as expected.
    path = tmp_path / "roster.json"
    path.write_text(json.dumps({"coverages": [{
        "claim_id": "S01", "sequence": "S", "payer_name": "SECOND PAYER INC", "payer_id": "22222",
        "subscriber_last_name": "TESTER", "subscriber_id": "SEC456", "relationship": "18", "filing_indicator": "CI",
        "benefit_terms": {"method": "non_duplication", "secondary_allowed": "140"}}]}))
    posting = posted_after_zero_23(tmp_path, load_roster(path))
    assert (posting.check.expected, posting.check.paid, posting.check.flagged) == (D("0.00"), D("0"), False)
    assert posting.items == []


def test_medicaid_paying_nothing_for_the_prior_payment_is_no_job(tmp_path):
    # The same zero from a Medicaid secondary is its lesser-of at work: the 34 is written off except the
    # copay (PR 3 20), which the patient owes; write-off 250 - 116 - 20 = 114.
    text = (DATA / "afterpay.837").read_text().replace("SBR*S*18*GRP200******CI", "SBR*S*18*GRP200******MC")
    (tmp_path / "m.837").write_text(text)
    (claim,) = [c for c in X12Reader(tmp_path / "m.837") if isinstance(c, Claim)]
    index = RemitIndex()
    index.add_file("primary.835", [p for p in X12Reader(DATA / "afterpay-primary.835") if isinstance(p, ClaimPayment)])
    index.add_file("z.835", remit(tmp_path, "z.835", "22222", "CLP*S01*2*250*0*34*MC*MCD9", ZERO_23))
    posting = post_claim(claim, index, None, None, {}, PostingSettings())
    assert posting.items == []
    b = posting.balance
    assert (b.status, b.patient_owes, b.medicaid_write_off, b.write_off) == ("final", D("20"), D("14"), D("114"))


def test_carc_23_on_a_paying_secondary_is_no_job(tmp_path):
    # afterpay-secondary-paid.835 carries OA 23 on both lines but pays 24
    (claim,) = [c for c in X12Reader(DATA / "afterpay.837") if isinstance(c, Claim)]
    index = RemitIndex()
    for name in ("afterpay-primary.835", "afterpay-secondary-paid.835"):
        index.add_file(name, [p for p in X12Reader(DATA / name) if isinstance(p, ClaimPayment)])
    assert post_claim(claim, index, None, None, {}, PostingSettings()).items == []


def test_a_negative_payment_from_the_secondary_reopens_the_balance(tmp_path):
    # After paying 24 (SEC0001), the secondary sends a later claim payment of -24 (20 and 4 taken back, OA 23
    # 220 + 54): the money is recouped, the claim goes on the worklist and the balance is reopened (the
    # patient owes nothing until a corrected payment stands).
    (claim,) = [c for c in X12Reader(DATA / "afterpay.837") if isinstance(c, Claim)]
    index = RemitIndex()
    for name in ("afterpay-primary.835", "afterpay-secondary-paid.835"):
        index.add_file(name, [p for p in X12Reader(DATA / name) if isinstance(p, ClaimPayment)])
    index.add_file("n.835", remit(tmp_path, "n.835", "22222", "CLP*S01*2*250*-24*0*12*SEC0001R",
                                  ["SVC*HC:99214*200*-20**1", "CAS*OA*23*220", "REF*6R*S01L1",
                                   "SVC*HC:87880:QW*50*-4**2", "CAS*OA*23*54", "REF*6R*S01L2"]))
    posting = post_claim(claim, index, None, None, {}, PostingSettings())
    (item,) = posting.items
    assert (item.kind, item.payer, item.evidence["paid"], item.evidence["file"]) == ("recoupment", "22222", "-24",
                                                                                     "n.835")
    assert (posting.balance.status, posting.balance.patient_owes) == ("reopened", D("0"))
    assert [(p.payer, p.paid) for p in posting.balance.payers] == [("PRIMPLAN", D("116")), ("22222", D("-24"))]


@pytest.mark.parametrize("carc, action", [
    ("24", "bill the managed-care plan that holds the capitation"),
    ("109", "check eligibility and send the claim to the correct payer"),
    ("19", "bill the workers' compensation carrier first"),
    ("20", "bill the liability carrier first"),
    ("21", "bill the no-fault (auto) carrier first"),
    ("200", "check eligibility dates; bill the payer that covered the date of service"),
    ("B1", "check the plan's visit limits; appeal with documentation"),
])
def test_each_cob_carc_of_a_secondary_has_its_next_action(tmp_path, carc, action):
    body = ["SVC*HC:99214*200*0**1", f"CAS*CO*{carc}*200", "REF*6R*S01L1",
            "SVC*HC:87880:QW*50*0**2", f"CAS*CO*{carc}*50", "REF*6R*S01L2"]
    payments = remit(tmp_path, "s.835", "22222", "CLP*S01*2*250*0*0*12*P9", body)
    (item,) = cob_denials("S01", [(p, "s.835") for p in payments])
    assert (item.kind, item.payer) == (f"carc_{carc}", "22222")
    assert item.action.startswith(action)
    assert {(c["group"], c["reason"], c["amount"]) for c in item.evidence["cas"]} == {("CO", carc, "200"),
                                                                                     ("CO", carc, "50")}


def test_a_medicare_secondary_is_due_12_months_after_the_date_of_service(tmp_path):
    # The secondary is Medicare Part B (SBR09 MB): the default Medicare rule counts 12 months from the
    # earliest date of service, 2026-02-15 -> 2027-02-15 (the primary's payment date does not matter).
    text = (DATA / "afterpay.837").read_text().replace("SBR*S*18*GRP200******CI", "SBR*S*18*GRP200******MB")
    (tmp_path / "mb.837").write_text(text)
    (claim,) = [c for c in X12Reader(tmp_path / "mb.837") if isinstance(c, Claim)]
    index = RemitIndex()
    index.add_file("primary.835", [p for p in X12Reader(DATA / "afterpay-primary.835") if isinstance(p, ClaimPayment)])
    d = post_claim(claim, index, None, None, {}, PostingSettings()).deadline
    assert (d.payer, d.rule, d.start, d.due) == ("22222", "12 months from service", dt.date(2026, 2, 15),
                                                 dt.date(2027, 2, 15))
