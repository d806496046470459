"""Configuration checked before a run touches anything, so that a mistake is one clear message and exit 2
at the start instead of a silent "0 files" every night or an exception in billing every night.

Two parts: `check_values` needs only the loaded configuration (called by `load_config`, so `cob status`
refuses the same files), `check_site` looks at the file system (called by `run_batch` before the lock):
every folder exists and is a folder (only `cob init` creates them: a typo or an unmounted share must not
be "created" and read as empty), and the coverage roster and order-of-benefits facts are read once and
refused here if they cannot be used (their messages name the file, a line or entry number and the
problem, never a value: a roster holds member ids).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ConfigError

if TYPE_CHECKING:
    from .config import RunConfig

#: the longest wait a claim may be given before it is reported stale (100 years; a date arithmetic
#: overflow is at about 2.7 million years, a typo such as 3000000 must not get that far)
MAX_WAIT_DAYS = 36_500
#: the longest settle time (a day): longer means files are never read
MAX_SETTLE_SECONDS = 86_400
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_SCHEMES = ("sqlite", "postgresql", "postgres")


def check_values(config: RunConfig) -> None:
    """Values that are never right; raises `ConfigError` naming the file and key."""
    path = config.path
    settle = config.settle_seconds
    if not math.isfinite(settle) or settle < 0 or settle > MAX_SETTLE_SECONDS:
        raise ConfigError(f"{path}: run.settle_seconds must be a number of seconds from 0 to "
                          f"{MAX_SETTLE_SECONDS} (found {settle})")
    if config.max_wait_days > MAX_WAIT_DAYS:
        raise ConfigError(f"{path}: claims.max_wait_days must be at most {MAX_WAIT_DAYS} "
                          f"(found {config.max_wait_days})")
    found = _SCHEME.match(config.state_url)
    if found is not None and found.group(1).lower() not in _SCHEMES:
        raise ConfigError(f"{path}: state.url has the unknown scheme {found.group(1)!r}: use sqlite:///FILE "
                          "(or a plain file path) or postgresql://...")
    for inbox in config.inboxes:
        for key, folder in (("outbox", config.outbox), ("archive", config.archive),
                            ("rejected", config.rejected), ("reports", config.reports)):
            if _within(folder, inbox):
                raise ConfigError(f"{path}: folders.{key} ({folder}) is inside the inbox {inbox}: inputs and "
                                  "what cob writes must be kept apart")
    if _within(config.reports, config.outbox):
        raise ConfigError(f"{path}: folders.reports ({config.reports}) is inside the outbox {config.outbox}: "
                          "reports would be sent")


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_site(config: RunConfig) -> None:
    """The folders exist (and are folders); the roster and order facts can be used. `ConfigError` if not."""
    path = config.path
    named = [*(("inbox", p) for p in config.inboxes), ("outbox", config.outbox), ("archive", config.archive),
             ("rejected", config.rejected), ("reports", config.reports)]
    for key, folder in named:
        if not folder.exists():
            raise ConfigError(f"{path}: the {key} folder {folder} does not exist (a typo, or a share that is not "
                              "mounted?); `cob init` creates the folders, `cob run` never does")
        if not folder.is_dir():
            raise ConfigError(f"{path}: the {key} path {folder} is not a folder")
    if config.coverage is not None:
        from cob.schemas.coverage import RosterError, load_roster

        try:
            load_roster(config.coverage)
        except RosterError as exc:
            raise ConfigError(f"{path}: claims.coverage cannot be used: {exc}") from None
        except (OSError, ValueError) as exc:  # the roster's own errors name line and problem; others: type only
            raise ConfigError(f"{path}: claims.coverage ({config.coverage}) cannot be used: "
                              f"{type(exc).__name__}") from None
    if config.order_facts is not None:
        from cob.billing.expected import OrderFactsError, load_order_facts

        try:
            load_order_facts(config.order_facts)
        except OrderFactsError as exc:
            raise ConfigError(f"{path}: claims.order_facts cannot be used: {exc}") from None
        except (OSError, ValueError) as exc:  # e.g. not UTF-8
            raise ConfigError(f"{path}: claims.order_facts ({config.order_facts}) cannot be used: "
                              f"{type(exc).__name__}") from None
