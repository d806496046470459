"""The state database: versioned migrations, the uniqueness rules, control numbers across runs."""

from __future__ import annotations

import datetime as dt

import pytest

from cob.run.migrations import LATEST, MIGRATIONS, SchemaTooNew, current_version, migrate
from cob.run.config import ConfigError, load_config

from .conftest import NOW


def test_migrations_are_numbered_and_recorded(make_site):
    site = make_site()
    state = site.state()
    try:
        assert [m[0] for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
        assert current_version(state.db) == LATEST
        assert migrate(state.db) == 0  # already current: nothing applied again
        rows = state.db.query("SELECT version, name FROM schema_version ORDER BY version")
        assert rows == [(1, "initial state"), (2, "claim identity"),
                        (3, "after payment: patient balances, COB worklist, estimate checks"),
                        (4, "filing deadlines"), (5, "acknowledgments"),
                        (6, "work units and the processes leasing them")]
        with state.transaction():
            state.db.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                             (LATEST + 1, "from the future", "2030-01-01"))
        with pytest.raises(SchemaTooNew):
            migrate(state.db)
    finally:
        state.close()


def test_a_claim_cannot_be_recorded_twice_for_one_payer(make_site):
    site = make_site()
    state = site.state()
    try:
        row = ("PCN1", "77027", 0, "1", 2, "fp", "ZZ:S", 1, "77027-000000001.837")
        with state.transaction():
            state.add_emitted([row], NOW, 1)
        with pytest.raises(Exception) as err:
            with state.transaction():
                state.add_emitted([row[:7] + (2, "77027-000000002.837")], NOW, 2)
        assert "unique" in str(err.value).lower()
        with state.transaction():  # a replacement is the next generation
            state.add_emitted([("PCN1", "77027", 1, "7", 2, "fp2", "ZZ:S", 3, "77027-000000003.837")], NOW, 3)
        assert len(state.snapshot()["emitted"]) == 2
    finally:
        state.close()


def test_control_numbers_increase_across_runs_and_senders(make_site, sample_set):
    """Each night continues where the last left off; numbers are per sender and never reused."""
    site = make_site()
    site.drop(sample_set, "claims-000[12].837")
    site.drop(sample_set, "remit-000[12].835")
    site.run()
    first = site.snapshot()["outputs"]
    site.drop(sample_set, "claims-000[34].837")
    site.drop(sample_set, "remit-000[34]*.835")
    site.run(now=NOW + dt.timedelta(days=1))
    outputs = site.snapshot()["outputs"]
    numbers = [(o[0], o[1]) for o in outputs]
    assert len(numbers) == len(set(numbers)) and len(outputs) > len(first)
    senders = {o[0] for o in outputs}
    assert senders == {"ZZ:RBS001"}  # the original claim files' ISA sender (none configured)
    assert sorted(o[1] for o in outputs) == list(range(1, len(outputs) + 1))
    control = site.snapshot()["control_numbers"]
    assert control == [("ZZ:RBS001", len(outputs))]


def test_configured_sender_gets_its_own_counter(make_site, sample_set):
    site = make_site()
    text = site.config_path.read_text().replace('# sender = "ZZ:RBS001"', 'sender = "ZZ:MYCLINIC"')
    site.config_path.write_text(text)
    site.drop(sample_set)
    site.run()
    outputs = site.snapshot()["outputs"]
    assert {o[0] for o in outputs} == {"ZZ:MYCLINIC"}
    assert all(b"*ZZ*MYCLINIC       *" in data for data in site.outbox_files().values())


def test_config_errors_name_the_file_and_key(tmp_path):
    cfg = tmp_path / "cob.toml"
    cfg.write_text("[interchange]\nsender = 'TOOLONGQUALIFIER:X'\n")
    with pytest.raises(ConfigError, match="cob.toml: interchange.sender"):
        load_config(cfg)
    cfg.write_text("[claims]\nmax_wait_days = 'thirty'\n")
    with pytest.raises(ConfigError, match="claims.max_wait_days has the wrong type"):
        load_config(cfg)
    cfg.write_text("[folders]\ninbox = 'x'\noutbox = 'x'\n")
    with pytest.raises(ConfigError, match="different folders"):
        load_config(cfg)
    cfg.write_text("[state]\nurl = 'postgresql://cob:secret@db/cob'\n")
    assert load_config(cfg).describe_state() == "postgresql://cob@db/cob"  # never the password
