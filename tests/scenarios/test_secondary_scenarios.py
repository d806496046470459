"""End-to-end COB scenarios: a hand-written original 837P (sent to the primary, listing the later
payers in 2320/2330 without CAS/AMT) and the payers' 835s -> `run_secondary` -> the next payer's claim.

Every expected number below was worked out by hand from the data files in `data/` (the arithmetic is
in the comments); none is computed by the code under test. Each output file must also pass pyx12.

Payer ids used throughout: 11111 primary (its 835s call it REF*2U PRIMPLAN, so SVD01/2330B NM109 must
come from the original claim, not the 835), 22222 secondary, 33333 tertiary, 04412 Medicare Part B.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cob.edi.reader import read_claims
from cob.cli import main
from scenario_helpers import (D, DATA, assert_valid_x12, data, destination, line_2430, lines, other_payer, run,
                              summary_2320)

PRIMARY = "11111"


def assert_first_submission(claim) -> None:
    assert claim.clm.location.frequency == "1"  # CLM05-3
    assert claim.ref("F8") is None  # 2300 REF*F8 only for replacements/voids


def assert_only_outputs(run_, *names: str) -> None:
    """The output folder holds exactly these files: no spool or temp file left behind."""
    assert [p.name for p in run_.outputs()] == sorted(names)


# ------------------------------------------------------------------------------------------------ 1


def test_01_line_level_co45_and_pr(tmp_path: Path):
    """§1.9 worked example: two lines, CO-45 and PR-1/2/3 at line level, nothing at claim level."""
    r = run(tmp_path, ["s01_line_level.837"], ["s01_line_level.835"])
    assert r.status("S01") == ("billed", "secondary_billed")
    assert r.outcome("S01").destination_payer == "22222"
    claim = r.claim("S01")
    assert_first_submission(claim)
    assert destination(claim) == {
        "sbr01": "S", "sbr02": "18", "sbr03": "GRP200", "sbr05": None, "sbr09": "CI",
        "payer_id": "22222", "payer_name": "SECOND PAYER INC",
        "subscriber_id": "SEC456", "subscriber_name": ("TESTER", "ALEX")}
    assert [op.sbr.payer_sequence.value for op in claim.other_payers] == ["P"]
    # AMT*D = 100 + 16 - 0 (no claim-level CAS) = 116; EAF and DTP*573 live at line level only
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("116"), "amt_eaf": None, "cas": [],
        "payer_id": PRIMARY, "subscriber_id": "PRIM123", "ref_f8": "ICN0001", "dtp573": None}
    assert lines(claim) == {
        # 200 = 100 + 80 + 20
        1: [line_2430((PRIMARY, "100", "HC:99214", "1", None),
                      [("CO", "45", "80", None), ("PR", "3", "20", None)], "D8:20260305", "20")],
        # 50 = 16 + 20 + 10 + 4; EAF = 10 + 4
        2: [line_2430((PRIMARY, "16", "HC:87880:QW", "2", None),
                      [("CO", "45", "20", None), ("PR", "1", "10", None), ("PR", "2", "4", None)],
                      "D8:20260305", "14")],
    }
    # 1000B named a clearinghouse in the original: it stays
    receiver = claim.header.receiver.name
    assert (receiver.last_or_org_name, receiver.id) == ("CLEARHOUSE", "CLEARHOUSE01")
    assert_only_outputs(r, "22222-000000001.837")


# ------------------------------------------------------------------------------------------------ 2


def test_02_claim_level_pr(tmp_path: Path):
    """PR-1 (deductible 30) at claim level, lines adjusted with CO-45 only."""
    r = run(tmp_path, ["s02_claim_level_pr.837"], ["s02_claim_level_pr.835"])
    assert r.status("S02") == ("billed", "secondary_billed")
    claim = r.claim("S02")
    assert_first_submission(claim)
    assert destination(claim)["sbr01"] == "S" and destination(claim)["payer_id"] == "22222"
    # AMT*D = sum SVD02 (100 + 20) - 2320 CAS (30) = 90 = CLP04
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("90"), "amt_eaf": None, "cas": [("PR", "1", D("30"), None)],
        "payer_id": PRIMARY, "subscriber_id": "PRIM123", "ref_f8": "ICN0002", "dtp573": None}
    # line EAF = the line's own PR, none here (the claim-level deductible cannot be spread over lines)
    assert lines(claim) == {
        1: [line_2430((PRIMARY, "100", "HC:99213", "1", None), [("CO", "45", "50", None)], "D8:20260306", "0")],
        2: [line_2430((PRIMARY, "20", "HC:81002", "1", None), [("CO", "45", "30", None)], "D8:20260306", "0")],
    }


# ------------------------------------------------------------------------------------------------ 3


def test_03_paid_in_full_line_beside_pr_line(tmp_path: Path):
    r = run(tmp_path, ["s03_paid_in_full.837"], ["s03_paid_in_full.835"])
    assert r.status("S03") == ("billed", "secondary_billed")
    claim = r.claim("S03")
    assert_first_submission(claim)
    # AMT*D = 80 + 60 = 140
    assert summary_2320(other_payer(claim, "P"))["amt_d"] == D("140")
    assert other_payer(claim, "P").adjustments == []
    assert lines(claim) == {
        # paid in full: SVD02 = charge 80, no CAS [RFI 382]
        1: [line_2430((PRIMARY, "80", "HC:99212", "1", None), [], "D8:20260307", "0")],
        # 100 = 60 + 20 + 20
        2: [line_2430((PRIMARY, "60", "HC:99213", "1", None),
                      [("CO", "45", "20", None), ("PR", "2", "20", None)], "D8:20260307", "20")],
    }


# ------------------------------------------------------------------------------------------------ 4


def test_04_denied_lines_co50_and_pr204(tmp_path: Path):
    """Line 2 denied CO-50 (full 60), line 3 denied PR-204 (full 40), beside a paid line with PR-3."""
    r = run(tmp_path, ["s04_denied_lines.837"], ["s04_denied_lines.835"])
    assert r.status("S04") == ("billed", "secondary_billed")
    claim = r.claim("S04")
    assert_first_submission(claim)
    # AMT*D = 70 + 0 + 0 = 70
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("70"), "amt_eaf": None, "cas": [],
        "payer_id": PRIMARY, "subscriber_id": "PRIM123", "ref_f8": "ICN0004", "dtp573": None}
    assert lines(claim) == {
        1: [line_2430((PRIMARY, "70", "HC:99213", "1", None),
                      [("CO", "45", "10", None), ("PR", "3", "20", None)], "D8:20260308", "20")],
        # the 835 has no SVC05 on the denied lines: SVD05 falls back to the billed units (2 and 1)
        2: [line_2430((PRIMARY, "0", "HC:97110", "2", None), [("CO", "50", "60", None)], "D8:20260308", "0")],
        3: [line_2430((PRIMARY, "0", "HC:97140", "1", None), [("PR", "204", "40", None)], "D8:20260308", "40")],
    }


# ------------------------------------------------------------------------------------------------ 5


def test_05_bundled_lines(tmp_path: Path):
    """82947 (20) and 84520 (15) bundled into 80048: the keeper is adjusted up by OA-94 -15, the
    absorbed line is paid 0 with CO-97 for its charge."""
    r = run(tmp_path, ["s05_bundled.837"], ["s05_bundled.835"])
    assert r.status("S05") == ("billed", "secondary_billed")
    claim = r.claim("S05")
    assert_first_submission(claim)
    # SV1 stays as billed
    assert [(line.sv1.procedure.code, line.sv1.charge) for line in claim.lines] == [("82947", D("20")),
                                                                                   ("84520", D("15"))]
    # AMT*D = 14 + 0 = 14
    assert summary_2320(other_payer(claim, "P"))["amt_d"] == D("14")
    assert lines(claim) == {
        # keeper: 20 = 14 + (-15) + 18 + 3
        1: [line_2430((PRIMARY, "14", "HC:80048", "1", None),
                      [("OA", "94", "-15", None), ("CO", "45", "18", None), ("PR", "2", "3", None)],
                      "D8:20260309", "3")],
        # absorbed: 15 = 0 + 15; SVD03 = the bundled code, SVD05 = 0, SVD06 = the keeper's LX01 (1)
        2: [line_2430((PRIMARY, "0", "HC:80048", "0", 1), [("CO", "97", "15", "1")], "D8:20260309", "0")],
    }


# ------------------------------------------------------------------------------------------------ 6


def test_06_split_claim_is_merged(tmp_path: Path):
    """Medicare split the claim into two CLPs (MOA MA15): 200 (line 1) and 80 (lines 2, 3)."""
    r = run(tmp_path, ["s06_split_claim.837"], ["s06_split_claim.835"])
    assert r.status("S06") == ("billed", "secondary_billed")
    claim = r.claim("S06")
    assert_first_submission(claim)
    assert len(claim.other_payers) == 1
    op = summary_2320(other_payer(claim, "P"))
    # AMT*D = 120 + 54 = 174 (CLP04 of both parts); the 2330B REF*F8 holds one ICN (max use 1):
    # the first part's
    assert op == {"sbr01": "P", "sbr02": "18", "amt_d": D("174"), "amt_eaf": None, "cas": [],
                  "payer_id": "04412", "subscriber_id": "1EG4TE5MK73", "ref_f8": "ICN0006A", "dtp573": None}
    assert lines(claim) == {
        1: [line_2430(("04412", "120", "HC:99214", "1", None),
                      [("CO", "45", "60", None), ("PR", "3", "20", None)], "D8:20260310", "20")],
        2: [line_2430(("04412", "30", "HC:87880", "1", None),
                      [("CO", "45", "10", None), ("PR", "2", "10", None)], "D8:20260310", "10")],
        3: [line_2430(("04412", "24", "HC:36415", "1", None), [("CO", "45", "6", None)], "D8:20260310", "0")],
    }


def test_06b_split_claim_with_one_part_missing_is_held(tmp_path: Path):
    r = run(tmp_path, ["s06_split_claim.837"], ["s06_split_claim_part1_only.835"])
    assert r.status("S06") == ("held", "adjudication_incomplete")
    assert r.outputs() == []


# ------------------------------------------------------------------------------------------------ 7


@pytest.mark.parametrize("order", ["in_date_order", "reverse_file_order"])
def test_07_reversal_and_correction_in_two_835s(tmp_path: Path, order: str):
    """835 #1 (2026-03-05) pays 110; 835 #2 (2026-03-20) reverses it (CLP02=22, all negated) and
    corrects it (CLP02=1, paid 125): only the correction feeds the secondary claim."""
    remits = ["s07_reversal_1_payment.835", "s07_reversal_2_correction.835"]
    if order == "reverse_file_order":
        remits.reverse()
    r = run(tmp_path, ["s07_reversal.837"], remits)
    assert r.status("S07") == ("billed", "secondary_billed")
    claim = r.claim("S07")
    assert_first_submission(claim)
    assert len(claim.other_payers) == 1
    # AMT*D = 105 + 20 = 125; the correction's ICN and payment date
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("125"), "amt_eaf": None, "cas": [],
        "payer_id": PRIMARY, "subscriber_id": "PRIM123", "ref_f8": "ICN7002", "dtp573": None}
    assert lines(claim) == {
        # 150 = 105 + 25 + 20
        1: [line_2430((PRIMARY, "105", "HC:99213", "1", None),
                      [("CO", "45", "25", None), ("PR", "3", "20", None)], "D8:20260320", "20")],
        # 50 = 20 + 30 (the first payment's PR-1 10 is gone)
        2: [line_2430((PRIMARY, "20", "HC:81002", "1", None), [("CO", "45", "30", None)], "D8:20260320", "0")],
    }


def test_07b_correction_listed_before_its_reversal_with_the_same_icn(tmp_path: Path):
    """835 #2 lists the correction (CLP02=1, paid 125) BEFORE the reversal (CLP02=22, -200/-110), and
    both carry the original's CLP07 ICN7001. The reversal's negated amounts (-200/-110) identify the
    original payment (200/110), not the correction (200/125): the correction must stand."""
    r = run(tmp_path, ["s07_reversal.837"], ["s07_reversal_1_payment.835", "s07b_correction_before_reversal.835"])
    assert r.status("S07") == ("billed", "secondary_billed")
    claim = r.claim("S07")
    assert summary_2320(other_payer(claim, "P"))["amt_d"] == D("125")
    assert lines(claim)[1] == [line_2430((PRIMARY, "105", "HC:99213", "1", None),
                                         [("CO", "45", "25", None), ("PR", "3", "20", None)], "D8:20260320", "20")]


def test_07c_reversal_without_correction_is_held(tmp_path: Path):
    """835 #2 only reverses the payment (money taken back with PLB WO): nothing stands to bill from."""
    r = run(tmp_path, ["s07_reversal.837"], ["s07_reversal_1_payment.835", "s07c_reversal_only.835"])
    assert r.status("S07") == ("held", "reversal_pending")
    assert r.outputs() == []


