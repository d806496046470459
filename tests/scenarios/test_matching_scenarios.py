"""Issue 14: never bill the wrong visit. Claim matching, duplicate payments and splits, end to end.

Inputs are hand-written (`x12_text.py`: one-line 97110 visits to primary 11111, secondary 22222; the 835
pays each line as charge = paid + CO 45 + PR 2). Every expected value below is written out by hand.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cob.edi.reader import read_claims
from scenario_helpers import NOW, D, assert_valid_x12
from x12_text import NPI_A, NPI_B, Payment, Visit, claim_file, remit_file, write

from cob.billing.secondary import SecondaryOptions, run_secondary

WEEKLY = [Visit("ACCT77", "20260302", "120"), Visit("ACCT77", "20260309", "120"), Visit("ACCT77", "20260316", "120")]


def secondary(tmp_path: Path, claims: list[Path], remits: list[Path]):
    out = tmp_path / "out"
    report = run_secondary(claims, remits, SecondaryOptions(out_dir=out, now=NOW))
    for path in out.iterdir():
        assert_valid_x12(path)
    return report


def written(report) -> dict[str, tuple]:
    """Every claim in the output files, by its line's service date: (AMT*D, 2330B REF*F8, SVD02)."""
    out = {}
    for output in sorted({c.output for c in report.claims if c.output}):
        for claim in read_claims(Path(output)):
            op = claim.other_payers[0]
            out[claim.lines[0].service_date.value] = (op.paid_amount, op.payer.ref("F8"),
                                                      claim.lines[0].adjudications[0].svd.paid)
    return out


def test_weekly_sessions_with_one_claim_id_and_one_fee_each_get_their_own_payment(tmp_path: Path):
    """Three weekly visits billed as ACCT77 at 120; the 835 pays the first two (ICNW1 for 03-02, ICNW2 for
    03-09): each is billed with its own adjudication, the third waits."""
    claims = write(tmp_path / "in/claims.837", claim_file(WEEKLY))
    era = write(tmp_path / "in/era.835", remit_file([
        Payment("ACCT77", "ICNW2", "20260309", "120", "70", "20", "30"),  # the second visit first
        Payment("ACCT77", "ICNW1", "20260302", "120", "80", "20", "20")]))
    report = secondary(tmp_path, [claims], [era])
    assert [(c.status.value, c.reason, c.original.rsplit("/", 1)[-1]) for c in report.claims] == [
        ("billed", "secondary_billed", "claims.837 segment 21"),
        ("billed", "secondary_billed", "claims.837 segment 37"),
        ("held", "awaiting_remittance", "claims.837 segment 53")]
    assert written(report) == {"20260302": (D("80"), "ICNW1", D("80")), "20260309": (D("70"), "ICNW2", D("70"))}
    assert "missing: the payment for this claim" in report.claims[2].detail


def test_two_visits_the_835_cannot_tell_apart_are_both_held(tmp_path: Path):
    """The payer sent no service dates: the payment fits both 120 visits equally (same lines too)."""
    claims = write(tmp_path / "in/claims.837", claim_file(WEEKLY[:2]))
    era = write(tmp_path / "in/era.835", remit_file([Payment("ACCT77", "ICNW1", None, "120", "80", "20", "20")]))
    report = secondary(tmp_path, [claims], [era])
    assert [(c.status.value, c.reason) for c in report.claims] == [("held", "ambiguous_claim_match")] * 2
    # the payment's CLP is segment 14 of era.835 (ISA GS ST BPR TRN DTM N1 N3 N4 REF PER N1 LX CLP)
    assert f"the payment in {era} segment 14 (payer PRIMPLAN, CLP07 ICNW1) fits the claims at " \
           f"{claims} segment 21, {claims} segment 37 equally" in report.claims[0].detail
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_the_same_835_twice_and_renamed_is_one_payment(tmp_path: Path):
    claims = write(tmp_path / "in/claims.837", claim_file([Visit("P547", "20260302", "547.95")]))
    text = remit_file([Payment("P547", "ICN547", "20260302", "547.95", "400", "100", "47.95")])
    era = write(tmp_path / "in/era.835", text)
    copy = write(tmp_path / "in/era-resent.835", text)
    report = secondary(tmp_path, [claims], [era, copy])
    [outcome] = report.claims
    assert (outcome.status.value, outcome.reason) == ("billed", "secondary_billed")
    assert outcome.warnings == [f"duplicate payment ignored: {copy} segment 14 repeats {era} segment 14 "
                                "(payer PRIMPLAN, CLP07 ICN547, same amounts)"]
    [claim] = read_claims(Path(outcome.output))
    assert claim.other_payers[0].paid_amount == D("400")  # not 800


