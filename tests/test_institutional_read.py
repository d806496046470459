"""837I (005010X223A2): read into the institutional loop models and written back by the one reader and writer.

Hand-written claims with expected values written out by hand, and every public 837I sample in the samples
folder (found by content: an 837 whose guide is an X223 one) read and written back segment for segment.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cob.edi.envelope import CounterControlNumbers, Party
from cob.edi.reader import X12Reader, read_claims
from cob.edi.tokens import SegmentReader
from cob.edi.writer import Claim837Writer, InterchangeInfo, write_837
from cob.schemas.claim import Claim
from cob.schemas.institutional import InstitutionalClaim, InstitutionalServiceLine, is_inpatient
from cob.schemas.remit import ClaimPayment

from conftest import DATA, SAMPLES, canonical_segments
from pyx12_oracle import pyx12_validate
from test_roundtrip import rewrite

INST = DATA / "institutional"


def _institutional_samples() -> list[str]:
    """Public 837I files in the samples folder, told by content (ST01 837 with an X223 guide)."""
    if not SAMPLES.exists():
        return []
    out = []
    for path in sorted(SAMPLES.iterdir()):
        if path.name == "INDEX.md" or not path.is_file():
            continue
        head = path.read_bytes()[:600].decode("utf-8", "replace")
        if "ST*837*" in head and "005010X223" in head:
            out.append(path.name)
    return out


def _refused(name: str) -> bool:
    """Samples that break the X223A2 guide (the reader refuses them, as pyx12 does; test_reader.py
    names each one's first problem)."""
    from test_reader import EXPECTED_FAILURES
    return name in EXPECTED_FAILURES


@pytest.mark.parametrize("name", _institutional_samples() or ["(none)"])
def test_public_837i_samples_round_trip(tmp_path, name):
    if name == "(none)":
        pytest.skip("no public 837I sample in the samples folder")
    src = SAMPLES / name
    if _refused(name):
        pytest.skip(f"{name} breaks the X223A2 guide (see test_reader.EXPECTED_FAILURES)")
    claims = list(read_claims(src))
    assert claims and all(isinstance(c, InstitutionalClaim) for c in claims)
    dst = tmp_path / "out.837i"
    rewrite(src, dst)
    assert canonical_segments(dst) == canonical_segments(src)


def test_inpatient_claim_reads_into_the_institutional_loops():
    [claim] = list(read_claims(INST / "inpatient.837i"))
    assert isinstance(claim, InstitutionalClaim) and isinstance(claim, Claim)
    assert claim.GUIDE == "005010X223A2"
    assert claim.claim_id == "INP100"
    assert claim.charge == Decimal("12000")
    assert claim.facility_type == "11" and claim.frequency == "1" and claim.bill_type == "111"
    assert claim.inpatient
    assert (claim.cl1.admission_type, claim.cl1.admission_source, claim.cl1.patient_status) == ("1", "1", "01")
    assert claim.statement_period == (date(2026, 3, 1), date(2026, 3, 5))
    assert [(d.qualifier, d.format, d.value) for d in claim.dates] == [
        ("434", "RD8", "20260301-20260305"), ("435", "DT", "202603010800")]
    assert claim.principal_diagnosis == "I214"
    assert [c.code for c in claim.codes("ABJ")] == ["R079"]
    assert [c.code for c in claim.codes("ABF")] == ["I10", "E119"]
    [proc] = claim.codes("BBR")
    assert (proc.code, proc.date_format, proc.date) == ("02703ZZ", "D8", "20260302")
    assert claim.drg == "280"
    assert claim.occurrence_codes == [("11", "20260301")]
    assert claim.value_codes == {"80": Decimal("4")}
    assert claim.condition_codes == ["39"]
    assert claim.provider("2310A").name.last_or_org_name == "HEART"
    [other] = claim.other_payers
    assert other.payer_id == "SECPAY" and other.mia is None
    assert [type(line) for line in claim.lines] == [InstitutionalServiceLine] * 3
    assert [(ln.revenue_code, ln.procedure.code if ln.procedure else None, ln.charge, ln.sv2.unit_basis, ln.units)
            for ln in claim.lines] == [("0120", None, Decimal("8000"), "DA", Decimal("4")),
                                       ("0250", None, Decimal("1500"), "UN", Decimal("10")),
                                       ("0360", "92928", Decimal("2500"), "UN", Decimal("1"))]
    assert [ln.control_number for ln in claim.lines] == ["R1", "R2", "R3"]
    assert claim.subscriber.sbr.filing_indicator.value == "CI"


def test_cob_claim_reads_mia_moa_and_2430_with_revenue_codes():
    """An 837I with a prior payer's claim-level MIA and another's MOA and 2430 SVD04 revenue codes."""
    [claim] = list(read_claims(INST / "cob-read.837i"))
    inpatient_payer, outpatient_payer = claim.other_payers
    assert inpatient_payer.mia.covered_days == Decimal("4")
    assert inpatient_payer.mia.pps_operating_outlier is None  # MIA02 is not used in the 837I
    assert inpatient_payer.mia.drg_amount == Decimal("8250") and inpatient_payer.mia.remark1 == "MA01"
    assert inpatient_payer.moa is None and inpatient_payer.paid_amount == Decimal("840")
    assert outpatient_payer.moa.remark1 == "MA130" and outpatient_payer.mia is None
    svd = claim.lines[0].adjudications[0].svd
    assert (svd.payer_id, svd.paid, svd.procedure, svd.revenue_code, svd.paid_units) == (
        "22222", Decimal("0"), None, "0120", Decimal("4"))


@pytest.mark.parametrize("name", ["inpatient.837i", "cob-read.837i"])
def test_hand_written_837i_round_trips_and_passes_pyx12(tmp_path, name):
    src = INST / name
    ok, errors = pyx12_validate(src)
    assert ok, errors  # the input is a valid X223A2 claim
    dst = tmp_path / "out.837i"
    rewrite(src, dst)
    assert canonical_segments(dst) == canonical_segments(src)
    head = [e for e, _ in SegmentReader(dst)][:3]
    assert head[1][8] == "005010X223A2" and head[2][3] == "005010X223A2"
    ok, errors = pyx12_validate(dst)
    assert ok, errors


def test_837p_and_837i_are_told_apart_by_guide_and_never_share_a_file(tmp_path):
    [inst] = list(read_claims(INST / "inpatient.837i"))
    [prof] = list(read_claims(DATA / "original-claim.837"))
    assert type(prof) is Claim and prof.GUIDE == "005010X222A1" and prof.CLAIM_TYPE == "P"
    assert inst.CLAIM_TYPE == "I"
    info = InterchangeInfo(Party("ZZ", "A"), Party("ZZ", "B"))
    with pytest.raises(ValueError, match="claim PCN123 is an 005010X222A1 claim; this file is 005010X223A2"):
        write_837(tmp_path / "mixed.837", [inst, prof], info, CounterControlNumbers(start=1))
    assert not (tmp_path / "mixed.837").exists()


def test_type_of_bill_inpatient():
    assert [is_inpatient(t) for t in ("11", "12", "13", "14", "18", "21", "23", "41", "65", "71", "83", None)] == \
        [True, True, False, False, False, True, False, True, False, False, False, False]


def test_institutional_835_reads_facility_drg_mia_moa_and_revenue_codes():
    payments = [p for p in X12Reader(INST / "outpatient-primary.835") if isinstance(p, ClaimPayment)]
    [outp] = [p for p in payments if p.claim_id == "OUT200"]
    assert (outp.clp.facility_type, outp.clp.frequency) == ("13", "1")
    assert outp.moa.remark1 == "MA130" and outp.mia is None
    assert [(s.svc.procedure.qualifier, s.svc.procedure.code, s.revenue_code) for s in outp.services] == [
        ("HC", "85025", "0305"), ("NU", "0450", "0450"), ("HC", "71046", "0320")]
    payments = [p for p in X12Reader(INST / "inpatient-primary.835") if isinstance(p, ClaimPayment)]
    [inp] = payments
    assert (inp.clp.facility_type, inp.clp.frequency, inp.clp.drg_code, inp.clp.drg_weight) == (
        "11", "1", "280", Decimal("1.2345"))
    assert inp.mia.covered_days == Decimal("4") and inp.mia.pps_operating_outlier == Decimal("150")
    assert inp.mia.drg_amount == Decimal("8250") and inp.services == []


def test_procedures_spans_and_icd9_qualifiers_read_and_round_trip(tmp_path):
    """procedures.837i: INP300 with ICD-10-PCS principal (BBR) and two other procedures (BBQ) and two
    occurrence spans (BI); ICD900, a 2015 stay, with the ICD-9 qualifiers BK, BR and BQ."""
    src = INST / "procedures.837i"
    ok, errors = pyx12_validate(src)
    assert ok, errors
    inp, icd9 = list(read_claims(src))
    assert [(c.qualifier, c.code, c.date_format, c.date) for c in inp.procedures] == [
        ("BBR", "0DTN4ZZ", "D8", "20260302"), ("BBQ", "0DJD8ZZ", "D8", "20260301"),
        ("BBQ", "BW40ZZZ", "D8", "20260301")]
    assert inp.occurrence_spans == [("70", "20260201-20260210"), ("74", "20260115-20260118")]
    assert inp.value_codes == {"80": Decimal("3")} and inp.occurrence_codes == [] and inp.drg is None
    assert icd9.principal_diagnosis == "5609"
    assert [(c.qualifier, c.code, c.date) for c in icd9.procedures] == [
        ("BR", "4562", "20150902"), ("BQ", "8703", "20150901")]
    assert icd9.statement_period == (date(2015, 9, 1), date(2015, 9, 3))
    dst = tmp_path / "out.837i"
    rewrite(src, dst)
    assert canonical_segments(dst) == canonical_segments(src)
