"""Issue 19's figures: `cob run` beside `cob secondary` on one drop, on every core and across processes.

`cores`: one drop of BENCH_SCALE_CLAIMS claims (the `variety` generator: every claim its own names,
addresses, dates and charges, so no memo hits on repeated text) in BENCH_SCALE_FILES claim files and
their 835s. For each worker count (1, 2, all CPUs) `cob secondary --workers N` over the drop and
`cob run --workers N` end to end from a fresh site (cob init, the drop linked into its inbox, COB_NOW
fixed) run back to back in every repeat, their order swapped each repeat, so a change of load hits
both; the medians give the ratio cob run / cob secondary that issue 19 wants at 1.10 or below.

`shared`: the same drop, K = 1, 2, 3 `cob run` processes started at once on one site whose state is a
fresh database of a throwaway PostgreSQL (the tests' `tests/run/pgserver.py`, loaded from its file),
beside `cob secondary` measured in the same repeats. Wall time runs until the last process exits; what
each process did is read from its exit code and the JSON report the run prints (the processes that find the
run lock held help it and print none; the run's report lists every process that worked its units, `run.team`),
the run reports in reports/ and the claims in the outbox: the table says how many processes did work, and
whether the outbox holds each billed claim once.

These figures measure the head alone: they compare two commands of one tree, not two trees.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from bench import data
from bench.measure import Figure, Run, run_child, run_children
from bench.trees import REPO, Tree

#: the issue's target: `cob run` end to end within 10 % of `cob secondary` (wall seconds, medians)
TARGET = 1.10
#: the tree these figures run (see the module docstring)
HEAD = "head"
#: the data set of the drop: varied text, so memos by text do not flatter either command
DROP_KIND = "variety"
#: where the tests' throwaway PostgreSQL lives; loaded from its file so a `tests` package elsewhere on
#: sys.path cannot shadow it
PGSERVER = REPO / "tests" / "run" / "pgserver.py"


# -- pure helpers (tests/test_bench.py) ------------------------------------------------------------


def worker_counts(cpus: int | None) -> list[tuple[int, str]]:
    """The worker counts the issue names, 1, 2 and all CPUs, each once, with the label saying which:
    on 2 CPUs [(1, "1"), (2, "2 = all CPUs")]; on 8 [(1, "1"), (2, "2"), (8, "8 = all CPUs")]."""
    cpus = max(cpus or 1, 1)
    counts = sorted({1, 2, cpus})
    return [(n, f"{n} = all CPUs" if n == cpus else str(n)) for n in counts]


def per_second(count: float, seconds: float | None) -> float | None:
    """count / seconds; None when there is no time to divide by."""
    if seconds is None or seconds <= 0:
        return None
    return count / seconds


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def target_verdict(run_wall: float | None, secondary_wall: float | None, target: float = TARGET) -> str:
    """Issue 19's verdict on one worker count: cob run's wall time over cob secondary's at most `target`."""
    r = ratio(run_wall, secondary_wall)
    if r is None:
        return "not measured"
    return f"{'MET' if r <= target else 'NOT MET'} ({r:.2f} {'<=' if r <= target else '>'} {target:.2f})"


def count_claims(text: bytes) -> int:
    """CLM segments in one X12 interchange file (delimiters from its ISA); 0 for anything else."""
    text = text.lstrip()
    if len(text) < 106 or not text.startswith(b"ISA"):
        return 0
    element, terminator = text[3:4], text[105:106]
    return sum(1 for segment in text.split(terminator) if segment.strip().split(element, 1)[0] == b"CLM")


