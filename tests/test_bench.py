"""The plumbing of `make bench` (bench/), not its speed: no test here times anything.

Covered: the base's entry point read from a pyproject text, the choice of the base commit, the
temporary worktree added and removed (also when the body fails), both trees started through their
own entry point, the child's resource accounting and the interleaving, the ratio and verdict
arithmetic, the clock normalization of outputs, the real-file survey, the variety generator
(valid and varied), and one tiny end-to-end run of the bench against HEAD itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # bench/ is not installed; `python -m pytest` from the root finds it anyway
    sys.path.insert(0, str(REPO))

from bench import compare, data, outputs  # noqa: E402
from bench.measure import Figure, Run, interleave, run_child  # noqa: E402
from bench.trees import (BenchSetupError, Tree, base_worktree, entry_point, launcher,  # noqa: E402
                         resolve_base)
from cob.fixtures.generate import generate  # noqa: E402

NEW_PYPROJECT = """
[project]
name = "cob"
[project.scripts]
cob = "cob.cli:main"
[tool.setuptools.packages.find]
include = ["cob*"]
"""
OLD_PYPROJECT = """
[project]
name = "cob"
dependencies = ["pyx12>=4.0"]
[project.scripts]
cob = "pipeline.cli:main"
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(cwd), *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def worktrees() -> set[str]:
    listing = git(REPO, "worktree", "list", "--porcelain")
    return {line.split(" ", 1)[1] for line in listing.splitlines() if line.startswith("worktree ")}


# -- entry point and launcher ----------------------------------------------------------------------


def test_entry_point_of_both_layouts() -> None:
    assert entry_point(NEW_PYPROJECT) == ("cob.cli", "main")
    assert entry_point(OLD_PYPROJECT) == ("pipeline.cli", "main")
    assert entry_point('[project.scripts]\ncob = "pkg.mod:group.main [extra]"\n') == ("pkg.mod", "group.main")


@pytest.mark.parametrize("text", ['[project]\nname = "x"\n', '[project.scripts]\ncob = "no_colon"\n',
                                  '[project.scripts]\ncob = "a.b:main; import os"\n', "not toml ["])
def test_entry_point_refuses_what_it_cannot_run(text: str) -> None:
    with pytest.raises(BenchSetupError):
        entry_point(text)


def test_launcher_runs_the_function_as_its_console_script_would(tmp_path: Path) -> None:
    pkg = tmp_path / "tree" / "oldpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text("import sys\ndef main():\n    print(sys.argv[0], *sys.argv[1:])\n    return 3\n")
    code = launcher("oldpkg.cli", "main")
    done = subprocess.run([sys.executable, "-P", "-c", code, "parse", "--summary"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "tree")}, capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (3, "cob parse --summary\n")


# -- the base commit ---------------------------------------------------------------------------------


