"""Tests of the synthetic 837P/835 generator (cob.fixtures.generate).

The 835/837 checks here parse the X12 text with a few lines of plain string splitting on
purpose: they must not share code with the generator, or a generator bug would be invisible.
"""

from __future__ import annotations

import filecmp
import json
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cob.fixtures import generate as gen_mod
from cob.fixtures.generate import GenerationResult, generate, write_sample
from cob.fixtures.scenarios import SCENARIOS, npi_is_valid
from cob.fixtures.x12text import Delimiters, money

try:  # tests/ is not a package today; keep working if it becomes one
    from pyx12_oracle import pyx12_available, pyx12_report, pyx12_validate
except ImportError:  # pragma: no cover
    from tests.pyx12_oracle import pyx12_available, pyx12_report, pyx12_validate

SMALL: dict[str, Any] = {"seed": 11, "claims": 40, "claims_per_file": 10}


# --------------------------------------------------------------------------------------------
# An independent, minimal X12 reader
# --------------------------------------------------------------------------------------------


def read_segments(path: Path) -> list[list[str]]:
    """Split an X12 file into segments of elements, delimiters taken from the ISA."""
    text = path.read_text(encoding="ascii")
    assert text.startswith("ISA"), path
    element, component, terminator = text[3], text[104], text[105]
    assert len({element, component, terminator}) == 3
    segments = []
    for raw in text.split(terminator):
        raw = raw.strip("\r\n")
        if raw:
            segments.append(raw.split(element))
    return segments


def component_sep(path: Path) -> str:
    return path.read_text(encoding="ascii")[104]


def D(value: str) -> Decimal:
    return Decimal(value) if value else Decimal(0)


def element(seg: list[str], pos: int) -> str:
    return seg[pos] if len(seg) > pos else ""


def cas_total(seg: list[str]) -> Decimal:
    """Sum of CAS03, CAS06, ... CAS18."""
    return sum((D(element(seg, pos)) for pos in range(3, 19, 3)), Decimal(0))


def cas_group_total(seg: list[str], group: str) -> Decimal:
    return cas_total(seg) if seg[1] == group else Decimal(0)


@dataclass
class ClpCheck:
    clp: list[str]
    claim_cas: Decimal = Decimal(0)
    line_cas: Decimal = Decimal(0)
    pr_total: Decimal = Decimal(0)
    svcs: list[tuple[list[str], Decimal]] = field(default_factory=list)


def balance_errors(path: Path) -> list[str]:
    """Every 835 balancing rule (TR3 1.10.2.1) checked on one file; returns the violations."""
    errors: list[str] = []
    bpr: list[str] | None = None
    clps: list[ClpCheck] = []
    plb_total = Decimal(0)
    in_svc = False

    def close_transaction() -> None:
        assert bpr is not None
        for c in clps:
            for svc, cas in c.svcs:
                if D(svc[2]) - cas != D(svc[3]):
                    errors.append(f"{path.name} {c.clp[1]}: SVC {svc[1]} {svc[2]} - {cas} != {svc[3]}")
            if D(c.clp[3]) - c.claim_cas - c.line_cas != D(c.clp[4]):
                errors.append(f"{path.name} {c.clp[1]}: CLP03 - CAS != CLP04")
            if c.svcs and sum((D(s[2]) for s, _ in c.svcs), Decimal(0)) != D(c.clp[3]):
                errors.append(f"{path.name} {c.clp[1]}: CLP03 != sum SVC02")
            if c.clp[2] != "22" and D(c.clp[5]) != c.pr_total:
                errors.append(f"{path.name} {c.clp[1]}: CLP05 != sum of PR adjustments")
        total = sum((D(c.clp[4]) for c in clps), Decimal(0)) - plb_total
        if D(bpr[2]) != total:
            errors.append(f"{path.name}: BPR02 {bpr[2]} != sum CLP04 - PLB = {total}")
        if D(bpr[2]) < 0:
            errors.append(f"{path.name}: negative BPR02")
        if (D(bpr[2]) == 0) != (bpr[1] == "H"):
            errors.append(f"{path.name}: BPR01 {bpr[1]} does not fit BPR02 {bpr[2]}")

    for seg in read_segments(path):
        tag = seg[0]
        if tag == "ST":
            bpr, clps, plb_total, in_svc = None, [], Decimal(0), False
        elif tag == "BPR":
            bpr = seg
        elif tag == "CLP":
            clps.append(ClpCheck(seg))
            in_svc = False
        elif tag == "SVC":
            clps[-1].svcs.append((seg, Decimal(0)))
            in_svc = True
        elif tag == "CAS":
            amount = cas_total(seg)
            current = clps[-1]
            current.pr_total += cas_group_total(seg, "PR")
            if in_svc:
                svc, cas = current.svcs[-1]
                current.svcs[-1] = (svc, cas + amount)
                current.line_cas += amount
            else:
                current.claim_cas += amount
        elif tag == "PLB":
            plb_total += sum((D(seg[pos]) for pos in range(4, len(seg), 2)), Decimal(0))
        elif tag == "SE":
            close_transaction()
    return errors


