"""`cob secondary` report: summary counts, the exact JSON shape scripts rely on, and the morning text."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from cob.schemas.report import REASONS, ClaimOutcome, InputResult, OutcomeStatus, Reason, RunReport

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
            source_payer="11111", payer_sequence="S"),
    outcome("PCN2", "billed", "secondary_billed", destination_payer="SECPAY", output="out/SECPAY.837"),
    outcome("PCN3", "billed", "tertiary_billed", destination_payer="MCD01", output="out/MCD01.837"),
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
    }


def test_empty_run():
    report = RunReport.build([], [])
    assert report.summary.claims == 0 and report.summary.outputs == {} and report.summary.by_reason == {}
    assert "0 claims: 0 billed" in report.human_summary()
    assert "Output files: none" in report.human_summary()


def test_json_shape_is_exact(report: RunReport):
    doc = json.loads(report.to_json())
    assert list(doc) == ["inputs", "claims", "summary"]
    assert [list(i) for i in doc["inputs"]] == [["file", "kind", "status", "error"]] * 4
    claim_keys = ["claim_id", "status", "reason", "detail", "destination_payer", "output",
                  "source_payer", "payer_sequence", "expected_payment", "patient_balance"]
    assert all(list(c) == claim_keys for c in doc["claims"])  # absent values are null, keys always there
    assert list(doc["summary"]) == ["claims", "billed", "skipped", "held", "rejected", "inputs", "input_errors",
                                    "outputs", "by_reason"]
    assert doc["inputs"][0] == {"file": "in/claims.837", "kind": "837", "status": "ok", "error": None}
    assert doc["inputs"][2]["error"] == "segment 12 (CLP): CLP02 is required"
    assert doc["claims"][0] == {
        "claim_id": "PCN1", "status": "billed", "reason": "secondary_billed", "detail": "detail PCN1",
        "destination_payer": "SECPAY", "output": "out/SECPAY.837", "source_payer": "11111", "payer_sequence": "S",
        "expected_payment": None, "patient_balance": None}
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
    assert "Held (need a person): 1\n  PCN6  awaiting_remittance  No 835 from payer 11111 yet.\n" in text
    assert ("Rejected (built but failed checks or writing): 1\n"
            "  PCN7  balancing_failed  CLM02 250 != AMT*D 116 + 130 for payer 11111.\n") in text
    assert "Skipped by reason:\n  crossover_done: 1\n  no_further_coverage: 1\n" in text
    assert "Input files with errors: 1\n  in/broken.835 (835): segment 12 (CLP): CLP02 is required\n" in text
    assert text.endswith("Output files:\n  MCD01: out/MCD01.837 (1 claim)\n  SECPAY: out/SECPAY.837 (2 claims)\n")
    # Billed claims are counted, not listed.
    assert "PCN1" not in text


def test_human_summary_caps_long_lists():
    held = [outcome(f"H{i:03}", "held", "ambiguous_line_match", detail="Two lines match one SVC.") for i in range(120)]
    text = RunReport.build([], held).human_summary()
    listed = [line for line in text.splitlines() if line.startswith("  H")]
    assert len(listed) == 50 and listed[0].startswith("  H000") and listed[-1].startswith("  H049")
    assert "  … and 70 more" in text
    short = RunReport.build([], held).human_summary(limit=10)
    assert "  … and 110 more" in short


def test_every_reason_has_a_status_and_description():
    assert set(REASONS) == set(Reason)
    by_status = {s: sorted(r.value for r in Reason if r.status is s) for s in OutcomeStatus}
    assert by_status == {
        OutcomeStatus.BILLED: ["secondary_billed", "tertiary_billed"],
        OutcomeStatus.SKIPPED: ["already_adjudicated", "crossover_done", "no_further_coverage",
                                "nothing_left_to_bill", "predetermination_only"],
        OutcomeStatus.HELD: ["adjudication_incomplete", "ambiguous_line_match", "awaiting_remittance",
                             "cannot_represent", "claim_mismatch", "coverage_conflict", "input_file_error",
                             "line_charge_mismatch", "not_payer_claim", "order_of_benefits",
                             "original_claim_missing", "other_payer_primary",
                             "patient_not_identified", "replacement_held", "reversal_pending"],
        OutcomeStatus.REJECTED: ["balancing_failed", "cob_check_failed", "ig_invalid", "write_failed"],
    }
    assert all(r.description and "\n" not in r.description for r in Reason)


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
