"""The suite-wide PHI guard (tests/phi_guard.py) finds what it must and nothing else. These tests plant
leaks on purpose, so they work in folders of their own (`tmp_path_factory`), not in the guarded tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phi_guard import SAMPLE, leaks_under


def test_the_guard_finds_a_name_a_member_id_a_birth_date_and_a_street(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("guard")
    (tmp_path / "site" / "reports").mkdir(parents=True)
    (tmp_path / "site" / "rejected").mkdir()
    (tmp_path / "site" / "reports" / "run-1.txt").write_text("claim PCN00100000000 of TURNER billed\n")
    (tmp_path / "site" / "rejected" / "x.837.reason.txt").write_text("born 19710314, JAH450165023\n")
    (tmp_path / "site" / "run-1.log.jsonl").write_text('{"m": "5246 HIGHLAND AVE"}\n')
    assert leaks_under(tmp_path) == {"site/reports/run-1.txt": ["TURNER"],
                                     "site/rejected/x.837.reason.txt": ["19710314", "JAH450165023"],
                                     "site/run-1.log.jsonl": ["5246 HIGHLAND AVE"]}


def test_the_guard_takes_values_from_the_inputs_it_finds(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("guard")
    """A person only in an input under tmp_path (not in the sample) is looked for too."""
    (tmp_path / "inbox").mkdir()
    text = (SAMPLE / "claims-0001.837").read_text().replace("NM1*IL*1*TURNER*HAZEL", "NM1*IL*1*QUIXBY*ZORA")
    (tmp_path / "inbox" / "c.837").write_text(text)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "r.json").write_text('{"who": "QUIXBY"}')
    assert leaks_under(tmp_path) == {"reports/r.json": ["QUIXBY"]}


@pytest.mark.parametrize("text", ["SLEEPING", "the claim of PCN00100000000", "19710314X", "", "ELIAS"])
def test_the_guard_matches_whole_words_only(tmp_path_factory, text):
    tmp_path = tmp_path_factory.mktemp("guard")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "r.txt").write_text(text)
    assert leaks_under(tmp_path) == {}


def test_the_guard_ignores_inputs_archive_and_outbox(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("guard")
    """Those hold PHI by design: they are where the values come from."""
    for folder in ("inbox", "archive", "outbox", "rejected"):
        shutil.copytree(SAMPLE, tmp_path / folder)
    assert leaks_under(tmp_path) == {}