# ------------------------------------------------------------------------------------------------ 8, 9


def test_08_crossover_is_skipped(tmp_path: Path):
    r = run(tmp_path, ["s08_crossover.837"], ["s08_crossover.835"])
    assert r.status("S08") == ("skipped", "crossover_done")
    assert r.outcome("S08").output is None
    assert r.outputs() == []


def test_08b_crossover_to_a_later_payer_still_bills_the_secondary(tmp_path: Path):
    """The primary forwarded the claim (CLP02=19) to STATE MEDICAID 33333, which the original lists as
    the TERTIARY; the secondary 22222 was never billed and must be: claim to 22222 with the primary's
    adjudication and the tertiary kept as a plain 2320."""
    r = run(tmp_path, ["s08b_crossover_to_another_payer.837"], ["s08b_crossover_to_another_payer.835"])
    assert r.status("S08B") == ("billed", "secondary_billed")
    claim = r.claim("S08B")
    assert destination(claim)["payer_id"] == "22222"
    assert [op.sbr.payer_sequence.value for op in claim.other_payers] == ["P", "T"]
    assert summary_2320(other_payer(claim, "P"))["amt_d"] == D("150")
    assert summary_2320(other_payer(claim, "T"))["amt_d"] is None
    assert lines(claim) == {1: [line_2430((PRIMARY, "150", "HC:99214", "1", None),
                                          [("CO", "45", "30", None), ("PR", "2", "20", None)],
                                          "D8:20260311", "20")]}