@pytest.fixture
def tiny_repo(tmp_path: Path) -> dict[str, str]:
    """main: m1 - m2; branch topic from m2: t1 - t2. Returns the commits by name."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "f").write_text("start")
    git(repo, "add", "f")
    commits = {}
    for name in ("m1", "m2", "topic", "t1", "t2"):
        if name == "topic":
            git(repo, "checkout", "-qb", "topic")
            continue
        (repo / "f").write_text(name)
        git(repo, "commit", "-qam", name)
        commits[name] = git(repo, "rev-parse", "HEAD")
    commits["path"] = str(repo)
    return commits


def test_default_base_is_where_the_branch_left_main(tiny_repo: dict[str, str]) -> None:
    repo = Path(tiny_repo["path"])
    choice = resolve_base(None, repo)
    assert choice is not None and choice.commit == tiny_repo["m2"]  # not HEAD~1 (= t1)
    assert "merge-base" in choice.how


def test_default_base_on_main_is_the_first_parent(tiny_repo: dict[str, str]) -> None:
    repo = Path(tiny_repo["path"])
    git(repo, "checkout", "-q", "main")
    choice = resolve_base(None, repo)
    assert choice is not None and choice.commit == tiny_repo["m1"]
    assert choice.how.startswith("HEAD~1")


def test_base_override_and_none(tiny_repo: dict[str, str]) -> None:
    repo = Path(tiny_repo["path"])
    assert resolve_base("HEAD~1", repo).commit == tiny_repo["t1"]  # type: ignore[union-attr]
    assert resolve_base(tiny_repo["m1"][:10], repo).commit == tiny_repo["m1"]  # type: ignore[union-attr]
    assert resolve_base("none", repo) is None
    with pytest.raises(BenchSetupError):
        resolve_base("no-such-rev", repo)


# -- the temporary worktree and the trees --------------------------------------------------------------


def test_worktree_of_head_is_added_runs_its_own_code_and_is_removed(tmp_path: Path) -> None:
    head = git(REPO, "rev-parse", "HEAD")
    where = tmp_path / "base-tree"
    before = worktrees()
    with base_worktree(head, where) as root:
        assert str(root) in worktrees()
        assert git(root, "rev-parse", "HEAD") == head
        tree = Tree.at("base", root, "HEAD", tmp_path / "cache")
        assert (tree.module, tree.attr) == ("cob.cli", "main")
        # PYTHONPATH wins over the editable install of the working tree: the base imports its own cob
        found = subprocess.run([sys.executable, "-P", "-c", "import cob; print(cob.__file__)"], cwd=tmp_path,
                               env=tree.env(), capture_output=True, text=True, check=True).stdout.strip()
        assert Path(found).resolve() == (root / "cob" / "__init__.py").resolve()
        run = run_child(tree.cob("validate", "--help"), env=tree.env(), cwd=tmp_path)
        assert run.code == 0
    assert not where.exists()
    assert worktrees() == before


def test_worktree_is_removed_when_the_body_fails(tmp_path: Path) -> None:
    head = git(REPO, "rev-parse", "HEAD")
    where = tmp_path / "base-tree"
    before = worktrees()
    with pytest.raises(RuntimeError, match="boom"):
        with base_worktree(head, where):
            assert where.is_dir()
            raise RuntimeError("boom")
    assert not where.exists()
    assert worktrees() == before


# -- measuring -------------------------------------------------------------------------------------------


def test_run_child_reports_the_childs_cpu_rss_and_exit_code(tmp_path: Path) -> None:
    burn = "import sys\nx = bytearray(40 * 1024 * 1024)\nn = 0\nfor i in range(2_000_000): n += i\nsys.exit(3)"
    run = run_child([sys.executable, "-c", burn], cwd=tmp_path)
    assert run.code == 3
    assert run.cpu > 0 and run.wall > 0
    assert run.rss >= 40  # the 40 MB buffer, in MB


def test_interleave_alternates_base_and_head_and_drops_a_failing_tree() -> None:
    order: list[str] = []

    def step(tree: str, code: int = 0):
        def run(repeat: int) -> Run:
            order.append(f"{tree}{repeat}")
            return Run(1.0 + repeat, 0.5, 30.0, code)
        return run

    figure = interleave(Figure("parse", "x", "d", 1.0), {"base": step("base"), "head": step("head")}, 3)
    assert order == ["base0", "head0", "base1", "head1", "base2", "head2"]
    assert figure.median("head", "wall") == 2.0 and not figure.failed
    order.clear()
    failing = interleave(Figure("parse", "x", "d", 1.0), {"base": step("base", 2), "head": step("head")}, 3)
    assert order == ["base0", "head0", "head1", "head2"]
    assert failing.failed == {"base": "exit code 2"} and failing.runs["base"] == []


# -- ratio and verdict -------------------------------------------------------------------------------------


def figure_with(base: list[tuple[float, float, float]], head: list[tuple[float, float, float]]) -> Figure:
    fig = Figure("validate", "cob validate 837P", "generator 100", 10.0)
    fig.runs["base"] = [Run(w, c, r, 0) for w, c, r in base]
    fig.runs["head"] = [Run(w, c, r, 0) for w, c, r in head]
    return fig


def test_ratio_of_medians_and_the_verdict() -> None:
    # medians: base wall 2.0 cpu 1.00 rss 40; head wall 2.0 cpu 1.10 rss 41
    fig = figure_with([(2.0, 1.0, 40), (9.0, 0.9, 40), (1.0, 1.2, 40)],
                      [(2.0, 1.1, 41), (2.1, 1.1, 41), (1.9, 5.0, 41)])
    r = compare.ratios(fig)
    assert r["wall"] == pytest.approx(1.0) and r["cpu"] == pytest.approx(1.1) and r["rss"] == pytest.approx(1.025)
    assert compare.figure_verdict(fig) == "WORSE cpu +10.0%"
    assert compare.figure_verdict(fig, judged=("wall", "rss")) == "ok"
    assert compare.flagged([fig]) == [fig]


def test_verdict_limits() -> None:
    assert compare.verdict({"cpu": 1.05, "rss": 1.0}) == "ok"  # exactly 5 % is not more than 5 %
    assert compare.verdict({"cpu": 1.051, "rss": 1.2}) == "WORSE cpu +5.1%, rss +20.0%"
    assert compare.verdict({"cpu": 0.90, "rss": 0.94}) == "better"
    assert compare.verdict({"cpu": 0.90, "rss": 1.0}) == "ok"
    assert compare.verdict({"cpu": None, "rss": None}) == "-"
    assert compare.ratio(2.0, 0.0) is None and compare.ratio(None, 1.0) is None


def test_head_only_and_failed_figures() -> None:
    fig = figure_with([], [(1.0, 1.0, 30)])
    assert compare.figure_verdict(fig) == "head only" and compare.flagged([fig]) == []
    fig.failed["base"] = "exit code 2"
    assert compare.figure_verdict(fig) == "base failed: exit code 2" and compare.flagged([fig]) == [fig]
    assert "base failed" in compare.table([fig])


# -- outputs compared without the clock ---------------------------------------------------------------------

ISA = "ISA*00*          *00*          *ZZ*RBS007         *ZZ*ACMECLEAR01    *{d}*{t}*^*00501*000000008*0*T*:~"


def x12(day: str, time: str, amount: str = "10") -> bytes:
    return (ISA.format(d=day, t=time) + f"\nGS*HC*A*B*20{day}*{time}*8*X*005010X222A1~\nST*837*0001*005010X222A1~"
            f"BHT*0019*00*COB1*20{day}*{time}*CH~CLM*X*{amount}~SE*4*0001~GE*1*8~IEA*1*000000008~").encode()


def test_clock_elements_are_normalized_and_nothing_else() -> None:
    assert outputs.normalized_x12(x12("261207", "0049")) == outputs.normalized_x12(x12("270101", "2359"))
    assert outputs.normalized_x12(x12("261207", "0049")) != outputs.normalized_x12(x12("261207", "0049", "11"))
    normalized = outputs.normalized_x12(x12("261207", "0049")).decode()
    assert normalized.startswith("ISA*00*") and normalized.index("~") == 105  # ISA keeps its fixed width
    assert "GS*HC*A*B*#*#*8" in normalized and "BHT*0019*00*COB1*#*#*CH" in normalized
    assert outputs.normalized_x12(b"not x12") == b"not x12"


def test_compare_folders(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    for folder, day in ((base, "261207"), (head, "261208")):
        folder.mkdir()
        (folder / "a.837").write_bytes(x12(day, "0101"))
        (folder / "b.837").write_bytes(x12(day, "0101", "12" if folder is head else "11"))
    (base / "c.837").write_bytes(x12("261207", "0101"))
    result = outputs.compare_folders(base, head)
    assert (result.files, result.differing, result.only_base, result.only_head) == (3, ["b.837"], ["c.837"], [])
    assert not result.identical and result.describe().startswith("DIFFER")
    (base / "c.837").unlink()
    (head / "b.837").write_bytes(x12("261209", "0202", "11"))
    assert outputs.compare_folders(base, head).identical


def test_reports_compared_without_paths_and_timings(tmp_path: Path) -> None:
    a, b = tmp_path / "one", tmp_path / "two"
    for folder, seconds in ((a, 1.5), (b, 9.0)):
        folder.mkdir()
        (folder / "r.json").write_text(
            f'{{"summary": {{"billed": 3, "outputs": {{"{folder}/outbox/x.837": 3}}}}, "run": {{"timings": '
            f'{{"bill_s": {seconds}}}}}}}')
    assert outputs.same_reports(a / "r.json", a, b / "r.json", b)
    assert outputs.normalized_report(a / "r.json", a)["summary"]["outputs"] == {"<folder>/outbox/x.837": 3}


# -- data: real files and the variety generator ----------------------------------------------------------------


def test_real_files_keep_varied_big_ones_and_say_why_others_are_left_out(tmp_path: Path) -> None:
    generated = generate(tmp_path / "gen", seed=3, claims=30, claims_per_file=30, variety=True)
    samples = tmp_path / "samples"
    samples.mkdir()
    claims_file = generated.claims_files[0]
    (samples / "varied.837").write_bytes(b"\xef\xbb\xbf" + claims_file.read_bytes())  # with a BOM
    text = claims_file.read_text()
    first_clm = re.search(r"CLM\*[^~]*~", text).group(0)  # type: ignore[union-attr]
    (samples / "repeated.837").write_text(re.sub(r"CLM\*[^~]*~", first_clm, text))
    (samples / "notes.md").write_text("not X12")
    chosen, notes = data.real_files(samples, min_bytes=1000)
    assert [(r.path.name, r.kind, r.claims, r.distinct) for r in chosen] == [("varied.837", "837P", 30, 30)]
    assert len(notes) == 1 and "repeated.837 (837P" in notes[0] and "1 distinct of 30 claims" in notes[0]
    chosen, notes = data.real_files(samples, min_bytes=10**9)
    assert chosen == [] and "2 005010 837P/835 files" not in notes[-1] and "1 005010 837P/835 files" in notes[-1]


def _segments(path: Path) -> list[list[str]]:
    text = path.read_text()
    element, terminator = text[3], text[105]
    return [s.strip().split(element) for s in text.split(terminator) if s.strip()]


def _people_and_amounts(result) -> tuple[Counter, set[str], set[str], set[str]]:
    last_names: Counter = Counter()
    charges, dates, cities = set(), set(), set()
    for path in result.claims_files:
        for seg in _segments(path):
            if seg[0] == "NM1" and seg[1] in ("IL", "QC"):
                last_names[seg[3]] += 1
            elif seg[0] == "SV1":
                charges.add(seg[2])
            elif seg[0] == "DTP" and seg[1] == "472":
                dates.add(seg[3])
            elif seg[0] == "N4":
                cities.add(seg[1])
    return last_names, charges, dates, cities


def test_variety_is_valid_varied_and_keeps_the_scenario_mix(tmp_path: Path) -> None:
    from cob.edi.validate import validate_file

    plain = generate(tmp_path / "plain", seed=7, claims=200, claims_per_file=100)
    varied = generate(tmp_path / "varied", seed=7, claims=200, claims_per_file=100, variety=True)
    for path in [*varied.claims_files, *varied.remit_files]:
        result = validate_file(path)
        assert result.errors == [], (path.name, [f.to_json() for f in result.errors[:3]])
    assert varied.scenario_counts == plain.scenario_counts
    assert (varied.claims, varied.claim_payments) == (plain.claims, plain.claim_payments)

    plain_names, plain_charges, plain_dates, plain_cities = _people_and_amounts(plain)
    names, charges, dates, cities = _people_and_amounts(varied)
    assert len(plain_names) <= 44 and len(plain_charges) < 60  # the default tables
    assert len(names) > 0.9 * 200 and names.most_common(1)[0][1] <= 6  # a family shares its name, no more
    assert len(charges) > 300 and len({c.rsplit(".", 1)[-1] for c in charges if "." in c}) > 50  # cents vary
    span = max(dates) > min(dates) and int(max(dates)[:4]) - int(min(dates)[:4]) >= 2
    assert span and len(dates) > 150 and len(plain_dates) < 60
    assert len(cities) > 150 and len(plain_cities) < 25  # 12 home cities, and the payers' and practices'


def test_variety_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", seed=5, claims=25, claims_per_file=25, variety=True)
    b = generate(tmp_path / "b", seed=5, claims=25, claims_per_file=25, variety=True)
    for x, y in zip([*a.claims_files, *a.remit_files], [*b.claims_files, *b.remit_files], strict=True):
        assert x.read_bytes() == y.read_bytes()


# -- the whole bench, tiny, against HEAD itself ------------------------------------------------------------------


def test_bench_end_to_end_against_head_itself(tmp_path: Path) -> None:
    """BENCH_BASE=HEAD: both trees are the same code, so the outputs must be identical; the temporary
    worktree is gone afterwards. Sizes are tiny: this checks the wiring, not any speed."""
    before = worktrees()
    env = {**os.environ, "BENCH_BASE": "HEAD", "BENCH_ONLY": "secondary", "BENCH_DATA": "generator",
           "BENCH_CLAIMS": "20", "BENCH_REPEATS": "1", "BENCH_PYX12": "0", "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bench.run"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    head = git(REPO, "rev-parse", "--short=12", "HEAD")
    assert f"[{head}] (BENCH_BASE=HEAD" in out
    assert out.count("outputs base vs head: identical") == 2
    assert re.search(r"cob secondary \(1 process\)\s+generator 20\s+20 cl \|", out)
    assert worktrees() == before
    assert list(tmp_path.iterdir()) == []  # the work folder is removed too


def test_configuration_from_the_environment() -> None:
    from bench.run import Config

    config = Config.from_env({"BENCH_ONLY": "run, parse", "BENCH_REPEATS": "0", "BENCH_DATA": "variety",
                              "BENCH_JUDGE": "cpu,wall", "BENCH_CLAIMS": "5"})
    assert (config.groups, config.repeats, config.data_sets, config.judged, config.claims) == (
        ("run", "parse"), 1, ("variety",), ("cpu", "wall"), 20)
    assert Config.from_env({}).groups == ("parse", "validate", "secondary", "cores", "shared")
    assert Config.from_env({"BENCH_ONLY": "all"}).groups == ("parse", "validate", "secondary", "cores", "shared",
                                                             "run")
    with pytest.raises(SystemExit, match="BENCH_ONLY: unknown speed"):
        Config.from_env({"BENCH_ONLY": "speed"})


# -- instructions (valgrind) -------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instructions_are_counted_over_every_process_of_a_run(tmp_path: Path) -> None:
    """A child that forks: callgrind follows the fork, and the count is the sum of both processes'."""
    work = "n = 0\nfor i in range(200_000): n += i\n"
    alone = run_child([sys.executable, "-S", "-c", work], cwd=tmp_path, count_instructions=True)
    forked = run_child([sys.executable, "-S", "-c", "import os\n" + work + "pid = os.fork()\n" + work
                        + "os._exit(0) if pid == 0 else os.waitpid(pid, 0)"], cwd=tmp_path, count_instructions=True)
    assert alone.code == 0 and forked.code == 0
    assert alone.instructions is not None and alone.instructions > 1e7
    # the forked run executes the loop three times (once before the fork, once in each process)
    assert forked.instructions > 2 * alone.instructions
    assert run_child([sys.executable, "-c", "pass"], cwd=tmp_path).instructions is None