def envelope_errors(path: Path) -> list[str]:
    """SE01/GE01/IEA01 counts, control-number echoes and uniqueness."""
    errors: list[str] = []
    isa_ids: set[str] = set()
    st_count = groups = 0
    seg_count = 0
    st_id = gs_id = isa_id = ""
    for seg in read_segments(path):
        tag = seg[0]
        seg_count += 1
        if tag == "ISA":
            isa_id, groups = seg[13], 0
            if isa_id in isa_ids:
                errors.append(f"duplicate ISA13 {isa_id}")
            isa_ids.add(isa_id)
        elif tag == "GS":
            gs_id, st_count, groups = seg[6], 0, groups + 1
        elif tag == "ST":
            st_id, seg_count, st_count = seg[2], 1, st_count + 1
        elif tag == "SE":
            if int(seg[1]) != seg_count or seg[2] != st_id:
                errors.append(f"SE {seg} vs {seg_count} segments, ST02 {st_id}")
        elif tag == "GE":
            if int(seg[1]) != st_count or seg[2] != gs_id:
                errors.append(f"GE {seg} vs {st_count} sets")
        elif tag == "IEA":
            if int(seg[1]) != groups or seg[2] != isa_id:
                errors.append(f"IEA {seg}")
    return errors


def claims_of(path: Path) -> dict[str, list[list[str]]]:
    """837 claims: CLM01 -> segments from CLM up to the next HL/SE (claim data incl. 2320, 2400)."""
    out: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for seg in read_segments(path):
        if seg[0] == "CLM":
            current = out.setdefault(seg[1], [])
        elif seg[0] in ("HL", "SE"):
            current = None
        if current is not None:
            current.append(seg)
    return out


def load_manifest(result: GenerationResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.manifest.read_text().splitlines()]


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    return generate(tmp_path_factory.mktemp("small"), **SMALL)


@pytest.fixture(scope="module")
def small_files(small_run: GenerationResult) -> list[Path]:
    return [*small_run.claims_files, *small_run.remit_files]


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_money_has_no_trailing_zeros() -> None:
    assert [money(c) for c in (10_000, 1_250, 1_234, 5, 0, -310, -12_345)] == [
        "100", "12.5", "12.34", "0.05", "0", "-3.1", "-123.45"]


def test_same_seed_gives_byte_identical_output(tmp_path: Path, small_run: GenerationResult) -> None:
    again = generate(tmp_path, **SMALL)
    names = sorted(p.name for p in [*small_run.claims_files, *small_run.remit_files, small_run.manifest])
    assert names == sorted(p.name for p in [*again.claims_files, *again.remit_files, again.manifest])
    match, mismatch, errors = filecmp.cmpfiles(small_run.out_dir, tmp_path, names, shallow=False)
    assert mismatch == [] and errors == [] and len(match) == len(names)


def test_other_seed_gives_other_output(tmp_path: Path, small_run: GenerationResult) -> None:
    other = generate(tmp_path, **{**SMALL, "seed": 12})
    assert other.claims_files[0].read_bytes() != small_run.claims_files[0].read_bytes()


def test_claim_content_does_not_depend_on_file_split(tmp_path: Path, small_run: GenerationResult) -> None:
    """A claim is a function of (seed, index): re-splitting files must not change it."""
    forced: dict[str, Any] = {"seed": SMALL["seed"], "claims": SMALL["claims"], "delimiters": "*:~^"}
    split = generate(tmp_path / "split", **forced, claims_per_file=7, isa_per_file=3)
    one_file = generate(tmp_path / "one", **forced)
    merged: dict[str, list[list[str]]] = {}
    for path in split.claims_files:
        merged.update(claims_of(path))
    assert claims_of(one_file.claims_files[0]) == merged


