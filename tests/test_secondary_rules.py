"""COB rules inside `cob secondary`: payer order held against the rules, SBR05 filled, expected payment.

Input: tests/data/original-claim.837 (PCN123 billed to primary 11111, secondary SECPAY listed in 2320)
and tests/data/primary-remit.835 (11111 paid 116 of 250: CO-45 100, PR-3 20, PR-1 10, PR-2 4).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from cob.edi.reader import read_claims
from cob.billing.secondary import SecondaryOptions, run_secondary
from cob.schemas.codes import MedicareSecondaryType

from conftest import DATA

CLAIM = DATA / "original-claim.837"
REMIT = DATA / "primary-remit.835"


def _facts(tmp_path: Path, coverages: list[dict], birth_date: str = "1980-01-01") -> Path:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"patients": [{"claim_id": "PCN123", "request": {
        "claim": {"service_date": "2026-02-15", "work_related": False, "auto_accident": False, "liability": False},
        "patient": {"first_name": "ALEX", "birth_date": birth_date}, "coverages": coverages}}]}))
    return path


def test_claim_billed_against_the_order_rules_is_held(tmp_path):
    facts = _facts(tmp_path, [
        {"id": "11111", "kind": "employer_group", "relationship": "self", "status": "retired", "start_date": "2015-01-01"},
        {"id": "SECPAY", "kind": "employer_group", "relationship": "self", "status": "active", "start_date": "2023-01-01"}])
    report = run_secondary([CLAIM], [REMIT], SecondaryOptions(out_dir=tmp_path / "out"), order_facts=facts)
    (outcome,) = report.claims
    assert (outcome.status, outcome.reason) == ("held", "order_of_benefits")
    assert outcome.detail == ("by the active_vs_inactive rule payer SECPAY pays before payer 11111, "
                              "but the claim bills 11111 first; received: the earlier payers' 835s and the order-of-benefits facts; "
                              "missing: a claim that bills the payers in the rules' order")
    assert list((tmp_path / "out").glob("*.837")) == []


def test_msp_type_fills_sbr05_of_a_medicare_secondary_claim(tmp_path):
    original = tmp_path / "medicare.837"
    original.write_text(CLAIM.read_text().replace("SBR*S*18*GRP200******CI~", "SBR*S*18*******MB~")
                        .replace("NM1*PR*2*SECOND PAYER INC*****PI*SECPAY~", "NM1*PR*2*MEDICARE B*****PI*SECPAY~"))
    facts = _facts(tmp_path, [
        {"id": "11111", "kind": "employer_group", "relationship": "self", "status": "active", "employer_size": 50,
         "start_date": "2015-01-01"},
        {"id": "SECPAY", "kind": "medicare", "relationship": "self", "medicare_basis": "age", "start_date": "2023-01-01"}],
        birth_date="1958-01-01")
    report = run_secondary([original], [REMIT], SecondaryOptions(out_dir=tmp_path / "out"), order_facts=facts)
    (outcome,) = report.claims
    assert (outcome.status, outcome.reason) == ("billed", "secondary_billed")
    (claim,) = read_claims(outcome.output)
    assert claim.subscriber.sbr.insurance_type is MedicareSecondaryType.WORKING_AGED  # SBR05 = 12
    assert claim.subscriber.sbr.filing_indicator.value == "MB"


def test_expected_payment_from_roster_benefit_terms(tmp_path):
    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps({"coverages": [{
        "member_id": "PRIM123", "sequence": "S", "payer_name": "SECOND PAYER INC", "payer_id": "SECPAY",
        "subscriber_last_name": "TESTER", "subscriber_id": "SEC123456", "relationship": "18",
        "filing_indicator": "CI", "benefit_terms": {"method": "medigap", "medigap_plan": "G"}}]}))
    report = run_secondary([CLAIM], [REMIT], SecondaryOptions(out_dir=tmp_path / "out"), coverage=roster)
    (outcome,) = report.claims
    assert outcome.status == "billed"
    # plan G: pays coinsurance 4 + copay 20 = 24; the Part B deductible 10 stays with the patient
    assert (outcome.expected_payment, outcome.patient_balance) == (Decimal("24"), Decimal("10"))
    doc = json.loads(report.to_json())
    assert doc["claims"][0]["expected_payment"] in ("24", "24.00")


def test_secondary_claim_is_addressed_to_the_new_payer(tmp_path):
    report = run_secondary([CLAIM], [REMIT], SecondaryOptions(out_dir=tmp_path / "out"))
    (outcome,) = report.claims
    assert Path(outcome.output).name == "SECPAY-000000001.837"
    (claim,) = read_claims(outcome.output)
    receiver = claim.header.receiver.name
    assert (receiver.last_or_org_name, receiver.id) == ("SECOND PAYER INC", "SECPAY")
    assert claim.header.submitter.name.id == "SUBMIT01"


def test_remit_that_repeats_an_adjudication_the_claim_carries_bills_nobody(tmp_path):
    # cob-claim.837 is already the secondary claim (its 2320 P carries 11111's adjudication); the
    # primary's 835 adds nothing new, so nobody is billed (above all not SECPAY a second time)
    report = run_secondary([DATA / "cob-claim.837"], [REMIT], SecondaryOptions(out_dir=tmp_path / "out"))
    (outcome,) = report.claims
    assert (outcome.status, outcome.reason) == ("held", "awaiting_remittance")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").glob("*.837")) == []
