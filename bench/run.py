"""`make bench`: this tree against the previous main, measured in one run, beside pyx12.

Every figure is one `cob` command on one input, run in a fresh child process for the base tree and
for this working tree (head) in turn, base, head, base, head, ... BENCH_REPEATS times each; the table
shows the medians of CPU seconds (user + sys, workers included), wall seconds and peak RSS, the ratio
head/base of each, and flags a figure whose judged measures (CPU and RSS unless BENCH_JUDGE says
otherwise) are more than 5 % worse. Both trees run with this interpreter and its installed packages;
the base is checked out in a temporary git worktree (see bench/trees.py) and removed at the end.

Environment (all optional):
    BENCH_BASE      commit to compare with; default: the merge-base of HEAD and origin/main (or main)
                    when that is not HEAD, else HEAD~1; "none" measures the head alone
    BENCH_ONLY      groups, comma-separated: parse, validate, secondary, cores, shared, run (default: all
                    but run; "all" adds `cob run`); cores and shared are issue 19's figures (bench/scale.py),
                    of the head alone
    BENCH_DATA      data sets: generator, variety, institutional (837I), samples (default: all four); a
                    base that cannot read the 837I is not run on the institutional set (head alone)
    BENCH_CLAIMS    claims per generated data set (default 50,000; the 1/10-size files get a tenth)
    BENCH_REPEATS   runs per tree and figure (default 3, at least 1)
    BENCH_PYX12     0 skips pyx12's x12valid (run on the 1/10-size generator files only: ~0.3 MB/s)
    BENCH_JUDGE     measures that flag a figure: cpu, wall, rss, instr (default cpu,rss; instr with
                    BENCH_INSTRUCTIONS=1)
    BENCH_INSTRUCTIONS  1: run every cob command under valgrind's callgrind and count the instructions it
                    executes (workers included); they do not move with the machine's load as CPU seconds do
                    (10-20 % on a shared VM), but the run is about 50 times slower: use it with small data
                    (BENCH_CLAIMS=2000 BENCH_REPEATS=1 BENCH_PYX12=0)
    BENCH_SAMPLES   folder of real X12 files (default ../shared/samples); BENCH_SAMPLE_MIN_MB (default 1)
    BENCH_RUN_CLAIMS, BENCH_RUN_FILES, BENCH_RUN_VALIDATE   size of `cob run`'s drop (BENCH_CLAIMS claims
                    in files of 1,000 by default) and whether it validates its outputs (default 1)
    BENCH_SCALE_CLAIMS, BENCH_SCALE_FILES   the drop of the cores and shared figures: claims (default
                    4,000) of the variety generator in claim files (default 20) and their 835s
    BENCH_SHARED_PROCESSES, BENCH_SHARED_WORKERS   shared: how many `cob run` processes share one
                    PostgreSQL (default 1,2,3) and --workers of each (default 1)
    BENCH_STRICT    1: exit with status 1 when a figure is flagged
    BENCH_KEEP      1: keep the temporary folder (inputs and outputs) for a look afterwards
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import compare, data, outputs, scale
from bench.measure import Figure, Run, Step, interleave, run_child, valgrind
from bench.trees import REPO, BenchSetupError, Tree, base_worktree, describe, head_description, resolve_base

BIN = Path(sys.executable).parent
GROUPS = ("parse", "validate", "secondary", "cores", "shared", "run")
DEFAULT_GROUPS = ("parse", "validate", "secondary", "cores", "shared")
#: groups that measure the head alone (bench/scale.py): with only these no base is checked out
HEAD_ONLY_GROUPS = frozenset({"cores", "shared"})
DATA_SETS = ("generator", "variety", "institutional", "samples")
#: the clock of `cob run` for both trees (after every generated remittance date), so outputs compare
RUN_CLOCK = "2026-12-01T02:00:00"


def _list(value: str | None, allowed: tuple[str, ...], default: tuple[str, ...], name: str) -> tuple[str, ...]:
    if value is None or not value.strip():
        return default
    if value.strip() == "all":
        return allowed
    chosen = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise SystemExit(f"{name}: unknown {', '.join(unknown)} (choose from {', '.join(allowed)} or all)")
    return chosen


def _counts(value: str, name: str) -> tuple[int, ...]:
    """"1,2,3" -> (1, 2, 3): distinct positive counts in the order given."""
    try:
        counts = tuple(dict.fromkeys(int(v) for v in value.split(",") if v.strip()))
    except ValueError:
        raise SystemExit(f"{name}: {value!r} is not a comma-separated list of counts") from None
    if not counts or min(counts) < 1:
        raise SystemExit(f"{name}: {value!r}: give counts of 1 or more")
    return counts


@dataclass(frozen=True)
class Config:
    claims: int = 50_000
    repeats: int = 3
    base: str | None = None
    groups: tuple[str, ...] = DEFAULT_GROUPS
    data_sets: tuple[str, ...] = DATA_SETS
    pyx12: bool = True
    judged: tuple[str, ...] = compare.DEFAULT_JUDGED
    samples: Path | None = None
    sample_min_bytes: int = 1_000_000
    run_claims_per_file: int = 1000
    run_files: int | None = None
    run_validate: bool = True
    strict: bool = False
    keep: bool = False
    instructions: bool = False
    scale_claims: int = 4000
    scale_files: int = 20
    shared_processes: tuple[int, ...] = (1, 2, 3)
    shared_workers: int = 1

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Config:
        samples = env.get("BENCH_SAMPLES")
        instructions = env.get("BENCH_INSTRUCTIONS") == "1"
        judged_default = compare.INSTRUCTION_JUDGED if instructions else compare.DEFAULT_JUDGED
        return cls(
            claims=max(int(env.get("BENCH_CLAIMS", "50000")), 20),
            repeats=max(int(env.get("BENCH_REPEATS", "3")), 1),
            base=env.get("BENCH_BASE"),
            groups=_list(env.get("BENCH_ONLY"), GROUPS, DEFAULT_GROUPS, "BENCH_ONLY"),
            data_sets=_list(env.get("BENCH_DATA"), DATA_SETS, DATA_SETS, "BENCH_DATA"),
            pyx12=env.get("BENCH_PYX12", "1") != "0",
            judged=_list(env.get("BENCH_JUDGE"), compare.MEASURES, judged_default, "BENCH_JUDGE"),
            samples=Path(samples) if samples else data.default_samples_folder(),
            sample_min_bytes=int(float(env.get("BENCH_SAMPLE_MIN_MB", "1")) * 1_000_000),
            run_claims_per_file=max(int(env.get("BENCH_RUN_CLAIMS", "1000")), 1),
            run_files=int(env["BENCH_RUN_FILES"]) if env.get("BENCH_RUN_FILES") else None,
            run_validate=env.get("BENCH_RUN_VALIDATE", "1") == "1",
            strict=env.get("BENCH_STRICT") == "1",
            keep=env.get("BENCH_KEEP") == "1",
            instructions=instructions,
            scale_claims=max(int(env.get("BENCH_SCALE_CLAIMS", "4000")), 20),
            scale_files=max(int(env.get("BENCH_SCALE_FILES", "20")), 1),
            shared_processes=_counts(env.get("BENCH_SHARED_PROCESSES", "1,2,3"), "BENCH_SHARED_PROCESSES"),
            shared_workers=max(int(env.get("BENCH_SHARED_WORKERS", "1")), 1),
        )


@dataclass
class Bench:
    """One bench run: the trees, the work folder, and every figure measured so far."""

    config: Config
    work: Path
    trees: dict[str, Tree]
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: trees that cannot read the 837I (a base from before it): not run on the institutional data set
    without_837i: set[str] = field(default_factory=set)
    #: issue 19's tables (bench/scale.py), printed after the main one
    scale_lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(text, flush=True)

    # -- one figure ------------------------------------------------------------------------------

    def measure(self, figure: Figure, make_step: Callable[[Tree], Step],
                ok_codes: frozenset[int] = frozenset({0})) -> Figure:
        steps = {name: make_step(tree) for name, tree in self.trees.items()
                 if not (name in self.without_837i and figure.data.startswith("institutional"))}
        started = time.perf_counter()
        interleave(figure, steps, self.config.repeats, ok_codes, self._why)
        self.figures.append(figure)
        r = compare.ratios(figure)
        self.say(f"  {figure.label} [{figure.data}]: CPU {_pair(figure, 'cpu')} s, wall {_pair(figure, 'wall')} s, "
                 f"RSS {_pair(figure, 'rss', '.0f')} MB, CPU ratio {_num(r['cpu'])}"
                 + (f", instructions {_pair(figure, 'instructions', '.3e')}, ratio {_num(r['instr'])}"
                    if self.config.instructions else "") + " -> "
                 f"{compare.figure_verdict(figure, self.config.judged)} ({time.perf_counter() - started:.0f} s)")
        return figure

    def _why(self, tree: str, run: Run) -> str:
        stderr = self.work / f"{tree}.stderr"
        last = ""
        if stderr.exists():
            lines = [ln for ln in stderr.read_text(errors="replace").splitlines() if ln.strip()]
            last = lines[-1][:160] if lines else ""
        return f"exit code {run.code}" + (f" ({last})" if last else "")

    def command_step(self, tree: Tree, args: list[str], **env: str) -> Step:
        def step(_repeat: int) -> Run:
            return run_child(tree.cob(*args), env=tree.env(**env), cwd=self.work,
                             stderr=self.work / f"{tree.name}.stderr", count_instructions=self.config.instructions)
        return step

    # -- groups ----------------------------------------------------------------------------------

    def file_figures(self, labels: tuple[str, str], kind: str, big: Path, small: Path | None,
                     real: bool = False) -> None:
        """parse and validate figures of one 837P or 835 (and of its 1/10-size twin); `labels` name the
        data of each for the table."""
        commands = [
            ("parse", f"cob parse (models) {kind}", ["parse", "--summary"], big),
            ("parse", f"cob parse (JSON lines) {kind}", ["parse"], big),
            ("parse", f"cob parse (models) {kind}, 1/10", ["parse", "--summary"], small),
            ("validate", f"cob validate (SNIP 1-5) {kind}", ["validate"], big),
            ("validate", f"cob validate --snip 1,2 {kind}", ["validate", "--snip", "1,2"], big),
            ("validate", f"cob validate (SNIP 1-5) {kind}, 1/10", ["validate"], small),
        ]
        for group, label, args, path in commands:
            if group not in self.config.groups or path is None:
                continue
            # validate exits 1 on a file with errors (real files may have some); that is a result, not a crash
            ok = frozenset({0, 1}) if group == "validate" or real else frozenset({0})
            figure = Figure(group, label, labels[0] if path is big else labels[1], path.stat().st_size / 1e6)
            self.measure(figure, lambda tree, a=args, p=path: self.command_step(tree, [*a, str(p)]), ok)

    def secondary_figures(self, ds: data.DataSet) -> None:
        """`cob secondary` over a whole data set, in one process and with its default workers; the
        base's and the head's outputs compared after the last repeat."""
        from cob.billing.secondary import default_workers

        for slug, label, extra in (("w1", "cob secondary (1 process)", ["--workers", "1"]),
                                   ("wd", f"cob secondary (default: {default_workers()} workers)", [])):
            folders = {name: self.work / "secondary" / ds.name / f"{name}-{slug}" for name in self.trees}

            def make_step(tree: Tree, extra=extra) -> Step:
                folder = folders[tree.name]

                def step(_repeat: int) -> Run:
                    shutil.rmtree(folder, ignore_errors=True)
                    folder.mkdir(parents=True)
                    cmd = tree.cob("secondary", "--claims", str(ds.folder), "--remit", str(ds.folder),
                                   "--out", str(folder / "outbox"), "--report", str(folder / "report.json"), *extra)
                    return run_child(cmd, env=tree.env(), cwd=self.work, stderr=self.work / f"{tree.name}.stderr",
                                     count_instructions=self.config.instructions)
                return step

            figure = self.measure(Figure("secondary", label, data_label(ds), ds.claims, "claims"),
                                  make_step)
            self._compare_outputs(figure, folders, "outbox", "report.json")

    def run_figures(self, name: str) -> None:
        """`cob run` from an empty state over a drop folder, with 1 and 2 worker processes."""
        per_file = self.config.run_claims_per_file
        files = self.config.run_files or math.ceil(self.config.claims / per_file)
        claims = files * per_file
        started = time.perf_counter()
        drop = data.generate(name, self.work / "run" / f"{name}-drop", claims, per_file)
        (drop / "manifest.jsonl").unlink()
        inputs = sorted(drop.iterdir())
        self.say(f"{name}: {claims:,} claims in {len(inputs)} files "
                 f"({sum(p.stat().st_size for p in inputs) / 1e6:.0f} MB) for cob run, "
                 f"generated in {time.perf_counter() - started:.0f} s")
        env = {"COB_NOW": RUN_CLOCK, "COB_SKIP_IG_VALIDATION": "0" if self.config.run_validate else "1"}
        for workers in (1, 2):
            sites = {t: self.work / "run" / name / f"{t}-w{workers}" for t in self.trees}

            def make_step(tree: Tree, workers=workers) -> Step:
                site = sites[tree.name]

                def step(_repeat: int) -> Run:
                    shutil.rmtree(site, ignore_errors=True)
                    site.parent.mkdir(parents=True, exist_ok=True)
                    made = run_child(tree.cob("init", str(site)), env=tree.env(), cwd=self.work)
                    if made.code != 0:
                        return made
                    for f in inputs:
                        os.link(f, site / "inbox" / f.name)
                    return run_child(tree.cob("run", "--config", str(site / "cob.toml"), "--workers", str(workers)),
                                     env=tree.env(**env), cwd=self.work, stderr=self.work / f"{tree.name}.stderr",
                                     count_instructions=self.config.instructions)
                return step

            label = f"cob run --workers {workers}" + ("" if self.config.run_validate else " (no IG validation)")
            figure = self.measure(Figure("run", label, f"{name} {claims:,}", claims, "claims"), make_step)
            self._compare_outputs(figure, sites, "outbox", "reports")

    def _compare_outputs(self, figure: Figure, folders: dict[str, Path], outbox: str, report: str) -> None:
        """Note the head's outcome counts and whether base and head wrote the same (last repeat)."""
        head_report = _report_file(folders.get("head"), report)
        if head_report is not None:
            summary = outputs.normalized_report(head_report, folders["head"]).get("summary", {})
            counts = ", ".join(f"{summary[k]} {k}" for k in ("billed", "skipped", "held", "rejected") if k in summary)
            timings = outputs.normalized_report(head_report, folders["head"], frozenset()).get("run", {}).get("timings")
            extra = ""
            if timings:
                extra = f"; ingest {timings.get('ingest_s', 0):.1f} s, billing {timings.get('bill_s', 0):.1f} s"
            figure.notes.append(f"head: {counts}{extra}")
        base_report = _report_file(folders.get("base"), report)
        if "base" not in self.trees or figure.failed or head_report is None or base_report is None:
            return
        same = outputs.compare_folders(folders["base"] / outbox, folders["head"] / outbox)
        reports = outputs.same_reports(base_report, folders["base"], head_report, folders["head"])
        figure.notes.append(f"outputs base vs head: {same.describe()}; reports "
                            f"{'identical' if reports else 'DIFFER'} (paths and timings aside)")

    def pyx12(self, ds: data.DataSet) -> None:
        """pyx12's x12valid on the 1/10-size files only, and cob's speed on the big files as a multiple
        of it. pyx12 reads at ~0.3 MB/s and its time grows in proportion to size, so its MB/s on the
        small file stands for the big one; measuring it there would take most of an hour."""
        x12valid = BIN / "x12valid"
        if not x12valid.exists():
            self.notes.append(f"pyx12: {x12valid} not found, skipped")
            return
        lines = [f"pyx12 x12valid, measured on the 1/10-size {ds.name} files (its MB/s scales to the big "
                 "files); cob's speed on the big files (head, medians) as a multiple of pyx12's:"]
        for kind, path in ds.small.items():
            copy = self.work / f"pyx12-{path.name}"
            shutil.copy(path, copy)
            runs = [run_child([str(x12valid), str(copy)], cwd=self.work) for _ in range(self.config.repeats)]
            wall = sorted(r.wall for r in runs)[len(runs) // 2]
            cpu = sorted(r.cpu for r in runs)[len(runs) // 2]
            rss = max(r.rss for r in runs)
            mb = path.stat().st_size / 1e6
            self.say(f"  pyx12 x12valid {kind} [{data_label(ds, small=True)}]: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                     f"{rss:.0f} MB RSS")
            lines.append(f"  {kind}: {mb:.1f} MB in {wall:.2f} s wall, {cpu:.2f} s CPU = {mb / wall:.2f} MB/s, "
                         f"{rss:.0f} MB RSS")
            for figure in self.figures:
                if figure.data == data_label(ds) and figure.label.endswith(f" {kind}") and figure.runs["head"]:
                    wall_x = figure.speed("head") / (mb / wall)
                    cpu_x = (figure.size / figure.median("head", "cpu")) / (mb / cpu)
                    lines.append(f"    {figure.label:<34} {wall_x:6.1f}x pyx12's speed "
                                 f"(per CPU second: {cpu_x:.1f}x); RSS {figure.median('head', 'rss'):.0f} MB "
                                 f"vs {rss:.0f} MB")
        self.notes.append("\n".join(lines))

    def warm_up(self) -> None:
        """Each tree validates the committed sample once, unmeasured: it compiles the IG tables into the
        tree's own cache, and shows that the tree starts at all."""
        sample = REPO / "cob" / "fixtures" / "sample"
        files = [str(p) for p in (*sorted(sample.glob("claims-*.837"))[:1], *sorted(sample.glob("remit-*.835"))[:1])]
        for tree in self.trees.values():
            run = run_child(tree.cob("validate", *files), env=tree.env(), cwd=self.work,
                            stderr=self.work / f"{tree.name}.stderr")
            if run.code not in (0, 1):
                raise BenchSetupError(f"{tree.name} tree ({tree.label}) does not start: {self._why(tree.name, run)}")
            probe = REPO / "tests" / "data" / "institutional" / "inpatient.837i"
            if probe.exists() and run_child(tree.cob("parse", "--summary", str(probe)), env=tree.env(),
                                            cwd=self.work).code != 0:
                self.without_837i.add(tree.name)
                self.notes.append(f"{tree.name} tree ({tree.label}) cannot read the 837I: the institutional "
                                  "figures are the head's alone")

    def institutional_note(self) -> None:
        """837I secondary claims/s beside the 837P's (the generator set), measured in the same run."""
        for figure in self.figures:
            if figure.group != "secondary" or not figure.data.startswith("institutional"):
                continue
            twin = next((f for f in self.figures if f.group == "secondary" and f.label == figure.label
                         and f.data.startswith("generator ")), None)
            if twin is None:
                continue
            for what, mine, theirs in (
                    ("wall", figure.speed("head"), twin.speed("head")),
                    ("CPU", _per_cpu(figure), _per_cpu(twin))):
                if mine and theirs:
                    self.notes.append(f"837I vs 837P, {figure.label}: {mine:,.0f} vs {theirs:,.0f} claims per "
                                      f"{what} second (head, medians) = {100 * mine / theirs:.0f} % of the 837P "
                                      f"figure ({'within' if mine >= 0.8 * theirs else 'NOT within'} 20 %)")


def _per_cpu(figure: Figure) -> float | None:
    cpu = figure.median("head", "cpu")
    return figure.size / cpu if cpu else None


def data_label(ds: data.DataSet, small: bool = False) -> str:
    return f"{ds.name} {ds.small_claims if small else ds.claims:,}"


def _report_file(folder: Path | None, name: str) -> Path | None:
    if folder is None:
        return None
    path = folder / name
    if path.is_dir():
        found = sorted(path.glob("*.json"))
        return found[-1] if found else None
    return path if path.exists() else None


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "-" if value is None else format(value, fmt)


def _pair(figure: Figure, measure: str, fmt: str = ".2f") -> str:
    return f"{_num(figure.median('base', measure), fmt)} -> {_num(figure.median('head', measure), fmt)}"


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: the worktree is removed


def main() -> int:
    config = Config.from_env(dict(os.environ))
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        return _main(config)
    except BenchSetupError as exc:
        print(f"bench: {exc} (BENCH_BASE=none measures the head alone)", file=sys.stderr)
        return 2


def _main(config: Config) -> int:
    if config.instructions and valgrind() is None:
        raise BenchSetupError("BENCH_INSTRUCTIONS=1 needs valgrind (apt install valgrind)")
    print(f"cob bench: Python {sys.version.split()[0]} ({os.path.realpath(sys.executable)}), {os.cpu_count()} CPUs; "
          f"{config.repeats} run(s) per tree and figure, base and head interleaved; medians")
    head_label = head_description()
    print(f"head: {head_label} (the working tree {REPO})")
    head_only = set(config.groups) <= HEAD_ONLY_GROUPS
    choice = None if head_only else resolve_base(config.base)
    if head_only:
        print(f"base: not needed ({', '.join(config.groups)} measure the head alone)")
    elif choice is None:
        print("base: none (BENCH_BASE=none): the head alone, no ratios")
    else:
        print(f"base: {describe(choice.commit)} [{choice.commit[:12]}] ({choice.how}; BENCH_BASE=<rev> overrides, "
              f"BENCH_BASE=none skips)")
    print(f"groups: {', '.join(config.groups)}; data: {', '.join(config.data_sets)}; "
          f"{config.claims:,} claims per generated set; a figure is flagged when "
          f"{' or '.join(config.judged)} is more than {compare.LIMIT:.0%} worse (ratio head/base)"
          + ("; instructions counted under valgrind (times and RSS are valgrind's)" if config.instructions else "")
          + (f"; cores/shared: {config.scale_claims:,} varied claims in {config.scale_files} claim files, shared "
             f"with {', '.join(map(str, config.shared_processes))} processes of --workers {config.shared_workers}"
             if HEAD_ONLY_GROUPS & set(config.groups) else ""),
          flush=True)
    work = Path(tempfile.mkdtemp(prefix="cob-bench-"))
    bench_started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            trees = {}
            if choice is not None:
                root = stack.enter_context(base_worktree(choice.commit, work / "base-tree"))
                trees["base"] = Tree.at("base", root, describe(choice.commit), work / "cache-base")
            trees["head"] = Tree.at("head", REPO, head_label, work / "cache-head")
            bench = Bench(config, work, trees)
            bench.warm_up()
            run_bench(bench)
        report(bench, time.perf_counter() - bench_started)
        return 1 if config.strict and compare.flagged(bench.figures, config.judged) else 0
    finally:
        if config.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_bench(bench: Bench) -> None:
    config = bench.config
    file_groups = {"parse", "validate"} & set(config.groups)
    generated = [name for name in config.data_sets if name in data.GENERATED]
    needs_sets = file_groups or "secondary" in config.groups
    sets: dict[str, data.DataSet] = {}
    if needs_sets:
        for name in generated:
            started = time.perf_counter()
            ds = sets[name] = data.generated_set(name, bench.work / "data", config.claims)
            sizes = ", ".join(f"{kind} {path.stat().st_size / 1e6:.1f} MB" for kind, path in ds.files.items())
            bench.say(f"{name}: {ds.claims:,} claims ({sizes}) and {ds.small_claims:,} (1/10) generated in "
                      f"{time.perf_counter() - started:.0f} s")
    if file_groups:
        for name, ds in sets.items():
            for kind in ds.files:
                bench.file_figures((data_label(ds), data_label(ds, small=True)), kind, ds.files[kind], ds.small[kind])
        if "samples" in config.data_sets:
            chosen, skipped = data.real_files(config.samples, config.sample_min_bytes)
            bench.notes.extend(skipped)
            bench.say(f"real files from {config.samples}: "
                      f"{', '.join(r.path.name for r in chosen) if chosen else 'none to measure (see the notes)'}")
            for real in chosen:
                bench.file_figures((f"real {real.path.name}", ""), real.kind, real.path, None, real=True)
        if config.pyx12 and "generator" in sets:
            bench.pyx12(sets["generator"])
        if config.pyx12 and "institutional" in sets:
            bench.pyx12(sets["institutional"])
    if "secondary" in config.groups:
        for ds in sets.values():
            bench.secondary_figures(ds)
        bench.institutional_note()
    if "run" in config.groups:
        for name in generated:
            bench.run_figures(name)
    scale_groups = tuple(g for g in config.groups if g in HEAD_ONLY_GROUPS)
    if scale_groups:
        measured = scale.run_groups(bench.trees["head"], bench.work, scale_groups, config.repeats, RUN_CLOCK,
                                    config.scale_claims, config.scale_files, config.shared_processes,
                                    config.shared_workers, bench.say)
        bench.figures.extend(measured.figures)
        bench.scale_lines.extend(measured.lines)


def report(bench: Bench, seconds: float) -> None:
    config = bench.config
    print()
    print(compare.table(bench.figures, config.judged))
    for figure in bench.figures:
        for note in figure.notes:
            print(f"{figure.label} [{figure.data}]: {note}")
    for note in bench.notes:
        print(note)
    if bench.scale_lines:
        print()
        print("\n".join(bench.scale_lines))
        print()
    bad = compare.flagged(bench.figures, config.judged)
    if "base" not in bench.trees:
        print(f"{len(bench.figures)} figures of the head alone in {seconds / 60:.1f} min")
    elif bad:
        print(f"{len(bad)} of {len(bench.figures)} figures more than {compare.LIMIT:.0%} worse than the base "
              f"(or failed): {'; '.join(f'{f.label} [{f.data}]' for f in bad)} ({seconds / 60:.1f} min)")
    else:
        print(f"no figure more than {compare.LIMIT:.0%} worse than the base ({len(bench.figures)} figures, "
              f"{seconds / 60:.1f} min)")


if __name__ == "__main__":
    sys.exit(main())
