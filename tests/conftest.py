"""Shared test helpers: where the samples and test data live, and a segment comparator."""

from __future__ import annotations

import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
DATA = TESTS / "data"
#: public X12 files written by others, never committed: ../shared/samples beside the repository (or $COB_SAMPLES)
SAMPLES = Path(os.environ.get("COB_SAMPLES") or TESTS.parent.parent / "shared" / "samples")
sys.path.insert(0, str(TESTS))

ENVELOPE = {"ISA", "GS", "ST", "SE", "GE", "IEA"}


def canonical_segments(path: Path) -> list[list]:
    """Segments of a file with delimiters, envelope control numbers and amount formatting taken out:
    composites become lists, numbers with a decimal point are compared as Decimal values."""
    from cob.edi.tokens import SegmentReader
    from cob.schemas.base import split_composites

    reader = SegmentReader(path)
    out = []
    for elements, _no in reader:
        if elements[0] in ENVELOPE:
            continue
        out.append([_canon(e) for e in split_composites(elements, reader.delimiters.component)])
    return out


def _canon(value):
    if isinstance(value, list):
        return [_canon(v) for v in value]
    if value and "." in value and (value[0].isdigit() or value[0] in "-."):
        from cob.schemas.base import format_amount
        try:
            return format_amount(Decimal(value))
        except InvalidOperation:
            return value
    return value


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"shared sample {name} not present")
    return path


@pytest.fixture
def cob_claim_path() -> Path:
    return DATA / "cob-claim.837"


@pytest.fixture(autouse=True)
def _no_patient_data_in_what_cob_writes(request):
    """Issue 13 "Done when": after each test that used tmp_path, no report, log, reason file or state text it
    made holds a patient's name, member id, birth date or street (see tests/phi_guard.py)."""
    yield
    root = request.node.funcargs.get("tmp_path")  # torn down by now, its folder is still there
    if root is None or os.environ.get("COB_PHI_GUARD") == "0":
        return
    from phi_guard import leaks_under

    leaked = leaks_under(root)
    assert leaked == {}, f"patient data in what cob wrote: {leaked}"