def outbox_claims(folder: Path) -> int:
    """Secondary claims written to an outbox (every file in it and below)."""
    if not folder.is_dir():
        return 0
    return sum(count_claims(p.read_bytes()) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


@dataclass(frozen=True)
class ProcessOutcome:
    """One `cob run` of K started together: its exit code and the report it printed (None: it printed
    none, e.g. it found the run lock held)."""

    code: int
    report: dict | None


@dataclass(frozen=True)
class SharedOutcome:
    """What K processes on one drop did together."""

    processes: int
    worked: int  # processes that did work: those the run's report lists in `run.team`, else that printed one
    billed: int  # the sum of their reports' billed claims
    codes: tuple[int, ...]

    def describe(self) -> str:
        return (f"processes that did work: {self.worked} of {self.processes} (exit codes "
                f"{', '.join(str(c) for c in self.codes)}); billed per their reports: {self.billed:,}")


def shared_outcome(outcomes: list[ProcessOutcome]) -> SharedOutcome:
    """What K processes did: the run prints the report, which names every process that worked units of its
    round (`run.team`, PostgreSQL); the processes that helped it print none."""
    reports = [o.report for o in outcomes if o.report is not None]
    billed = sum(int(r.get("summary", {}).get("billed", 0)) for r in reports)
    team = {(p.get("host"), p.get("pid")) for r in reports for p in r.get("run", {}).get("team", [])}
    return SharedOutcome(len(outcomes), max(len(team), len(reports)), billed, tuple(o.code for o in outcomes))


def billed_note(billed: dict[str, set]) -> str:
    """Whether every command billed the same claims: the figures compare like with like only then."""
    values = {v for counts in billed.values() for v in counts}
    if len(values) == 1 and None not in values:
        return f"Every command billed {values.pop():,} claims in every repeat."
    listed = "; ".join(f"{label}: {', '.join(str(v) for v in sorted(counts, key=str))}"
                       for label, counts in billed.items())
    return f"Billed counts DIFFER: {listed}"


def parse_report(stdout: bytes) -> dict | None:
    """The JSON report `cob run --format json` printed, or None when it printed none (or not JSON)."""
    text = stdout.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# -- the drop and the commands ---------------------------------------------------------------------


@dataclass(frozen=True)
class Drop:
    folder: Path
    claims: int
    files: list[Path]

    @property
    def label(self) -> str:
        return f"{DROP_KIND} {self.claims:,}"


def make_drop(folder: Path, claims: int, claim_files: int) -> Drop:
    """`claims` varied claims in `claim_files` claim files (and their 835s), no manifest."""
    per_file = max(math.ceil(claims / max(claim_files, 1)), 1)
    data.generate(DROP_KIND, folder, claims, per_file)
    (folder / "manifest.jsonl").unlink(missing_ok=True)
    return Drop(folder, claims, sorted(p for p in folder.iterdir() if p.is_file()))


def fill_inbox(drop: Drop, inbox: Path) -> None:
    """Hard links (arrived by link: settled at once, see cob/run/settle.py), a copy across devices."""
    for f in drop.files:
        try:
            os.link(f, inbox / f.name)
        except OSError:
            shutil.copy2(f, inbox / f.name)


@dataclass
class Scale:
    """The two groups' state: the head tree, the work folder, what to say and the figures measured."""

    tree: Tree
    work: Path
    repeats: int
    clock: str
    say: Callable[[str], None]
    figures: list[Figure] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the issue-19 table, printed at the end

    def _stderr(self, name: str) -> Path:
        return self.work / f"{name}.stderr"

    def secondary(self, drop: Drop, folder: Path, workers: int) -> tuple[Run, int | None]:
        """`cob secondary --workers N` over the drop into a fresh folder; its run and billed count."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        run = run_child(self.tree.cob("secondary", "--claims", str(drop.folder), "--remit", str(drop.folder),
                                      "--out", str(folder / "outbox"), "--report", str(folder / "report.json"),
                                      "--workers", str(workers), "-q"),
                        env=self.tree.env(), cwd=self.work, stderr=self._stderr("secondary"))
        billed = None
        if (folder / "report.json").exists():
            billed = json.loads((folder / "report.json").read_text()).get("summary", {}).get("billed")
        return run, billed

    def new_site(self, site: Path, drop: Drop, state_url: str | None = None) -> str | None:
        """A fresh `cob init` folder with the drop in its inbox; the problem, or None."""
        shutil.rmtree(site, ignore_errors=True)
        site.parent.mkdir(parents=True, exist_ok=True)
        made = run_child(self.tree.cob("init", "-q", str(site)), env=self.tree.env(), cwd=self.work,
                         stderr=self._stderr("init"))
        if made.code != 0:
            return f"cob init exit code {made.code}"
        if state_url is not None:
            config = site / "cob.toml"
            text = config.read_text()
            changed = text.replace('url = "sqlite:///cob-state.db"', f'url = "{state_url}"')
            if changed == text:
                return "cob.toml has no [state] url line to point at PostgreSQL"
            config.write_text(changed)
        fill_inbox(drop, site / "inbox")
        return None

    def run_processes(self, site: Path, processes: int, workers: int) -> tuple[Run, list[ProcessOutcome]]:
        """K `cob run --workers N --format json` started at once on one site; wall time until the last
        exits, CPU summed over them (workers included), the largest RSS, the worst exit code."""
        env = self.tree.env(COB_NOW=self.clock, COB_SKIP_IG_VALIDATION="0")
        cmd = self.tree.cob("run", "--config", str(site / "cob.toml"), "--workers", str(workers), "--format", "json",
                            "-q")
        stdouts = [self.work / f"run-{i}.stdout" for i in range(processes)]
        stderrs = [self.work / f"run-{i}.stderr" for i in range(processes)]
        wall, runs = run_children([cmd] * processes, env=env, cwd=self.work, stdouts=stdouts, stderrs=stderrs)
        outcomes = [ProcessOutcome(r.code, parse_report(out.read_bytes()) if out.exists() else None)
                    for r, out in zip(runs, stdouts, strict=True)]
        worst = next((r.code for r in runs if r.code not in (0, 1)), max(r.code for r in runs))
        return Run(wall, sum(r.cpu for r in runs), max(r.rss for r in runs), worst), outcomes

    def why(self, name: str, code: int) -> str:
        path = self._stderr(name)
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()] if path.exists() else []
        return f"exit code {code}" + (f" ({lines[-1][:160]})" if lines else "")

    # -- cores -------------------------------------------------------------------------------------

    def cores(self, drop: Drop) -> None:
        """cob secondary and cob run per worker count, interleaved, order swapped each repeat."""
        counts = worker_counts(os.cpu_count())
        pairs: dict[int, tuple[Figure, Figure]] = {}
        billed: dict[str, set] = {}
        for n, label in counts:
            pairs[n] = (Figure("cores", f"cob secondary --workers {label}", drop.label, drop.claims, "claims"),
                        Figure("cores", f"cob run --workers {label}", drop.label, drop.claims, "claims"))
        bill_s: dict[int, list[float]] = {n: [] for n, _ in counts}
        for repeat in range(self.repeats):
            for n, _ in counts:
                secondary_fig, run_fig = pairs[n]
                order = ("secondary", "run") if repeat % 2 == 0 else ("run", "secondary")
                for what in order:
                    if what == "secondary" and HEAD not in secondary_fig.failed:
                        run, count = self.secondary(drop, self.work / "cores" / f"secondary-w{n}", n)
                        if run.code not in (0, 1):
                            secondary_fig.failed[HEAD] = self.why("secondary", run.code)
                        else:
                            secondary_fig.runs[HEAD].append(run)
                            billed.setdefault(secondary_fig.label, set()).add(count)
                    elif what == "run" and HEAD not in run_fig.failed:
                        site = self.work / "cores" / f"run-w{n}"
                        problem = self.new_site(site, drop)
                        if problem:
                            run_fig.failed[HEAD] = problem
                            continue
                        run, outcomes = self.run_processes(site, 1, n)
                        if run.code not in (0, 1) or outcomes[0].report is None:
                            run_fig.failed[HEAD] = self.why("run-0", run.code)
                            continue
                        run_fig.runs[HEAD].append(run)
                        report = outcomes[0].report
                        billed.setdefault(run_fig.label, set()).add(report.get("summary", {}).get("billed"))
                        timing = report.get("run", {}).get("timings", {}).get("bill_s")
                        if timing:
                            bill_s[n].append(float(timing))
            self.say(f"  cores: repeat {repeat + 1} of {self.repeats} done")
        self.lines.append(f"issue 19, part 1: cob run vs cob secondary on one drop ({drop.label} claims in "
                          f"{sum(1 for f in drop.files if f.suffix in ('.837', '.837i'))} claim files and "
                          f"{sum(1 for f in drop.files if f.suffix == '.835')} 835s), same workers, {self.repeats} "
                          f"repeat(s) interleaved, medians; target: cob run wall <= {TARGET:.2f} x cob secondary's")
        head = (f"  {'workers':<14} {'secondary wall s':>16} {'run wall s':>10} {'wall ratio':>10} "
                f"{'secondary CPU s':>15} {'run CPU s':>9} {'CPU ratio':>9} {'run cl/s':>9} {'billing cl/s':>12}"
                f"  verdict")
        self.lines += [head, "  " + "-" * (len(head) - 2)]
        for n, label in counts:
            secondary_fig, run_fig = pairs[n]
            self.figures += [secondary_fig, run_fig]
            sw, rw = secondary_fig.median(HEAD, "wall"), run_fig.median(HEAD, "wall")
            sc, rc = secondary_fig.median(HEAD, "cpu"), run_fig.median(HEAD, "cpu")
            billed_run = next(iter(billed.get(run_fig.label, {None})))
            bill_rate = per_second(billed_run or 0, median(bill_s[n])) if billed_run else None
            failed = "; ".join(f"{f.label}: {f.failed[HEAD]}" for f in (secondary_fig, run_fig) if HEAD in f.failed)
            self.lines.append(
                f"  {label:<14} {_num(sw):>16} {_num(rw):>10} {_num(ratio(rw, sw), '.3f'):>10} {_num(sc):>15} "
                f"{_num(rc):>9} {_num(ratio(rc, sc), '.3f'):>9} {_num(per_second(drop.claims, rw), ',.0f'):>9} "
                f"{_num(bill_rate, ',.0f'):>12}  " + (f"FAILED: {failed}" if failed else target_verdict(rw, sw)))
        self.lines.append(f"  run cl/s: claims in the drop per wall second of cob run end to end; billing cl/s: "
                          f"billed claims per second of the run's billing phase (its report's timings.bill_s). "
                          f"{billed_note(billed)}")

    # -- shared ------------------------------------------------------------------------------------

    def shared(self, drop: Drop, processes: tuple[int, ...], workers: int) -> None:
        """K cob run processes on one PostgreSQL-backed site, beside cob secondary, interleaved."""
        pg = load_pgserver()
        bindir = pg.find_bin() if pg is not None else None
        if bindir is None:
            self.lines.append("issue 19, part 2 (processes sharing PostgreSQL): SKIPPED, no PostgreSQL server binary "
                              "(initdb, pg_ctl, postgres on PATH or in /usr/lib/postgresql/*/bin)")
            self.say(self.lines[-1])
            return
        try:
            import psycopg  # noqa: F401
        except ImportError:
            self.lines.append("issue 19, part 2 (processes sharing PostgreSQL): SKIPPED, psycopg is not installed")
            self.say(self.lines[-1])
            return
        server = pg.PgServer(bindir)
        try:
            server.start()
        except Exception as exc:  # noqa: BLE001 - any failure to start is a reason to skip, said
            with contextlib.suppress(Exception):
                server.stop()  # removes its folder; pg_ctl stop fails when nothing started
            detail = getattr(exc, "stderr", None)
            detail = detail.decode(errors="replace").strip().splitlines()[-1:] if isinstance(detail, bytes) else []
            self.lines.append(f"issue 19, part 2 (processes sharing PostgreSQL): SKIPPED, the throwaway server "
                              f"did not start: {exc}" + (f" ({detail[0][:200]})" if detail else "")
                              + " (as root it runs as the postgres user, who must reach TMPDIR)")
            self.say(self.lines[-1])
            return
        try:
            self._shared(server, drop, processes, workers)
        finally:
            server.stop()

    def _shared(self, server, drop: Drop, processes: tuple[int, ...], workers: int) -> None:
        secondary_fig = Figure("shared", f"cob secondary --workers {workers}", drop.label, drop.claims, "claims")
        figs = {k: Figure("shared", f"cob run x{k} on PostgreSQL, --workers {workers}", drop.label, drop.claims,
                          "claims") for k in processes}
        seen: dict[int, list[str]] = {k: [] for k in processes}
        secondary_billed: set = set()
        for repeat in range(self.repeats):
            steps = ["secondary", *processes]
            if repeat % 2:
                steps.reverse()
            for step in steps:
                if step == "secondary":
                    if HEAD in secondary_fig.failed:
                        continue
                    run, count = self.secondary(drop, self.work / "shared" / "secondary", workers)
                    if run.code not in (0, 1):
                        secondary_fig.failed[HEAD] = self.why("secondary", run.code)
                    else:
                        secondary_fig.runs[HEAD].append(run)
                        secondary_billed.add(count)
                    continue
                k = int(step)
                fig = figs[k]
                if HEAD in fig.failed:
                    continue
                site = self.work / "shared" / f"run-x{k}"
                problem = self.new_site(site, drop, server.new_database())
                if problem:
                    fig.failed[HEAD] = problem
                    continue
                run, outcomes = self.run_processes(site, k, workers)
                if run.code not in (0, 1):
                    fig.failed[HEAD] = self.why(f"run-{[o.code for o in outcomes].index(run.code)}", run.code)
                    continue
                fig.runs[HEAD].append(run)
                outcome = shared_outcome(outcomes)
                reports = len(list((site / "reports").glob("run-*.json")))
                written = outbox_claims(site / "outbox")
                seen[k].append(f"{outcome.describe()}; run reports in reports/: {reports}; claims in the outbox: "
                               f"{written:,}" + ("" if written == outcome.billed else " (NOT the billed count)"))
            self.say(f"  shared: repeat {repeat + 1} of {self.repeats} done")
        self.figures += [secondary_fig, *figs.values()]
        sw = secondary_fig.median(HEAD, "wall")
        self.lines.append(f"issue 19, part 2: K cob run processes started at once on one site whose state is a fresh "
                          f"PostgreSQL database each repeat ({drop.label} claims; --workers {workers} each), beside "
                          f"cob secondary --workers {workers} on the same drop, {self.repeats} repeat(s) interleaved, "
                          f"medians; wall until the last process exits, CPU summed over the processes (the "
                          f"PostgreSQL server's own CPU not included)")
        head = (f"  {'K processes':<24} {'wall s':>8} {'CPU s':>8} {'claims/s':>9} {'x secondary':>11}  "
                f"what the processes did (last repeat)")
        self.lines += [head, "  " + "-" * (len(head) - 2)]
        billed_text = ", ".join(str(b) for b in sorted(secondary_billed, key=str))
        self.lines.append(f"  {'cob secondary':<24} {_num(sw):>8} {_num(secondary_fig.median(HEAD, 'cpu')):>8} "
                          f"{_num(per_second(drop.claims, sw), ',.0f'):>9} {'1.000' if sw else '-':>11}  "
                          + (f"FAILED: {secondary_fig.failed[HEAD]}" if HEAD in secondary_fig.failed
                             else f"billed {billed_text}"))
        for k, fig in figs.items():
            rw = fig.median(HEAD, "wall")
            speed = per_second(drop.claims, rw)
            what = f"FAILED: {fig.failed[HEAD]}" if HEAD in fig.failed else (seen[k][-1] if seen[k] else "-")
            self.lines.append(f"  {f'cob run x{k}':<24} {_num(rw):>8} {_num(fig.median(HEAD, 'cpu')):>8} "
                              f"{_num(speed, ',.0f'):>9} {_num(ratio(speed, per_second(drop.claims, sw)), '.3f'):>11}"
                              f"  {what}")
        self.lines.append("  claims/s: claims in the drop per wall second; x secondary: that speed over cob "
                          "secondary's (above 1: faster)")


def load_pgserver() -> ModuleType | None:
    """tests/run/pgserver.py (the tests' throwaway PostgreSQL), or None when this checkout has none."""
    if not PGSERVER.exists():
        return None
    name = "cob_bench_pgserver"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PGSERVER)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _num(value: float | None, fmt: str = ".2f") -> str:
    return "-" if value is None else format(value, fmt)


def run_groups(tree: Tree, work: Path, groups: tuple[str, ...], repeats: int, clock: str, claims: int,
               claim_files: int, processes: tuple[int, ...], workers: int, say: Callable[[str], None]) -> Scale:
    """Generate the drop once and measure the named groups (`cores`, `shared`) on it."""
    scale = Scale(tree, work / "scale", repeats, clock, say)
    scale.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    drop = make_drop(scale.work / "drop", claims, claim_files)
    say(f"{drop.label}: {len(drop.files)} files ({sum(p.stat().st_size for p in drop.files) / 1e6:.1f} MB) for the "
        f"issue-19 figures, generated in {time.perf_counter() - started:.0f} s")
    if "cores" in groups:
        scale.cores(drop)
    if "shared" in groups:
        scale.shared(drop, processes, workers)
    return scale