def test_every_scenario_is_present_in_30_claims(tmp_path: Path) -> None:
    result = generate(tmp_path, seed=3, claims=30)
    counts = Counter(r["scenario"] for r in load_manifest(result))
    assert set(counts) == set(SCENARIOS)
    assert result.scenario_counts == dict(counts)


def test_scenarios_show_up_in_the_x12(small_run: GenerationResult) -> None:
    """The manifest's scenario labels are backed by the right X12 shapes."""
    manifest = {r["claim_id"]: r for r in load_manifest(small_run)}
    by_scenario: dict[str, list[str]] = {}
    for claim_id, record in manifest.items():
        by_scenario.setdefault(record["scenario"], []).append(claim_id)

    clps: dict[str, list[tuple[str, list[list[str]]]]] = {}  # CLP01 -> [(file, CLP loop segments)]
    for path in small_run.remit_files:
        current: list[list[str]] | None = None
        for seg in read_segments(path):
            if seg[0] == "CLP":
                current = [seg]
                clps.setdefault(seg[1], []).append((path.name, current))
            elif seg[0] in ("SE", "LX"):
                current = None
            elif current is not None:
                current.append(seg)
    claims: dict[str, list[list[str]]] = {}
    for path in small_run.claims_files:
        claims.update(claims_of(path))

    def loops(claim_id: str) -> list[list[list[str]]]:
        return [segs for _, segs in clps[claim_id]]

    def has(segs: list[list[str]], *prefix: str) -> bool:
        return any(seg[: len(prefix)] == list(prefix) for seg in segs)

    for cid in by_scenario["split_claim"]:
        parts = loops(cid)
        assert len(parts) == 2 and all(has(p, "MOA", "", "", "MA15") for p in parts)
        charge = sum(D(p[0][3]) for p in parts)
        assert charge == D(claims[cid][0][2])
    for cid in by_scenario["reversal_correction"]:
        files = [name for name, _ in clps[cid]]
        statuses = [p[0][2] for p in loops(cid)]
        assert statuses == ["1", "22", "1"] and files[0] != files[1] == files[2]
        original, reversal = loops(cid)[0], loops(cid)[1]
        assert reversal[0][7] == original[0][7]  # same payer claim number
        assert D(reversal[0][3]) == -D(original[0][3]) and D(reversal[0][4]) == -D(original[0][4])
    for cid in by_scenario["crossover"]:
        (loop,) = loops(cid)
        assert loop[0][2] == "19" and has(loop, "MOA", "", "", "MA18")
        tt = next(seg for seg in loop if seg[:2] == ["NM1", "TT"])
        secondary_2330b = [seg for seg in claims[cid] if seg[:2] == ["NM1", "PR"]]
        assert tt[9] == secondary_2330b[0][9] == manifest[cid]["secondary_payer_id"]
    for cid in by_scenario["patient_not_identified"]:
        (loop,) = loops(cid)
        assert loop[0][2] == "4" and loop[0][4] == "0" and has(loop, "CAS", "CO", "31")
    for cid in by_scenario["bundling"]:
        svcs = [seg for seg in loops(cid)[0] if seg[0] == "SVC"]
        changed = [s for s in svcs if element(s, 6)]
        assert len(changed) >= 2 and any(element(s, 5) == "0" for s in changed)
        assert has(loops(cid)[0], "CAS", "OA", "94") and has(loops(cid)[0], "CAS", "CO", "97")
    for cid in by_scenario["zero_pay"]:
        (loop,) = loops(cid)
        assert loop[0][2] == "1" and D(loop[0][4]) == 0
    for cid in by_scenario["claim_level_pr"]:
        loop = loops(cid)[0]
        first_svc = next(i for i, s in enumerate(loop) if s[0] == "SVC")
        assert any(s[:2] == ["CAS", "PR"] for s in loop[:first_svc])
    for cid in by_scenario["denied_lines"]:
        svcs = [s for s in loops(cid)[0] if s[0] == "SVC"]
        assert any(D(s[3]) == 0 and D(s[2]) > 0 for s in svcs)
    for cid in by_scenario["paid_in_full"]:
        svcs = [s for s in loops(cid)[0] if s[0] == "SVC"]
        assert D(svcs[0][2]) == D(svcs[0][3])
    for cid in by_scenario["medicare_secondary"]:
        sbrs = [s for s in claims[cid] if s[0] == "SBR"]  # 2320 SBRs
        assert sbrs[0][1] == "S" and sbrs[0][5] in {"12", "13", "43"} and sbrs[0][9] == "MB"
    for cid in by_scenario["dependent_on_secondary"]:
        sbrs = [s for s in claims[cid] if s[0] == "SBR"]
        assert sbrs[0][1:3] == ["S", "01"]
    for cid in by_scenario["three_payers"]:
        sbrs = [s for s in claims[cid] if s[0] == "SBR"]
        assert [s[1] for s in sbrs] == ["S", "T"]
        second = [p for p in loops(cid) if p[0][2] == "2"]
        assert len(second) == 1 and manifest[cid]["remit_files"][-1].startswith("remit2-")
    # some patients are dependents on the primary policy (2000C HL with PAT)
    hl_codes = {seg[3] for path in small_run.claims_files for seg in read_segments(path) if seg[0] == "HL"}
    assert hl_codes == {"20", "22", "23"}
    # 2320 loops never carry adjudication in an original claim
    assert not any(seg[0] in ("CAS", "AMT", "SVD") for segs in claims.values() for seg in segs)