def test_09_clp02_4_patient_not_identified(tmp_path: Path):
    r = run(tmp_path, ["s09_patient_not_identified.837"], ["s09_patient_not_identified.835"])
    assert r.status("S09") == ("held", "patient_not_identified")
    assert r.outputs() == []


# ------------------------------------------------------------------------------------------------ 10


def test_10_matching_without_6r_dropped_modifier_and_dates(tmp_path: Path):
    """No REF*6R anywhere. Line 1 billed HC:99213:25, adjudicated as HC:99213 (modifier dropped).
    Lines 2 and 3 are both 97110 for 40, on 02-10 and 02-11; the 835 lists 02-11 first."""
    r = run(tmp_path, ["s10_no_6r_matching.837"], ["s10_no_6r_matching.835"])
    assert r.status("S10") == ("billed", "secondary_billed")
    claim = r.claim("S10")
    assert [line.control_number for line in claim.lines] == [None, None, None]
    assert claim.lines[0].sv1.procedure.modifiers == ("25",)  # SV1 as billed
    # AMT*D = 80 + 25 + 30 = 135
    assert summary_2320(other_payer(claim, "P"))["amt_d"] == D("135")
    assert lines(claim) == {
        # SVD03 is the procedure as adjudicated (without the 25)
        1: [line_2430((PRIMARY, "80", "HC:99213", "1", None),
                      [("CO", "45", "20", None), ("PR", "3", "20", None)], "D8:20260314", "20")],
        # 02-10: 40 = 25 + 10 + 5
        2: [line_2430((PRIMARY, "25", "HC:97110", "1", None),
                      [("CO", "45", "10", None), ("PR", "2", "5", None)], "D8:20260314", "5")],
        # 02-11: 40 = 30 + 5 + 5
        3: [line_2430((PRIMARY, "30", "HC:97110", "1", None),
                      [("CO", "45", "5", None), ("PR", "2", "5", None)], "D8:20260314", "5")],
    }