def test_a_regenerated_era_with_a_new_envelope_is_one_payment(tmp_path: Path):
    claims = write(tmp_path / "in/claims.837", claim_file([Visit("P426", "20260302", "426.9")]))
    payment = Payment("P426", "ICN426", "20260302", "426.9", "300", "100", "26.9")
    first = write(tmp_path / "in/era.835", remit_file([payment]))
    again = write(tmp_path / "in/era-regenerated.835", remit_file([payment], isa13="000000977", check="CHK0977",
                                                                 paid_on="20260412"))
    report = secondary(tmp_path, [claims], [first, again])
    [outcome] = report.claims
    assert (outcome.status.value, outcome.reason) == ("billed", "secondary_billed")
    assert outcome.warnings == [f"duplicate payment ignored: {again} segment 14 repeats {first} segment 14 "
                                "(payer PRIMPLAN, CLP07 ICN426, same amounts)"]
    [claim] = read_claims(Path(outcome.output))
    assert claim.other_payers[0].paid_amount == D("300")


def test_a_split_without_ma15_is_merged(tmp_path: Path):
    """Claim S2 (97110 120 + 97140 80 = 200) answered as two CLPs, ICNS1 (120) and ICNS2 (80), no MOA."""
    visit = Visit("S2", "20260302", "200", lines=(("97110", "120"), ("97140", "80")))
    claims = write(tmp_path / "in/claims.837", claim_file([visit]))
    era = write(tmp_path / "in/era.835", remit_file([
        Payment("S2", "ICNS1", "20260302", "120", "80", "20", "20"),
        Payment("S2", "ICNS2", "20260302", "80", "50", "20", "10",
                services=(("97140", "80", "50", "20", "10"),))]))
    report = secondary(tmp_path, [claims], [era])
    [outcome] = report.claims
    assert (outcome.status.value, outcome.reason) == ("billed", "secondary_billed")
    [claim] = read_claims(Path(outcome.output))
    assert claim.other_payers[0].paid_amount == D("130")  # 80 + 50
    assert [(a.svd.paid, [(c.group.value, c.reason1, c.amount1) for c in a.adjustments])
            for line in claim.lines for a in line.adjudications] == [
        (D("80"), [("CO", "45", D("20")), ("PR", "2", D("20"))]),
        (D("50"), [("CO", "45", D("20")), ("PR", "2", D("10"))])]


def test_a_split_with_ma15_whose_part_is_missing_waits(tmp_path: Path):
    visit = Visit("S3", "20260302", "200", lines=(("97110", "120"), ("97140", "80")))
    claims = write(tmp_path / "in/claims.837", claim_file([visit]))
    era = write(tmp_path / "in/era.835", remit_file([
        Payment("S3", "ICNS1", "20260302", "120", "80", "20", "20", remark="MA15")]))
    report = secondary(tmp_path, [claims], [era])
    assert [(c.status.value, c.reason) for c in report.claims] == [("held", "adjudication_incomplete")]


def test_two_practices_with_one_claim_id_each_get_their_own_835(tmp_path: Path):
    """Practices A and B (one billing company) both number a claim V100; the 835 pays practice A only."""
    a = write(tmp_path / "in/a.837", claim_file([Visit("V100", "20260302", "120")], npi=NPI_A))
    b = write(tmp_path / "in/b.837", claim_file([Visit("V100", "20260302", "120", last="OTHER", first="SAM",
                                                       member="PRIM999")], npi=NPI_B, isa13="000000102"))
    era = write(tmp_path / "in/era-a.835", remit_file([Payment("V100", "ICNA", "20260302", "120", "80", "20", "20")],
                                                      payee_npi=NPI_A))
    report = secondary(tmp_path, [a, b], [era])
    assert [(c.status.value, c.reason, c.original.rsplit("/", 1)[-1]) for c in report.claims] == [
        ("billed", "secondary_billed", "a.837 segment 21"),
        ("held", "awaiting_remittance", "b.837 segment 21")]