def test_instructions_are_judged_instead_of_times_when_counted() -> None:
    fig = figure_with([(2.0, 1.0, 40)], [(9.0, 3.0, 90)])  # valgrind's times and RSS: not judged
    fig.runs["base"] = [Run(2.0, 1.0, 40, 0, 1.00e9)]
    fig.runs["head"] = [Run(9.0, 3.0, 90, 0, 1.04e9)]
    r = compare.ratios(fig)
    assert r["instr"] == pytest.approx(1.04)
    assert compare.figure_verdict(fig, judged=compare.INSTRUCTION_JUDGED) == "ok"
    fig.runs["head"] = [Run(9.0, 3.0, 90, 0, 1.07e9)]
    assert compare.figure_verdict(fig, judged=compare.INSTRUCTION_JUDGED) == "WORSE instr +7.0%"
    assert "G instr base" in compare.table([fig], judged=compare.INSTRUCTION_JUDGED)
    assert "G instr base" not in compare.table([figure_with([(2.0, 1.0, 40)], [(2.0, 1.0, 40)])])


def test_bench_instructions_setting() -> None:
    from bench.run import Config

    assert Config.from_env({"BENCH_INSTRUCTIONS": "1"}).judged == ("instr",)
    assert Config.from_env({"BENCH_INSTRUCTIONS": "1"}).instructions
    assert Config.from_env({}).judged == ("cpu", "rss") and not Config.from_env({}).instructions
    assert Config.from_env({"BENCH_INSTRUCTIONS": "1", "BENCH_JUDGE": "instr,rss"}).judged == ("instr", "rss")


