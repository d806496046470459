"""Showing validation results: text for people, JSON for programs, segments with patient data masked.

A finding shows the segment it is about, but the report may be mailed around or pasted into a ticket,
so values that can identify a patient never appear: `masking.mask_segment` replaces them by `#` runs of
the same length and shows what a billing analyst needs to fix the file (envelope ids, control numbers,
provider names and NPIs, codes, amounts). `cob validate --show-values` turns masking off.

JSON schema (`cob validate --format json`):

    {"files": [{"file": str, "valid": bool, "segments": int, "claims": int, "truncated": bool,
                "errors": [Finding], "warnings": [Finding]}],
     "skipped": [{"file": str, "reason": str, "x12": bool}],   # files of a folder not read
     "notes": [str],                                           # e.g. a folder that is empty
     "summary": {"files": int, "valid": int, "invalid": int, "errors": int, "warnings": int, "skipped": int}}

`x12` true: the skipped file looks like X12 content (an ST..SE fragment without ISA, UTF-16 text), so
the run fails (exit 1) although no file read was invalid.

where a Finding is an object with the non-null fields of `findings.Finding`: snip, severity, code,
message, file, segment_no, segment_id, loop, element, element_pos, component_pos, data_ele, claim_id,
st_segment_no, isa_control, gs_control, st_control, ik3, ik4, ik5, ak9, ta1, bad_value, segment_text.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Iterable

from .findings import FileResult, Finding
from .masking import mask_segment

# the masking policy is `masking`'s; re-exported here, where findings are shown
__all__ = ["mask_segment", "result_json", "dumps", "render_text"]


def result_json(results: Iterable[FileResult], max_errors: int | None = None, skipped: Iterable = (),
                notes: Iterable[str] = ()) -> dict:
    files = []
    skipped = list(skipped)
    totals = {"files": 0, "valid": 0, "invalid": 0, "errors": 0, "warnings": 0, "skipped": len(skipped)}
    for r in results:
        doc = r.to_json()
        if max_errors is not None and len(doc["errors"]) > max_errors:
            doc["errors"] = doc["errors"][:max_errors]
            doc["truncated"] = True
        files.append(doc)
        totals["files"] += 1
        totals["valid" if r.valid else "invalid"] += 1
        totals["errors"] += len(r.errors)
        totals["warnings"] += len(r.warnings)
    return {"files": files, "skipped": [{"file": str(s.path), "reason": s.reason, "x12": s.x12} for s in skipped],
            "notes": list(notes), "summary": totals}


def dumps(results: Iterable[FileResult], max_errors: int | None = None, skipped: Iterable = (),
          notes: Iterable[str] = ()) -> str:
    return json.dumps(result_json(results, max_errors, skipped, notes), indent=2)


def render_skipped(skip) -> str:
    """One skipped file (`cob.edi.inputs.Skipped`) as a report line."""
    return f"{skip.path}: SKIPPED{' (looks like X12: fix it)' if skip.x12 else ''} -- {skip.reason}"


def _line(f: Finding) -> str:
    where = f"segment {f.segment_no}" if f.segment_no is not None else "end of file"
    seg = f" {f.segment_id}" if f.segment_id else ""
    loop = f" [{f.loop}]" if f.loop else ""
    tag = "error" if f.is_error else "warning"
    text = f"  {where}{seg}{loop}: {tag} SNIP {f.snip} {f.code}: {f.message}"
    if f.segment_text:
        text += f"\n      {f.segment_text}"
    return text


def render_text(result: FileResult, max_errors: int | None = None) -> str:
    """One file: a status line, then findings grouped by claim in file order."""
    status = "valid" if result.valid else "INVALID"
    head = (f"{result.file}: {status} ({result.segments} segments, {result.claims} claims, "
            f"{len(result.errors)} errors, {len(result.warnings)} warnings)")
    if result.truncated:
        head += " -- stopped at the error limit"
    lines = [head]
    groups: dict[str | None, list[Finding]] = defaultdict(list)
    order: list[str | None] = []
    shown = 0
    for f in result.findings:
        if f.is_error:
            if max_errors is not None and shown >= max_errors:
                continue
            shown += 1
        if f.claim_id not in groups:
            order.append(f.claim_id)
        groups[f.claim_id].append(f)
    for claim in order:
        lines.append(f" claim {claim}:" if claim else " envelope / outside claims:")
        lines.extend(_line(f) for f in groups[claim])
    if max_errors is not None and len(result.errors) > shown:
        lines.append(f"  ... {len(result.errors) - shown} more errors not shown (--max-errors {max_errors})")
    return "\n".join(lines)