def test_a_payment_to_another_provider_is_not_used(tmp_path: Path):
    """One claim V200 of practice A; the only 835 with CLP01 V200 pays practice B: nothing matches."""
    a = write(tmp_path / "in/a.837", claim_file([Visit("V200", "20260302", "120")], npi=NPI_A))
    era = write(tmp_path / "in/era-b.835", remit_file([Payment("V200", "ICNB", "20260302", "120", "80", "20", "20")],
                                                      payee_npi=NPI_B))
    report = secondary(tmp_path, [a], [era])
    [outcome] = report.claims
    assert (outcome.status.value, outcome.reason) == ("held", "claim_mismatch")
    assert outcome.detail == (
        f"received an 835 payment with this CLP01 that does not match the claim: {era} segment 14 (payer PRIMPLAN, "
        f"CLP07 ICNB, charge 120): it pays provider {NPI_B} (N1*PE/REF*TJ), the claim's billing provider is "
        f"{NPI_A}; missing: a payment for this claim's visit")


def test_a_payment_for_a_visit_whose_claim_was_not_given_is_reported(tmp_path: Path):
    claims = write(tmp_path / "in/claims.837", claim_file(WEEKLY[:1]))
    era = write(tmp_path / "in/era.835", remit_file([
        Payment("ACCT77", "ICNW1", "20260302", "120", "80", "20", "20"),
        Payment("ACCT77", "ICNW9", "20260330", "120", "80", "20", "20")]))
    report = secondary(tmp_path, [claims], [era])
    assert [(c.status.value, c.reason) for c in report.claims] == [
        ("billed", "secondary_billed"), ("held", "original_claim_missing")]
    assert report.claims[1].detail.startswith(f"the payment in {era} segment 20 (payer PRIMPLAN, CLP07 ICNW9) "
                                              "matches none of the 1 claim(s) with this CLM01 (its service dates")


def test_a_charge_twice_the_claim_is_held_saying_what_came(tmp_path: Path):
    claims = write(tmp_path / "in/claims.837", claim_file([Visit("P547", "20260302", "547.95")]))
    era = write(tmp_path / "in/era.835", remit_file([Payment("P547", "ICN547", "20260302", "1095.9", "800", "200",
                                                             "95.9")]))
    report = secondary(tmp_path, [claims], [era])
    [outcome] = report.claims
    assert (outcome.status.value, outcome.reason) == ("held", "claim_mismatch")
    assert "its charge CLP03 1095.9 exceeds the claim's CLM02 547.95" in outcome.detail


# ------------------------------------------------------------------------------------- wrong-level answers

def _wrong_level(tmp_path: Path, payment: Payment, payer: tuple[str, str] = ("PRIMARY PLAN", "PRIMPLAN")):
    claims = write(tmp_path / "in/claims.837", claim_file([Visit("L1", "20260302", "120")]))
    era = write(tmp_path / "in/era.835", remit_file([payment], payer=payer))
    [outcome] = secondary(tmp_path, [claims], [era]).claims
    return outcome, era


def test_the_primary_answering_as_secondary_is_an_order_of_benefits_hold(tmp_path: Path):
    outcome, era = _wrong_level(tmp_path, Payment("L1", "ICNL1", "20260302", "120", "80", "20", "20", status="2"))
    assert (outcome.status.value, outcome.reason) == ("held", "order_of_benefits_answer")
    assert outcome.detail == (
        f"payer 11111 was billed as primary (level 1) and answered CLP02=2 (processed as secondary) in {era}; "
        "received: its answer as secondary; missing: its answer as primary, or a corrected order of payers on the claim")


def test_the_primary_answering_as_tertiary_is_an_order_of_benefits_hold(tmp_path: Path):
    outcome, era = _wrong_level(tmp_path, Payment("L1", "ICNL1", "20260302", "120", "80", "20", "20", status="3"))
    assert (outcome.status.value, outcome.reason) == ("held", "order_of_benefits_answer")
    assert outcome.detail.startswith("payer 11111 was billed as primary (level 1) and answered CLP02=3 "
                                     "(processed as tertiary)")


def test_the_secondary_answering_as_primary_is_an_order_of_benefits_hold(tmp_path: Path):
    """The 835 comes from SECOND PAYER INC (the claim's 2330B, level 2) with CLP02=1."""
    outcome, era = _wrong_level(tmp_path, Payment("L1", "ICNL1", "20260302", "120", "80", "20", "20", status="1"),
                                payer=("SECOND PAYER INC", "SECPAY"))
    assert (outcome.status.value, outcome.reason) == ("held", "order_of_benefits_answer")
    assert outcome.detail.startswith("payer 22222 was billed as secondary (level 2) and answered CLP02=1 "
                                     "(processed as primary)")


