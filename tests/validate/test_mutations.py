"""Specific findings for single mutations (mutations.py): the code a 999 / TA1 needs, at the segment.

Each case takes one mutation of a generated base file and asserts that `validate_file(path,
snip={1, 2})` reports an error at the mutated segment with the expected acknowledgment codes
(IK304 segment codes, IK403 element codes, IK5 / AK9 / TA1 envelope codes; reference §7.3-7.4).
The differential tests (test_differential.py) compare verdicts with pyx12; these pin down codes,
which pyx12 cannot judge (it gives some of the same wrong codes: "10" instead of I10 for a not-used
element, and it crashes on a composite with too many components).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import mutations as M  # noqa: E402

from cob.edi.validate import validate_file  # noqa: E402


B837 = "gen11-claims-0001.837"
B835 = "gen11-remit-0001.835"

# (case id, base, operator, description / element filter, expected attributes of one error finding
#  located at the mutation's segment; a tuple value means "one of")
CASES = [
    # like pyx12, the walk cannot tell a missing CLM from stray 2300 segments: HI is unexpected there
    ("delete-CLM", B837, "delete_required", "CLM", {"ik3": "2", "segment_id": "HI"}),
    ("delete-SV1", B837, "delete_required", "SV1", {"ik3": "3", "code": "segment_missing"}),
    ("delete-NM1-85", B837, "delete_required", "NM1*85", {"ik3": ("2", "3")}),
    ("delete-N4-2010AA", B837, "delete_required", "N4 (2010AA)", {"ik3": "3"}),
    ("delete-HI", B837, "delete_required", "HI", {"ik3": "3"}),
    ("delete-TRN", B835, "delete_required", "TRN", {"ik3": "3"}),
    ("delete-PER-BL", B835, "delete_required", "PER*BL", {"ik3": "3"}),
    # the IG gives CLM05-3 no code list (code source 235): SNIP 5 checks it
    ("CLM05-3=X", B837, "bad_code", "CLM05-03", {"snip": 5, "ik4": "7", "element": "CLM05-03"}),
    ("CLM06=Q", B837, "bad_code", "CLM06", {"ik3": "8", "ik4": "7", "element": "CLM06", "element_pos": 6}),
    ("SV103=XX", B837, "bad_code", "SV103", {"ik4": "7", "element": "SV103"}),
    ("NM108=QQ", "gen11-claims-0002.837", "bad_code", "NM108", {"ik4": "7", "element": "NM108", "element_pos": 8}),
    ("CLP02=99", B835, "bad_code", "CLP02", {"ik3": "8", "ik4": "7", "element": "CLP02"}),
    ("CLM01-too-long", "gen11-claims-0002.837", "too_long", "CLM01", {"ik4": "5", "element": "CLM01"}),
    ("NM103-too-long", B837, "too_long", "NM103", {"ik4": "5"}),
    ("N403-too-short", B837, "too_short", "N403", {"ik4": "4", "element": "N403"}),
    ("CLM02-letter", B837, "non_numeric", "CLM02", {"ik4": "6", "element": "CLM02"}),
    ("SVC02-letter", B835, "non_numeric", "SVC02", {"ik4": "6"}),
    ("DTP03-month-13", B837, "bad_date", "DTP03 = '20241341'", {"ik4": "8", "element": "DTP03"}),
    ("BHT05-bad-time", B837, "bad_time", "BHT05", {"ik4": "9", "element": "BHT05"}),
    ("CLM02-empty", B837, "empty_required", "CLM02", {"ik4": "1", "element": "CLM02"}),
    ("CLP02-empty", B835, "empty_required", "CLP02", {"ik4": "1"}),
    ("N3-too-many-elements", B837, "too_many_elements", "N3 ", {"ik4": "3"}),
    ("CLM03-not-used", B837, "not_used_filled", "CLM03", {"ik4": "I10", "element": "CLM03"}),
    ("CLM05-too-many-components", B837, "composite_too_many", "CLM05", {"ik4": "13"}),
    ("N4-twice", B837, "duplicate_segment", "N4 ", {"ik3": "5"}),
    ("ZZZ-segment", B837, "insert_unknown", "after CLM", {"ik3": "1"}),
    ("CLP-in-837", B837, "insert_foreign", "CLP", {"ik3": ("2", "6")}),
    ("N3-N4-swapped", B837, "swap_adjacent", "N4 and N3", {"ik3": ("2", "3", "7")}),
    ("SE01-wrong", B835, "wrong_se01", "SE01", {"ik5": "4"}),
    ("SE02-mismatch", B835, "mismatched_se02", "SE02", {"ik5": "3"}),
    ("GE01-wrong", B837, "wrong_ge01", "GE01", {"ak9": "5"}),
    ("GE02-mismatch", B837, "mismatched_ge02", "GE02", {"ak9": "4"}),
    ("IEA01-wrong", B837, "wrong_iea01", "IEA01", {"ta1": "021"}),
    ("IEA02-mismatch", B837, "mismatched_iea02", "IEA02", {"ta1": "001"}),
    ("SE-missing", B837, "delete_trailer", "SE deleted", {"ik5": "2"}),
    ("HL02-bad-parent", B837, "hl_bad_parent", "HL02", {"segment_id": "HL"}),
    ("HL01-skips", B837, "hl_out_of_sequence", "HL01", {"segment_id": "HL"}),
    ("LX01-skips", B837, "lx_out_of_sequence", "LX01", {"segment_id": "LX"}),
]


def _mutation(base: str, operator: str, needle: str) -> M.Mutation:
    """The mutation of `base` (else of the first base of the same kind that has one: the corpus thins
    repetitive mutations out per base) by `operator` whose description or element matches."""
    kind = base.rsplit(".", 1)[-1]
    candidates = [m for m in M.build_corpus() if m.operator == operator and m.kind == kind
                  and (needle in m.description or needle == m.element)]
    for m in sorted(candidates, key=lambda m: m.base != base):
        return m
    raise LookupError(f"no {operator} mutation of a {kind} matching {needle!r}")


def _matches(finding, expected: dict) -> bool:
    for key, want in expected.items():
        have = getattr(finding, key)
        if isinstance(want, tuple) and have not in want or not isinstance(want, tuple) and have != want:
            return False
    return True


@pytest.mark.parametrize("case,base,operator,needle,expected", CASES, ids=[c[0] for c in CASES])
def test_mutation_finding(case, base, operator, needle, expected, tmp_path):
    m = _mutation(base, operator, needle)
    path = tmp_path / m.file_name
    path.write_bytes(m.text.encode("latin-1"))
    result = validate_file(path, snip=frozenset({1, 2, 5} if expected.get("snip") == 5 else {1, 2}))
    assert not result.valid, f"{m.id} ({m.description}) accepted"
    at = [f for f in result.errors if f.segment_no == m.segment_no]
    found = [f for f in at if _matches(f, expected)]
    assert found, (f"{m.id} ({m.description}): no error at segment {m.segment_no} with {expected}; errors: "
                   + "; ".join(f"seg {f.segment_no} {f.segment_id} {f.code} ik3={f.ik3} ik4={f.ik4} ik5={f.ik5} "
                               f"ak9={f.ak9} ta1={f.ta1} {f.element or ''}" for f in result.errors[:6]))


@pytest.mark.parametrize("needle", ["REF", "DMG", "PRV"])
def test_deleting_a_situational_segment_stays_valid(needle, tmp_path):
    m = _mutation(B837, "delete_optional", needle)
    path = tmp_path / m.file_name
    path.write_bytes(m.text.encode("latin-1"))
    result = validate_file(path, snip=frozenset({1, 2}))
    assert result.valid, [(f.segment_no, f.code) for f in result.errors]


def test_every_base_file_is_valid(tmp_path):
    """The corpus only means something if its bases are clean (at every SNIP level)."""
    for base in M.load_bases():
        path = tmp_path / f"{base.name}.x12"
        path.write_bytes(base.text.encode("latin-1"))
        result = validate_file(path)
        assert result.valid, (base.name, [(f.segment_no, f.snip, f.code) for f in result.errors[:5]])


ENVELOPE_OPERATORS = {"wrong_se01", "mismatched_se02", "wrong_ge01", "mismatched_ge02", "wrong_iea01",
                      "mismatched_iea02", "delete_trailer", "isa_defect", "gs_version"}


def test_envelope_mutations_read_as_validated(tmp_path):
    """One envelope state machine: for every envelope mutation of the corpus, the lenient reader records the
    envelope problems the validator finds (same codes, segments, messages, order) and the strict reader
    raises the first of them; every mutation whose defect is the envelope's own has one."""
    from cob.edi.envelope import CODES
    from cob.edi.errors import X12SyntaxError
    from cob.edi.reader import X12Reader

    checked = with_problems = 0
    for m in M.build_corpus():
        if m.operator not in ENVELOPE_OPERATORS:
            continue
        path = tmp_path / m.file_name
        path.write_bytes(m.text.encode("latin-1"))
        found = [(f.code, f.segment_no, f.segment_id, f.message) for f in validate_file(path, snip={1, 2}).findings
                 if f.code in CODES]
        reader = X12Reader(path, strict=False)
        list(reader)
        read = [(e.code, e.segment_no, e.segment_id, e.message) for e in reader.errors if e.code in CODES]
        assert read == found, m.id
        if found:
            with_problems += 1
            with pytest.raises(X12SyntaxError) as info:
                list(X12Reader(path))
            err = info.value.error
            assert (err.code, err.segment_no, err.segment_id, err.message) == found[0], m.id
        else:  # an element of ISA or GS: the validator's element checks (ISA13's form: the reader's too)
            assert m.operator in ("isa_defect", "gs_version"), m.id
        checked += 1
    assert checked > 100 and with_problems > 70
