"""`cob run` with a paper payer in cob.toml (issue 18): its claims go to outbox/paper/<payer>-<ISA13>.pdf after
the state commit, through the same checks, and are never sent again."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cob.run.config import ConfigError, load_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paper.pdfread import read_pages  # noqa: E402

#: in the bundled sample, payer 63303 is the destination of one billed claim (PCN00100000011)
PAPER = "63303"


def _paper_site(make_site, proof: bool = False):
    site = make_site()
    text = site.config_path.read_text().replace('# payers = ["AUTOINS01"]', f'payers = ["{PAPER}"]')
    if proof:
        text = text.replace("# proof = false", "proof = true")
    site.config_path.write_text(text)
    return site


def test_paper_payer_from_cob_toml(make_site, sample_set):
    site = _paper_site(make_site)
    assert site.config.paper_payers == frozenset({PAPER})
    site.drop(sample_set)
    result = site.run(validate=True)
    assert result.exit_code == 0
    files = site.outbox_files()
    paper = [name for name in files if name.startswith("paper/")]
    assert len(paper) == 1 and paper[0].startswith(f"paper/{PAPER}-") and paper[0].endswith(".pdf")
    assert len(files) == 7 and not any(name.startswith(f"{PAPER}-") for name in files)  # no 837P for it
    (output,) = [o for o in result.report.run.outputs if o.payer_id == PAPER]
    assert (output.file, output.claims) == (paper[0], 1)
    billed = [c for c in result.report.claims if c.destination_payer == PAPER and c.status == "billed"]
    assert len(billed) == 1
    (form, *eobs) = read_pages(site.outbox / paper[0])
    assert form.kind == "form" and form.cells[(56, 23)] == billed[0].claim_id  # 26: patient account
    assert eobs and all(p.kind == "text" for p in eobs)
    assert not list(site.outbox.rglob(".*"))  # no temp file left
    again = site.run()
    assert again.exit_code == 0 and again.report.summary.claims == 0
    assert site.outbox_files() == files


def test_paper_section_is_checked(tmp_path):
    from cob.run.config import init_folder

    config = init_folder(tmp_path / "site")
    config.write_text(config.read_text().replace('# payers = ["AUTOINS01"]', 'payers = "63303"'))
    with pytest.raises(ConfigError, match="paper.payers"):
        load_config(config)
    config.write_text(config.read_text().replace('payers = "63303"', "payers = [1]"))
    with pytest.raises(ConfigError, match="paper.payers"):
        load_config(config)
