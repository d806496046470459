"""`cob.toml`: where a run reads, writes and keeps its state.

Paths in the file are relative to the file's own folder, so a folder made by `cob init DIR` can be moved
or mounted elsewhere and still works. Unknown keys are an error (a typo such as `max_wiat_days` must not
silently fall back to a default in an unattended job); every error names the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cob.edi.envelope import Party

from .deadlines import DeadlineConfigError, DeadlineRules, rules_from_toml

CONFIG_NAME = "cob.toml"
FOLDERS = ("inbox", "outbox", "archive", "rejected", "reports")

TEMPLATE = """\
# cob run configuration (created by `cob init`). Relative paths are relative to this file's folder.
# Run it from cron, e.g. every night at 01:30:
#   30 1 * * *  /path/to/.venv/bin/cob run --config {config}
# An overlapping run exits at once (exit 0) with a message; `cob run --wait` waits for the lock instead.

[folders]
# Folders the clearinghouse drops 835s and 837P claim files into. Files are told apart by content, not by
# name; hidden files (starting with ".") are ignored as uploads in progress.
inbox = ["inbox"]
# New secondary/tertiary 837P files, one interchange per destination payer and run: <payer>-<ISA13>.837
outbox = "outbox"
# true: outbox/<payer id>/<payer>-<ISA13>.837 instead
payer_subfolders = false
# Every input, once its data and everything built from it are committed (never altered; name kept,
# a suffix added on a name clash). Second drops of the same content go to archive/duplicates/.
archive = "archive"
# Malformed or unreadable inputs, moved whole, each with a <name>.reason.txt beside it.
rejected = "rejected"
# Per run: run-<time>-<id>.json (report), .txt (summary for the billing lead), .log.jsonl (no PHI).
reports = "reports"

[interchange]
# ISA06/ISA08 of the files we send, as QUALIFIER:ID. Unset: the original claim file's ISA sender/receiver.
# Control numbers (ISA13/GS06) are kept per sender in the state database and never reused.
# sender = "ZZ:RBS001"
# receiver = "ZZ:ACMECLEAR01"
# An 837 from another submitter (ISA06/ISA08 other than those of the first 837 this site read) is
# quarantined: its claims must not leave under our interchange. "separate": bill them in interchanges of
# their own (one per payer, sender, receiver and submitter).
other_submitters = "quarantine"

[state]
# SQLite file beside the folders by default. For several machines sharing the folders, PostgreSQL:
# url = "postgresql://cob:secret@dbhost:5432/cob"
url = "sqlite:///cob-state.db"

[claims]
# A claim whose 835 has not arrived (or an 835 whose claim has not) waits; past this many days it is
# reported as stale by `cob status` and in each run's report.
max_wait_days = 30
# A claim sent this many days ago that no 277CA has answered is listed as unacknowledged (999 and 277CA
# files dropped into the inbox are tied back to the claims sent).
ack_wait_days = 7
# Coverage roster (JSON or CSV) for claims whose original lists no other payer; optional.
# coverage = "coverage.csv"
# Order-of-benefits facts (JSON); claims billed against the rules are held. Optional.
# order_facts = "order-facts.json"

[paper]
# Destination payers that take paper only: their claims are printed (CMS-1500 02/12 data for the red form,
# then each prior payer's EOB) to outbox/paper/<payer>-<ISA13>.pdf instead of sent as 837P.
# payers = ["AUTOINS01"]
# proof = false   # true: draw the form's boxes and captions too (a plain-paper proof copy)

[run]
# Input files parsed in parallel processes; 0 = the number of CPUs. `cob run --workers N` overrides.
workers = 0
# Read an inbox file only when its last write is this many seconds old, or it arrived by rename (an SFTP
# upload renamed into place, mv, ln): a file still being written is left for the next run.
settle_seconds = 60
# A run finding the lock held longer than this says so and exits 1 (the holder may be hung); `--wait`
# gives up then too. A lock whose holder's process is gone is taken over at once.
max_run_minutes = 720
# PostgreSQL state, several processes on one drop: a process holds each piece of work (an input, a claim
# shard, a payer's output) for this many seconds, renewed every third of it while it lives; a machine that
# died or froze longer than this has its work taken over, and its late commit is refused.
lease_seconds = 120

[report]
# Reports, patient-balances-<run>.csv/.json and the HTML pages (run-*.html, `cob status --format html`) name
# claims by claim id only; true adds the patient's name to the balance files and the pages (keep them private).
include_patient_names = false
# A later payer paying less than its own method says (roster benefit_terms) by more than this is flagged.
underpayment_tolerance = 1.00

[deadlines]
# Timely filing with the payer cob bills next: "N days|months from service|prior_payment" (the prior
# payer's 835 payment date). `cob status` warns warn_days before; `--deadline-within N` exits 1.
warn_days = 14
medicare = "12 months from service"         # payers billed as SBR09 MA / MB
default = "90 days from prior_payment"      # every other payer
# [deadlines.payers]
# 22222 = "60 days from prior_payment"      # by payer id, before the two above

