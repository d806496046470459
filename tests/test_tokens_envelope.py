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


@pytest.mark.parametrize("old,new,message,segment_no", [
    ("SE*45*0001", "SE*44*0001", "SE01 says 44 segments, found 45", 47),
    ("SE*45*0001", "SE*45*0002", "SE02 0002 does not match ST02 0001", 47),
    ("GE*1*101", "GE*2*101", "GE01 says 2 transaction sets, found 1", 48),
    ("GE*1*101", "GE*1*102", "GE02 102 does not match GS06 101", 48),
    ("IEA*1*000000101", "IEA*1*000000109", "IEA02 000000109 does not match ISA13 000000101", 49),
])
def test_envelope_errors_are_located(tmp_path, old, new, message, segment_no):
    path = _variant(tmp_path, _base().replace(old, new))
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    err = info.value.error
    assert err.message == message
    assert err.segment_no == segment_no
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
    assert "GE missing" in info.value.error.message
    assert info.value.error.segment_no is None


def test_not_x12(tmp_path):
    path = _variant(tmp_path, "hello world, this is not EDI\n" * 10)
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    assert "does not start with ISA" in str(info.value)
    assert info.value.error.segment_no == 1


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
    assert [e.code for e in reader.errors] == ["count"]


def test_duplicate_control_numbers(tmp_path):
    path = _variant(tmp_path, _base() + _base())
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(path))
    assert info.value.error.code == "duplicate_control_number"
    assert info.value.error.segment_no == 50
