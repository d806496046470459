"""The morning report as HTML pages: one per run (`run-<time>-<id>.html`), the last 30 nights
(`index.html`), and `cob status --format html` (what needs a person across the whole state).

Why pages: the people who act on cob's work are billing leads who open a file from a shared folder or an
email attachment. Each page is one self-contained file: inline CSS and SVG, no script, nothing fetched,
printable. Jinja2 renders them with autoescaping on: every claim id, detail text and file name comes from
input files someone else wrote, and must never become markup.

Data: a run page renders from the run's JSON report (the dict in reports/, so missing sections of older
reports read as "not recorded yet", never as zero) plus, for the claims it lists, facts read from the state
(`claim_facts`: service dates, charge, payers, names only with `[report] include_patient_names = true`) and
the ages of the claims still waiting. The index reads the last 30 runs' JSON reports and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from jinja2 import Environment, PackageLoader, select_autoescape

from cob.edi.writer import atomic_output
from cob.schemas.report import OutcomeStatus, Reason, reason_table

from . import charts
from .claim_facts import ClaimFacts

INDEX_NAME = "index.html"
#: the index's numbers per night (see `night_rows`)
NIGHTS_NAME = "nights.json"
#: nights on the index page
NIGHTS = 30
#: age bands of waiting claims, in days (lower bounds)
AGE_BANDS = ((0, "0-7 days"), (8, "8-14 days"), (15, "15-30 days"), (31, "over 30 days"))
NOT_RECORDED = "not recorded yet"
#: the worklist kinds of a claim an acknowledgment rejected start so (ack_rejected_999, ack_rejected_277CA)
ACK_REJECTED = "ack_rejected"

_env: Environment | None = None


def environment() -> Environment:
    """The templates in cob/run/templates, autoescaped (claim data is hostile input), strict about names."""
    global _env
    if _env is None:
        _env = Environment(loader=PackageLoader("cob.run", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True),
                           trim_blocks=True, lstrip_blocks=True)
        _env.filters["money"] = _money
    return _env


# ------------------------------------------------------------------------------------------------ model


@dataclass
class ClaimRow:
    """A claim a person must look at: its decision, where its original is, and its facts."""

    claim_id: str
    status: str
    reason: str
    detail: str
    next_action: str
    original: str
    destination: str
    facts: ClaimFacts | None = None

    @property
    def service(self) -> str:
        return self.facts.service if self.facts else ""

    @property
    def payers(self) -> str:
        known = list(self.facts.payers) if self.facts else []
        if self.destination and self.destination not in known:
            known.append(self.destination)
        return ", ".join(known)

    @property
    def charge(self) -> Decimal | None:
        return self.facts.charge if self.facts else None

    @property
    def patient_name(self) -> str | None:
        return self.facts.patient_name if self.facts else None


@dataclass
class NeedsPerson:
    """The first section of every page. A list that is None was not recorded by this cob (or this run):
    the page says so instead of showing an empty table."""

    reasons: list[dict[str, Any]] = field(default_factory=list)  # reason, status, count, meaning, next_action
    claims: list[ClaimRow] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    stale: list[dict[str, Any]] = field(default_factory=list)
    denials: list[dict[str, Any]] | None = None
    ack_rejections: list[dict[str, Any]] | None = None
    deadlines: list[dict[str, Any]] | None = None
    unacknowledged: list[dict[str, Any]] | None = None  # sent, no 277CA after ack_wait_days
    ack_wait_days: int | None = None
    problems: list[str] = field(default_factory=list)
    facts: dict[str, ClaimFacts] = field(default_factory=dict)  # service dates, charge, (name) by claim id

    def claim_ids(self) -> list[str]:
        """Every claim id the section lists, for reading their facts from the state."""
        ids = [c.claim_id for c in self.claims]
        for items in (self.stale, self.denials, self.ack_rejections, self.deadlines, self.unacknowledged):
            ids += [i["claim_id"] for i in items or () if i.get("claim_id")]
        return list(dict.fromkeys(ids))

    @property
    def count(self) -> int:
        return (len(self.claims) + len(self.quarantined) + len(self.stale) + len(self.denials or ())
                + len(self.ack_rejections or ()) + len(self.deadlines or ()) + len(self.unacknowledged or ())
                + len(self.problems))


def reason_docs(report: dict[str, Any] | None = None) -> dict[str, dict[str, str]]:
    """Reason code -> meaning and next action: the report's own table when it carries one (the JSON of a
    run knows what its cob meant), else this cob's (`reason_table`)."""
    table = (report or {}).get("reasons") or reason_table()
    return {r["reason"]: r for r in table}


