"""Issue 13 items 8 and 12: memory bounded whatever the input. A segment with no terminator is refused once
longer than `MAX_SEGMENT`; a claim past the implementation guide's repeat limits (2400 at most 50 service
lines, DTP*472 once per line) is not accumulated: a lenient reader lists at most `MAX_CLAIM_PROBLEMS` of
its problems, reads no more of it and builds none of it, and the claims after it are read as usual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cob.edi.errors import X12SyntaxError, shown_id
from cob.edi.reader import MAX_CLAIM_PROBLEMS, X12Reader
from cob.edi.tokens import MAX_SEGMENT

SAMPLE = Path(__file__).resolve().parent.parent / "cob" / "fixtures" / "sample" / "claims-0001.837"
CLAIMS = [f"PCN0010000000{i}" for i in range(6)]


def _flood(path: Path, kind: str, count: int) -> Path:
    """claims-0001.837 with its first claim's first service line repeated `count` times ("lines") or that
    line's DTP*472 repeated `count` times ("dtp"); SE01 kept right."""
    segs = SAMPLE.read_text().split("~")
    lx = next(i for i, s in enumerate(segs) if s.startswith("LX*"))
    end = next(i for i in range(lx + 1, len(segs)) if segs[i].startswith(("LX*", "CLM*", "HL*", "SE*")))
    if kind == "lines":
        block = segs[lx:end]
        extra = [s for n in range(2, count + 1) for s in [f"LX*{n}", *block[1:]]]
        segs[end:end] = extra
    else:
        dtp = next(i for i in range(lx, end) if segs[i].startswith("DTP*472"))
        extra = [segs[dtp]] * count
        segs[dtp + 1:dtp + 1] = extra
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    st = next(i for i, s in enumerate(segs) if s.startswith("ST*"))
    parts = segs[se].split("*")
    segs[se] = "*".join([parts[0], str(se - st + 1), *parts[2:]])
    path.write_text("~".join(segs))
    return path


#: the peak RSS of the running process itself, in MB. Not `ru_maxrss`: on Linux a child started by
#: subprocess inherits its parent's peak there (vfork + exec), so it would report pytest's, not its own.
PEAK_RSS_MB = ("int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]) / 1024")


def _in_child(code: str) -> dict:
    """Run `code` (which sets `out`) in a fresh interpreter; returns `out` and its own peak RSS in MB."""
    script = (f"import json\n{code}\n"
              f"out['rss_mb'] = {PEAK_RSS_MB}\n"
              "print(json.dumps(out))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _baseline_rss() -> float:
    return _in_child(f"from cob.edi.reader import X12Reader\nout = {{'n': sum(1 for _ in X12Reader({str(SAMPLE)!r}))}}")[
        "rss_mb"]


@pytest.mark.parametrize("kind, count, code", [("lines", 100_000, "loop_repeat"), ("dtp", 200_000, "segment_repeat")])
def test_a_claim_past_the_repeat_limits_is_not_accumulated(tmp_path, kind, count, code):
    path = _flood(tmp_path / f"{kind}.837", kind, count)
    with pytest.raises(X12SyntaxError) as info:  # strict (cob run): the first excess stops the file
        list(X12Reader(path))
    assert (info.value.error.code, info.value.error.claim_id) == (code, "PCN00100000000")
    base = _baseline_rss()
    out = _in_child(
        "from cob.edi.reader import X12Reader\n"
        f"r = X12Reader({str(path)!r}, strict=False)\n"
        "ids = [c.claim_id for c in r if hasattr(c, 'claim_id')]\n"
        "out = {'ids': ids, 'errors': [(e.code, e.claim_id) for e in r.errors]}")
    assert out["ids"] == CLAIMS[1:]  # the flooded claim is not built; the others are
    assert len(out["errors"]) == MAX_CLAIM_PROBLEMS + 1
    assert out["errors"][:MAX_CLAIM_PROBLEMS] == [[code, "PCN00100000000"]] * MAX_CLAIM_PROBLEMS
    assert out["errors"][-1] == ["claim_problems", "PCN00100000000"]
    # before: 284 MB (lines) and 214 MB (dtp) for these files, 1 GB for 100,000 lines of a bigger claim
    assert out["rss_mb"] < base + 30, (out["rss_mb"], base)


def test_a_line_without_terminator_is_refused_with_bounded_memory(tmp_path):
    path = tmp_path / "roster.837"
    with open(path, "w") as fh:
        fh.write(SAMPLE.read_text()[:106])
        row = "TURNER HAZEL,19610203,JAH450165023,5246 HIGHLAND AVE\n"
        fh.write(row * (32 * 1024 * 1024 // len(row)))  # 32 MB, no "~"
    base = _baseline_rss()
    out = _in_child(
        "from cob.edi.reader import X12Reader\nfrom cob.edi.errors import X12SyntaxError\n"
        f"try:\n    list(X12Reader({str(path)!r}))\n    out = {{}}\n"
        "except X12SyntaxError as exc:\n"
        "    out = {'code': exc.error.code, 'no': exc.error.segment_no, 'text': str(exc)}")
    assert (out["code"], out["no"]) == ("segment_too_long", 2)
    assert f"segment longer than {MAX_SEGMENT} characters" in out["text"] and "HAZEL" not in out["text"]
    assert out["rss_mb"] < base + 20, (out["rss_mb"], base)


def test_segment_ids_that_are_not_ids_are_not_quoted():
    assert shown_id("CLM") == "CLM" and shown_id("N3") == "N3"
    assert shown_id("NAME,BIRTHDATE,MEMBER ID,ADDRESS") == "NAM..."
    assert shown_id("TURNER HAZEL") == "TUR..."
    assert shown_id("a\x1b[") == "a??"
    assert shown_id("") == ""