# ------------------------------------------------------------------------------------------------ 11


def test_11a_patient_is_spouse_on_the_secondary_policy(tmp_path: Path):
    """Alex is the subscriber at the primary (SBR02=18) and the spouse (01) of Jordan, the subscriber
    of the secondary policy: the output grows a 2000C for Alex."""
    r = run(tmp_path, ["s11a_spouse_on_secondary.837"], ["s11a_spouse_on_secondary.835"])
    assert r.status("S11A") == ("billed", "secondary_billed")
    claim = r.claim("S11A")
    assert destination(claim) == {
        "sbr01": "S", "sbr02": None, "sbr03": "GRP300", "sbr05": None, "sbr09": "CI",
        "payer_id": "22222", "payer_name": "SECOND PAYER INC",
        "subscriber_id": "SPOUSE789", "subscriber_name": ("TESTER", "JORDAN")}
    assert claim.subscriber.subscriber.demographics is None  # Jordan is not the patient
    patient = claim.patient
    assert patient is not None and patient.pat.relationship == "01"
    qc = patient.name
    assert (qc.name.entity_id, qc.name.last_or_org_name, qc.name.first_name) == ("QC", "TESTER", "ALEX")
    assert qc.address.address1 == "1 ELM ST"
    assert (qc.location.city, qc.location.state, qc.location.postal_code) == ("SPRINGFIELD", "IL", "62701")
    assert (qc.demographics.birth_date.isoformat(), qc.demographics.gender) == ("1980-01-01", "F")
    # the primary 2320: Alex is the primary policy's subscriber
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("60"), "amt_eaf": None, "cas": [],
        "payer_id": PRIMARY, "subscriber_id": "PRIM123", "ref_f8": "ICN0011A", "dtp573": None}
    assert lines(claim) == {1: [line_2430((PRIMARY, "60", "HC:99213", "1", None),
                                          [("CO", "45", "20", None), ("PR", "3", "20", None)],
                                          "D8:20260315", "20")]}


def test_11b_child_on_primary_is_subscriber_on_secondary(tmp_path: Path):
    """Sam is a child (PAT*19) on Jordan's primary policy and the subscriber of the secondary policy:
    the output has no 2000C and Sam's address and demographics move to 2010BA."""
    r = run(tmp_path, ["s11b_child_subscriber_on_secondary.837"], ["s11b_child_subscriber_on_secondary.835"])
    assert r.status("S11B") == ("billed", "secondary_billed")
    claim = r.claim("S11B")
    assert claim.patient is None
    assert destination(claim) == {
        "sbr01": "S", "sbr02": "18", "sbr03": "GRP400", "sbr05": None, "sbr09": "CI",
        "payer_id": "22222", "payer_name": "SECOND PAYER INC",
        "subscriber_id": "SAMSEC1", "subscriber_name": ("TESTER", "SAM")}
    ba = claim.subscriber.subscriber
    assert ba.address.address1 == "5 OAK LN"
    assert (ba.location.city, ba.location.state, ba.location.postal_code) == ("SPRINGFIELD", "IL", "62702")
    assert (ba.demographics.birth_date.isoformat(), ba.demographics.gender) == ("2005-05-05", "M")
    # the primary 2320: Sam is Jordan's child
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "19", "amt_d": D("60"), "amt_eaf": None, "cas": [],
        "payer_id": PRIMARY, "subscriber_id": "PRIM789", "ref_f8": "ICN0011B", "dtp573": None}
    assert other_payer(claim, "P").subscriber.name.first_name == "JORDAN"