def only_waits(reason: str) -> bool:
    """Held only until the other half (835 or original) arrives (`Reason.waiting`): counted under "what
    waits", not listed for a person."""
    try:
        return Reason(reason).waiting
    except ValueError:
        return False


def _needs_person(rows: list[ClaimRow], docs: dict[str, dict[str, str]]) -> tuple[list[ClaimRow], list[dict]]:
    """Rows needing a person, rejected first then held, each group by reason; and the per-reason counts."""
    rows = [r for r in rows if r.status == OutcomeStatus.REJECTED or
            (r.status == OutcomeStatus.HELD and not only_waits(r.reason))]
    rows.sort(key=lambda r: (r.status != OutcomeStatus.REJECTED, r.reason, r.claim_id))
    counts = Counter((r.status, r.reason) for r in rows)
    reasons = [{"reason": reason, "status": status, "count": n,
                "meaning": docs.get(reason, {}).get("meaning", ""),
                "next_action": docs.get(reason, {}).get("next_action", NOT_RECORDED)}
               for (status, reason), n in sorted(counts.items(), key=lambda kv: (kv[0][0] != "rejected", kv[0][1]))]
    return rows, reasons


def run_needs_person(report: dict[str, Any], facts: dict[str, ClaimFacts]) -> NeedsPerson:
    docs = reason_docs(report)
    rows = [ClaimRow(c["claim_id"], c["status"], c["reason"], c.get("detail") or "",
                     docs.get(c["reason"], {}).get("next_action", NOT_RECORDED), c.get("original") or "",
                     c.get("destination_payer") or "", facts.get(c["claim_id"]))
            for c in report.get("claims", [])]
    rows, reasons = _needs_person(rows, docs)
    run = report.get("run", {})
    after = run.get("after_payment")
    out = NeedsPerson(reasons=reasons, claims=rows, problems=list(run.get("problems", [])),
                      quarantined=[i for i in run.get("inputs", []) if i.get("disposition") == "rejected"],
                      stale=list(run.get("stale", [])), facts=facts)
    if after is not None:
        out.denials = list(after.get("worklist") or [])
        acks = after.get("acknowledgments") or {}
        out.ack_rejections = list(acks.get("rejected") or [])
        if "unacknowledged" in acks:
            out.unacknowledged, out.ack_wait_days = list(acks["unacknowledged"] or []), acks.get("ack_wait_days")
        out.deadlines = list(after.get("deadlines") or [])
    return out


@dataclass
class PayerLine:
    payer: str
    files: list[str] = field(default_factory=list)
    claims: int = 0
    charges: Decimal | None = None
    prior_paid: Decimal | None = None
    balance_billed: Decimal | None = None
    expected: Decimal | None = None  # sum over the claims whose expected payment is known
    expected_claims: int = 0


