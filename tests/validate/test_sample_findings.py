"""Issue 15, Done when: `cob validate` over ../shared/samples reports no `leading_space` flood and no
false alarm that the reasoned list does not explain.

`sample_findings.json` lists, for every public sample file, the finding codes cob reports (errors and
warnings apart) and, for each code, why it is right on those files (read from the files by hand). A code
that is not listed for a file fails: either a false alarm, or a new check whose reason must be written
down. A listed code that no longer occurs fails too, so the list stays true. Skipped when the samples are
absent (they are never committed)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from conftest import SAMPLES  # noqa: E402

from cob.cli import main  # noqa: E402

LIST = json.loads((HERE / "sample_findings.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/samples is not present")


@pytest.fixture(scope="module")
def report() -> dict:
    result = CliRunner().invoke(main, ["validate", str(SAMPLES), "--format", "json"])
    assert result.exit_code == 1, result.output[-2000:]  # invalid files and an X12 fragment skipped
    return json.loads(result.stdout)


def _by_name(report: dict) -> dict[str, dict]:
    return {Path(f["file"]).name: f for f in report["files"]}


def test_every_sample_is_listed_and_every_listed_sample_is_there(report):
    validated = set(_by_name(report))
    skipped = {Path(s["file"]).name for s in report["skipped"]}
    assert validated == set(LIST["files"]), "a sample was added or removed: list it with its findings"
    assert skipped == set(LIST["skipped"])
    assert report["summary"]["skipped"] == len(LIST["skipped"])


@pytest.mark.parametrize("name", sorted(LIST["files"]))
def test_findings_are_the_explained_ones(report, name):
    listed = LIST["files"][name]
    found = _by_name(report).get(name)
    if found is None:
        pytest.skip(f"{name} is not among the samples")
    errors = sorted({f["code"] for f in found["errors"]})
    warnings = sorted({f["code"] for f in found["warnings"]})
    assert errors == sorted(listed["errors"]), f"{name}: errors not explained by (or missing from) the list"
    assert warnings == sorted(listed["warnings"]), f"{name}: warnings not explained by (or missing from) the list"
    for code in errors + warnings:
        assert LIST["codes"].get(code), f"{code} has no reason in sample_findings.json"


def test_no_leading_space_flood(report):
    # once where indentation starts (envelope, then each set), not once per line: the two NTH 835s
    # indent 289 and 783 segments and get 2 and 4 findings
    for name, found in _by_name(report).items():
        count = Counter(f["code"] for f in found["errors"])["leading_space"]
        assert count == LIST["files"][name].get("leading_space", 0), name


def test_every_reason_is_used(report):
    used = {f["code"] for found in report["files"] for f in found["errors"] + found["warnings"]}
    assert set(LIST["codes"]) == used