# -- issue 19's figures (bench/scale.py) ----------------------------------------------------------------------


def test_worker_counts_are_one_two_and_all_cpus_each_once() -> None:
    from bench import scale

    assert scale.worker_counts(2) == [(1, "1"), (2, "2 = all CPUs")]
    assert scale.worker_counts(8) == [(1, "1"), (2, "2"), (8, "8 = all CPUs")]
    assert scale.worker_counts(1) == [(1, "1 = all CPUs"), (2, "2")]
    assert scale.worker_counts(None) == [(1, "1 = all CPUs"), (2, "2")]  # os.cpu_count() may be None


def test_claims_per_second_ratio_and_the_target_verdict() -> None:
    from bench import scale

    assert scale.per_second(4000, 8.0) == 500.0
    assert scale.per_second(4000, 0.0) is None and scale.per_second(4000, None) is None
    assert scale.ratio(11.0, 10.0) == pytest.approx(1.1) and scale.ratio(1.0, 0.0) is None
    assert scale.target_verdict(11.0, 10.0) == "MET (1.10 <= 1.10)"  # exactly 10 % slower is within 10 %
    assert scale.target_verdict(17.0, 10.0) == "NOT MET (1.70 > 1.10)"
    assert scale.target_verdict(9.0, 10.0) == "MET (0.90 <= 1.10)"
    assert scale.target_verdict(None, 10.0) == "not measured" and scale.target_verdict(5.0, None) == "not measured"
    assert scale.median([3.0, 1.0, 2.0]) == 2.0 and scale.median([4.0, 1.0]) == 2.5 and scale.median([]) is None


