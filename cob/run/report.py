"""Per-run outputs in the reports folder: the JSON report, the morning summary and the JSON-lines log.

The JSON report is the `cob secondary` report (`cob.schemas.report.RunReport`: inputs, claims, summary) plus
a `run` object with the run's metadata, so scripts that read `cob secondary` reports read these too.

No PHI anywhere here: claims appear by CLM01, payers by payer id, files by name; details and errors
come from the pipeline's and the reader's messages, which never quote element values. The log carries
even less: file names, counts, timings and control numbers (a test greps it for fixture patient names
and member ids).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from cob.edi.writer import atomic_output
from cob.schemas.report import RunReport

from . import faults
from .states import InputState


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Disposition(StrEnum):
    """What the report says became of an input this run: the state its recording verb gave it (see
    `states.InputState`), and for an ingested one whether this run or an interrupted one recorded it. Not
    the input's state itself: every one of them is archived or quarantined by the end of the run."""

    ARCHIVED = "archived"  # ingested by this run (then archived)
    DUPLICATE = "duplicate"
    REJECTED = "rejected"  # quarantined
    CARRIED_OVER = "carried_over"  # ingested by an interrupted run, archived by this one

    @classmethod
    def of(cls, state: InputState, carried_over: bool = False) -> "Disposition":
        if state is InputState.INGESTED:
            return cls.CARRIED_OVER if carried_over else cls.ARCHIVED
        return {InputState.DUPLICATE: cls.DUPLICATE, InputState.REJECTED: cls.REJECTED}[state]


class InputDisposition(_Model):
    """Where one input of the run went and why."""

    file: str
    sha256: Optional[str] = None
    kind: Optional[str] = None
    disposition: Disposition
    moved_to: Optional[str] = None
    reason: Optional[str] = None
    claims: int = 0
    payments: int = 0


class OutputFile(_Model):
    payer_id: str
    file: str
    isa13: str
    claims: int


class StaleClaim(_Model):
    claim_id: str
    reason: str
    detail: str
    waiting_since: str
    days: int


class RunMeta(_Model):
    run_id: Optional[int] = None
    config: str
    state: str
    started_at: str
    finished_at: Optional[str] = None
    dry_run: bool = False
    workers: int = 1
    exit_code: int = 0
    batch_time: Optional[str] = None
    inputs: list[InputDisposition] = Field(default_factory=list)
    outputs: list[OutputFile] = Field(default_factory=list)
    stale: list[StaleClaim] = Field(default_factory=list)
    max_wait_days: int = 30
    recovered_outputs: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    #: acknowledgments, COB worklist, estimate checks, patient balances (`afterpay_report.after_payment`)
    after_payment: Optional[dict[str, Any]] = None
    #: PostgreSQL: the processes that worked this run's units (`team`): host, pid, units done of each kind
    team: list[dict[str, Any]] = Field(default_factory=list)


class RunBatchReport(RunReport):
    """The `cob secondary` report plus `run`."""

    run: RunMeta

    def morning_summary(self, limit: int = 50) -> str:
        """What a billing lead reads in the morning: counts by status, held and rejected claims with their
        reasons, quarantined inputs and why, stale claims, the files sent to each payer."""
        r = self.run
        counts = Counter(i.disposition for i in r.inputs)
        d = Disposition
        title = "cob run (dry run: nothing was sent, moved or recorded)" if r.dry_run else "cob run"
        lines = [f"{title} #{r.run_id} started {r.started_at}, finished {r.finished_at}, exit {r.exit_code}",
                 f"Input files: {len(r.inputs)} ({counts[d.ARCHIVED]} new, {counts[d.DUPLICATE]} duplicate, "
                 f"{counts[d.REJECTED]} quarantined, {counts[d.CARRIED_OVER]} carried over from an interrupted run)"]
        from .afterpay_report import summary_lines

        lines += summary_lines(r.after_payment, limit)
        # the claim sections of the `cob secondary` summary (inputs are listed below, with where they went)
        body = RunReport.build([], self.claims).human_summary(limit).splitlines()
        cut = next((n for n, line in enumerate(body) if line.startswith("Output files")), len(body))
        lines += [body[0].replace("cob secondary:", "Claims decided this run:", 1)] + body[2:cut]
        rejected = [i for i in r.inputs if i.disposition == d.REJECTED]
        if rejected:
            lines += ["", f"Inputs quarantined: {len(rejected)} (moved whole to the rejected folder)"]
            lines += [f"  {i.file} -> {i.moved_to}: {i.reason}" for i in rejected]
        dups = [i for i in r.inputs if i.disposition == d.DUPLICATE]
        if dups:
            lines += ["", f"Duplicate drops (same content as an earlier file, not processed again): {len(dups)}"]
            lines += [f"  {i.file}" for i in dups[:limit]]
        if r.stale:
            lines += ["", f"Stale: {len(r.stale)} claim(s) waiting longer than {r.max_wait_days} days"]
            lines += [f"  {s.claim_id}  {s.days} days  {s.reason}  {s.detail}" for s in r.stale[:limit]]
            if len(r.stale) > limit:
                lines.append(f"  … and {len(r.stale) - limit} more (cob status lists all)")
        if r.outputs:
            lines += ["", "Files sent to each payer:"]
            lines += [f"  {o.payer_id}: {o.file} (ISA13 {o.isa13}, {o.claims} claims)" for o in r.outputs]
        if r.recovered_outputs:
            lines += ["", "Outputs of an interrupted run published now:"] + [f"  {f}" for f in r.recovered_outputs]
        if r.problems:
            lines += ["", "Problems:"] + [f"  {p}" for p in r.problems]
        return "\n".join(lines) + "\n"


def write_reports(report: RunBatchReport, reports_dir: Path, stem: str) -> tuple[Path, Path]:
    """JSON report and text summary, each written atomically; returns their paths."""
    json_path = reports_dir / f"{stem}.json"
    text_path = reports_dir / f"{stem}.txt"
    with atomic_output(json_path) as fh:
        fh.write(report.model_dump_json(indent=2))
        fh.write("\n")
        fh.flush()
        faults.checkpoint("report being written")  # a kill here leaves its temp file (`leftovers`)
    with atomic_output(text_path) as fh:
        fh.write(report.morning_summary())
    return json_path, text_path


class RunLog:
    """JSON lines, one event per line, flushed as written (a killed run leaves its log up to the kill).

    Only ids, file names, counts, timings and control numbers: `event()` refuses values that are not
    plain numbers, booleans or short strings, which keeps model objects (and their PHI) out by design.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._fh = None
        self.error: OSError | None = None  # why the log stopped being written, if it did
        self._t0 = time.perf_counter()
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(path, "a", encoding="utf-8")
            except OSError as exc:  # a read-only or full reports folder: reported at the end of the run
                self.error = exc

    def event(self, name: str, **fields: Any) -> None:
        if self._fh is None:
            return
        for key, value in fields.items():
            if not isinstance(value, (int, float, bool, str, type(None), list)):
                raise TypeError(f"log field {key} must be a plain value")
        record = {"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                  "elapsed_s": round(time.perf_counter() - self._t0, 3), "event": name, **fields}
        try:
            self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._fh.flush()
        except OSError as exc:  # the reports folder is full: the run goes on, and says so at its end
            self.error = exc
            self.close_quietly()

    def close_quietly(self) -> None:
        """Close after a write to the reports folder failed (full disk): what could be written stays."""
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError as exc:
                self.error = exc
            self.close_quietly()
            self._fh = None
