"""One walk: the reader places every segment in the IG loop the validator places it in, and reports the
walk problems the validator reports (same code, segment number, segment id, loop and claim), over every
corpus the tests use.

Both take a per-segment trace hook: (segment number, loop id or None when the segment is not placed).
The reader is read leniently so that it goes on after a problem, as the validator does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cob.edi.errors import X12SyntaxError
from cob.edi.reader import X12Reader
from cob.edi.tokens import SegmentReader
from cob.edi.validate.engine import Validator
from cob.edi.walk import PROBLEM_CODES

from conftest import DATA, SAMPLES

TESTS = Path(__file__).parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS / "validate"))

import mutations as M  # noqa: E402



def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() not in (".md", ".jsonl"))


def reader_walk(path: Path) -> tuple[dict[int, str | None], list[tuple]]:
    trace: dict[int, str | None] = {}
    reader = X12Reader(path, strict=False, trace=trace.__setitem__)
    try:
        for _ in reader:
            pass
    except X12SyntaxError:  # not X12 at all: raised even when lenient
        pass
    problems = [(e.code, e.segment_no, e.segment_id, e.loop, e.claim_id) for e in reader.errors + reader.warnings
                if e.code in PROBLEM_CODES]
    return trace, sorted(problems, key=lambda p: p[1] or 0)


def validator_walk(path: Path) -> tuple[dict[int, str | None], list[tuple]]:
    trace: dict[int, str | None] = {}
    result = Validator(path, trace=trace.__setitem__).run()
    problems = [(f.code, f.segment_no, f.segment_id, f.loop, f.claim_id) for f in result.findings if f.code in PROBLEM_CODES]
    return trace, sorted(problems, key=lambda p: p[1] or 0)


def _transaction_sets(path: Path) -> list[tuple[int, int]]:
    """(ST segment number, last segment number) of every transaction set of a file."""
    sets: list[tuple[int, int]] = []
    start = None
    try:
        for elements, no in SegmentReader(path):
            if elements[0] == "ST":
                if start is not None:
                    sets.append((start, no - 1))
                start = no
            elif elements[0] in ("SE", "GE", "IEA", "ISA", "GS") and start is not None:
                sets.append((start, no if elements[0] == "SE" else no - 1))
                start = None
    except X12SyntaxError:
        pass
    return sets


def assert_same_walk(path: Path) -> None:
    """Every segment both walk is placed in the same loop, and they report the same walk problems there;
    a segment only one walks is in a transaction set the other does not walk at all (the reader reads
    005010 837 / 835 sets by ST01, whatever GS08 says; the validator the sets of a group whose GS08 it
    supports, whatever ISA12 says)."""
    r_trace, r_problems = reader_walk(path)
    v_trace, v_problems = validator_walk(path)
    common = r_trace.keys() & v_trace.keys()
    differ = [(no, r_trace[no], v_trace[no]) for no in sorted(common) if r_trace[no] != v_trace[no]]
    assert not differ, f"{path.name}: (segment, reader loop, validator loop) {differ[:10]}"
    for first, last in _transaction_sets(path):
        by_reader = {no for no in r_trace if first <= no <= last}
        by_validator = {no for no in v_trace if first <= no <= last}
        assert by_reader == by_validator or not by_reader or not by_validator, (
            f"{path.name}: set at segment {first}: walked by the reader only {sorted(by_reader - by_validator)[:5]}, "
            f"by the validator only {sorted(by_validator - by_reader)[:5]}")
    assert [p for p in r_problems if p[1] in common] == [p for p in v_problems if p[1] in common], path.name


FIXED = [*_files(ROOT / "cob" / "fixtures" / "sample"), *_files(DATA), *_files(DATA / "institutional"),
         *_files(TESTS / "scenarios" / "data")]


@pytest.mark.parametrize("path", FIXED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixtures_walk_alike(path):
    assert_same_walk(path)


@pytest.mark.parametrize("path", _files(SAMPLES) or [pytest.param(None, marks=pytest.mark.skip(
    reason=f"{SAMPLES} not present"))], ids=lambda p: p.name if p else "-")
def test_public_samples_walk_alike(path):
    assert_same_walk(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return M.write_corpus(tmp_path_factory.mktemp("mutations"))


def test_mutation_corpus_walks_alike(corpus):
    failures = []
    for name, path in sorted(corpus.items()):
        try:
            assert_same_walk(path)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, f"{len(failures)} of {len(corpus)} files: " + "\n".join(failures[:20])