def test_claims_in_an_outbox_are_its_clm_segments(tmp_path: Path) -> None:
    from bench import scale

    # two claims, one with a CLM-like text inside another element, and other delimiters in the second file
    one = x12("261207", "0101").replace(b"CLM*X*10~", b"CLM*A*10~NTE*ADD*CLM*B~CLM*B*5~")
    assert scale.count_claims(one) == 2
    other = one.replace(b"*", b"|").replace(b"~", b"\n")  # ISA element | and terminator newline
    assert scale.count_claims(other) == 2
    assert scale.count_claims(b"not x12") == 0
    (tmp_path / "payer").mkdir()
    (tmp_path / "a.837").write_bytes(one)
    (tmp_path / "payer" / "b.837").write_bytes(other)
    (tmp_path / ".cob-control.json").write_text("{}")
    assert scale.outbox_claims(tmp_path) == 4
    assert scale.outbox_claims(tmp_path / "missing") == 0


def test_what_k_processes_did_is_read_from_their_reports() -> None:
    from bench import scale

    assert scale.parse_report(b'{"summary": {"billed": 7}}\n') == {"summary": {"billed": 7}}
    assert scale.parse_report(b"") is None and scale.parse_report(b"cob run: lock held") is None
    assert scale.parse_report(b"[1, 2]") is None
    outcome = scale.shared_outcome([scale.ProcessOutcome(0, {"summary": {"billed": 7}}),
                                    scale.ProcessOutcome(0, None),  # found the run lock held
                                    scale.ProcessOutcome(1, {"summary": {"billed": 3}})])
    assert (outcome.processes, outcome.worked, outcome.billed, outcome.codes) == (3, 2, 10, (0, 0, 1))
    assert outcome.describe() == ("processes that did work: 2 of 3 (exit codes 0, 0, 1); billed per their "
                                  "reports: 10")
    team = {"summary": {"billed": 7}, "run": {"team": [{"host": "a", "pid": 1}, {"host": "a", "pid": 2},
                                                         {"host": "b", "pid": 1}]}}
    helped = scale.shared_outcome([scale.ProcessOutcome(0, team), scale.ProcessOutcome(0, None),
                                   scale.ProcessOutcome(0, None)])  # the two that helped print no report
    assert (helped.worked, helped.billed) == (3, 7)
    assert scale.billed_note({"cob secondary": {3473}, "cob run": {3473}}) == (
        "Every command billed 3,473 claims in every repeat.")
    assert scale.billed_note({"cob secondary": {3473}, "cob run": {3470, 3473}}) == (
        "Billed counts DIFFER: cob secondary: 3473; cob run: 3470, 3473")
    assert scale.billed_note({"cob run": {None}}).startswith("Billed counts DIFFER")


