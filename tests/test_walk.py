"""The one walker (`cob.edi.walk`): its fast path is its long path, its policy, skipping a claim unread,
and what readers and `cob secondary` make of a segment out of IG order (the N3/N4 swap of issue #12)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cob.billing.secondary import SecondaryOptions, run_secondary
from cob.cli import main
from cob.edi.errors import X12SyntaxError
from cob.edi.ig.tables import LoopDef, SegmentDef, load_table
from cob.edi.reader import KINDS, X12Reader
from cob.edi.tokens import SegmentReader
from cob.edi.validate import validate_file
from cob.edi.walk import PROBLEM_CODES, WalkPolicy, Walker
from cob.fixtures.generate import generate

from conftest import DATA

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "validate"))

import mutations as M  # noqa: E402


# ------------------------------------------------------------------------------------------ fast = long


def _walks(path: Path):
    """The segments of every transaction set of a file, as (ST elements, [elements...]) per set."""
    reader = SegmentReader(path)
    current = None
    for elements, _no in reader:
        if elements[0] == "ST":
            current = (reader.delimiters.component, [])
            yield elements, current
        elif current is not None and elements[0] not in ("GE", "IEA", "ISA", "GS"):
            current[1].append(elements)
            if elements[0] == "SE":
                current = None


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("mutations")
    files = sorted(M.write_corpus(folder).values())
    return files + sorted(DATA.glob("*.83*")) + sorted((TESTS.parent / "cob" / "fixtures" / "sample").glob("*.83*"))


def test_advance_decides_as_step(corpus_files):
    """`Walker.advance` (what the validator's hot loop and the reader call for every segment, with its
    shortcuts for the two commonest steps) takes a step exactly when `step` finds no problem in it, and
    leaves the walker where `step` does."""
    tables = {"837": load_table("005010X222A1"), "835": load_table("005010X221A1")}
    taken = refused = 0
    for path in corpus_files:
        try:
            sets = list(_walks(path))
        except X12SyntaxError:
            continue
        for st, (comp, segments) in sets:
            table = tables.get(st[1] if len(st) > 1 else "")
            if table is None:
                continue
            fast, long = Walker(table, comp), Walker(table, comp)
            fast.start()
            long.start()
            for elements in segments:
                key = fast.key(elements)
                step = fast.next.get(key)
                if step is None:
                    step = fast.plan(key, elements)
                before = (fast.cur, [dict(f) for f in fast.frames])
                ok = fast.advance(step)
                if not ok:
                    assert (fast.cur, fast.frames) == before, "advance changed the walker and said no"
                    fast.step(elements, key)
                    refused += 1
                else:
                    taken += 1
                _, problems = long.step(elements)
                assert ok == (not problems and step.seg is not None), (path.name, elements[0], problems)
                assert fast.cur is long.cur and fast.frames == long.frames, (path.name, elements[0])
    assert taken > 10_000 and refused > 500


# ------------------------------------------------------------------------------------------ policy


def test_a_policy_names_walk_problem_codes_only():
    with pytest.raises(ValueError, match="not walk problem codes: se_count"):
        WalkPolicy(warnings=frozenset({"se_count"}))
    policy = WalkPolicy(warnings=frozenset({"segment_repeat", "loop_repeat"}))
    assert policy.severity("segment_repeat") == "warning" and policy.severity("segment_missing") == "error"
    assert WalkPolicy().warnings == frozenset() and "segment_unexpected" in PROBLEM_CODES


def test_a_warning_policy_reads_on_and_keeps_the_claim(tmp_path):
    """REF*F8 twice in the 2330B payer loop: segment_repeat. An error by default (the claim file is refused,
    leniently the claim is skipped); a warning under a policy that says so, the claim then built."""
    text = (DATA / "cob-claim.837").read_text()
    bad = tmp_path / "twice.837"
    bad.write_text(text.replace("REF*F8*ICN987~\n", "REF*F8*ICN987~\nREF*F8*ICN988~\n").replace("SE*45*", "SE*46*"))
    with pytest.raises(X12SyntaxError) as info:
        list(X12Reader(bad))
    assert (info.value.error.code, info.value.error.segment_no, info.value.error.loop) == ("segment_repeat", 29, "2330B")
    assert [(f.code, f.segment_no) for f in validate_file(bad, snip={1, 2}).errors] == [("segment_repeat", 29)]
    lenient = X12Reader(bad, strict=False)
    assert list(lenient) == [] and [e.claim_id for e in lenient.errors] == ["PCN123"]
    reader = X12Reader(bad, policy=WalkPolicy(warnings=frozenset({"segment_repeat"})))
    (claim,) = list(reader)
    assert reader.errors == [] and [(w.code, w.severity) for w in reader.warnings] == [("segment_repeat", "warning")]
    assert claim.other_payers[0].payer.ref("F8") == "ICN987"


# ------------------------------------------------------------------------------------------ skipping


def _example(seg: SegmentDef) -> list[str]:
    """Elements of a segment this node matches (its qualifier, when it has one, set to its first code)."""
    elements = [seg.id]
    q = seg.qualifier
    if q is not None:
        elements += [""] * q.element
        code = sorted(q.codes)[0]
        elements[q.element] = code if q.component is None else ":" * (q.component - 1) + code + ":X"
    return elements


def _nodes(loop: LoopDef):
    for child in loop.children:
        if isinstance(child, SegmentDef):
            yield child
        else:
            yield from _nodes(child)


@pytest.mark.parametrize("transaction", ["837", "835"])
def test_only_the_stop_ids_leave_an_open_claim(transaction):
    """What makes skipping a declined claim exact (`Kind.stops`): from any segment of a claim's loop (or a
    loop inside it) the walk places a segment outside the claim only when its id is a stop id or SE, and
    a stop id lands where it lands from the claim's first segment, as the skipping reader walks it."""
    kind = KINDS[transaction]
    table = load_table(kind.version)
    every = [s for loop in table.loops for s in loop.children if isinstance(s, SegmentDef)]
    claims = [loop for loop in table.loops if loop.id == kind.emit]
    leaving: set[str] = set()
    for claim in claims:
        depth = len(claim.path().split("/")) - 1  # the claim's frame index
        for node in _nodes(claim):
            for seg in every:
                walker = Walker(table, ":")
                walker.cur = node
                walker.frames = [{} for _ in range(len(node.loop.path().split("/")))]
                step = walker.plan(walker.key(_example(seg)), _example(seg))
                if step.seg is None or len(walker.frames) - 1 - step.pops >= depth:
                    continue  # not placed, or placed inside the claim
                leaving.add(seg.id)
                first = Walker(table, ":")
                first.cur = claim.first_segment()
                first.frames = [{} for _ in range(depth + 1)]
                from_first = first.plan(first.key(_example(seg)), _example(seg))
                assert (from_first.seg, from_first.pushes) == (step.seg, step.pushes), (node.loop.id, node.id, seg.id)
                assert depth - from_first.pops == len(walker.frames) - 1 - step.pops
    assert leaving - {"SE"} == set(kind.stops)


