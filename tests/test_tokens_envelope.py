"""Segment streaming and envelope integrity."""

from __future__ import annotations

from pathlib import Path

import pytest

from cob.edi.envelope import EnvelopeReader
from cob.edi.errors import X12SyntaxError
from cob.edi.reader import X12Reader
from cob.edi.tokens import SegmentReader

from conftest import DATA


def _variant(tmp_path: Path, text: str, name: str = "f.837") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _base() -> str:
    return (DATA / "cob-claim.837").read_text()


def test_segments_numbered_from_file_start(cob_claim_path):
    segs = list(SegmentReader(cob_claim_path))
    assert segs[0][0][0] == "ISA" and segs[0][1] == 1
    assert segs[3][0][:2] == ["BHT", "0019"] and segs[3][1] == 4
    assert segs[-1][0] == ["IEA", "1", "000000101"]
    assert len(segs) == 49


def test_other_delimiters_bom_crlf_and_indentation(tmp_path):
    text = _base()
    isa_end = text.index("~") + 1
    isa = text[:isa_end]
    # swap to | > ^ ~ ; keep ISA fixed width
    body = text[isa_end:].replace("*", "|").replace(":", ">")
    isa = isa.replace("*", "|")
    isa = isa[:104] + ">" + isa[105:]
    lines = [("  " + s) for s in body.split("~") if s.strip()]
    converted = "\ufeff" + isa + "\r\n" + "~\r\n".join(lines) + "~\r\n"
    path = _variant(tmp_path, converted)
    reader = SegmentReader(path)
    segs = list(reader)
    assert reader.delimiters.element == "|" and reader.delimiters.component == ">"
    assert [s[0][0] for s in segs][:4] == ["ISA", "GS", "ST", "BHT"]
    claims = list(X12Reader(path))
    original = list(X12Reader(cob_path := DATA / "cob-claim.837"))
    assert cob_path.exists()
    assert claims[0].lines[1].sv1.procedure.modifier1 == "QW"
    assert claims[0].model_dump(exclude={"source", "header"}) == original[0].model_dump(exclude={"source", "header"})


def test_several_interchanges_with_different_delimiters(tmp_path):
    first = _base()
    second = first.replace("000000101", "000000102")
    isa_end = second.index("~") + 1
    isa2 = second[:isa_end].replace("*", "|")
    second = isa2 + second[isa_end:].replace("*", "|")
    path = _variant(tmp_path, first + "\n" + second)
    claims = list(X12Reader(path))
    assert len(claims) == 2
    assert [c.header.envelope.interchange_control_number for c in claims] == ["000000101", "000000102"]
    assert claims[1].charge == claims[0].charge


def test_small_chunks_give_the_same_segments(cob_claim_path):
    whole = list(SegmentReader(cob_claim_path))
    tiny = list(SegmentReader(cob_claim_path, chunk_size=7))
    assert tiny == whole


@pytest.mark.parametrize("old,new,code,message,segment_no", [
    ("SE*45*0001", "SE*44*0001", "se_count", "SE01 says 44, the set has 45 segments", 47),
    ("SE*45*0001", "SE*45*0002", "se_control_mismatch", "SE02 does not match ST02", 47),
    ("GE*1*101", "GE*2*101", "ge_count", "GE01 says 2, the group has 1 transaction sets", 48),
    ("GE*1*101", "GE*1*102", "ge_control_mismatch", "GE02 does not match GS06", 48),
    ("IEA*1*000000101", "IEA*1*000000109", "iea_control_mismatch", "IEA02 does not match ISA13", 49),
])
def test_envelope_errors_are_located(tmp_path, old, new, code, message, segment_no):
    path = _variant(tmp_path, _base().replace(old, new))
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    err = info.value.error
    assert (err.code, err.message, err.segment_no) == (code, message, segment_no)
    assert str(err) == f"{path}: segment {segment_no} ({new[:new.index('*')]}): {message}"


def test_isa_must_be_fixed_width(tmp_path):
    text = _base().replace("*ZZ*SUBMITTERID    *", "*ZZ*SUBMITTERID*", 1)
    path = _variant(tmp_path, text)
    with pytest.raises(X12SyntaxError) as info:
        list(EnvelopeReader(path))
    assert info.value.error.code == "isa_width"
    assert info.value.error.segment_no == 1