def test_every_835_balances(small_run: GenerationResult) -> None:
    problems = [e for path in small_run.remit_files for e in balance_errors(path)]
    assert problems == []


def test_claim_charge_is_sum_of_line_charges(small_run: GenerationResult) -> None:
    for path in small_run.claims_files:
        for claim_id, segs in claims_of(path).items():
            lines = [s for s in segs if s[0] == "SV1"]
            assert 1 <= len(lines) <= 6
            assert D(segs[0][2]) == sum((D(s[2]) for s in lines), Decimal(0)), claim_id
            assert [s[1] for s in segs if s[0] == "LX"] == [str(n) for n in range(1, len(lines) + 1)]


def test_envelopes_counts_and_control_numbers(small_files: list[Path]) -> None:
    problems = [f"{p.name}: {e}" for p in small_files for e in envelope_errors(p)]
    assert problems == []


def test_identifiers_are_well_formed_and_unique(small_run: GenerationResult) -> None:
    npis, line_controls, claim_ids = set(), [], []
    for path in small_run.claims_files:
        for seg in read_segments(path):
            if seg[0] == "NM1" and element(seg, 8) == "XX":
                npis.add(seg[9])
            elif seg[:2] == ["REF", "6R"]:
                line_controls.append(seg[2])
            elif seg[0] == "CLM":
                claim_ids.append(seg[1])
    assert npis and all(npi_is_valid(n) for n in npis)
    assert len(set(line_controls)) == len(line_controls)
    assert len(set(claim_ids)) == len(claim_ids) == SMALL["claims"]
    # diagnosis codes are sent without the dot
    for path in small_run.claims_files:
        for seg in read_segments(path):
            if seg[0] == "HI":
                assert all("." not in e for e in seg[1:])


def test_file_mix_has_two_interchanges_and_other_delimiters(small_files: list[Path]) -> None:
    isa_counts = {p.name: sum(1 for s in read_segments(p) if s[0] == "ISA") for p in small_files}
    assert max(isa_counts.values()) >= 2
    styles = {(p.read_text()[3], p.read_text()[104]) for p in small_files}
    assert ("*", ":") in styles and ("|", ">") in styles
    assert any(b"~\r\n" in p.read_bytes() for p in small_files)


def test_forced_delimiters(tmp_path: Path) -> None:
    result = generate(tmp_path, seed=2, claims=25, delimiters="|>~^", line_ending="crlf", isa_per_file=2)
    for path in [*result.claims_files, *result.remit_files]:
        text = path.read_bytes().decode("ascii")
        assert (text[3], text[82], text[104], text[105:108]) == ("|", "^", ">", "~\r\n")
        assert sum(1 for s in read_segments(path) if s[0] == "ISA") in (1, 2)
    with pytest.raises(ValueError):
        Delimiters.parse("*:*^")
    with pytest.raises(ValueError):
        Delimiters.parse("-:~^")  # '-' appears in negative amounts