def test_11c_child_on_both_parents_policies(tmp_path: Path):
    """Kai is a child (PAT*19) on Morgan's primary policy and on Drew's secondary policy (2320 SBR02=19):
    the 2000C stays, under Drew."""
    r = run(tmp_path, ["s11c_child_on_both_parents.837"], ["s11c_child_on_both_parents.835"])
    assert r.status("S11C") == ("billed", "secondary_billed")
    claim = r.claim("S11C")
    assert destination(claim) == {
        "sbr01": "S", "sbr02": None, "sbr03": "GRP200", "sbr05": None, "sbr09": "CI",
        "payer_id": "22222", "payer_name": "SECOND PAYER INC",
        "subscriber_id": "DAD222", "subscriber_name": ("PARENT", "DREW")}
    ba = claim.subscriber.subscriber
    assert ba.address.address1 == "40 RIVER RD" and ba.demographics is None
    assert claim.patient.pat.relationship == "19"
    qc = claim.patient.name
    assert (qc.name.last_or_org_name, qc.name.first_name, qc.address.address1) == ("PARENT", "KAI", "9 MAPLE ST")
    assert (qc.demographics.birth_date.isoformat(), qc.demographics.gender) == ("2015-07-07", "F")
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "19", "amt_d": D("60"), "amt_eaf": None, "cas": [],
        "payer_id": PRIMARY, "subscriber_id": "MOM111", "ref_f8": "ICN0011C", "dtp573": None}


# ------------------------------------------------------------------------------------------------ 12


def test_12_medicare_secondary_payer(tmp_path: Path):
    """Employer plan primary, Medicare Part B secondary (original 2320 SBR*S*18***12****MB)."""
    r = run(tmp_path, ["s12_medicare_secondary.837"], ["s12_medicare_secondary.835"])
    assert r.status("S12") == ("billed", "secondary_billed")
    claim = r.claim("S12")
    assert destination(claim) == {
        "sbr01": "S", "sbr02": "18", "sbr03": None, "sbr05": "12", "sbr09": "MB",
        "payer_id": "04412", "payer_name": "MEDICARE PART B",
        "subscriber_id": "1EG4TE5MK73", "subscriber_name": ("ELDER", "PAT")}
    primary = other_payer(claim, "P")
    assert primary.sbr.insurance_type is None  # the employer plan is not Medicare
    assert primary.sbr.filing_indicator.value == "CI"
    assert summary_2320(primary) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("80"), "amt_eaf": None, "cas": [],
        "payer_id": PRIMARY, "subscriber_id": "EMP7788", "ref_f8": "ICN0012", "dtp573": None}
    # the original's 1000B named the payer it billed (the employer plan): now it names Medicare
    receiver = claim.header.receiver.name
    assert (receiver.last_or_org_name, receiver.id) == ("MEDICARE PART B", "04412")
    # MSP claims need the primary's paid date: on the 2430
    assert lines(claim) == {1: [line_2430((PRIMARY, "80", "HC:99214", "1", None),
                                          [("CO", "45", "40", None), ("PR", "1", "30", None)],
                                          "D8:20260317", "30")]}


# ------------------------------------------------------------------------------------------------ 13