def _with_problems(text: str) -> tuple[str, dict[str, str]]:
    """The generated claim file with walk problems in some claims and contexts; what each one is."""
    segs = text.split("~\n")
    clms = [i for i, s in enumerate(segs) if s.startswith("CLM*")]
    made: dict[str, str] = {}

    def claim_id(i: int) -> str:
        return segs[i].split("*")[1]

    # a claim's last DTP*472 deleted: missing, found when the next claim (or level) starts
    k = clms[3]
    last = max(i for i in range(k, clms[4]) if segs[i].startswith("DTP*472"))
    made["missing at the next claim"] = claim_id(k)
    del segs[last]
    clms = [i for i, s in enumerate(segs) if s.startswith("CLM*")]
    # a stray segment after a claim's first LX: not placed
    k = clms[7]
    lx = next(i for i in range(k, len(segs)) if segs[i].startswith("LX*"))
    segs.insert(lx + 1, "NM1*85*2*STRAY CLINIC*****XX*1234567893")
    made["stray"] = claim_id(k)
    clms = [i for i, s in enumerate(segs) if s.startswith("CLM*")]
    # an HL with an HL03 that is no level code inside a claim: a stop id the walk does not place
    k = clms[10]
    lx = next(i for i in range(k, len(segs)) if segs[i].startswith("LX*"))
    segs.insert(lx + 1, "HL*999*1*99*0")
    made["unplaced stop id"] = claim_id(k)
    clms = [i for i, s in enumerate(segs) if s.startswith("CLM*")]
    # a service line without its SV1: missing, found at the line's next segment
    k = clms[13]
    sv1 = next(i for i in range(k, len(segs)) if segs[i].startswith("SV1*"))
    del segs[sv1]
    made["missing in the claim"] = claim_id(k)
    clms = [i for i, s in enumerate(segs) if s.startswith("CLM*")]
    # a subscriber's N4 twice in 2010BA: a problem of the claims' context, not of a claim
    k = clms[16]
    hl = max(i for i in range(k) if segs[i].startswith("HL*") and segs[i].split("*")[3] == "22")
    n4 = next(i for i in range(hl, k) if segs[i].startswith("N4*"))
    segs.insert(n4 + 1, segs[n4])
    made["context"] = ""
    return "~\n".join(segs), made


def _problems(reader: X12Reader) -> list[tuple]:
    return [(e.code, e.segment_no, e.claim_id) for e in reader.errors if e.code in PROBLEM_CODES]