def test_missing_trailers_reported_at_end_of_file(tmp_path):
    text = _base()
    path = _variant(tmp_path, text[: text.index("GE*")])
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    err = info.value.error
    assert (err.code, err.message, err.segment_no) == ("ge_missing", "functional group 101 has no GE trailer", None)


def test_not_x12(tmp_path):
    path = _variant(tmp_path, "hello world, this is not EDI\n" * 10)
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    assert str(info.value) == f"{path}: segment 1: does not look like an X12 file: it does not start with ISA"
    assert (info.value.error.code, info.value.error.segment_no) == ("not_x12", 1)


def test_bad_value_located_at_its_segment_without_phi(tmp_path):
    path = _variant(tmp_path, _base().replace("SV1*HC:87880:QW*50*", "SV1*HC:87880:QW*ABC*"))
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    err = info.value.error
    assert err.segment_no == 39 and err.segment_id == "SV1"
    assert "charge" in err.message and "ABC" not in err.message


def test_lenient_mode_collects_and_continues(tmp_path):
    text = _base().replace("SE*45*0001", "SE*40*0001")
    path = _variant(tmp_path, text)
    reader = X12Reader(path, strict=False)
    claims = list(reader)
    assert len(claims) == 1
    assert [e.code for e in reader.errors] == ["se_count"]


def test_duplicate_control_numbers(tmp_path):
    path = _variant(tmp_path, _base() + _base())
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    assert info.value.error.code == "isa_control_duplicate"
    assert info.value.error.segment_no == 50


# --------------------------------------------------------------------------------------------------
# One envelope, two callers: every envelope defect gives the reader (strict and lenient) and the
# validator the same code at the same segment (cob.edi.envelope.EnvelopeMachine and its CODES).

ISA = "ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *260301*1200*^*00501*{}*0*P*:"
GS = "GS*HC*SUBMITTERID*RECEIVERID*20260301*1200*{}*X*005010X222A1"
ST = "ST*837*{}*005010X222A1"
BHT = "BHT*0019*00*1*20260301*1200*CH"


def x12(*segments: str) -> str:
    return "~".join(segments) + "~"


def interchange(isa13: str = "000000101", gs06: str = "101", st02: str = "0001") -> list[str]:
    """A whole interchange of one group of one set of 3 segments: ISA GS ST BHT SE GE IEA."""
    return [ISA.format(isa13), GS.format(gs06), ST.format(st02), BHT, f"SE*3*{st02}", f"GE*1*{gs06}",
            f"IEA*1*{isa13}"]


ONE = interchange()
ISA1, GS1, ST1, _, SE1, GE1, IEA1 = ONE
NO_ACK = "-"