def test_13_tertiary_claim_and_nothing_left(tmp_path: Path):
    """Primary (835 says REF*2U PRIMPLAN) pays 120, secondary (835 says REF*2U SECPAYX, CLP02=2,
    OA-23 for the primary's impact) pays 25 and leaves PR-2 15 -> tertiary claim to 33333.
    S13B: the secondary pays everything that was left -> nothing to bill the tertiary."""
    r = run(tmp_path, ["s13_tertiary.837"], ["s13_tertiary_primary.835", "s13_tertiary_secondary.835"])
    assert r.status("S13") == ("billed", "tertiary_billed")
    assert r.status("S13B") == ("skipped", "nothing_left_to_bill")
    assert r.outcome("S13B").output is None
    claim = r.claim("S13")
    assert_first_submission(claim)
    assert destination(claim) == {
        "sbr01": "T", "sbr02": "18", "sbr03": None, "sbr05": None, "sbr09": "MC",
        "payer_id": "33333", "payer_name": "STATE MEDICAID",
        "subscriber_id": "MCD000111", "subscriber_name": ("TESTER", "ALEX")}
    assert [op.sbr.payer_sequence.value for op in claim.other_payers] == ["P", "S"]
    # primary: AMT*D = 90 + 30 = 120; secondary: AMT*D = 20 + 5 = 25. Each balanced on its own.
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("120"), "amt_eaf": None, "cas": [],
        "payer_id": "11111", "subscriber_id": "PRIM123", "ref_f8": "PICN13", "dtp573": None}
    assert summary_2320(other_payer(claim, "S")) == {
        "sbr01": "S", "sbr02": "18", "amt_d": D("25"), "amt_eaf": None, "cas": [],
        "payer_id": "22222", "subscriber_id": "SEC456", "ref_f8": "SICN13", "dtp573": None}
    assert lines(claim) == {
        1: [
            # primary: 150 = 90 + 30 + 30
            line_2430(("11111", "90", "HC:99214", "1", None),
                      [("CO", "45", "30", None), ("PR", "2", "30", None)], "D8:20260310", "30"),
            # secondary: 150 = 20 + 120 + 10; EAF = the secondary's own PR
            line_2430(("22222", "20", "HC:99214", "1", None),
                      [("OA", "23", "120", None), ("PR", "2", "10", None)], "D8:20260325", "10"),
        ],
        2: [
            line_2430(("11111", "30", "HC:36415", "1", None),
                      [("CO", "45", "10", None), ("PR", "2", "10", None)], "D8:20260310", "10"),
            line_2430(("22222", "5", "HC:36415", "1", None),
                      [("OA", "23", "40", None), ("PR", "2", "5", None)], "D8:20260325", "5"),
        ],
    }
    assert_only_outputs(r, "33333-000000001.837")


# ------------------------------------------------------------------------------------------------ 14


def test_14a_no_other_payer_and_no_roster(tmp_path: Path):
    r = run(tmp_path, ["s14_no_other_payer.837"], ["s14_no_other_payer.835"])
    assert r.status("S14") == ("skipped", "no_further_coverage")
    assert r.outputs() == []


def test_14b_roster_names_the_secondary(tmp_path: Path):
    r = run(tmp_path, ["s14_no_other_payer.837"], ["s14_no_other_payer.835"], coverage="s14_roster.json")
    assert any(i.kind == "roster" and i.status == "ok" for i in r.report.inputs)
    assert r.status("S14") == ("billed", "secondary_billed")
    claim = r.claim("S14")
    assert_first_submission(claim)
    assert destination(claim) == {
        "sbr01": "S", "sbr02": "18", "sbr03": "GRP500", "sbr05": None, "sbr09": "CI",
        "payer_id": "44444", "payer_name": "ROSTER MUTUAL",
        "subscriber_id": "RST555", "subscriber_name": ("TESTER", "ALEX")}
    # the patient is the roster policy's subscriber (18): 2010BA carries the patient's DMG
    assert claim.subscriber.subscriber.demographics.gender == "F"
    assert claim.patient is None
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("60"), "amt_eaf": None, "cas": [],
        "payer_id": PRIMARY, "subscriber_id": "PRIM123", "ref_f8": "ICN0014", "dtp573": None}
    assert lines(claim) == {1: [line_2430((PRIMARY, "60", "HC:99213", "1", None),
                                          [("CO", "45", "20", None), ("PR", "3", "20", None)],
                                          "D8:20260318", "20")]}
    assert_only_outputs(r, "44444-000000001.837")


# ------------------------------------------------------------------------------------------------ 15, 16


def test_15_no_835_for_claim_and_835_for_no_claim(tmp_path: Path):
    r = run(tmp_path, ["s15_unmatched.837"], ["s15_unmatched.835"])
    assert r.status("S15A") == ("held", "awaiting_remittance")
    assert r.status("S15X") == ("held", "original_claim_missing")
    assert r.outcome("S15X").detail == ("received: an 835 payment with this CLP01; missing: the original claim "
                                        "(837P or 837I) with this CLM01 (none of the claim files given carries it)")
    assert r.outcome("S15A").detail.startswith("received: no 835 payment with CLP01 S15A; missing: the remittance of "
                                               "payer ")
    assert r.outputs() == []


def test_16_carc_22_other_payer_primary(tmp_path: Path):
    r = run(tmp_path, ["s16_other_payer_primary.837"], ["s16_other_payer_primary.835"])
    assert r.status("S16") == ("held", "other_payer_primary")
    assert r.outputs() == []


# ------------------------------------------------------------------------------------------------ 17


def _copy(tmp_path: Path, *names: str) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    out = []
    for name in names:
        shutil.copyfile(data(name), folder / name)
        out.append(folder / name)
    return out