def test_a_reader_that_selects_reports_the_problems_of_what_it_reads(tmp_path):
    """A worker skips the claims it declines unread; the walker takes them as complete. It must report
    exactly the walk problems a serial reader reports for what it reads: those of its own claims and of
    the contexts (which every worker reads), none of the claims it skipped, and none invented by the skip."""
    out = tmp_path / "gen"
    generate(out, seed=11, claims=60, claims_per_file=60, delimiters="*:~^", line_ending="lf")
    source = next(out.glob("claims-*.837"))
    text, made = _with_problems(source.read_text())
    path = tmp_path / "problems.837"
    path.write_text(text)
    serial = X12Reader(path, strict=False)
    every = list(serial)
    found = _problems(serial)
    assert {code for code, _, _ in found} >= {"segment_missing", "segment_unexpected", "segment_repeat"}
    for what, claim in made.items():
        if claim:
            assert claim in {c for _, _, c in found}, what
    assert any(c is None for _, _, c in found), "no problem of a context"
    validator = [(f.code, f.segment_no, f.claim_id) for f in validate_file(path, snip={1, 2}).errors
                 if f.code in PROBLEM_CODES]
    assert found == validator
    ids = [c.claim_id for c in every]
    all_ids = re.findall(r"^CLM\*([^*]+)\*", text, re.M)
    for share in (set(all_ids[0::2]), set(all_ids[1::2]), set(all_ids[:20]), set()):
        worker = X12Reader(path, strict=False, select=share.__contains__)
        built = list(worker)
        assert [c.claim_id for c in built] == [i for i in ids if i in share]
        assert _problems(worker) == [p for p in found if p[2] is None or p[2] in share], sorted(share)[:3]
        # strict: the first problem a worker meets is the serial reader's first one among what it reads
        with pytest.raises(X12SyntaxError) as info:
            list(X12Reader(path, select=share.__contains__))
        first = info.value.error
        assert (first.code, first.segment_no, first.claim_id) == next(
            p for p in found if p[2] is None or p[2] in share)


# ------------------------------------------------------------------------------------------ issue #12


def _swap_first_n3_n4(text: str) -> str:
    return re.sub(r"(N3\*[^~]*~\n)(N4\*[^~]*~\n)", r"\2\1", text, count=1)


def test_n3_n4_swapped_is_reported_by_parse_as_by_validate(tmp_path):
    bad = tmp_path / "swapped.837"
    bad.write_text(_swap_first_n3_n4((DATA / "cob-claim.837").read_text()))
    found = [(f.code, f.segment_no, f.segment_id) for f in validate_file(bad).errors]
    assert found == [("segment_missing", 11, "N3"), ("segment_unexpected", 12, "N3")]
    result = CliRunner().invoke(main, ["parse", str(bad)])
    assert result.exit_code == 1
    assert result.output == (f"{bad}: segment 11 (N3): segment_missing: required segment N3 (Billing Provider "
                             "Address) in loop 2010AA is missing\n")
    result = CliRunner().invoke(main, ["parse", "--lenient", str(bad)])
    assert result.exit_code == 1
    assert [line.split(": ")[1:3] for line in result.output.splitlines()] == [
        ["segment 11 (N3)", "segment_missing"], ["segment 12 (N3)", "segment_unexpected"]]


def test_n3_n4_swapped_claim_file_is_not_billed(tmp_path):
    """`cob secondary` used to read the claim (the writer even put N3 back before N4) and bill it; now the
    claim file is an input error, as any malformed claim file is, and nothing from it is billed."""
    remit = DATA / "primary-remit.835"
    good = run_secondary([DATA / "original-claim.837"], [remit], SecondaryOptions(out_dir=tmp_path / "good"))
    assert [c.status for c in good.claims] == ["billed"]
    bad = tmp_path / "swapped.837"
    bad.write_text(_swap_first_n3_n4((DATA / "original-claim.837").read_text()))
    report = run_secondary([bad], [remit], SecondaryOptions(out_dir=tmp_path / "out"))
    (claim_input,) = [i for i in report.inputs if i.kind == "837"]
    assert claim_input.status == "error"
    assert claim_input.error == (f"{bad}: segment 11 (N3): segment_missing: required segment N3 (Billing "
                                 "Provider Address) in loop 2010AA is missing")
    assert [(c.claim_id, c.status, c.reason) for c in report.claims] == [
        ("PCN123", "held", "original_claim_missing")]
    assert list((tmp_path / "out").glob("*.837")) == []


def test_n3_n4_swapped_claim_file_is_rejected_by_cob_run(tmp_path, monkeypatch):
    site = tmp_path / "site"
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(site)]).exit_code == 0
    toml = site / "cob.toml"
    toml.write_text(toml.read_text().replace("settle_seconds = 60", "settle_seconds = 0"))  # read at once
    (site / "inbox" / "swapped.837").write_text(_swap_first_n3_n4((DATA / "original-claim.837").read_text()))
    (site / "inbox" / "primary.835").write_bytes((DATA / "primary-remit.835").read_bytes())
    monkeypatch.setenv("COB_NOW", "2026-03-02T01:30:00")
    monkeypatch.setenv("COB_SKIP_IG_VALIDATION", "1")
    run = runner.invoke(main, ["run", "--config", str(site / "cob.toml"), "--workers", "1"])
    assert run.exit_code == 1
    reason = (site / "rejected" / "swapped.837.reason.txt").read_text()
    assert "segment 11 (N3): segment_missing: required segment N3 (Billing Provider Address) in loop 2010AA" in reason
    assert list((site / "outbox").glob("*.837")) == []