def went_out(report: dict[str, Any]) -> list[PayerLine]:
    """Per destination payer: files sent, claims billed, and the money where the report records it."""
    lines: dict[str, PayerLine] = {}
    for o in report.get("run", {}).get("outputs", []):
        line = lines.setdefault(o["payer_id"], PayerLine(o["payer_id"]))
        line.files.append(o["file"])
    money = report.get("summary", {}).get("money")
    for c in report.get("claims", []):
        if c["status"] != OutcomeStatus.BILLED:
            continue
        line = lines.setdefault(c.get("destination_payer") or "(unknown payer)",
                                PayerLine(c.get("destination_payer") or "(unknown payer)"))
        line.claims += 1
        if c.get("expected_payment") is not None:
            line.expected = (line.expected or Decimal(0)) + _dec(c["expected_payment"])
            line.expected_claims += 1
    for payer, m in (money or {}).items():
        line = lines.setdefault(payer, PayerLine(payer))
        line.charges, line.prior_paid, line.balance_billed = (_dec(m["charges"]), _dec(m["prior_paid"]),
                                                              _dec(m["balance_billed"]))
    return [lines[k] for k in sorted(lines)]


def payer_total(lines: list[PayerLine]) -> PayerLine:
    """The payers table's total row: sums over the payers (an amount no payer recorded stays None)."""
    total = PayerLine("All payers")
    for line in lines:
        total.files += line.files
        total.claims += line.claims
        total.expected_claims += line.expected_claims
        for name in ("charges", "prior_paid", "balance_billed", "expected"):
            value = getattr(line, name)
            if value is not None:
                setattr(total, name, (getattr(total, name) or Decimal(0)) + value)
    return total


def waits(held_by_reason: dict[str, int], waiting: Iterable[tuple], now: dt.datetime) -> dict[str, Any]:
    """What waits: held claims by reason (counts), and the state's waiting claims by reason and age band."""
    bands: dict[str, Counter] = defaultdict(Counter)
    for row in waiting:
        reason, first_seen = row[2], row[5]
        try:
            days = max((now - dt.datetime.fromisoformat(first_seen)).days, 0)
        except (TypeError, ValueError):
            continue
        label = next(lbl for lo, lbl in reversed(AGE_BANDS) if days >= lo)
        bands[reason][label] += 1
    return {"held_by_reason": [(r, n, only_waits(r)) for r, n in sorted(held_by_reason.items())],
            "bands": [label for _, label in AGE_BANDS],
            "by_age": [(r, [c[label] for _, label in AGE_BANDS], sum(c.values())) for r, c in sorted(bands.items())]}


def held_by_reason(report: dict[str, Any]) -> dict[str, int]:
    summary = report.get("summary", {})
    if summary.get("held_by_reason") is not None:
        return dict(summary["held_by_reason"])
    return dict(Counter(c["reason"] for c in report.get("claims", []) if c["status"] == OutcomeStatus.HELD))


# ------------------------------------------------------------------------------------------------ pages


def render_run_page(report: dict[str, Any], facts: dict[str, ClaimFacts] | None = None,
                    waiting: Iterable[tuple] | None = None, with_names: bool = False,
                    now: dt.datetime | None = None) -> str:
    """The run page from the run's JSON report (`waiting`: the state's waiting claims at the end of the
    run, for their ages; None: not known)."""
    run = report.get("run", {})
    now = now or _parse_time(run.get("started_at")) or dt.datetime.now()
    return environment().get_template("run.html.j2").render(
        report=report, run=run, summary=report.get("summary", {}), person=run_needs_person(report, facts or {}),
        payers=(payers := went_out(report)), payer_total=payer_total(payers), waits=waits(held_by_reason(report), waiting or [], now),
        waiting_known=waiting is not None, with_names=with_names, docs=reason_docs(report),
        inputs_ok=[i for i in run.get("inputs", []) if i.get("disposition") != "rejected"],
        index_name=INDEX_NAME, NOT_RECORDED=NOT_RECORDED)


def write_run_page(report: dict[str, Any], reports_dir: Path, stem: str, **kw: Any) -> Path:
    """`<stem>.html` beside the run's JSON report, written atomically (temp, fsync, rename)."""
    path = reports_dir / f"{stem}.html"
    text = render_run_page(report, **kw)
    with atomic_output(path) as fh:
        fh.write(text)
    return path