def test_17_malformed_835_is_reported_and_the_rest_processed(tmp_path: Path):
    """The bad 835's SE (segment 21 of the file) says 25 segments; the set has 19."""
    claims, good, bad = _copy(tmp_path, "s17_malformed_remit.837", "s17_malformed_remit_good.835",
                              "s17_malformed_remit_bad.835")
    before = {p.name: p.read_bytes() for p in (claims, good, bad)}
    r = run(tmp_path, [claims], [good, bad])
    by_file = {Path(i.file).name: i for i in r.report.inputs}
    assert by_file["s17_malformed_remit_bad.835"].status == "error"
    assert by_file["s17_malformed_remit_bad.835"].kind == "835"
    assert "segment 21" in by_file["s17_malformed_remit_bad.835"].error
    assert by_file["s17_malformed_remit_good.835"].status == "ok"
    assert by_file["s17_malformed_remit.837"].status == "ok"
    # inputs untouched, nothing written beside them
    assert {p.name: p.read_bytes() for p in (claims, good, bad)} == before
    assert sorted(p.name for p in claims.parent.iterdir()) == sorted(before)
    # the claim answered by the good 835 is billed; the other one has no usable 835
    assert r.status("S17A") == ("billed", "secondary_billed")
    assert r.status("S17B") == ("held", "awaiting_remittance")
    claim = r.claim("S17A")
    assert summary_2320(other_payer(claim, "P"))["amt_d"] == D("60")
    assert_only_outputs(r, "22222-000000001.837")


def test_17_cli_exit_code_1_for_a_malformed_835(tmp_path: Path):
    claims, good, bad = _copy(tmp_path, "s17_malformed_remit.837", "s17_malformed_remit_good.835",
                              "s17_malformed_remit_bad.835")
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = CliRunner().invoke(main, ["secondary", "--claims", str(claims), "--remit", str(good),
                                       "--remit", str(bad), "--out", str(out), "--report", str(report)])
    assert result.exit_code == 1, result.output
    doc = json.loads(report.read_text())
    errors = [i for i in doc["inputs"] if i["status"] == "error"]
    assert [Path(i["file"]).name for i in errors] == ["s17_malformed_remit_bad.835"]
    assert "segment 21" in errors[0]["error"]
    assert {c["claim_id"]: (c["status"], c["reason"]) for c in doc["claims"]} == {
        "S17A": ("billed", "secondary_billed"), "S17B": ("held", "awaiting_remittance")}
    assert sorted(p.name for p in out.iterdir()) == [".cob-control.json", "22222-000000001.837"]


# ------------------------------------------------------------------------------------------------ 18


def _isa13(path: Path) -> tuple[str, str]:
    text = path.read_text()
    segments = [s.strip() for s in text.split(text[105]) if s.strip()]
    isa, iea = segments[0].split(text[3]), segments[-1].split(text[3])
    assert isa[0] == "ISA" and iea[0] == "IEA"
    return isa[13], iea[2]


def test_18_output_naming_and_control_start(tmp_path: Path):
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = CliRunner().invoke(main, ["secondary", "--claims", str(data("s18_output_naming.837")),
                                       "--remit", str(data("s18_output_naming.835")), "--out", str(out),
                                       "--report", str(report), "--control-start", "1001"])
    assert result.exit_code == 0, result.output
    # one interchange per destination payer, in claim order: S18A -> 22222, S18B -> 55555;
    # nothing else (no spool or temp file) in the folder
    assert sorted(p.name for p in out.iterdir()) == [".cob-control.json", "22222-000001001.837",
                                                     "55555-000001002.837"]
    assert _isa13(out / "22222-000001001.837") == ("000001001", "000001001")
    assert _isa13(out / "55555-000001002.837") == ("000001002", "000001002")
    for path in out.glob("*.837"):
        assert_valid_x12(path)
    doc = json.loads(report.read_text())
    assert {c["claim_id"]: (c["status"], c["reason"], Path(c["output"]).name) for c in doc["claims"]} == {
        "S18A": ("billed", "secondary_billed", "22222-000001001.837"),
        "S18B": ("billed", "secondary_billed", "55555-000001002.837")}
    (a,) = read_claims(out / "22222-000001001.837")
    (b,) = read_claims(out / "55555-000001002.837")
    assert (a.claim_id, a.payer.name.id) == ("S18A", "22222")
    assert (b.claim_id, b.payer.name.id) == ("S18B", "55555")


# ------------------------------------------------------------------------------------------------ more


def test_19_claim_level_only_adjudication(tmp_path: Path):
    """The primary answered without 2110 loops (CO-45 30 and PR-1 30 at claim level): no 2430 at all,
    DTP*573 in 2330B and AMT*EAF in 2320 (§1.9 rule 5: 150 = 90 + 30 + 30). Without lines the 835 dates
    the claim with DTM*232/233 (the TR3 requires them then; issue 14 bills no payment without dates)."""
    r = run(tmp_path, ["s19_claim_level_only.837"], ["s19_claim_level_only.835"])
    assert r.status("S19") == ("billed", "secondary_billed")
    claim = r.claim("S19")
    assert_first_submission(claim)
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("90"), "amt_eaf": D("30"),
        "cas": [("CO", "45", D("30"), None), ("PR", "1", D("30"), None)],
        "payer_id": PRIMARY, "subscriber_id": "PRIM123", "ref_f8": "ICN0019", "dtp573": "D8:20260324"}
    assert lines(claim) == {1: [], 2: []}