[files]
# Mode of everything cob creates (outbox files, state database, reports, archive/, rejected/; folders get
# x where r is given). 0600 keeps PHI private whatever the umask; widen on purpose, e.g. "0640".
mode = "0600"
"""


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the problem (exit 2)."""


@dataclass
class RunConfig:
    """A loaded `cob.toml` with every path made absolute."""

    path: Path
    inboxes: list[Path]
    outbox: Path
    archive: Path
    rejected: Path
    reports: Path
    state_url: str
    payer_subfolders: bool = False
    sender: Party | None = None
    receiver: Party | None = None
    max_wait_days: int = 30
    ack_wait_days: int = 7
    coverage: Path | None = None
    order_facts: Path | None = None
    workers: int = 0
    settle_seconds: float = 60  # see `settle`: a safe default, never 0
    max_run_minutes: float = 720
    lease_seconds: float = 120  # [run]: a work unit's lease (PostgreSQL, several processes; see cob.run.units)
    include_patient_names: bool = False  # [report]: patient names in the balance files and on the HTML pages
    underpayment_tolerance: Decimal = Decimal("1.00")
    deadlines: DeadlineRules = field(default_factory=DeadlineRules)
    file_mode: int = 0o600  # [files] mode; see cob.run.files
    other_submitters: str = "quarantine"  # or "separate"; see cob.run.submitters
    paper_payers: frozenset[str] = frozenset()
    paper_proof: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_postgres(self) -> bool:
        return self.state_url.startswith(("postgresql:", "postgres:"))

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file (SQLAlchemy-style URL: sqlite:///relative, sqlite:////absolute, or a plain path)."""
        if self.is_postgres:
            return None
        return sqlite_path(self.state_url, self.path.parent)

    def effective_workers(self, override: int | None = None) -> int:
        n = override if override is not None else self.workers
        return n if n and n > 0 else (os.cpu_count() or 1)

    def describe_state(self) -> str:
        """The state URL without a password (for logs and reports)."""
        if not self.is_postgres:
            return str(self.sqlite_path)
        head, sep, tail = self.state_url.partition("@")
        if not sep:
            return self.state_url
        scheme, _, cred = head.partition("://")
        user = cred.split(":", 1)[0]
        return f"{scheme}://{user}@{tail}"


def sqlite_path(url: str, base: Path) -> Path:
    if url.startswith("sqlite:///"):
        rest = url[len("sqlite:///"):]
    elif url.startswith("sqlite:"):
        rest = url[len("sqlite:"):]
    else:
        rest = url
    path = Path(rest)
    return path if path.is_absolute() else base / path


_KEYS: dict[str, set[str]] = {
    "folders": {"inbox", "outbox", "payer_subfolders", "archive", "rejected", "reports"},
    "interchange": {"sender", "receiver", "other_submitters"},
    "state": {"url"},
    "claims": {"max_wait_days", "coverage", "order_facts", "ack_wait_days"},
    "run": {"workers", "settle_seconds", "max_run_minutes", "lease_seconds"},
    "report": {"include_patient_names", "underpayment_tolerance"},
    "deadlines": {"warn_days", "medicare", "default", "payers"},
    "files": {"mode"},
    "paper": {"payers", "proof"},
}


def load_config(path: str | Path) -> RunConfig:
    """Read and check a `cob.toml`. Raises `ConfigError` naming the file and key on any problem."""
    path = Path(path).resolve()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file (create one with `cob init DIR`)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for section, value in data.items():
        if section not in _KEYS:
            raise ConfigError(f"{path}: unknown section [{section}] (known: {', '.join(sorted(_KEYS))})")
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {section} must be a [section]")
        unknown = set(value) - _KEYS[section]
        if unknown:
            raise ConfigError(f"{path}: unknown key {section}.{sorted(unknown)[0]}")
    base = path.parent

    def get(section: str, key: str, default: Any, kind: type | tuple[type, ...]) -> Any:
        value = data.get(section, {}).get(key, default)
        if value is not None and not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{path}: {section}.{key} has the wrong type ({type(value).__name__})")
        return value

    def folder(key: str) -> Path:
        value = get("folders", key, key, str)
        return (base / value).resolve()

    inbox = get("folders", "inbox", ["inbox"], (list, str))
    inboxes = [inbox] if isinstance(inbox, str) else inbox
    if not inboxes or not all(isinstance(i, str) for i in inboxes):
        raise ConfigError(f"{path}: folders.inbox must be a folder or a list of folders")
    config = RunConfig(
        path=path,
        inboxes=[(base / i).resolve() for i in inboxes],
        outbox=folder("outbox"), archive=folder("archive"), rejected=folder("rejected"),
        reports=folder("reports"),
        state_url=get("state", "url", "sqlite:///cob-state.db", str),
        payer_subfolders=get("folders", "payer_subfolders", False, bool),
        sender=_party(path, "sender", get("interchange", "sender", None, str)),
        receiver=_party(path, "receiver", get("interchange", "receiver", None, str)),
        max_wait_days=get("claims", "max_wait_days", 30, int),
        ack_wait_days=get("claims", "ack_wait_days", 7, int),
        coverage=_optional_path(base, get("claims", "coverage", None, str)),
        order_facts=_optional_path(base, get("claims", "order_facts", None, str)),
        workers=get("run", "workers", 0, int),
        settle_seconds=get("run", "settle_seconds", 60, (int, float)),
        max_run_minutes=get("run", "max_run_minutes", 720, (int, float)),
        lease_seconds=get("run", "lease_seconds", 120, (int, float)),
        include_patient_names=get("report", "include_patient_names", False, bool),
        underpayment_tolerance=Decimal(str(get("report", "underpayment_tolerance", 1, (int, float)))),
        file_mode=_file_mode(path, get("files", "mode", "0600", str)),
        other_submitters=get("interchange", "other_submitters", "quarantine", str),
        paper_payers=frozenset(get("paper", "payers", [], list)),
        paper_proof=get("paper", "proof", False, bool),
    )
    if not all(isinstance(p, str) and p for p in config.paper_payers):
        raise ConfigError(f"{path}: paper.payers must be a list of payer ids")
    try:
        config.deadlines = rules_from_toml(path, data.get("deadlines", {}))
    except DeadlineConfigError as exc:
        raise ConfigError(str(exc)) from None
    if config.max_wait_days < 0 or config.ack_wait_days < 0 or config.workers < 0 or config.settle_seconds < 0:
        raise ConfigError(f"{path}: max_wait_days, ack_wait_days, workers and settle_seconds must not be negative")
    if not 0 < config.max_run_minutes < 10 ** 6:
        raise ConfigError(f"{path}: run.max_run_minutes must be a number of minutes above 0")
    if not 1 <= config.lease_seconds <= 86_400:  # NaN fails too; under a second the heartbeats swamp the database
        raise ConfigError(f"{path}: run.lease_seconds must be a number of seconds from 1 to 86400 "
                          f"(found {config.lease_seconds})")
    folders = [*config.inboxes, config.outbox, config.archive, config.rejected]
    if len(set(folders)) != len(folders):
        raise ConfigError(f"{path}: inbox, outbox, archive and rejected must be different folders")
    if config.other_submitters not in ("quarantine", "separate"):
        raise ConfigError(f"{path}: interchange.other_submitters must be \"quarantine\" or \"separate\"")
    from .preflight import check_values

    check_values(config)
    for coverage_file in (config.coverage, config.order_facts):
        if coverage_file is not None and not coverage_file.is_file():
            raise ConfigError(f"{path}: {coverage_file} does not exist")
    return config


def _file_mode(path: Path, value: str) -> int:
    """`[files] mode`: octal, owner read and write, no execute bit and nothing writable by others."""
    try:
        mode = int(value, 8)
    except ValueError:
        mode = -1
    if mode < 0 or mode & ~0o664 or mode & 0o600 != 0o600:
        raise ConfigError(f"{path}: files.mode must be an octal file mode such as \"0600\" or \"0640\" "
                          "(owner read and write; no execute bits; not writable by others)")
    return mode


def _optional_path(base: Path, value: str | None) -> Path | None:
    return None if value is None else (base / value).resolve()


def _party(path: Path, key: str, value: str | None) -> Party | None:
    if value is None:
        return None
    qualifier, _, ident = value.rpartition(":")
    if not ident or len(ident) > 15 or len(qualifier or "ZZ") != 2:
        raise ConfigError(f"{path}: interchange.{key} must be QUALIFIER:ID (2-character qualifier, id of at "
                          "most 15 characters)")
    return Party(qualifier or "ZZ", ident)


def init_folder(directory: str | Path) -> Path:
    """Create DIR/inbox, outbox, archive, rejected, reports and a commented DIR/cob.toml that works as
    written. An existing cob.toml is left alone (returns its path); folders are created when missing."""
    from .files import created_with

    directory = Path(directory).resolve()
    for folder in (directory, *(directory / name for name in FOLDERS)):
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{folder} is a file, not a folder: cob init needs {directory} and its "
                              f"{', '.join(FOLDERS)} folders")
    with created_with():  # 0700 folders, a 0600 cob.toml, whatever the umask
        directory.mkdir(parents=True, exist_ok=True)
        for name in FOLDERS:
            (directory / name).mkdir(exist_ok=True)
        config = directory / CONFIG_NAME
        if not config.exists():
            from cob.edi.writer import atomic_output

            with atomic_output(config) as fh:
                fh.write(TEMPLATE.format(config=config))
    return config