# ------------------------------------------------------------------------------------------------ index


def night_stems(reports_dir: Path, nights: int = NIGHTS) -> list[str]:
    """The report stems of the last `nights` runs that are not dry runs, oldest first (names only)."""
    stems = [e.name[:-5] for e in os.scandir(reports_dir)
             if e.name.startswith("run-") and e.name.endswith(".json") and not e.name.endswith("-dry-run.json")]
    return sorted(stems, key=_stem_order)[-nights:]


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None  # a report someone removed or broke: the night is left out, the rest still shows
    return data if isinstance(data, dict) else None


def _stem_order(stem: str) -> tuple[str, int]:
    """run-<time>-<id>: by time, then run id (two runs in one second)."""
    parts = stem.split("-")
    try:
        return parts[1], int(parts[2])
    except (IndexError, ValueError):
        return stem, 0


@dataclass
class NightRow:
    stem: str
    label: str
    started_at: str
    billed: int
    held: int
    rejected: int
    money_billed: Decimal | None
    held_by_reason: dict[str, int]
    accepted: int | None
    ack_rejected: int | None
    received: Decimal | None
    expected: Decimal | None
    exit_code: int | None
    checks: int | None = None  # secondary payments checked against cob's estimate that night (None: not recorded)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("money_billed", "received", "expected"):
            out[k] = None if out[k] is None else str(out[k])
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "NightRow":
        values = {k: data[k] for k in cls.__dataclass_fields__}
        for k in ("money_billed", "received", "expected"):
            values[k] = None if values[k] is None else Decimal(values[k])
        return cls(**values)

    @property
    def acceptance(self) -> float | None:
        if self.accepted is None or not (self.accepted + (self.ack_rejected or 0)):
            return None
        return 100.0 * self.accepted / (self.accepted + (self.ack_rejected or 0))


def night_row(stem: str, report: dict[str, Any]) -> NightRow:
    run, summary = report.get("run", {}), report.get("summary", {})
    money = summary.get("money")
    after = run.get("after_payment")
    acks = (after or {}).get("acknowledgments") if after is not None else None
    checks = (after or {}).get("estimate_checks") if after is not None else None
    started = run.get("started_at") or ""
    return NightRow(
        stem=stem, label=started[5:10] or stem, started_at=started,
        billed=int(summary.get("billed", 0)), held=int(summary.get("held", 0)),
        rejected=int(summary.get("rejected", 0)),
        money_billed=None if money is None else sum((_dec(m["balance_billed"]) for m in money.values()), Decimal(0)),
        held_by_reason=held_by_reason(report),
        accepted=None if acks is None else len(acks.get("accepted") or []),
        ack_rejected=None if acks is None else len(acks.get("rejected") or []),
        received=None if checks is None else sum((_dec(c["paid"]) for c in checks), Decimal(0)),
        expected=None if checks is None else sum((_dec(c["expected"]) for c in checks), Decimal(0)),
        exit_code=run.get("exit_code"), checks=None if checks is None else len(checks))


def index_charts(rows: list[NightRow]) -> list[charts.Chart]:
    def nights(values) -> list[charts.Night]:
        return [charts.Night(r.label, f"{r.stem}.html", values(r)) for r in rows]

    reasons = sorted({k for r in rows for k in r.held_by_reason})
    return [
        charts.bar_chart("Claims billed", "claims", nights(lambda r: {"billed": r.billed}), ["billed"]),
        charts.bar_chart("Money billed (balance billed to the next payers)", "amount",
                         nights(lambda r: {"billed": r.money_billed}), ["billed"], fmt=charts.money),
        charts.bar_chart("Held claims by reason", "claims",
                         nights(lambda r: {k: r.held_by_reason.get(k, 0) for k in reasons}) if reasons else [],
                         reasons or ["held"], stacked=True),
        charts.bar_chart("Acceptance rate (999 / 277CA)", "percent",
                         nights(lambda r: {"accepted": r.acceptance}), ["accepted"], top=100, fmt=charts.percent),
        charts.bar_chart("Secondary payments received against expected", "amount",
                         nights(lambda r: {"expected": r.expected, "received": r.received}),
                         ["expected", "received"], fmt=charts.money),
    ]


