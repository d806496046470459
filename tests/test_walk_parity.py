"""One walk: the reader places every segment in the IG loop the validator places it in, and reports the
walk problems the validator reports (same code, same segment number), over every corpus the tests use.

Both take a per-segment trace hook: (segment number, loop id or None when the segment is not placed).
The reader is read leniently so that it goes on after a problem, as the validator does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cob.edi.errors import X12SyntaxError
from cob.edi.reader import X12Reader
from cob.edi.validate.engine import Validator
from cob.edi.walk import PROBLEM_CODES

from conftest import DATA, SAMPLES

TESTS = Path(__file__).parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS / "validate"))

import mutations as M  # noqa: E402

# the reader still walks with its own LoopWalker: 85 of 1,083 files place some segment elsewhere, 418 differ
# in walk problems (the old reader has none of the validator's codes); the next commit makes it one walk
pytestmark = pytest.mark.xfail(reason="reader has its own walker until the next commit", strict=False)


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() not in (".md", ".jsonl"))


def reader_walk(path: Path) -> tuple[dict[int, str | None], list[tuple[str, int | None]]]:
    trace: dict[int, str | None] = {}
    reader = X12Reader(path, strict=False, trace=trace.__setitem__)
    try:
        for _ in reader:
            pass
    except X12SyntaxError:  # not X12 at all: raised even when lenient
        pass
    problems = sorted((e.code, e.segment_no) for e in reader.errors + reader.warnings if e.code in PROBLEM_CODES)
    return trace, problems


def validator_walk(path: Path) -> tuple[dict[int, str | None], list[tuple[str, int | None]]]:
    trace: dict[int, str | None] = {}
    result = Validator(path, trace=trace.__setitem__).run()
    problems = sorted((f.code, f.segment_no) for f in result.findings if f.code in PROBLEM_CODES)
    return trace, problems


def _sets_walked_by_one(path: Path, only_reader: set[int], only_validator: set[int]) -> None:
    """Segments only one side walks must be whole transaction sets one side does not read: the reader reads
    005010 837 / 835 sets (by ST01), the validator the sets of a group whose GS08 it supports."""
    assert not (only_reader and only_validator), f"{path.name}: both walk segments the other does not"


def assert_same_walk(path: Path) -> None:
    r_trace, r_problems = reader_walk(path)
    v_trace, v_problems = validator_walk(path)
    common = r_trace.keys() & v_trace.keys()
    differ = [(no, r_trace[no], v_trace[no]) for no in sorted(common) if r_trace[no] != v_trace[no]]
    assert not differ, f"{path.name}: (segment, reader loop, validator loop) {differ[:10]}"
    only_reader = set(r_trace) - common
    only_validator = set(v_trace) - common
    _sets_walked_by_one(path, only_reader, only_validator)
    walked = common
    assert [p for p in r_problems if p[1] in walked] == [p for p in v_problems if p[1] in walked], path.name


FIXED = [*_files(ROOT / "cob" / "fixtures" / "sample"), *_files(DATA), *_files(TESTS / "scenarios" / "data")]


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