# case -> (file text, the envelope problems in file order: (code, segment number, segment id, what a 999 / TA1
# says for it in the validator's finding)). Segment numbers count from the ISA (1).
PARITY = {
    "clean": (x12(*ONE), []),
    "wrong SE01": (x12(ISA1, GS1, ST1, BHT, "SE*4*0001", GE1, IEA1), [("se_count", 5, "SE", "ik5 4")]),
    "SE02 is not ST02": (x12(ISA1, GS1, ST1, BHT, "SE*3*0002", GE1, IEA1),
                         [("se_control_mismatch", 5, "SE", "ik5 3")]),
    "wrong GE01": (x12(*ONE[:5], "GE*2*101", IEA1), [("ge_count", 6, "GE", "ak9 5")]),
    "GE02 is not GS06": (x12(*ONE[:5], "GE*1*102", IEA1), [("ge_control_mismatch", 6, "GE", "ak9 4")]),
    "wrong IEA01": (x12(*ONE[:6], "IEA*2*000000101"), [("iea_count", 7, "IEA", "ta1 021")]),
    "IEA02 is not ISA13": (x12(*ONE[:6], "IEA*1*000000109"), [("iea_control_mismatch", 7, "IEA", "ta1 001")]),
    "ISA13 twice": (x12(*ONE, *ONE), [("isa_control_duplicate", 8, "ISA", "ta1 025")]),
    "GS06 twice": (x12(*ONE[:6], *ONE[1:6], "IEA*2*000000101"), [("gs_control_duplicate", 7, "GS", "ak9 6")]),
    "ST02 twice": (x12(*ONE[:5], *ONE[2:5], "GE*2*101", IEA1), [("st_control_duplicate", 6, "ST", "ik5 23")]),
    "SE missing": (x12(ISA1, GS1, ST1, BHT, GE1, IEA1), [("se_missing", 5, "SE", "ik5 2")]),
    "GE missing": (x12(*ONE[:5], IEA1),
                   [("group_unterminated", 6, "IEA", "ta1 024"), ("ge_missing", 6, "GE", "ak9 3")]),
    "IEA missing at the end": (x12(*ONE[:6]), [("iea_missing", None, "IEA", "ta1 023")]),
    "IEA missing before an ISA": (x12(*ONE[:6], *interchange("000000102")), [("iea_missing", 7, "IEA", "ta1 023")]),
    "every trailer missing before an ISA": (
        x12(ISA1, GS1, ST1, BHT, *interchange("000000102")),
        [("se_missing", 5, "SE", "ik5 2"), ("ge_missing", 5, "GE", "ak9 3"), ("iea_missing", 5, "IEA", "ta1 023")]),
    "every trailer missing at the end": (
        x12(ISA1, GS1, ST1, BHT),
        [("se_missing", None, "SE", "ik5 2"), ("ge_missing", None, "GE", "ak9 3"),
         ("iea_missing", None, "IEA", "ta1 023")]),
    "ST outside GS": (x12(ISA1, ST1, BHT, SE1, "IEA*0*000000101"),
                      [("st_outside_group", 2, "ST", "ta1 024"), ("outside_transaction", 3, "BHT", "ta1 024"),
                       ("se_without_st", 4, "SE", NO_ACK)]),
    "GS outside ISA": (x12(*ONE, *ONE[1:]), [("no_isa", 8, "GS", "ta1 023")]),
    "segment outside a set": (x12(*ONE[:5], "REF*EA*1", *ONE[5:]), [("outside_transaction", 6, "REF", NO_ACK)]),
    "SE without ST": (x12(*ONE[:5], SE1, *ONE[5:]), [("se_without_st", 6, "SE", "ak9 3")]),
    "GE without GS": (x12(*ONE[:6], GE1, IEA1), [("ge_without_gs", 7, "GE", "ta1 024")]),
    "empty file": ("", [("empty", None, None, NO_ACK)]),
    "blank file": (" \r\n\r\n", [("empty", None, None, NO_ACK)]),
    "no ISA": ("hello world, this is not EDI\n", [("not_x12", 1, None, NO_ACK)]),
    "collapsed ISA": (x12(ISA1.replace("SUBMITTERID    ", "SUBMITTERID"), *ONE[1:]),
                      [("isa_width", 1, "ISA", "ta1 022")]),
    "ISA cut short": ("ISA*00*          *00*", [("isa_incomplete", 1, "ISA", NO_ACK)]),
    "second ISA cut short": (x12(*ONE) + "ISA*00*", [("isa_incomplete", 8, "ISA", "ta1 023")]),
}


def _ack(f) -> str:
    for name in ("ik5", "ak9", "ta1"):
        if getattr(f, name):
            return f"{name} {getattr(f, name)}"
    return NO_ACK