def test_run_children_starts_them_at_once_and_waits_for_all(tmp_path: Path) -> None:
    from bench.measure import run_children

    sleeper = "import sys, time\ntime.sleep(float(sys.argv[1]))\nprint(sys.argv[1])\nsys.exit(int(sys.argv[2]))"
    outs = [tmp_path / "a.out", tmp_path / "b.out"]
    cmds = [[sys.executable, "-c", sleeper, "1.0", "0"], [sys.executable, "-c", sleeper, "0.2", "4"]]
    wall, runs = run_children(cmds, cwd=tmp_path, stdouts=outs, stderrs=[None, None])
    assert [r.code for r in runs] == [0, 4]
    assert 1.0 <= wall < 1.9  # together, not one after the other (1.2 s and more)
    assert [p.read_text() for p in outs] == ["1.0\n", "0.2\n"]


def test_scale_configuration_and_the_tests_pgserver_is_loadable() -> None:
    from bench import scale
    from bench.run import Config

    config = Config.from_env({})
    assert (config.scale_claims, config.scale_files, config.shared_processes, config.shared_workers) == (
        4000, 20, (1, 2, 3), 1)
    config = Config.from_env({"BENCH_SCALE_CLAIMS": "20000", "BENCH_SCALE_FILES": "5",
                              "BENCH_SHARED_PROCESSES": "3, 1,3", "BENCH_SHARED_WORKERS": "2"})
    assert (config.scale_claims, config.scale_files, config.shared_processes, config.shared_workers) == (
        20000, 5, (3, 1), 2)
    for bad in ("0,1", "a", ""):
        with pytest.raises(SystemExit, match="BENCH_SHARED_PROCESSES"):
            Config.from_env({"BENCH_SHARED_PROCESSES": bad})
    module = scale.load_pgserver()
    assert module is not None and callable(module.find_bin) and hasattr(module, "PgServer")


