"""A lost, deleted or restored state database must not bill everything again: refuse a fresh state over a
folder that has been used, and `cob init --adopt` to rebuild the state from what the folder holds.

`refuse_fresh_state`: a state database that has never recorded an input or an output, over an archive/
or outbox/ that is not empty, is a state that was lost (deleted, a new PostgreSQL database, a wrong
`state.url`): a run would read the archived files put back in the inbox as new and bill every claim again
from ISA13 000000001. The run refuses (exit 2) and says what to do.

`adopt` rebuilds, into a fresh state, what earlier runs did:

- every file in archive/ (not archive/duplicates/) is read and recorded as an input already archived,
  oldest first (modification time, then name: the order the runs read them);
- every claim is decided as a run would; a claim the run would bill counts as **sent** (every archived
  input was billed by the run that archived it): it is recorded as emitted, with the outbox file and
  ISA13 that hold it when one does, so it is never billed again; claims still waiting stay waiting;
- control numbers: the largest ISA13 per sender of the outbox's files and of the control-number file
  (`controls`), so numbering continues above anything sent.

The interchanges the decision step writes go to a scratch folder that is removed: nothing is sent.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import controls
from .config import ConfigError, RunConfig
from .state import State
from .states import Inputs


class StateNotFresh(ConfigError):
    """`--adopt` over a state that already recorded work (nothing to rebuild: it would double the state)."""


def _first_file(folder: Path) -> Path | None:
    """A visible regular file anywhere under `folder` (stops at the first)."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not name.startswith("."):
                return Path(root) / name
    return None


def refuse_fresh_state(config: RunConfig, state: State) -> None:
    """Raise `ConfigError` for a fresh state over a used folder (see module doc); also checks that the
    control-number file reads."""
    controls.read(config.outbox)
    if not state.is_fresh():
        return
    for folder in (config.archive, config.outbox):
        found = _first_file(folder)
        if found is not None:
            raise ConfigError(
                f"the state database {config.describe_state()} has no record of any run, but {folder} is not "
                f"empty ({found.name}): the state was lost, deleted or replaced. A run now would bill archived "
                f"claims again. Restore the state database, or rebuild it from the archive and the outbox with "
                f"`cob init --adopt {config.path.parent}`")


@dataclass
class AdoptResult:
    inputs: int = 0
    unreadable: list[str] = field(default_factory=list)
    claims_sent: int = 0
    claims_waiting: int = 0
    controls: dict[str, int] = field(default_factory=dict)


def outbox_interchanges(outbox: Path) -> dict[str, tuple[str, int, list[str]]]:
    """outbox-relative path -> (sender "QUALIFIER:ID", ISA13, CLM01s) of every visible .837 there."""
    from cob.edi.scan import scan_claim_ids

    out = {}
    for root, dirs, files in os.walk(outbox):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in sorted(files):
            path = Path(root) / name
            if name.startswith(".") or not name.endswith(".837"):
                continue
            try:
                with open(path, encoding="latin-1", newline="") as fh:
                    head = fh.read(106)
            except OSError:
                continue
            if not head.startswith("ISA") or len(head) < 106:
                continue
            parts = head[:105].split(head[3])
            if len(parts) < 14 or not parts[13].strip().isdigit():
                continue
            out[str(path.relative_to(outbox))] = (f"{parts[5].strip()}:{parts[6].strip()}", int(parts[13]),
                                                  scan_claim_ids(path))
    return out


def adopt(config: RunConfig, now: dt.datetime | None = None, validate: bool = False) -> AdoptResult:
    """Rebuild a fresh state from archive/ and outbox/ (see module doc). Takes the run lock."""
    from .failures import check_state_path, state_errors
    from .lock import LockBusy, RunLock

    now = (now or dt.datetime.now()).replace(microsecond=0)
    check_state_path(config)
    lock = RunLock(config.sqlite_path, None if config.sqlite_path else config.state_url)
    try:
        with state_errors(config):
            lock.acquire(wait=False, max_run_minutes=None)
    except LockBusy as exc:
        raise ConfigError(f"cannot adopt while a run works: {exc}") from None
    try:
        with state_errors(config):
            state = State.open(config.state_url, config.sqlite_path)
            try:
                if not state.is_fresh():
                    raise StateNotFresh(f"the state database {config.describe_state()} already holds runs' "
                                        "records: --adopt only rebuilds a new, empty state")
                return _adopt(config, state, now, validate)
            finally:
                state.close()
    finally:
        lock.release()


def _adopt(config: RunConfig, state: State, now: dt.datetime, validate: bool) -> AdoptResult:
    from cob.billing.secondary import SecondaryOptions
    from cob.schemas.report import OutcomeStatus

    from .billing import bill, sender_key
    from .ingest import hash_file, parse_file
    from .runner import record_input

    result = AdoptResult()
    run_id = state.start_run(now, socket.gethostname(), os.getpid())
    files = [p for p in config.archive.iterdir() if p.is_file() and not p.name.startswith(".")]
    files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
    work = Path(tempfile.mkdtemp(prefix=".cob-adopt-", dir=config.path.parent))
    try:
        seen: set[str] = set()
        for path in files:
            try:
                sha, size = hash_file(path)
            except OSError:
                result.unreadable.append(path.name)
                continue
            if sha in seen:
                continue
            parsed = parse_file(str(path), sha, size, str(work))
            if parsed.error is not None:
                result.unreadable.append(path.name)
                continue
            seen.add(sha)
            record_input(state, parsed, path, path, now, run_id)
            result.inputs += 1
        for row in state.unmoved_inputs():  # they are in archive/ already
            state.move_input(row, Inputs.move(row.state))
        sent = outbox_interchanges(config.outbox)
        where: dict[str, tuple[int, str]] = {}
        numbers = dict(controls.read(config.outbox))
        for rel, (sender, isa13, ids) in sent.items():
            numbers[sender] = max(numbers.get(sender, 0), isa13)
            for claim_id in ids:
                where[claim_id] = (isa13, rel)
        batch_time = state.batch_time()
        if state.dirty_ids():
            scratch = work / "out"
            options = SecondaryOptions(out_dir=scratch, sender=config.sender, receiver=config.receiver,
                                       validate=validate, now=dt.datetime.fromisoformat(batch_time) if batch_time
                                       else now, payer_subfolders=config.payer_subfolders, defer_publish=True)
            billed = bill(state, options, config.coverage, config.order_facts)
            with state.transaction():
                rows = []
                for e in billed.emissions:
                    if e.outcome.status != OutcomeStatus.BILLED:
                        continue
                    spool = billed.run.spools[e.spool_key]
                    isa13, output = where.get(e.claim_id, (0, "(sent before the state was rebuilt)"))
                    rows.append((e.claim_id, e.payer_id, e.generation, e.frequency, e.level, e.fingerprint,
                                 sender_key(spool.info.sender), isa13, output))
                state.add_emitted(rows, now, run_id)
                state.decide_claims([(o.claim_id, o.status, o.reason, o.detail, o.destination_payer,
                                      billed.first_seen.get(o.claim_id) or now.isoformat(timespec="seconds"))
                                     for o in billed.outcomes], now, run_id)
                state.close_batch(now)
            result.claims_sent = len(rows)
            result.claims_waiting = sum(1 for o in billed.outcomes if o.status == OutcomeStatus.HELD)
        with state.transaction():
            for sender, last in numbers.items():
                state.set_control(sender, last)
        controls.write(config.outbox, numbers)
        result.controls = numbers
        state.finish_run(run_id, now, "adopted", 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result