def night_rows(reports_dir: Path, nights: int = NIGHTS, current: tuple[str, dict[str, Any]] | None = None
               ) -> list[NightRow]:
    """The index's rows of the last `nights` nights, oldest first, and `nights.json` refreshed with them.

    Why `nights.json`: a night's JSON report lists every claim (tens of MB for 100,000 claims), and reading
    30 of them every night took 49 s; the index needs a dozen numbers per night. `nights.json` keeps those
    numbers (counts and amounts, no claim ids) per report stem; a night missing from it (a first run with
    pages, a deleted or broken file) is read from its JSON report once. `current`: this run's (stem,
    report), already in memory."""
    cache_path = reports_dir / NIGHTS_NAME
    cached: dict[str, Any] = {}
    try:
        with open(cache_path, encoding="utf-8") as fh:
            loaded = json.load(fh)
        cached = loaded.get("nights", {}) if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        pass
    rows: list[NightRow] = []
    for stem in night_stems(reports_dir, nights):
        row = None
        if stem in cached:
            try:
                row = NightRow.from_json(cached[stem])
            except (KeyError, TypeError, ValueError, InvalidOperation):
                row = None
        if row is None:
            report = current[1] if current is not None and current[0] == stem else _read_report(
                reports_dir / f"{stem}.json")
            if report is None:
                continue
            row = night_row(stem, report)
        rows.append(row)
    with atomic_output(cache_path) as fh:
        json.dump({"nights": {r.stem: r.to_json() for r in rows}}, fh, indent=1)
        fh.write("\n")
    return rows


def render_index(rows: list[NightRow], nights: int = NIGHTS) -> str:
    """index.html: the nights' table (newest first) and the trend charts (oldest night on the left)."""
    return environment().get_template("index.html.j2").render(
        rows=list(reversed(rows)), charts=index_charts(rows), nights=nights, NOT_RECORDED=NOT_RECORDED)


def write_index(reports_dir: Path, nights: int = NIGHTS, current: tuple[str, dict[str, Any]] | None = None) -> Path:
    """index.html (and nights.json) over the last `nights` runs, written atomically."""
    path = reports_dir / INDEX_NAME
    text = render_index(night_rows(reports_dir, nights, current), nights)
    with atomic_output(path) as fh:
        fh.write(text)
    return path


# ------------------------------------------------------------------------------------------------ status


def render_status_page(status, facts: dict[str, ClaimFacts] | None = None, rejected: Iterable[tuple] = (),
                       quarantined: Iterable[dict[str, Any]] = (), with_names: bool = False,
                       now: dt.datetime | None = None) -> str:
    """`cob status --format html`: what needs a person across the whole state (`status`: a
    `status.StatusReport`; `rejected`: claim_status rows of rejected claims; `quarantined`: inputs still in
    the rejected folder)."""
    person = status_needs_person(status, facts or {}, rejected, quarantined)
    held = Counter(w.reason for w in status.waiting)
    return environment().get_template("status.html.j2").render(
        status=status, person=person, with_names=with_names, NOT_RECORDED=NOT_RECORDED,
        waits=waits(dict(held), [(w.claim_id, "held", w.reason, w.detail, w.destination_payer, w.waiting_since)
                                 for w in status.waiting], now or dt.datetime.now()))


