"""Are the base's and the head's outputs the same? Byte for byte, except the clock.

`cob secondary` stamps its interchanges with the wall clock (ISA09/ISA10, GS04/GS05, BHT04/BHT05), so
two runs a minute apart differ there and nowhere else; those elements are blanked before comparing.
`cob run` takes its clock from COB_NOW, which the bench fixes, but is normalized the same way. Reports
are compared as JSON with the output folder's path replaced and the timings left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: segment id -> element positions that carry the time a file was written
CLOCK_ELEMENTS: dict[str, tuple[int, ...]] = {"ISA": (9, 10), "GS": (4, 5), "BHT": (4, 5)}
CLOCK_MASK = "#"


def normalized_x12(data: bytes) -> bytes:
    """The X12 text with the clock elements blanked; anything that is not an ISA file comes back as is."""
    if len(data) < 106 or not data.startswith(b"ISA"):
        return data
    element, terminator = data[3:4], data[105:106]
    segments = data.split(terminator)
    for i, segment in enumerate(segments):
        parts = segment.split(element)
        tag = parts[0].strip().decode("ascii", "replace")
        positions = CLOCK_ELEMENTS.get(tag)
        if positions:
            for pos in positions:
                if pos < len(parts):
                    # ISA is fixed width: keep the length so the rest of the segment stays where it was
                    parts[pos] = CLOCK_MASK.encode() * (len(parts[pos]) if tag == "ISA" else 1)
            segments[i] = element.join(parts)
    return terminator.join(segments)


@dataclass
class FolderComparison:
    """File names of two folders compared, and which files differ after normalization."""

    files: int = 0
    differing: list[str] = field(default_factory=list)
    only_base: list[str] = field(default_factory=list)
    only_head: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.differing or self.only_base or self.only_head)

    def describe(self) -> str:
        if self.identical:
            return f"identical ({self.files} files; clock elements ISA09/10, GS04/05, BHT04/05 normalized)"
        parts = []
        if self.differing:
            parts.append(f"{len(self.differing)} of {self.files} files differ ({', '.join(self.differing[:5])})")
        if self.only_base:
            parts.append(f"only in base: {', '.join(self.only_base[:5])}")
        if self.only_head:
            parts.append(f"only in head: {', '.join(self.only_head[:5])}")
        return "DIFFER: " + "; ".join(parts)


def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def compare_folders(base: Path, head: Path) -> FolderComparison:
    a, b = _files(base), _files(head)
    result = FolderComparison(files=len(set(a) | set(b)), only_base=sorted(set(a) - set(b)),
                              only_head=sorted(set(b) - set(a)))
    for name in sorted(set(a) & set(b)):
        if normalized_x12(a[name].read_bytes()) != normalized_x12(b[name].read_bytes()):
            result.differing.append(name)
    return result


def _replace_strings(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace_strings(v, old, new) for v in value]
    if isinstance(value, dict):
        return {_replace_strings(k, old, new): _replace_strings(v, old, new) for k, v in value.items()}
    return value


def _drop_keys(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, list):
        return [_drop_keys(v, keys) for v in value]
    if isinstance(value, dict):
        return {k: _drop_keys(v, keys) for k, v in value.items() if k not in keys}
    return value


def normalized_report(path: Path, folder: Path, drop: frozenset[str] = frozenset({"timings"})) -> Any:
    """A JSON report with `folder` (the run's own output or site folder) written as "<folder>"."""
    report = json.loads(path.read_text(encoding="utf-8"))
    return _drop_keys(_replace_strings(report, str(folder), "<folder>"), drop)


def same_reports(base: Path, base_folder: Path, head: Path, head_folder: Path) -> bool:
    return normalized_report(base, base_folder) == normalized_report(head, head_folder)