@pytest.mark.parametrize("case", list(PARITY))
def test_one_envelope_for_reader_and_validator(tmp_path, case):
    from cob.edi.envelope import CODES
    from cob.edi.validate import validate_file
    from cob.edi.walk import PROBLEM_CODES, WalkPolicy

    text, expected = PARITY[case]
    path = _variant(tmp_path, text)
    want = [e[:3] for e in expected]
    # the validator: the same problems, with their acknowledgment codes
    found = [f for f in validate_file(path).findings if f.code in CODES]
    assert [(f.code, f.segment_no, f.segment_id, _ack(f)) for f in found] == expected
    # the lenient reader records them all (a problem that stops the tokenizer is raised all the same)
    reader = X12Reader(path, strict=False)
    try:
        list(reader)
        stopped = []
    except X12SyntaxError as exc:
        stopped = [exc.error]
    errors = [e for e in reader.errors + stopped if e.code in CODES]
    assert [(e.code, e.segment_no, e.segment_id) for e in errors] == want
    # ... with the messages and the set positions of the validator's findings
    assert [(e.message, e.st_segment_no) for e in errors] == [(f.message, f.st_segment_no) for f in found]
    # the strict reader raises at the first (the sets here are a BHT alone: their walk problems are warnings)
    lax_walk = WalkPolicy(warnings=PROBLEM_CODES)
    if want:
        with pytest.raises(X12SyntaxError) as info:
            list(X12Reader(path, policy=lax_walk))
        assert (info.value.error.code, info.value.error.segment_no, info.value.error.segment_id) == want[0]
    else:
        list(X12Reader(path, policy=lax_walk))


def test_set_positions_of_a_missing_se(tmp_path):
    """A missing SE is seen at the segment that ends the set; the set counted up to it (an ISA is never in a
    set). The reader and the validator give the same positions."""
    from cob.edi.validate import validate_file

    cases = {"GE": (x12(ISA1, GS1, ST1, BHT, GE1, IEA1), 3),  # ST BHT GE
             "ISA": (x12(ISA1, GS1, ST1, BHT, *interchange("000000102")), 2),  # ST BHT
             "end": (x12(ISA1, GS1, ST1, BHT), 2)}
    for name, (text, position) in cases.items():
        path = _variant(tmp_path, text, f"{name}.837")
        reader = X12Reader(path, strict=False)
        list(reader)
        assert [e.st_segment_no for e in reader.errors if e.code == "se_missing"] == [position], name
        assert [f.st_segment_no for f in validate_file(path).findings if f.code == "se_missing"] == [position], name


def test_isa13_not_digits_has_the_validators_code(tmp_path):
    """ISA13's form is an element check: the validator's SegmentChecker, and the reader's one check of an ISA
    element, under the same code and TA1 018."""
    from cob.edi.validate import validate_file

    path = _variant(tmp_path, x12(ISA1.replace("000000101", "00000010A"), *ONE[1:6], "IEA*1*00000010A"))
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    assert (info.value.error.code, info.value.error.segment_no) == ("element_invalid_character", 1)
    isa13 = [f for f in validate_file(path).findings if f.element == "ISA13"]
    assert [(f.code, f.segment_no, f.ta1, f.message) for f in isa13] == [
        ("element_invalid_character", 1, "018", info.value.error.message)]


def test_every_code_is_in_the_one_list():
    """The codes the tokenizer and the machine emit, and what a 999 / TA1 says for each."""
    import re

    from cob.edi import envelope, tokens
    from cob.edi.envelope import CODES

    emitted = set(re.findall(r'code="([a-z0-9_]+)"', Path(tokens.__file__).read_text()))
    emitted |= set(re.findall(r'_problem\(\s*"([a-z0-9_]+)"', Path(envelope.__file__).read_text()))
    assert emitted == set(CODES)
    assert {c: (e.ta1, e.ak9, e.ik5) for c, e in CODES.items() if e.ta1 or e.ak9 or e.ik5} == {
        "no_isa": ("023", None, None), "isa_incomplete": ("023", None, None), "isa_width": ("022", None, None),
        "segment_too_long": ("024", None, None),
        "iea_missing": ("023", None, None), "isa_control_duplicate": ("025", None, None),
        "group_unterminated": ("024", None, None), "iea_control_mismatch": ("001", None, None),
        "iea_count": ("021", None, None), "ge_missing": (None, "3", None), "gs_control_duplicate": (None, "6", None),
        "ge_without_gs": ("024", None, None), "ge_control_mismatch": (None, "4", None), "ge_count": (None, "5", None),
        "st_outside_group": ("024", None, None), "se_without_st": (None, "3", None),
        "outside_transaction": ("024", None, None), "se_missing": (None, None, "2"),
        "st_control_duplicate": (None, None, "23"), "se_control_mismatch": (None, None, "3"),
        "se_count": (None, None, "4")}
