"""`make bench`: speed and memory of cob beside pyx12, measured in the same run.

Generates 837P and 835 files of BENCH_CLAIMS claims (default 50,000) with the fixture generator, then
times each command in its own process and reads that process's peak RSS. Absolute times on shared
machines are noisy; the ratios against pyx12 measured in the same run are the figures to quote.
Set BENCH_PYX12=0 to skip pyx12 (it needs minutes at ~0.3 MB/s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def measure(cmd: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command run in a fresh child of a fresh process."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "dt = time.perf_counter() - t\n"
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True).stdout
    seconds, rss = out.split()
    return float(seconds), float(rss)


def generate(out: Path, claims: int) -> tuple[Path, Path]:
    from cob.fixtures.generate import generate as gen

    gen(out, seed=7, claims=claims, claims_per_file=claims)
    claims_file = sorted(out.glob("claims-*.837"))[0]
    remit_file = max(out.glob("remit-*.835"), key=lambda p: p.stat().st_size)
    return claims_file, remit_file


def row(label: str, path: Path, seconds: float, rss: float) -> str:
    mb = path.stat().st_size / 1e6
    return f"{label:<34} {mb:7.1f} MB {seconds:8.2f} s {mb / seconds:8.2f} MB/s {rss:8.1f} MB RSS"


def main() -> None:
    claims = int(os.environ.get("BENCH_CLAIMS", "50000"))
    print(f"Python {sys.version.split()[0]} ({os.path.realpath(sys.executable)}), {os.cpu_count()} CPUs")
    if os.environ.get("BENCH_ONLY") == "run":
        run_bench()
        return
    if os.environ.get("BENCH_ONLY") == "secondary":
        work = Path(tempfile.mkdtemp(prefix="cob-bench-"))
        try:
            generate(work / "big", claims)
            secondary_bench(work / "big", claims)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    with_pyx12 = os.environ.get("BENCH_PYX12", "1") != "0"
    work = Path(tempfile.mkdtemp(prefix="cob-bench-"))
    try:
        t = time.perf_counter()
        claims_file, remit_file = generate(work / "big", claims)
        small_claims, small_remit = generate(work / "small", max(claims // 10, 10))
        print(f"generated {claims} claims in {time.perf_counter() - t:.1f}s under {work}")
        cob = str(BIN / "cob")
        results: dict[str, tuple[float, float]] = {}
        print(f"{'command':<34} {'size':>10} {'time':>10} {'speed':>13} {'peak':>15}")
        for kind, path, small in (("837P", claims_file, small_claims), ("835", remit_file, small_remit)):
            s, r = measure([cob, "parse", "--summary", str(path)])
            results[f"cob-{kind}"] = (s, r)
            print(row(f"cob parse (models) {kind}", path, s, r))
            s2, r2 = measure([cob, "parse", str(path)])
            print(row(f"cob parse (JSON lines) {kind}", path, s2, r2))
            s3, r3 = measure([cob, "parse", "--summary", str(small)])
            print(row(f"cob parse (models) {kind}, 1/10 size", small, s3, r3))
            v, vr = measure([cob, "validate", str(path)])
            print(row(f"cob validate (SNIP 1-5) {kind}", path, v, vr))
            v12, vr12 = measure([cob, "validate", "--snip", "1,2", str(path)])
            print(row(f"cob validate --snip 1,2 {kind}", path, v12, vr12))
            vs, vrs = measure([cob, "validate", str(small)])
            print(row(f"cob validate (SNIP 1-5) {kind}, 1/10", small, vs, vrs))
            if with_pyx12:
                copy = work / f"pyx12-{path.name}"
                shutil.copy(path, copy)
                s4, r4 = measure([str(BIN / "x12valid"), str(copy)])
                results[f"pyx12-{kind}"] = (s4, r4)
                print(row(f"pyx12 x12valid {kind}", copy, s4, r4))
                print(f"  -> cob parse is {s4 / s:.1f}x pyx12's speed on this {kind}; "
                      f"RSS {r:.0f} MB vs {r4:.0f} MB")
                print(f"  -> cob validate is {s4 / v:.1f}x pyx12's speed on this {kind} (SNIP 1-5; "
                      f"{s4 / v12:.1f}x with SNIP 1-2 only, what pyx12 checks); RSS {vr:.0f} MB vs {r4:.0f} MB")
        secondary_bench(work / "big", claims)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def secondary_bench(fixtures: Path, claims: int) -> None:
    """End to end: `cob secondary` over the generated 837P and every 835, IG validation included; in one
    process, then with its default workers (one per CPU, up to 4)."""
    from cob.billing.secondary import default_workers

    for label, extra in (("cob secondary (1 process)", ["--workers", "1"]),
                         (f"cob secondary ({default_workers()} workers)", [])):
        out = fixtures.parent / "outbox"
        shutil.rmtree(out, ignore_errors=True)
        report_path = fixtures.parent / "report.json"
        cmd = [str(BIN / "cob"), "secondary", "--claims", str(fixtures), "--remit", str(fixtures),
               "--out", str(out), "--report", str(report_path), *extra]
        seconds, rss = measure(cmd)
        summary = json.loads(report_path.read_text())["summary"]
        print(f"{label:<34} {claims:>7} claims {seconds:8.2f} s {claims / seconds:8.0f} claims/s "
              f"{rss:8.1f} MB RSS  ({summary['billed']} billed, {summary['skipped']} skipped, "
              f"{summary['held']} held, {summary['rejected']} rejected; IG validation (cob.edi.validate) included)")


def run_bench() -> None:
    """`cob run` over a drop folder of BENCH_RUN_FILES claim files x BENCH_RUN_CLAIMS claims (default 100 x
    1,000) and their 835s, from an empty state, with 1 and with 2 worker processes.

    IG validation of the outputs (cob.edi.validate) is on, as in production; BENCH_RUN_VALIDATE=0 turns it
    off to see what the run itself costs. Workers parallelize reading the inputs; billing and state
    writes are serial by design, so the ingest figure is the one that scales.
    """
    files = int(os.environ.get("BENCH_RUN_FILES", "100"))
    per_file = int(os.environ.get("BENCH_RUN_CLAIMS", "1000"))
    validate = os.environ.get("BENCH_RUN_VALIDATE", "1") == "1"
    claims = files * per_file
    work = Path(tempfile.mkdtemp(prefix="cob-bench-run-"))
    try:
        t = time.perf_counter()
        from cob.fixtures.generate import generate as gen

        gen(work / "drop", seed=7, claims=claims, claims_per_file=per_file)
        (work / "drop" / "manifest.jsonl").unlink()
        inputs = sorted((work / "drop").iterdir())
        size = sum(p.stat().st_size for p in inputs) / 1e6
        print(f"generated {claims} claims in {len(inputs)} files ({size:.0f} MB) in {time.perf_counter() - t:.1f}s")
        for workers in (1, 2):
            site = work / f"site-{workers}"
            subprocess.run([str(BIN / "cob"), "init", str(site)], check=True, stdout=subprocess.DEVNULL)
            for f in inputs:
                os.link(f, site / "inbox" / f.name)
            env = dict(os.environ, COB_SKIP_IG_VALIDATION="0" if validate else "1")
            probe = ("import resource, subprocess, sys, time\n"
                     "t = time.perf_counter()\n"
                     "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                     "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,"
                     " r.returncode)\n")
            cmd = [str(BIN / "cob"), "run", "--config", str(site / "cob.toml"), "--workers", str(workers)]
            out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, env=env,
                                 check=True).stdout.split()
            seconds, rss, code = float(out[0]), float(out[1]), int(out[2])
            report = json.loads(next((site / "reports").glob("*.json")).read_text())
            timings, summary = report["run"]["timings"], report["summary"]
            print(f"cob run --workers {workers}: {claims} claims {seconds:7.1f} s {claims / seconds:7.0f} claims/s "
                  f"end to end, peak RSS {rss:.0f} MB (parent; each worker separately), exit {code}; "
                  f"ingest {timings['ingest_s']:.1f} s ({claims / timings['ingest_s']:.0f} claims/s), "
                  f"billing {timings['bill_s']:.1f} s; {summary['billed']} billed, {summary['held']} held, "
                  f"{len(report['run']['outputs'])} output files; IG validation {'on' if validate else 'off'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
