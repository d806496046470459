"""`cob secondary` report: summary counts, the exact JSON shape scripts rely on, and the morning text."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from decimal import Decimal

from cob.schemas.report import NEXT_ACTIONS, REASONS, ClaimOutcome, InputResult, OutcomeStatus, Reason, RunReport

INPUTS = [
    InputResult(file="in/claims.837", kind="837", status="ok"),
    InputResult(file="in/primary.835", kind="835", status="ok"),
    InputResult(file="in/broken.835", kind="835", status="error", error="segment 12 (CLP): CLP02 is required"),
    InputResult(file="in/roster.csv", kind="roster", status="ok"),
]


def outcome(claim_id: str, status: str, reason: str, **kw) -> ClaimOutcome:
    return ClaimOutcome(claim_id=claim_id, status=status, reason=reason, detail=kw.pop("detail", f"detail {claim_id}"),
                        **kw)


CLAIMS = [
    outcome("PCN1", "billed", "secondary_billed", destination_payer="SECPAY", output="out/SECPAY.837",
            source_payer="11111", payer_sequence="S", charge=Decimal("250"), prior_paid=Decimal("116"),
            balance_billed=Decimal("134")),
    outcome("PCN2", "billed", "secondary_billed", destination_payer="SECPAY", output="out/SECPAY.837",
            charge=Decimal("100.5"), prior_paid=Decimal("60"), balance_billed=Decimal("40.5"),
            warnings=["duplicate payment ignored: in/again.835 segment 14 repeats in/primary.835 segment 14"]),
    outcome("PCN3", "billed", "tertiary_billed", destination_payer="MCD01", output="out/MCD01.837",
            charge=Decimal("80"), prior_paid=Decimal("70"), balance_billed=Decimal("10")),
    outcome("PCN4", "skipped", "crossover_done"),
    outcome("PCN5", "skipped", "no_further_coverage"),
    outcome("PCN6", "held", "awaiting_remittance", detail="No 835 from payer 11111 yet."),
    outcome("PCN7", "rejected", "balancing_failed", destination_payer="SECPAY",
            detail="CLM02 250 != AMT*D 116 + 130 for payer 11111."),
]


@pytest.fixture
def report() -> RunReport:
    return RunReport.build(INPUTS, CLAIMS)


def test_summary_counts(report: RunReport):
    assert report.summary.model_dump() == {
        "claims": 7, "billed": 3, "skipped": 2, "held": 1, "rejected": 1,
        "inputs": 4, "input_errors": 1,
        "outputs": {"out/MCD01.837": 1, "out/SECPAY.837": 2},
        "by_reason": {"awaiting_remittance": 1, "balancing_failed": 1, "crossover_done": 1,
                      "no_further_coverage": 1, "secondary_billed": 2, "tertiary_billed": 1},
        "need_person": 1, "waiting": 1, "held_by_reason": {"awaiting_remittance": 1},
        "money": {"MCD01": {"claims": 1, "charges": Decimal("80"), "prior_paid": Decimal("70"),
                            "balance_billed": Decimal("10")},
                  "SECPAY": {"claims": 2, "charges": Decimal("350.5"), "prior_paid": Decimal("176"),
                             "balance_billed": Decimal("174.5")}},
    }


def test_empty_run():
    report = RunReport.build([], [])
    assert report.summary.claims == 0 and report.summary.outputs == {} and report.summary.by_reason == {}
    assert "0 claims: 0 billed" in report.human_summary()
    assert "Output files: none" in report.human_summary()


def test_json_shape_is_exact(report: RunReport):
    doc = json.loads(report.to_json())
    assert list(doc) == ["inputs", "claims", "summary", "reasons"]
    assert [list(i) for i in doc["inputs"]] == [["file", "kind", "status", "error", "duplicate_of"]] * 4
    claim_keys = ["claim_id", "status", "reason", "detail", "destination_payer", "output",
                  "source_payer", "payer_sequence", "expected_payment", "patient_balance", "original", "warnings",
                  "charge", "prior_paid", "balance_billed"]
    assert all(list(c) == claim_keys for c in doc["claims"])  # absent values are null, keys always there
    assert list(doc["summary"]) == ["claims", "billed", "skipped", "held", "rejected", "inputs", "input_errors",
                                    "outputs", "by_reason", "need_person", "waiting", "held_by_reason", "money"]
    assert doc["inputs"][0] == {"file": "in/claims.837", "kind": "837", "status": "ok", "error": None,
                                "duplicate_of": None}
    assert doc["inputs"][2]["error"] == "segment 12 (CLP): CLP02 is required"
    assert doc["claims"][0] == {
        "claim_id": "PCN1", "status": "billed", "reason": "secondary_billed", "detail": "detail PCN1",
        "destination_payer": "SECPAY", "output": "out/SECPAY.837", "source_payer": "11111", "payer_sequence": "S",
        "expected_payment": None, "patient_balance": None, "original": None, "warnings": [],
        "charge": "250", "prior_paid": "116", "balance_billed": "134"}
    # every reason code, documented with its status, meaning and next action (one table)
    assert [r["reason"] for r in doc["reasons"]] == [r.value for r in Reason]
    assert doc["reasons"][[r.value for r in Reason].index("ambiguous_claim_match")] == {
        "reason": "ambiguous_claim_match", "status": "held",
        "meaning": "A remittance fits several claims with this claim id equally (same patient, dates, charge, "
                   "payer and lines); no claim is billed with it.",
        "next_action": "Decide which visit the named remittance pays (check the payer's portal); give the claims "
                       "distinct claim ids (CLM01) in the practice-management system."}
    assert doc["claims"][3]["output"] is None and doc["claims"][3]["status"] == "skipped"
    assert doc["summary"]["outputs"] == {"out/MCD01.837": 1, "out/SECPAY.837": 2}


def test_json_round_trip(report: RunReport):
    assert RunReport.model_validate_json(report.to_json()) == report


def test_human_summary(report: RunReport):
    text = report.human_summary()
    assert text.splitlines()[:2] == [
        "cob secondary: 7 claims: 3 billed, 2 skipped, 1 held, 1 rejected",
        "Inputs: 4 files, 1 with errors",
    ]
    # the claims that need a person first, in full, with the next action; waiting claims only counted
    assert text.splitlines()[2:7] == [
        "", "Need a person: 1",
        "  PCN7  rejected  balancing_failed  CLM02 250 != AMT*D 116 + 130 for payer 11111.",
        "      next: Report the claim to cob's maintainers (a defect); bill it by hand meanwhile.",
        "",
    ]
    assert "Waiting for the other half (no action yet): 1 (awaiting_remittance: 1)\n" in text
    assert "PCN6" not in text
    assert "Held by reason:\n  awaiting_remittance: 1\n" in text
    assert ("Billed per destination payer (claims, charges, earlier payers paid, balance billed):\n"
            "  MCD01: 1 claim, charges 80, paid 70, balance billed 10\n"
            "  SECPAY: 2 claims, charges 350.5, paid 176, balance billed 174.5\n") in text
    assert ("Warnings on 1 claim:\n  PCN2  billed  duplicate payment ignored: in/again.835 segment 14 repeats "
            "in/primary.835 segment 14\n") in text
    assert "Skipped by reason:\n  crossover_done: 1\n  no_further_coverage: 1\n" in text
    assert "Input files with errors: 1\n  in/broken.835 (835): segment 12 (CLP): CLP02 is required\n" in text
    assert text.endswith("Output files:\n  MCD01: out/MCD01.837 (1 claim)\n  SECPAY: out/SECPAY.837 (2 claims)\n")
    # Billed claims are counted, not listed.
    assert "PCN1" not in text


def test_claims_needing_a_person_are_listed_in_full_and_waiting_ones_counted():
    """5,010 held claims of which 10 need a person: the 10 are listed, the 5,000 waiting ones are a count."""
    held = [outcome(f"H{i:03}", "held", "ambiguous_line_match", detail="Two lines match one SVC.") for i in range(10)]
    held += [outcome(f"W{i:04}", "held", "awaiting_remittance") for i in range(4990)]
    held += [outcome(f"M{i:02}", "held", "original_claim_missing") for i in range(10)]
    text = RunReport.build([], held).human_summary(limit=5)
    listed = [line for line in text.splitlines() if line.startswith("  H")]
    assert len(listed) == 10 and listed[0] == "  H000  held  ambiguous_line_match  Two lines match one SVC."
    assert not any(line.startswith(("  W", "  M")) for line in text.splitlines())
    assert "Need a person: 10\n" in text
    assert "Waiting for the other half (no action yet): 5000 (awaiting_remittance: 4990, original_claim_missing: 10)" \
        in text


def test_every_reason_has_a_status_and_description():
    assert set(REASONS) == set(Reason)
    by_status = {s: sorted(r.value for r in Reason if r.status is s) for s in OutcomeStatus}
    assert by_status == {
        OutcomeStatus.BILLED: ["secondary_billed", "tertiary_billed"],
        OutcomeStatus.SKIPPED: ["already_adjudicated", "crossover_done", "no_further_coverage",
                                "nothing_left_to_bill", "predetermination_only"],
        OutcomeStatus.HELD: ["adjudication_incomplete", "ambiguous_claim_match", "ambiguous_line_match",
                             "awaiting_remittance", "cannot_represent", "claim_mismatch", "coverage_conflict",
                             "input_file_error", "line_charge_mismatch", "not_payer_claim", "order_of_benefits",
                             "order_of_benefits_answer",
                             "original_claim_missing", "other_payer_primary",
                             "patient_not_identified", "replacement_held", "reversal_pending"],
        OutcomeStatus.REJECTED: ["balancing_failed", "cob_check_failed", "ig_invalid", "write_failed"],
    }
    assert all(r.description and "\n" not in r.description for r in Reason)
    assert set(NEXT_ACTIONS) == set(Reason) and all(r.next_action for r in Reason)


def test_reason_must_be_known_and_match_status():
    with pytest.raises(ValidationError, match="not one of the codes"):
        outcome("P", "held", "made_up_reason")
    with pytest.raises(ValidationError, match="belongs to status held, not billed"):
        outcome("P", "billed", "awaiting_remittance")
    assert outcome("P", OutcomeStatus.HELD, Reason.AWAITING_REMITTANCE).reason == "awaiting_remittance"


def test_input_error_message_iff_error_status():
    with pytest.raises(ValidationError):
        InputResult(file="x", kind="835", status="error")
    with pytest.raises(ValidationError):
        InputResult(file="x", kind="835", status="ok", error="boom")
    with pytest.raises(ValidationError):
        InputResult(file="x", kind="pdf", status="ok")