def test_a_crossover_to_a_payer_the_claim_does_not_list_is_an_order_of_benefits_hold(tmp_path: Path):
    outcome, era = _wrong_level(tmp_path, Payment("L1", "ICNL1", "20260302", "120", "80", "20", "20", status="19",
                                                  crossover=("MEDIGAP ONE", "77777")))
    assert (outcome.status.value, outcome.reason) == ("held", "order_of_benefits_answer")
    assert outcome.detail.startswith("payer 11111 answered CLP02=19 (processed as primary, forwarded) and forwarded "
                                     "the claim to payer 77777 (NM1*TT), which the claim does not list; received: "
                                     "the crossover notice; missing: whether that payer is the next one (22222)")


def test_a_payer_that_paid_before_the_primary_answered_names_what_is_missing(tmp_path: Path):
    """Only the secondary's 835 (CLP02=2) came: received at level 2, missing the primary's remittance."""
    outcome, era = _wrong_level(tmp_path, Payment("L1", "ICNL1", "20260302", "120", "0", "120", "0", status="2"),
                                payer=("SECOND PAYER INC", "SECPAY"))
    assert (outcome.status.value, outcome.reason) == ("held", "adjudication_incomplete")
    assert outcome.detail == ("received: payer 22222's answer at level 2 (secondary); missing: the remittance of "
                              "payer 11111 (level 1, primary), which pays before it")


# ------------------------------------------------------------------------------------- AMT*EAF (RFIs 1391/1517)

def test_claim_level_pr_with_line_data_is_warned_with_its_amount(tmp_path: Path):
    """The primary put a claim-level deductible PR 1 of 15 beside its line data: charge 120 = line paid 80 + line
    CO 45 20 + line PR 2 20, and the claim-level PR 15 lowers CLP04 to 65 (65 = 80 - 15)."""
    claims = write(tmp_path / "in/claims.837", claim_file([Visit("E1", "20260302", "120")]))
    text = remit_file([Payment("E1", "ICNE1", "20260302", "120", "65", "20", "20",
                               services=(("97110", "120", "80", "20", "20"),))])
    text = text.replace("CLP*E1*1*120*65*20*", "CLP*E1*1*120*65*35*").replace(
        "NM1*QC*1*TESTER*ALEX****MI*PRIM123~\n", "CAS*PR*1*15~\nNM1*QC*1*TESTER*ALEX****MI*PRIM123~\n")
    text = text.replace("SE*18*0001", "SE*19*0001")
    era = write(tmp_path / "in/era.835", text)
    [outcome] = secondary(tmp_path, [claims], [era]).claims
    assert (outcome.status.value, outcome.reason) == ("billed", "secondary_billed")
    assert outcome.warnings == [
        "payer 11111's claim-level patient responsibility 15 (2320 CAS PR) could not be carried on a line: with line "
        "data the remaining liability is reported per line (2430 AMT*EAF, RFIs 1391/1517, never at both levels), "
        "so no AMT*EAF includes it"]
    [claim] = read_claims(Path(outcome.output))
    op = claim.other_payers[0]
    assert op.paid_amount == D("65") and op.remaining_patient_liability is None  # no 2320 AMT*EAF
    assert [(c.group.value, c.reason1, c.amount1) for c in op.adjustments] == [("PR", "1", D("15"))]
    assert [a.remaining_patient_liability for a in claim.lines[0].adjudications] == [D("20")]  # line PR only


def test_a_payment_without_service_dates_is_never_billed_from(tmp_path: Path):
    """One claim, one payment that names no date (no DTM*232/233, no DTM*472): it may be another visit's
    (the CLM01 is reused), so the claim is held saying so."""
    claims = write(tmp_path / "in/claims.837", claim_file([Visit("U1", "20260302", "120")]))
    era = write(tmp_path / "in/era.835", remit_file([Payment("U1", "ICNU", None, "120", "80", "20", "20")]))
    [outcome] = secondary(tmp_path, [claims], [era]).claims
    assert (outcome.status.value, outcome.reason) == ("held", "claim_mismatch")
    assert outcome.detail == (f"received a payment with this CLP01 that gives no service dates: {era} segment 14 "
                              "(payer PRIMPLAN, CLP07 ICNU); missing: its service dates (DTM*232/233 or DTM*472), "
                              "which confirm the visit it pays")
    assert outcome.output is None


