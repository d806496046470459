"""The IG gate of `cob secondary` (cob.billing.output): claims with IG errors and claims from a malformed claim
file are taken out of the output files, and what stays is written as the writer writes it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest

from cob.billing.secondary import SecondaryOptions, run_secondary
from cob.edi.envelope import CounterControlNumbers, Party
from cob.edi.reader import X12Reader
from cob.edi.writer import Claim837Writer, InterchangeInfo
from cob.fixtures.generate import generate

NOW = dt.datetime(2026, 1, 2, 3, 4)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[list[Path], list[Path]]:
    out = tmp_path_factory.mktemp("gen")
    generate(out, seed=11, claims=160, claims_per_file=80, delimiters="*:~^", line_ending="lf")
    return sorted(out.glob("claims-*.837")), sorted(out.glob("remit*.835"))


def _run(claims: list[Path], remits: list[Path], out: Path, workers: int = 1):
    return run_secondary(claims, remits, SecondaryOptions(out_dir=out, workers=workers, now=NOW))


def _written(out: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(out.glob("*.837"))}


def _without(path: Path, drop: set[str]) -> str:
    """The output file written again from its claims read into models, but those in `drop` (how the gate
    took claims out before the claim copier)."""
    claims = list(X12Reader(path, only="837"))
    env = claims[0].header.envelope
    info = InterchangeInfo(Party(env.sender_qualifier, env.sender_id), Party(env.receiver_qualifier, env.receiver_id),
                           usage=env.usage, when=NOW)
    out = io.StringIO()
    writer = Claim837Writer(out, info, CounterControlNumbers(start=int(path.stem.rsplit("-", 1)[1])))
    writer.start()
    writer.begin_transaction(claims[0].header)
    for claim in claims:
        if claim.claim_id not in drop:
            writer.write_claim(claim)
    writer.finish()
    return out.getvalue()


def _bad_state(text: str, claim_id: str) -> str:
    """The claim's subscriber address (2010BA N4) in a state that does not exist: the built claim carries it,
    and the IG check of the output finds it (SNIP 2)."""
    clm = text.index(f"\nCLM*{claim_id}*")
    hl = text.rindex("\nHL*", 0, clm)
    n4 = text.index("\nN4*", hl) + 1
    end = text.index("~", n4)
    fields = text[n4:end].split("*")
    fields[2] = "ZZ"
    return text[:n4] + "*".join(fields) + text[end:]


@pytest.mark.parametrize("workers", [1, 2])
def test_claims_with_ig_errors_are_taken_out_and_the_rest_is_written_as_before(inputs, tmp_path, workers):
    claims, remits = inputs
    clean = _run(claims, remits, tmp_path / "clean")
    outputs = _written(tmp_path / "clean")
    biggest = max(outputs, key=lambda name: len(outputs[name]))
    ids = [c.claim_id for c in X12Reader(tmp_path / "clean" / biggest, only="837")]
    drop = {ids[0], ids[len(ids) // 2], ids[-1]}  # the file's first, a middle and its last claim
    assert len(ids) > 10 and clean.summary.billed > 100
    bad = []
    for path in claims:
        text = path.read_text()
        for claim_id in drop:
            if f"\nCLM*{claim_id}*" in text:
                text = _bad_state(text, claim_id)
        bad.append(tmp_path / path.name)
        bad[-1].write_text(text)
    report = _run(bad, remits, tmp_path / "gated", workers)
    rejected = {c.claim_id: c for c in report.claims if c.status == "rejected"}
    assert set(rejected) == drop
    for outcome in rejected.values():
        assert outcome.reason == "ig_invalid" and outcome.output is None
        # the input file and CLM segment of the original, then every problem by loop and segment id (the bad
        # state is in 2010BA, and in 2330A too where the subscriber is copied there): each found by SNIP 2 and 5
        m = re.fullmatch(r"the claim built from \S+\.837 segment \d+ \(loop 2300\) failed implementation-guide "
                         r"validation, (\d+) problem\(s\): (.*)", outcome.detail)
        assert m, outcome.detail
        items = m.group(2).split("; ")
        assert len(items) == int(m.group(1)) and len(items) in (2, 4)
        assert all(re.fullmatch(r"loop (2010BA|2330A) N4 \(segment \d+ of the built claim\): (SNIP 2 "
                                r"element_invalid_code: N402 \([A-Za-z ]+\): not a valid code|SNIP 5 state_invalid: "
                                r"N402 is not a US state or territory code)", item) for item in items), items
    gated = _written(tmp_path / "gated")
    assert set(gated) == set(outputs)
    for name, text in gated.items():
        expected = _without(tmp_path / "clean" / name, drop) if name == biggest else outputs[name]
        assert text == expected, name
    assert gated[biggest].count("\nCLM*") == len(ids) - 3


@pytest.mark.parametrize("workers", [1, 2])
def test_claims_of_a_malformed_claim_file_are_taken_out_of_files_they_share(inputs, tmp_path, workers):
    """The second claim file turns out malformed near its end: every claim billed from it is taken out, and the
    output files are those of a run given only the first file."""
    claims, remits = inputs
    text = claims[1].read_text()
    at = [m.start() for m in re.finditer(r"^CLM\*", text, re.M)][-3]
    end = text.index("~", at)
    fields = text[at:end].split("*")
    fields[2] = "12X4"  # CLM02, the charge: not a number
    bad = tmp_path / claims[1].name
    bad.write_text(text[:at] + "*".join(fields) + text[end:])
    alone = _run(claims[:1], remits, tmp_path / "alone")
    report = _run([claims[0], bad], remits, tmp_path / "both", workers)
    assert report.inputs[-1].status == "error"
    held = [c for c in report.claims if c.reason == "input_file_error"]
    assert len(held) > 40 and all(c.output is None for c in held)
    assert _written(tmp_path / "both") == _written(tmp_path / "alone")
    assert alone.summary.billed == report.summary.billed
