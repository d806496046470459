"""The README's library example runs as printed, against the bundled sample, and prints what it says."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "cob" / "fixtures" / "sample"


def _library_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## As a library", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_library_example_runs_on_the_sample(tmp_path, monkeypatch):
    for f in SAMPLE.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_library_block(), "README.md", "exec"), {"__name__": "readme"})
    lines = out.getvalue().splitlines()
    assert lines[:4] == ["PCN00100000000 713.05 ['64404']", "PCN00100000001 33.5 ['77027']",
                         "PCN00100000000 1 132.12", "True 186 0 0"]
    assert lines[4] == "remit-0001.835 True ['remit-0001.835.001000002.999']"
    assert lines[6] == "cob secondary: 6 claims: 6 billed, 0 skipped, 0 held, 0 rejected"
    assert "21 False" in lines  # bill_paths over the whole folder: 21 of the sample's 24 claims billed
    assert re.fullmatch(r"0 21 run-\d{8}T\d{6}-1\.json", lines[-1])
    assert (tmp_path / "report.json").is_file() and (tmp_path / "copy.837").is_file()
    assert len(list((tmp_path / "outbox").glob("*.837"))) == 5
