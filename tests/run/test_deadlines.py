"""Filing-deadline rules (issue 17 clause 4): parsing, month arithmetic, configuration errors."""

import datetime as dt

import pytest

from cob.run.config import ConfigError, init_folder, load_config
from cob.run.deadlines import DeadlineConfigError, FilingRule, parse_rule


def test_rules_read_as_written():
    assert parse_rule("90 days from prior_payment", "k") == FilingRule(90, "days", "prior_payment")
    assert parse_rule("12 months from service", "k") == FilingRule(12, "months", "service")
    assert parse_rule("1 month from service", "k") == FilingRule(1, "months", "service")
    with pytest.raises(DeadlineConfigError, match="must read like"):
        parse_rule("90 days after service", "deadlines.default")


def test_months_end_on_the_last_day_when_the_month_is_shorter():
    assert FilingRule(1, "months", "service").due(dt.date(2026, 1, 31)) == dt.date(2026, 2, 28)
    assert FilingRule(12, "months", "service").due(dt.date(2026, 2, 15)) == dt.date(2027, 2, 15)
    assert FilingRule(90, "days", "prior_payment").due(dt.date(2026, 3, 5)) == dt.date(2026, 6, 3)


def test_defaults_medicare_12_months_commercial_90_days(tmp_path):
    rules = load_config(init_folder(tmp_path)).deadlines
    assert str(rules.for_payer("MCR", "MB")) == "12 months from service"
    assert str(rules.for_payer("ANY", "CI")) == "90 days from prior_payment"


def test_a_bad_rule_names_the_key(tmp_path):
    path = init_folder(tmp_path)
    path.write_text(path.read_text().replace('default = "90 days from prior_payment"', 'default = "soon"'))
    with pytest.raises(ConfigError, match="deadlines.default"):
        load_config(path)
