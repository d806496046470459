"""X12 files as JSON lines: what `cob parse` does, as a library call.

Each item the reader yields (a Claim per 837P claim, a ClaimPayment per 835 claim payment, a
ProviderAdjustment per PLB) becomes one line of JSON, written while the file is read, so memory does
not grow with the file. A file that cannot be read, or that holds a problem, is reported and the next
file is read: one bad file never hides the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping

from .errors import X12Error, X12SyntaxError
from .reader import X12Reader


@dataclass
class ParsedFile:
    """What reading one file gave: counts, and the problems (located, without patient data)."""

    name: str  # the path as given, or `<stdin>`
    items: int = 0
    transactions: list[str] = field(default_factory=list)  # transaction set ids in file order
    errors: list[str] = field(default_factory=list)  # strict: the first problem; lenient: every one
    warnings: list[X12Error] = field(default_factory=list)  # segments the IG has no place for (kept raw)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        """The `--summary` facts of the file (one JSON object, or one tab-separated line)."""
        return {"file": self.name, "transactions": sorted(set(self.transactions)), "items": self.items,
                "errors": len(self.errors), "warnings": len(self.warnings)}

    def summary_line(self) -> str:
        kinds = ",".join(sorted(set(self.transactions))) or "-"
        return f"{self.name}\t{kinds}\t{self.items} items\t{len(self.errors)} errors\t{len(self.warnings)} warnings"


class OutputFailed(Exception):
    """Writing the JSON lines failed (a closed pipe, a full disk): not a problem of the input."""

    def __init__(self, exc: OSError):
        super().__init__(str(exc))
        self.exc = exc


def parse_files(paths: Iterable[str | Path], out: IO[str] | None = None, *, strict: bool = True,
                names: Mapping[Path, str] | None = None) -> Iterator[ParsedFile]:
    """Read each file, writing one JSON line per item to `out` (None: count only), and yield a
    `ParsedFile` after each file. `strict=False` skips the claims with problems and lists every problem;
    strict stops a file at its first. `names` gives a display name to some paths (a spooled stdin).

    Raises `OutputFailed` when `out` cannot be written: the caller stops (a reader of a pipe went away)."""
    names = names or {}
    for p in paths:
        path = Path(p)
        name = names.get(path, str(p))
        reader = X12Reader(path, strict=strict, name=name)
        parsed = ParsedFile(name)
        write = out.write if out is not None else None
        try:
            for item in reader:
                parsed.items += 1
                if write is not None:
                    try:
                        write(item.model_dump_json(exclude_none=True))
                        write("\n")
                    except OSError as exc:
                        raise OutputFailed(exc) from exc
        except X12SyntaxError as exc:
            parsed.errors.append(str(exc.error))
        except OSError as exc:
            parsed.errors.append(f"{name}: cannot read: {exc.strerror or exc}")
        if not strict:
            parsed.errors += [str(err) for err in reader.errors]
        parsed.transactions = list(reader.transactions)
        parsed.warnings = list(reader.warnings)
        yield parsed
