"""999s and TA1s written from what the engine found in real (mutated) files, checked by pyx12.

test_ack.py pins the writer on hand-built results; here the findings come from `validate_file` on a
sample of the mutation corpus (one defect each, of every operator), so the codes the engine puts on a
finding (IK3/IK4/IK5/AK9/TA1) are proven to make 999s that pyx12's 005010X231A1 map accepts.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import mutations as M
from cob.edi.envelope import CounterControlNumbers
from cob.edi.tokens import SegmentReader
from cob.edi.validate import validate_file
from cob.edi.validate.ack import write_acks

try:
    from pyx12_oracle import pyx12_available, pyx12_validate
except ImportError:  # pragma: no cover
    from tests.pyx12_oracle import pyx12_available, pyx12_validate

NOW = dt.datetime(2026, 11, 22, 13, 45)


def _sample() -> list[M.Mutation]:
    """Two mutations per operator and kind: every kind of finding the engine makes."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for m in M.build_corpus():
        key = (m.operator, m.kind)
        if seen.get(key, 0) < 2:
            seen[key] = seen.get(key, 0) + 1
            out.append(m)
    return out


SAMPLE = _sample()


@pytest.mark.skipif(not pyx12_available(), reason="pyx12 not installed")
@pytest.mark.parametrize("m", SAMPLE, ids=[m.id for m in SAMPLE])
def test_ack_of_a_defect_passes_pyx12(m, tmp_path: Path):
    src = tmp_path / m.file_name
    src.write_bytes(m.text.encode("latin-1"))
    result = validate_file(src)
    assert not result.valid or m.operator == "delete_optional"
    acks = tmp_path / "acks"
    acks.mkdir()
    written = write_acks(result, acks, control_numbers=CounterControlNumbers(start=500), now=NOW)
    assert written, f"{m.id}: no acknowledgment written"
    for path in written:
        if path.suffix == ".999":
            ok, errors = pyx12_validate(path)
            assert ok, f"{m.id}: our 999 fails pyx12: {errors[:3]}"
            ours = validate_file(path)  # and our own validator, which reads 005010X231A1 too
            assert ours.valid, f"{m.id}: our 999 fails cob validate: {[f.message for f in ours.errors[:3]]}"
            text = path.read_text()
            if result.valid:
                assert re.search(r"IK5.A", text) and re.search(r"AK9.A", text)
            elif any(f.st_control and (f.ik3 or f.ik4 or f.ik5) for f in result.errors):
                assert re.search(r"IK5.R", text)
        else:  # a TA1 interchange: ISA, TA1, IEA
            ids = [elements[0] for elements, _ in SegmentReader(path)]
            assert ids == ["ISA", "TA1", "IEA"]
            assert any(f.ta1 for f in result.errors) or "TA1*" in path.read_text()


def test_bad_isa_gets_a_ta1_with_its_note_code(tmp_path: Path):
    """ISA13 used twice in one file: TA105 025 on the second interchange."""
    one = (Path(__file__).parent.parent / "data" / "primary-remit.835").read_text()
    src = tmp_path / "twice.835"
    src.write_text(one + one)
    result = validate_file(src)
    assert [f.code for f in result.errors] == ["isa_control_duplicate"]
    assert result.errors[0].ta1 == "025"
    written = write_acks(result, tmp_path, control_numbers=CounterControlNumbers(start=7), now=NOW)
    ta1 = [p for p in written if p.suffix == ".ta1"]
    assert len(ta1) == 1
    assert "TA1*" in ta1[0].read_text() and "*R*025" in ta1[0].read_text()