def status_needs_person(status, facts: dict[str, ClaimFacts], rejected: Iterable[tuple] = (),
                        quarantined: Iterable[dict[str, Any]] = ()) -> NeedsPerson:
    """The "needs a person" section over the whole state (see `render_status_page`)."""
    docs = reason_docs()
    rows = [ClaimRow(w.claim_id, "held", w.reason, w.detail, docs.get(w.reason, {}).get("next_action", NOT_RECORDED),
                     "", w.destination_payer or "", facts.get(w.claim_id)) for w in status.waiting]
    rows += [ClaimRow(r[0], "rejected", r[2], r[3], docs.get(r[2], {}).get("next_action", NOT_RECORDED), "",
                      r[4] or "", facts.get(r[0])) for r in rejected]
    rows, reasons = _needs_person(rows, docs)
    person = NeedsPerson(reasons=reasons, claims=rows, quarantined=list(quarantined), facts=facts,
                         stale=[{"claim_id": w.claim_id, "days": w.days, "reason": w.reason, "detail": w.detail}
                                for w in status.stale if only_waits(w.reason)])
    after = getattr(status, "after_payment", None)
    if after is not None:
        person.denials = [w for w in after.worklist if not str(w.get("kind", "")).startswith(ACK_REJECTED)]
        person.deadlines = list(after.deadlines)
        person.unacknowledged, person.ack_wait_days = list(after.unacknowledged), after.ack_wait_days
        person.ack_rejections = [{"claim_id": w.get("claim_id"), "payer": w.get("payer"), "source": None,
                                  "kind": str(w.get("kind")).removeprefix(ACK_REJECTED + "_"), "reason": w.get("says")}
                                 for w in after.worklist if str(w.get("kind", "")).startswith(ACK_REJECTED)]
    return person


# ------------------------------------------------------------------------------------------------ helpers


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def _money(value: Any) -> str:
    if value is None or value == "":
        return ""
    return charts.money(value)


def _parse_time(value: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------ glue


@dataclass
class PageData:
    """What a run page needs from the state beyond the JSON report, read while the run's state is open
    (a dry run rolls its state back before the report is written)."""

    report: dict[str, Any]  # the run's report as its JSON holds it
    facts: dict[str, ClaimFacts]
    waiting: list[tuple]


def read_page_data(state, report: dict[str, Any], with_names: bool) -> PageData:
    from .claim_facts import claim_facts

    ids = run_needs_person(report, {}).claim_ids()
    return PageData(report, claim_facts(state, ids, with_names), list(state.waiting()))


def write_run_pages(data: PageData, reports_dir: Path, stem: str, with_names: bool,
                    now: dt.datetime) -> tuple[Path, Path]:
    """The run's page and the refreshed index (`index.html`), each written atomically."""
    page = write_run_page(data.report, reports_dir, stem, facts=data.facts, waiting=data.waiting,
                          with_names=with_names, now=now)
    return page, write_index(reports_dir, current=(stem, data.report))


def status_page(config, now: dt.datetime | None = None) -> str:
    """`cob status --format html`: the "needs a person" view of the whole state (the library call the CLI
    makes; it only passes options)."""
    from .claim_facts import claim_facts
    from .state import State
    from .states import ClaimState, InputState
    from .status import status_report

    now = now or dt.datetime.now()
    status = status_report(config, now)
    state = State.open(config.state_url, config.sqlite_path)
    try:
        rejected = state.db.query("SELECT claim_id, status, reason, detail, destination_payer FROM claim_status "
                                  "WHERE status = ? ORDER BY claim_id", (ClaimState.REJECTED.value,))
        quarantined = [{"file": name, "reason": reason, "moved_to": dest}
                       for name, reason, dest in state.db.query(
                           "SELECT name, reason, dest_path FROM inputs WHERE status = ? ORDER BY id", (InputState.REJECTED.value,))
                       if dest and Path(dest).exists()]
        ids = status_needs_person(status, {}, rejected).claim_ids()
        facts = claim_facts(state, ids, config.include_patient_names)
    finally:
        state.close()
    return render_status_page(status, facts, rejected, quarantined, config.include_patient_names, now)
