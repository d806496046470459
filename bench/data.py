"""The inputs both trees are measured on: generated claims, with and without variety, and real files.

`generator` is `cob.fixtures.generate` as the tests use it: names, streets and cities from small
tables, a few price points per procedure, service dates within half a year. Code that memoizes by
segment text (the validator's set of segments already passed, amount and date memos in reader and
writer) hits far more often on it than on real traffic. `variety` is the same claims and scenario mix
with every claim's names, addresses, dates (spread over three years) and charges (to the cent) its own.
`institutional` is the generator's 837I mode: the same claims billed by a facility (every third an
inpatient stay paid by DRG at claim level, the others outpatient lines) with their institutional 835s.
Real public files are measured as they are when they are 005010 837P/837I/835, big enough to time, and
not one claim repeated (copies of one claim would be no variety at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.trees import REPO

SEED = 7
GENERATED = ("generator", "variety", "institutional")
#: GS08 versions measured among the real samples, by the name the figures use
REAL_VERSIONS = {"005010X222A1": "837P", "005010X223A2": "837I", "005010X221A1": "835"}


@dataclass(frozen=True)
class DataSet:
    """Files of one kind of data: the folder (all claims and 835s, for `cob secondary`), the biggest
    837P and 835 in it, and the same of a 1/10-size run."""

    name: str
    folder: Path
    claims: int
    files: dict[str, Path]  # "837P" (or "837I") / "835" -> file
    small: dict[str, Path] = field(default_factory=dict)
    small_claims: int = 0


def _biggest(folder: Path) -> dict[str, Path]:
    institutional = list(folder.glob("claims-*.837i"))
    claims = max(institutional or folder.glob("claims-*.837"), key=lambda p: p.stat().st_size)
    remit = max(folder.glob("remit*.835"), key=lambda p: p.stat().st_size)
    return {"837I" if institutional else "837P": claims, "835": remit}


def generate(name: str, folder: Path, claims: int, claims_per_file: int | None = None) -> Path:
    """`claims` claims of the named kind into `folder` (one file set unless claims_per_file is given)."""
    from cob.fixtures.generate import generate as gen

    if name not in GENERATED:
        raise ValueError(f"unknown data set {name!r}: one of {', '.join(GENERATED)}")
    gen(folder, seed=SEED, claims=claims, claims_per_file=claims_per_file or claims, variety=name == "variety",
        institutional=name == "institutional")
    return folder


def generated_set(name: str, work: Path, claims: int) -> DataSet:
    """The data set at full size and at 1/10 size (at least 20 claims: every scenario once)."""
    big = generate(name, work / name, claims)
    small_claims = max(claims // 10, 20)
    small = generate(name, work / f"{name}-small", small_claims)
    return DataSet(name, big, claims, _biggest(big), _biggest(small), small_claims)


def default_samples_folder(repo: Path = REPO) -> Path | None:
    """The shared real files beside the checkout: ../shared/samples from the main checkout, or from a
    worktree two levels down (/work/wt/<name>)."""
    for candidate in (repo.parent / "shared" / "samples", repo.parent.parent / "shared" / "samples"):
        if candidate.is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class RealFile:
    path: Path
    kind: str  # "837P" | "835"
    claims: int  # CLM or CLP segments
    distinct: int  # distinct CLM or CLP segment texts


def survey(path: Path) -> RealFile | None:
    """The file's kind and how many of its claims differ; None unless it is a 005010 837P or 835."""
    text = path.read_bytes().removeprefix(b"\xef\xbb\xbf").lstrip()  # some editors write a UTF-8 BOM
    if not text.startswith(b"ISA") or len(text) < 106:
        return None
    element, terminator = text[3:4], text[105:106]
    kinds = set()
    clm = []
    for segment in text.split(terminator):
        parts = segment.strip().split(element)
        tag = parts[0]
        if tag == b"GS" and len(parts) > 8:
            kinds.add(REAL_VERSIONS.get(parts[8].decode("ascii", "replace")))
        elif tag in (b"CLM", b"CLP"):
            clm.append(segment.strip())
    if len(kinds) != 1 or None in kinds:
        return None
    return RealFile(path, kinds.pop(), len(clm), len(set(clm)))


def real_files(folder: Path | None, min_bytes: int) -> tuple[list[RealFile], list[str]]:
    """Real 005010 837P/835 files worth timing, and notes on those left out and why."""
    if folder is None or not folder.is_dir():
        return [], [f"no real files: no samples folder ({folder or '../shared/samples'}); set BENCH_SAMPLES"]
    chosen, repeated, small = [], [], []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        info = survey(path)
        if info is None:
            continue
        size = path.stat().st_size
        if info.claims == 0 or info.distinct < info.claims / 2:
            repeated.append(f"{path.name} ({info.kind}, {size / 1e6:.2f} MB: {info.distinct} distinct of "
                            f"{info.claims} claims)")
        elif size < min_bytes:
            small.append((size, path.name, info.kind))
        else:
            chosen.append(info)
    notes = []
    if repeated:
        notes.append(f"real files left out as the same claims repeated, not variety: {'; '.join(repeated)}")
    if small:
        size, name, kind = max(small)
        notes.append(f"real files left out as under {min_bytes / 1e6:g} MB, too small to time (start-up would "
                     f"dominate): {len(small)} 005010 837P/835 files, the largest {name} ({kind}, "
                     f"{size / 1e6:.2f} MB); BENCH_SAMPLE_MIN_MB lowers the bar")
    return chosen, notes