def test_manifest_carries_no_phi(small_run: GenerationResult) -> None:
    allowed_keys = {
        "claim_id", "scenario", "claims_file", "remit_files", "primary_payer_id", "secondary_payer_id",
        "tertiary_payer_id", "primary_claim_statuses", "secondary_claim_statuses",
        "primary_payer_claim_numbers", "patient_is_primary_subscriber", "line_count", "claim_charge",
        "primary_paid_net", "line_control_numbers_echoed", "delimiters", "line_ending",
    }
    names_and_ids: set[str] = set()
    for path in small_run.claims_files:
        for seg in read_segments(path):
            if seg[0] == "NM1" and seg[1] in ("IL", "QC"):
                names_and_ids.update(v for v in (seg[3], element(seg, 4), element(seg, 9)) if v)
    text = small_run.manifest.read_text()
    for record in load_manifest(small_run):
        assert set(record) == allowed_keys
    assert not [v for v in names_and_ids if f'"{v}"' in text]
    files = {p.name for p in [*small_run.claims_files, *small_run.remit_files]}
    assert all(set(r["remit_files"]) | {r["claims_file"]} <= files for r in load_manifest(small_run))


def test_reprocessed_remit_is_dated_after_the_first(small_run: GenerationResult) -> None:
    def payment_dates(path: Path) -> set[str]:
        return {seg[-1] for seg in read_segments(path) if seg[0] == "BPR"}

    later = [p for p in small_run.remit_files if ".reprocessed." in p.name]
    assert later
    for path in later:
        first = path.with_name(path.name.replace(".reprocessed", ""))
        assert min(payment_dates(path)) > max(payment_dates(first))


def test_cli(tmp_path: Path) -> None:
    argv = ["--seed", "5", "--claims", "21", "--claims-per-file", "7", "--out", str(tmp_path), "--quiet"]
    assert gen_mod.main(argv) == 0
    assert sorted(p.name for p in tmp_path.glob("claims-*.837")) == [
        "claims-0001.837", "claims-0002.837", "claims-0003.837"]
    assert len((tmp_path / "manifest.jsonl").read_text().splitlines()) == 21


def test_committed_sample_is_current(tmp_path: Path) -> None:
    """fixtures/sample must be exactly what `python -m cob.fixtures.generate --sample` writes."""
    result = write_sample(tmp_path)
    committed = gen_mod.SAMPLE_DIR
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in committed.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(tmp_path, committed, names, shallow=False)
    assert mismatch == [] and errors == []
    assert {r["scenario"] for r in load_manifest(result)} == set(SCENARIOS)
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 80_000


@pytest.mark.skipif(not pyx12_available(), reason="pyx12 not installed")
def test_every_file_passes_pyx12(small_files: list[Path]) -> None:
    """The small run and the committed sample: all 837P/835 files, all styles, 2-ISA files."""
    sample = sorted([*gen_mod.SAMPLE_DIR.glob("*.837"), *gen_mod.SAMPLE_DIR.glob("*.835")])
    assert sample
    failures = {}
    for path in [*small_files, *sample]:
        ok, errors = pyx12_validate(path)
        if not ok:
            failures[path.name] = errors[:5]
    assert failures == {}


@pytest.mark.skipif(not pyx12_available(), reason="pyx12 not installed")
def test_pyx12_oracle_rejects_a_broken_file(small_run: GenerationResult, tmp_path: Path) -> None:
    """The oracle must not be vacuous: a wrong segment count and a bad code are reported."""
    source = small_run.claims_files[0]
    text = source.read_text()
    e, t = text[3], text[105]
    broken = text.replace(f"{t}SE{e}", f"{t}SE{e}9", 1)
    broken = broken.replace(f"SBR{e}P{e}", f"SBR{e}Q{e}", 1)
    bad = tmp_path / "broken.837"
    bad.write_text(broken)
    ok, errors = pyx12_validate(bad)
    assert not ok and len(errors) >= 2
    assert not list(tmp_path.glob("*.997")) and not list(tmp_path.glob("*.999"))
    report = pyx12_report(small_run.remit_files[0])
    assert report.ok and report.notes  # the 999 gap for 835s is known and tolerated, not hidden


def test_memory_stays_flat_for_20000_claims(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        result = generate(tmp_path, seed=4, claims=20_000, claims_per_file=5_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.claims == 20_000 and result.bytes_837 > 10_000_000
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