def test_the_drop_is_varied_and_in_the_files_asked_for(tmp_path: Path) -> None:
    from bench import scale

    drop = scale.make_drop(tmp_path / "drop", 60, 4)
    claims_files = [f for f in drop.files if f.suffix == ".837"]
    assert len(claims_files) == 4 and drop.claims == 60 and drop.label == "variety 60"
    assert not (tmp_path / "drop" / "manifest.jsonl").exists()
    assert any(f.suffix == ".835" for f in drop.files)
    last_names, charges, _, _ = _people_and_amounts(SimpleNamespace(claims_files=claims_files))
    assert len(last_names) > 50 and len(charges) > 60  # every claim its own names and charges


@pytest.fixture
def open_tmp():
    """A temporary folder others may traverse: as root the throwaway PostgreSQL runs as the postgres user,
    and pytest's tmp_path lies below a folder only root may enter."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="cob-bench-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_bench_issue19_groups_end_to_end(open_tmp: Path) -> None:
    """BENCH_ONLY=cores,shared at a tiny size: both tables printed, no base checked out, the verdict per
    worker count; the shared figure either measured with what each process did or skipped with a reason."""
    tmp_path = open_tmp
    before = worktrees()
    env = {**os.environ, "BENCH_ONLY": "cores,shared", "BENCH_SCALE_CLAIMS": "20", "BENCH_SCALE_FILES": "2",
           "BENCH_SHARED_PROCESSES": "1,2", "BENCH_REPEATS": "1", "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bench.run"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "base: not needed (cores, shared measure the head alone)" in out
    assert "issue 19, part 1: cob run vs cob secondary" in out
    cpus = os.cpu_count() or 1
    for label in {"1", "2", str(cpus)}:
        assert re.search(rf"\n  {label}( = all CPUs)?\s+[\d.]+\s+[\d.]+\s+[\d.]+ .*(MET|NOT MET) \(", out), out
    from bench import scale

    pg = scale.load_pgserver()
    if pg is not None and pg.find_bin() is not None:  # a server binary: the figure must be measured
        assert "SKIPPED" not in out, out
        assert "issue 19, part 2: K cob run processes" in out
        assert re.search(r"cob run x1 .*processes that did work: 1 of 1 \(exit codes 0\)", out), out
        assert re.search(r"cob run x2 .*processes that did work: [12] of 2", out), out
    else:
        assert "part 2 (processes sharing PostgreSQL): SKIPPED, no PostgreSQL server binary" in out
    assert worktrees() == before
    assert list(tmp_path.iterdir()) == []