def test_20_corrected_insured_from_nm1_74(tmp_path: Path):
    """The 835 corrects the insured (NM1*74 TESTER ALEXANDRA, id PRIM12301): 2330A carries the correction."""
    r = run(tmp_path, ["s20_corrected_insured.837"], ["s20_corrected_insured.835"])
    assert r.status("S20") == ("billed", "secondary_billed")
    claim = r.claim("S20")
    sub = other_payer(claim, "P").subscriber.name
    assert (sub.entity_id, sub.last_or_org_name, sub.first_name, sub.id_qualifier, sub.id) == (
        "IL", "TESTER", "ALEXANDRA", "MI", "PRIM12301")
    # the destination's subscriber is untouched
    assert destination(claim)["subscriber_id"] == "SEC456"


def test_21_secondary_policy_with_the_same_payer_as_the_primary(tmp_path: Path):
    """Alex has the primary policy at payer 11111 (PRIM123) and is the spouse on Jordan's policy at the
    SAME payer 11111 (SPOUSE789). The secondary claim goes to 11111 again, with a 2320 for the primary
    policy naming 11111: a different policy of the same payer, not the destination itself."""
    r = run(tmp_path, ["s21_same_payer_both_policies.837"], ["s21_same_payer_both_policies.835"])
    assert r.status("S21") == ("billed", "secondary_billed")
    claim = r.claim("S21")
    assert destination(claim)["payer_id"] == "11111"
    assert destination(claim)["subscriber_id"] == "SPOUSE789"
    assert summary_2320(other_payer(claim, "P")) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("60"), "amt_eaf": None, "cas": [],
        "payer_id": "11111", "subscriber_id": "PRIM123", "ref_f8": "ICN0021", "dtp573": None}
    assert_only_outputs(r, "11111-000000001.837")


def test_22_two_payers_both_answer_as_primary_is_held(tmp_path: Path):
    """PRIMARY PLAN (REF*2U PRIMPLAN, ICN0022, 2026-03-27) pays 60 as primary; SECOND PAYER (REF*2U
    SECPAYX, SICN0022, 2026-03-29) ALSO answers CLP02=1 and pays 70, not knowing the other coverage.
    The order of benefits is broken: a person must look. Billing 22222 (which already paid) with a
    2320 saying PRIMARY PLAN 11111 paid 70 under ICN SICN0022 is wrong on every count."""
    r = run(tmp_path, ["s22_two_payers_both_answer_as_primary.837"],
            ["s22_two_payers_both_answer_as_primary_1.835", "s22_two_payers_both_answer_as_primary_2.835"])
    assert r.outcome("S22").status.value == "held"
    assert r.outputs() == []


# ------------------------------------------------------------------------------------------------ inputs


INPUTS = sorted(p.name for p in DATA.glob("*.83[57]") if p.name != "s17_malformed_remit_bad.835")


@pytest.mark.parametrize("name", INPUTS)
def test_scenario_input_is_valid_and_balanced(name: str):
    """Guard for the hand-written data: every input passes pyx12 (except the deliberately malformed
    835) and every 835 balances (line, claim and BPR rules, §2.5), by an independent tiny parser."""
    path = DATA / name
    assert_valid_x12(path)
    if path.suffix == ".835":
        _assert_835_balances(path)


def _assert_835_balances(path: Path) -> None:
    segments = [s.strip().split("*") for s in path.read_text().split("~") if s.strip()]
    money = lambda v: Decimal(v) if v else Decimal(0)  # noqa: E731
    bpr = next(s for s in segments if s[0] == "BPR")
    claims: list[dict] = []
    where = None
    for seg in segments:
        if seg[0] == "CLP":
            claims.append({"charge": money(seg[3]), "paid": money(seg[4]), "cas": Decimal(0), "svc": []})
            where = "claim"
        elif seg[0] == "SVC":
            claims[-1]["svc"].append({"charge": money(seg[2]), "paid": money(seg[3]), "cas": Decimal(0)})
            where = "line"
        elif seg[0] == "CAS":
            total = sum((money(seg[i]) for i in range(3, len(seg), 3)), Decimal(0))
            (claims[-1] if where == "claim" else claims[-1]["svc"][-1])["cas"] += total
    for c in claims:
        for s in c["svc"]:
            assert s["charge"] - s["cas"] == s["paid"], f"{path.name}: line does not balance: {s}"
        line_cas = sum((s["cas"] for s in c["svc"]), Decimal(0))
        assert c["charge"] - c["cas"] - line_cas == c["paid"], f"{path.name}: claim does not balance: {c}"
    plb = sum((money(s[i]) for s in segments if s[0] == "PLB" for i in range(4, len(s), 2)), Decimal(0))
    assert money(bpr[2]) == sum((c["paid"] for c in claims), Decimal(0)) - plb, f"{path.name}: BPR02"
