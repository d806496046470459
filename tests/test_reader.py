"""837P and 835 readers: loops located by the IG tables, values typed, context attached."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cob.edi.errors import X12SyntaxError
from cob.edi.reader import X12Reader, read_claims, read_remittance, sniff
from cob.edi.walk import WalkPolicy
from cob.schemas.claim import Claim
from cob.schemas.codes import CasGroup, ClaimStatus, PayerSequence
from cob.schemas.remit import ClaimPayment, ProviderAdjustment

from conftest import SAMPLES, sample


def test_cob_claim_loops_and_values(cob_claim_path):
    (claim,) = list(read_claims(cob_claim_path))
    assert claim.claim_id == "PCN123"
    assert claim.charge == Decimal("250")
    assert claim.frequency == "1"
    assert claim.subscriber.sbr.payer_sequence is PayerSequence.SECONDARY
    assert claim.payer.name.id == "SECPAY"
    assert claim.billing_provider.billing.name.id == "1234567893"
    assert claim.header.submitter.name.last_or_org_name == "NORTHWIND BILLING"
    assert claim.header.envelope.interchange_control_number == "000000101"
    assert claim.patient is None
    assert [c.code for c in claim.diagnoses[0].codes()] == ["J069", "R051"]
    (primary,) = claim.other_payers
    assert primary.sbr.payer_sequence is PayerSequence.PRIMARY
    assert primary.paid_amount == Decimal("116")
    assert primary.payer.name.id == "11111"
    assert primary.payer.ref("F8") == "ICN987"
    assert primary.subscriber.name.id == "PRIM123"
    line1, line2 = claim.lines
    assert line1.control_number == "L1" and line2.control_number == "L2"
    assert line1.service_date.start == dt.date(2026, 2, 15)
    assert line2.sv1.units == Decimal("2") and line2.sv1.procedure.modifiers == ("QW",)
    (adj,) = line2.adjudications
    assert adj.svd.payer_id == "11111" and adj.svd.paid == Decimal("16")
    assert [(c.group, c.trios()) for c in adj.adjustments] == [
        (CasGroup.CONTRACTUAL, [("45", Decimal("20"), None)]),
        (CasGroup.PATIENT, [("1", Decimal("10"), None), ("2", Decimal("4"), None)]),
    ]
    assert adj.adjudication_date.start == dt.date(2026, 3, 1)
    assert adj.remaining_patient_liability == Decimal("14")
    assert claim.source.segment_no == 21 and claim.source.st_segment_no == 19
    assert claim.source.file == str(cob_claim_path)


def test_sniff(cob_claim_path):
    assert sniff(cob_claim_path) == "837"


def test_835_claim_payments_with_header_and_plb():
    path = sample("kputnam__stupidedi__X221A1_dollars-and-data-sent-together.edi")
    items = list(read_remittance(path))
    payments = [i for i in items if isinstance(i, ClaimPayment)]
    plbs = [i for i in items if isinstance(i, ProviderAdjustment)]
    assert len(payments) == 2 and len(plbs) == 1
    header = payments[0].header
    assert header is payments[1].header  # one validated header shared by its claims
    assert header.bpr.total_payment == sum((p.clp.paid for p in payments), Decimal(0)) - sum(
        (a[1] for a in plbs[0].plb.adjustments()), Decimal(0))
    assert header.payer is not None and header.payee is not None
    assert all(p.clp.status in set(ClaimStatus) for p in payments)


def test_835_services_and_line_control_numbers():
    path = sample("kputnam__stupidedi__X221A1_multiple-claims-single-check.edi")
    payments = [p for p in read_remittance(path) if isinstance(p, ClaimPayment)]
    assert len(payments) == 9
    for p in payments:
        for s in p.services:
            # 835 line balancing holds on this TR3 example: SVC02 - CAS == SVC03
            assert s.svc.charge - s.adjustment_total == s.svc.paid


def test_835_reversal_denial_and_secondary_statuses():
    """Every claim of this de-identified 835 has a service line whose SVC01 qualifier ("XX") is no IG code:
    the walk places no SVC there, as the validator says, so the reader refuses the file; a policy that
    makes that problem a warning reads it as it used to be read, those lines kept in their claim loop."""
    path = sample("Inteligenz__X12Parser__835_5010_ExampleFromNth.txt")
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    error = info.value.error
    assert (error.code, error.segment_no, error.segment_id, error.claim_id) == (
        "segment_unexpected", 24, "SVC", "9999999999-999")
    assert error.message == "segment_unexpected: segment SVC is not expected here (after 2100 DTM)"
    lenient = X12Reader(path, strict=False)
    assert [p for p in lenient if isinstance(p, ClaimPayment)] == []  # every claim has such a line
    assert {e.code for e in lenient.errors} == {"segment_unexpected"} and len(lenient.errors) == 369
    reader = X12Reader(path, policy=WalkPolicy(warnings=frozenset({"segment_unexpected"})))
    payments = [p for p in reader if isinstance(p, ClaimPayment)]
    statuses = {p.clp.status for p in payments}
    assert ClaimStatus.DENIED in statuses and ClaimStatus.SECONDARY in statuses
    assert len(payments) == 56 and reader.errors == []
    assert len(reader.warnings) == 369 and reader.warnings[0].severity == "warning"
    assert payments[0].other_segments[0][:2] == ["SVC", ["XX", "99999"]]  # kept where the walk stood: the claim


def test_multiple_interchanges_sample():
    path = sample("Inteligenz__X12Parser__835_5010_FromNth_835_WithMultipleInterchanges.txt")
    reader = X12Reader(path, policy=WalkPolicy(warnings=frozenset({"segment_unexpected"})))
    payments = [p for p in reader if isinstance(p, ClaimPayment)]
    controls = {p.header.envelope.interchange_control_number for p in payments}
    assert len(controls) == 3 and len(payments) == 56


# Every 005010 sample either reads, or fails with an error that names file, segment and problem.
EXPECTED_FAILURES = {
    # not 005010: one problem for the interchange, in the validator's words (cob.edi.guides, issue 15)
    "Inteligenz__X12Parser__835_4010_FromNth_835_DeIdent_02.dat": "ISA12 99999: is not an X12 version",
    "Inteligenz__X12Parser__835_5010_Example1.txt":  # ISA12 00401 in a '5010' file
        "ISA12 00401: X12 version 00401 is not supported; cob reads 005010 (ISA12 00501) only",
    "Inteligenz__X12Parser__837P_4010_FromNth_837_DeIdent_05.dat": "ISA12 99999: is not an X12 version",
    # walk problems, reported as `cob validate` reports them (same code, segment number and wording)
    "Inteligenz__X12Parser__835_5010_ExampleFromNth.txt":  # SVC01 qualifier XX (de-identified)
        (24, "segment_unexpected: segment SVC is not expected here (after 2100 DTM)"),
    "Inteligenz__X12Parser__835_5010_FromNth_835_WithMultipleInterchanges.txt":
        (24, "segment_unexpected: segment SVC is not expected here (after 2100 DTM)"),
    "Inteligenz__X12Parser__837P_5010_MedicaidExample.txt": (4, "segment BHT is not expected here"),  # BHT01 9999
    "LinuxForHealth__x12__cob-contractural-adjustment.835": (11, "segment_missing: required segment PER (Payer "
                                                             "Technical Contact Information) in loop 1000A"),
    "LinuxForHealth__x12__demo.835": (11, "required segment PER (Payer Technical Contact Information)"),
    "LinuxForHealth__x12__managed-care.835": (10, "required segment PER"),  # and BPR16 20002316 after it
    "LinuxForHealth__x12__secondary-payment.835": (11, "required segment PER"),
    "LinuxForHealth__x12__tertiary-payment.835": (11, "required segment PER"),
    "owgreen-dev__x12sdk__generated-bundling-denials.835": (9, "required segment PER"),
    "imsweb__x12-parser__x12_bad_valid_code.txt": (9, "segment NM1 is not expected here (after 2000A HL)"),
    "imsweb__x12-parser__x12_complex.txt": (46, "required segment REF (Other Payer Referring Provider Secondary "
                                                "Identification) in loop 2330C is missing"),
    "imsweb__x12-parser__x12_segments_out_of_order.txt": (11, "segment_missing: required segment N4 (Billing "
                                                              "Provider City, State, ZIP Code) in loop 2010AA"),
    # sets of a guide cob does not read (GS08 005010X222A2, 005010X222): refused at their ST, as the
    # validator refuses them at their GS (issue 15 clause 5), not read with X222A1 until they break it
    "Inteligenz__X12Parser__837P_5010_Example3_COB.txt":
        (3, "transaction not supported: 837 in a group whose GS08 005010X222 is not supported"),
    "LinuxForHealth__x12__demo.cob.2ndary.example4.837":
        (3, "transaction not supported: 837 in a group whose GS08 005010X222A2 is not supported"),
    "LinuxForHealth__x12__demo.cob.example3.B.837":
        (3, "transaction not supported: 837 in a group whose GS08 005010X222A2 is not supported"),
    "LinuxForHealth__x12__demo.cob.example4.837":
        (3, "transaction not supported: 837 in a group whose GS08 005010X222A2 is not supported"),
    "owgreen-dev__x12sdk__cob-two-other-payer-referring-providers.837":
        (3, "transaction not supported: 837 in a group whose GS08 005010X222A2 is not supported"),
    "affect-therapeutics__edi-835-parser__nevada_medicaid.txt": "ISA is not fixed width",
    "imsweb__x12-parser__x12_many_claims.txt": "SE01 says 25, the set has 11486 segments",
    "imsweb__x12-parser__x12_multiple_isa.txt": "SE01 says 25, the set has 34 segments",
    "imsweb__x12-parser__x12_multiple_transactions.txt": "SE01 says 25, the set has 34 segments",
    "imsweb__x12-parser__x12_valid.txt": "SE01 says 25, the set has 34 segments",
    "keironstoddart__edi-835-parser__blue_cross_nc_sample.txt": "does not start with ISA",
    "moov-io__x12__sample2.txt": "month must be in 1..12",  # BPR16 20990080
    "xlate__staedi__sample837-original.edi": "ISA12 00402: X12 version 00402 is not supported",
    # public 837I samples (X12Parser's and LinuxForHealth's; not in the shared set, see test_institutional.py)
    # that break the X223A2 guide: ISA16 '^' equal to the repetition separator with ':' in the data, and
    # '>' between HI components where ISA16 says ':' (pyx12 refuses them too)
    "Inteligenz__X12Parser__837I_5010_Spec_3.1.1.txt": (25, "segment HI is not expected here (after 2300 CL1)"),
    "Inteligenz__X12Parser__837I_5010_Spec_3.1.4_OutOfNetworkRepricedClaim.txt":
        (27, "segment HI is not expected here (after 2300 REF)"),
    "LinuxForHealth__x12__out-of-network-repriced-claim.837i": (27, "segment HI is not expected here (after 2300 REF)"),
    "LinuxForHealth__x12__ppo-repriced-claim.837i": (33, "segment HI is not expected here (after 2300 REF)"),
    "LinuxForHealth__x12__medicare-part-a.835": (11, "required segment PER"),  # (institutional: MIA, TS3)
}


def _sample_files():
    if not SAMPLES.exists():
        return []
    return sorted(p.name for p in SAMPLES.iterdir() if p.name != "INDEX.md")


@pytest.mark.parametrize("name", _sample_files())
def test_every_sample_reads_or_fails_located(name):
    path = SAMPLES / name
    expected = EXPECTED_FAILURES.get(name)
    if expected is None:
        items = list(X12Reader(path))
        assert items, f"{name}: nothing read"
        assert all(isinstance(i, (Claim, ClaimPayment, ProviderAdjustment)) for i in items)
    else:
        with pytest.raises(X12SyntaxError) as info:
            list(X12Reader(path))
        if isinstance(expected, tuple):
            segment_no, expected = expected
            assert info.value.error.segment_no == segment_no
        assert expected in info.value.error.message
        assert str(info.value).startswith(f"{path}: ")


def test_imsweb_files_read_leniently_despite_bad_se_counts():
    path = sample("imsweb__x12-parser__x12_many_claims.txt")
    reader = X12Reader(path, strict=False)
    claims = list(reader)
    assert len(claims) == 820
    assert {e.code for e in reader.errors} == {"se_count"}


def test_segment_parse_leaves_out_empty_elements_and_components():
    """`Segment.parse` gives pydantic only what the segment says: empty elements and components are
    absent, composites are split, elements beyond the model's fields are not read."""
    from cob.schemas.segments import CLM, LX, SV1

    assert SV1.parse(["SV1", "HC:99213::25", "100", "UN", "1", "", "", "1:2"], ":") == {
        "procedure": {"qualifier": "HC", "code": "99213", "modifier2": "25"}, "charge": "100",
        "unit_basis": "UN", "units": "1", "diagnosis_pointers": {"pointer1": "1", "pointer2": "2"}}
    assert CLM.parse(["CLM", "PCN1", "", "", "", ":", "Y"], ":") == {
        "patient_control_number": "PCN1", "location": {}, "provider_signature": "Y"}
    assert LX.parse(["LX", "1", "2"], ":") == {"number": "1"}
