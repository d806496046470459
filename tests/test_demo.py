"""`make demo` (issue 20): besides `cob secondary`'s summary it runs one night of `cob run` and prints the
path of the morning report page, which exists and lists what went out."""

from __future__ import annotations

from pathlib import Path

from cob.fixtures import demo


def test_demo_writes_the_page_and_prints_its_path(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "OUT", tmp_path / "out" / "demo")
    assert demo.main() == 0
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith("morning report page")]
    page = Path(line.rsplit(": ", 1)[1])
    assert page.parent == tmp_path / "out" / "demo" / "site" / "reports" and page.suffix == ".html"
    text = page.read_text()
    assert '<section id="needs-a-person">' in text and "77027-000000002.837" in text
    assert (page.parent / "index.html").exists()
