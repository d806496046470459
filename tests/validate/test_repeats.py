"""`cob validate` warns on a CLM01 repeated within one 837 and a CLP01 repeated within one 835 (issue 14,
clause 6), serially and with the second process alike. Hand-written files; expected findings by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cob.edi.validate import validate_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from x12_text import Payment, Visit, claim_file, remit_file  # noqa: E402


def _repeats(path: Path, parallel: bool) -> list[tuple]:
    result = validate_file(path, parallel=parallel)
    return [(f.snip, f.severity, f.segment_no, f.segment_id, f.message) for f in result.findings
            if f.code == "claim_id_repeated"]


@pytest.mark.parametrize("parallel", [False, True])
def test_a_clm01_repeated_in_one_claim_file_is_a_warning(tmp_path: Path, parallel: bool):
    path = tmp_path / "claims.837"
    path.write_text(claim_file([Visit("ACCT77", "20260302", "120"), Visit("X1", "20260302", "120"),
                                Visit("ACCT77", "20260309", "120")]))
    # CLMs at segments 21, 37, 53 (16 segments per visit)
    assert _repeats(path, parallel) == [
        (4, "warning", 53, "CLM", "CLM01 ACCT77 repeats the one at segment 21: claim id (CLM01) used by another "
                                  "claim of this file: payers answer both under one id, and a payment can only be "
                                  "told apart by patient, dates and charge")]
    assert validate_file(path, parallel=parallel).valid


@pytest.mark.parametrize("parallel", [False, True])
def test_a_clp01_repeated_in_one_835_is_a_warning(tmp_path: Path, parallel: bool):
    path = tmp_path / "era.835"
    path.write_text(remit_file([Payment("ACCT77", "ICNW1", "20260302", "120", "80", "20", "20"),
                                Payment("ACCT77", "ICNW2", "20260309", "120", "80", "20", "20")]))
    assert _repeats(path, parallel) == [
        (4, "warning", 20, "CLP", "CLP01 ACCT77 repeats the one at segment 14: claim id (CLP01) answered again in "
                                  "this 835: a split claim, a reversal or another visit under one id")]


def test_distinct_ids_give_no_warning(tmp_path: Path):
    path = tmp_path / "claims.837"
    path.write_text(claim_file([Visit("A1", "20260302", "120"), Visit("A2", "20260302", "120")]))
    assert _repeats(path, False) == []


def test_the_second_process_notes_the_ids_of_the_sets_it_checks(tmp_path: Path):
    """20 interchanges of one claim each, all CLM01 R1: the sets the second process checks count too."""
    path = tmp_path / "many.837"
    path.write_text("".join(claim_file([Visit("R1", "20260302", "120")], isa13=f"{n:09d}") for n in range(1, 21)))
    serial, parallel = _repeats(path, False), _repeats(path, True)
    assert parallel == serial and len(serial) == 19
    # each interchange is 32 segments (ISA GS ST, 10 header, 13 + 3 per visit, SE GE IEA); the CLM is its 21st
    assert [f[2] for f in serial] == [21 + 32 * n for n in range(1, 20)]
    assert all(f[4].startswith("CLM01 R1 repeats the one at segment 21:") for f in serial)


def test_ids_sharing_a_hash_bucket_are_not_repeats():
    """40,000 distinct ids over 2^20 buckets share many buckets (about 760 pairs); only the three real repeats
    are reported, each naming the segment of its first claim."""
    from cob.edi.validate.repeats import ClaimIds, findings

    noted = ClaimIds()
    for n in range(40_000):
        noted.note(10 + 16 * n, "CLM", f"PCN{n:06d}")
    other = ClaimIds()  # the second process's sets, noted after
    other.note(640_100, "CLM", "PCN000007")
    other.note(640_116, "CLM", "PCN039999")
    other.note(640_132, "CLM", "PCN000007")
    other.note(640_148, "CLP", "PCN000007")  # a CLP is another kind of id
    noted.extend(other)
    assert [(f.segment_no, f.claim_id, f.message.split(":")[0]) for f in findings("x.837", noted)] == [
        (640_100, "PCN000007", "CLM01 PCN000007 repeats the one at segment 122"),
        (640_116, "PCN039999", "CLM01 PCN039999 repeats the one at segment 639994"),
        (640_132, "PCN000007", "CLM01 PCN000007 repeats the one at segment 122")]