# ------------------------------------------------------------------------------------- every hold: received, missing

def test_a_line_charge_the_payer_changed_says_what_came_and_what_is_missing(tmp_path: Path):
    """Claim T1: 97110 120 + 97140 80 = 200; the payer adjudicated 97110 at 110 and 97140 at 90 (still 200)."""
    visit = Visit("T1", "20260302", "200", lines=(("97110", "120"), ("97140", "80")))
    claims = write(tmp_path / "in/claims.837", claim_file([visit]))
    era = write(tmp_path / "in/era.835", remit_file([Payment(
        "T1", "ICNT1", "20260302", "200", "120", "40", "40",
        services=(("97110", "110", "70", "20", "20"), ("97140", "90", "50", "20", "20")))]))
    [outcome] = secondary(tmp_path, [claims], [era]).claims
    assert (outcome.status.value, outcome.reason) == ("held", "line_charge_mismatch")
    assert outcome.detail == (f"received: payer 11111's remittance ({era}): line 1: the payer adjudicated a charge "
                              "of 110, billed 120; missing: an adjudication of each line's billed charge")


def test_a_line_the_payer_did_not_answer_says_what_is_missing(tmp_path: Path):
    """Claim T2: 97110 120 + 97140 80 = 200; the 835 (charge 200) answers 97110 only."""
    visit = Visit("T2", "20260302", "200", lines=(("97110", "120"), ("97140", "80")))
    claims = write(tmp_path / "in/claims.837", claim_file([visit]))
    era = write(tmp_path / "in/era.835", remit_file([Payment(
        "T2", "ICNT2", "20260302", "200", "80", "20", "20", services=(("97110", "120", "80", "20", "20"),))]))
    [outcome] = secondary(tmp_path, [claims], [era]).claims
    assert (outcome.status.value, outcome.reason) == ("held", "adjudication_incomplete")
    assert outcome.detail == (f"received: payer 11111's remittance ({era}): line 2 has no service payment in the "
                              "remittance; missing: that line's adjudication (a split part, or a corrected 835)")


def test_a_payer_naming_another_primary_says_whose_remittance_is_missing(tmp_path: Path):
    claims = write(tmp_path / "in/claims.837", claim_file([Visit("T3", "20260302", "120")]))
    text = remit_file([Payment("T3", "ICNT3", "20260302", "120", "0", "120", "0")])
    assert text.count("CAS*CO*45*120~") == 1
    text = text.replace("CAS*CO*45*120~", "CAS*OA*22*120~")  # CARC 22: another payer is primary
    era = write(tmp_path / "in/era.835", text)
    [outcome] = secondary(tmp_path, [claims], [era]).claims
    assert (outcome.status.value, outcome.reason) == ("held", "other_payer_primary")
    assert outcome.detail == (f"received: payer 11111's 835 ({era}) adjusted with CARC 22: another payer should pay "
                              "first; missing: that payer's remittance, billed first")


def test_a_split_whose_parts_share_claim_number_and_amounts_is_merged_not_a_duplicate(tmp_path: Path):
    """Claim S4: 97110 60 + 97140 60 = 120; two MA15 parts under one CLP07 ICNS4, each charge 60, paid 40, CO 10,
    PR 10: the same amounts, other lines, so a split (paid 80), not one payment twice."""
    visit = Visit("S4", "20260302", "120", lines=(("97110", "60"), ("97140", "60")))
    claims = write(tmp_path / "in/claims.837", claim_file([visit]))
    era = write(tmp_path / "in/era.835", remit_file([
        Payment("S4", "ICNS4", "20260302", "60", "40", "10", "10", remark="MA15",
                services=(("97110", "60", "40", "10", "10"),)),
        Payment("S4", "ICNS4", "20260302", "60", "40", "10", "10", remark="MA15",
                services=(("97140", "60", "40", "10", "10"),))]))
    [outcome] = secondary(tmp_path, [claims], [era]).claims
    assert (outcome.status.value, outcome.reason, outcome.warnings) == ("billed", "secondary_billed", [])
    [claim] = read_claims(Path(outcome.output))
    assert claim.other_payers[0].paid_amount == D("80")
    assert [a.svd.paid for line in claim.lines for a in line.adjudications] == [D("40"), D("40")]


# ------------------------------------------------------------------------------------- reversal and re-issue

REISSUED = Payment("R1", "ICNR1", "20260302", "120", "80", "20", "20")
REVERSAL = Payment("R1", "ICNR1", "20260302", "-120", "-80", "-20", "-20", status="22")


def _reissue(tmp_path: Path, second: list[Payment], resend: bool = False):
    """835 #1 pays R1 (ICNR1, 80); 835 #2 reverses it and pays it again with the same ICNR1 and amounts
    (the payer re-issued the payment); with `resend`, 835 #2 comes a second time under a new envelope."""
    claims = write(tmp_path / "in/claims.837", claim_file([Visit("R1", "20260302", "120")]))
    remits = [write(tmp_path / "in/era-1.835", remit_file([REISSUED])),
              write(tmp_path / "in/era-2.835", remit_file(second, isa13="000000202", check="CHK0002",
                                                          paid_on="20260410"))]
    if resend:
        remits.append(write(tmp_path / "in/era-2-again.835", remit_file(second, isa13="000000203", check="CHK0003",
                                                                        paid_on="20260410")))
    [outcome] = secondary(tmp_path, [claims], remits).claims
    return outcome, remits


def test_a_payment_reissued_after_its_reversal_stands(tmp_path: Path):
    outcome, _ = _reissue(tmp_path, [REVERSAL, REISSUED])
    assert (outcome.status.value, outcome.reason, outcome.warnings) == ("billed", "secondary_billed", [])
    [claim] = read_claims(Path(outcome.output))
    assert claim.other_payers[0].paid_amount == D("80")


def test_a_payment_reissued_before_its_reversal_in_one_file_stands(tmp_path: Path):
    outcome, _ = _reissue(tmp_path, [REISSUED, REVERSAL])
    assert (outcome.status.value, outcome.reason) == ("billed", "secondary_billed")
    [claim] = read_claims(Path(outcome.output))
    assert claim.other_payers[0].paid_amount == D("80")


def test_a_resent_reversal_and_reissue_are_duplicates(tmp_path: Path):
    """835 #2 twice: its reversal and its re-issue are each read once (80 paid, not 160 and not 0)."""
    outcome, (first, second, again) = _reissue(tmp_path, [REVERSAL, REISSUED], resend=True)
    assert (outcome.status.value, outcome.reason) == ("billed", "secondary_billed")
    # each 835 #2 is ISA GS ST BPR TRN DTM N1 N3 N4 REF PER N1, LX: the reversal's CLP is segment 14, the
    # re-issue's segment 20 (CLP NM1 DTM SVC CAS CAS make 6 segments a payment)
    assert outcome.warnings == [
        f"duplicate payment ignored: {again} segment 14 repeats {second} segment 14 (payer PRIMPLAN, CLP07 ICNR1, "
        "same amounts)",
        f"duplicate payment ignored: {again} segment 20 repeats {second} segment 20 (payer PRIMPLAN, CLP07 ICNR1, "
        "same amounts)"]
    [claim] = read_claims(Path(outcome.output))
    assert claim.other_payers[0].paid_amount == D("80")


def test_two_visits_on_one_day_with_one_fee_are_told_apart_by_their_lines(tmp_path: Path):
    """ACCT77 twice on 03-02 at 120: one visit 97110, the other 97140. Patient, dates, charge and payer fit
    both; the payment's line (97140) fits only the second visit exactly, so that one is billed from it."""
    claims = write(tmp_path / "in/claims.837", claim_file([
        Visit("ACCT77", "20260302", "120"), Visit("ACCT77", "20260302", "120", lines=(("97140", "120"),))]))
    era = write(tmp_path / "in/era.835", remit_file([Payment("ACCT77", "ICNX2", "20260302", "120", "75", "20", "25",
                                                             services=(("97140", "120", "75", "20", "25"),))]))
    report = secondary(tmp_path, [claims], [era])
    assert [(c.status.value, c.reason, c.original.rsplit("/", 1)[-1]) for c in report.claims] == [
        ("held", "awaiting_remittance", "claims.837 segment 21"),
        ("billed", "secondary_billed", "claims.837 segment 37")]
    [claim] = read_claims(Path(report.claims[1].output))
    assert claim.lines[0].sv1.procedure.code == "97140"
    assert (claim.other_payers[0].paid_amount, claim.other_payers[0].payer.ref("F8")) == (D("75"), "ICNX2")
