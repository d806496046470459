"""`cob init`, `cob run`, `cob status`: thin click wrappers over `cob.run`.

Exit codes (scripts and cron depend on them): 0 ok (also: another run holds the lock); 1 an input was
quarantined, a claim rejected, the run stopped part-way (nothing lost), or the lock has been held longer
than run.max_run_minutes; 2 configuration or usage error (the state database unusable among them); 3
internal error (a worker process died); 130 / 143 stopped by SIGINT / SIGTERM (nothing lost).
Under cron (stderr not a terminal) `cob run` prints nothing but errors; on a terminal it shows progress
bars and the summary (`--verbose` prints the summary everywhere, `--quiet` nowhere).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import click

from cob.run.config import ConfigError, init_folder, load_config

from .conventions import Output, format_option, output_options, stderr_is_terminal


def _now() -> dt.datetime | None:
    """COB_NOW=ISO-8601 fixes the run's clock (tests; replaying a night)."""
    value = os.environ.get("COB_NOW")
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.UsageError(f"COB_NOW={value!r} is not an ISO-8601 date and time") from None


def _config(path: str):
    try:
        return load_config(path)
    except ConfigError as exc:
        click.echo(f"cob: {exc}", err=True)
        sys.exit(2)


EPILOG_INIT = """\b
Examples:
  cob init /tmp/fx-site                  # then drop 835s and 837Ps into /tmp/fx-site/inbox
  cob init /srv/cob && crontab -e        # 30 1 * * * cob run --config /srv/cob/cob.toml
"""


@click.command("init", epilog=EPILOG_INIT)
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--adopt", is_flag=True,
              help="Rebuild a lost state database from archive/ and outbox/: what was sent is never sent again.")
@output_options
def init(directory: str, adopt: bool, out: Output) -> None:
    """Create DIRECTORY/{inbox,outbox,archive,rejected,reports} and a commented DIRECTORY/cob.toml.

    The configuration works as written: drop 835s and 837P files into inbox/ and run
    `cob run --config DIRECTORY/cob.toml`. An existing cob.toml is kept. With --adopt, a new (empty)
    state database is rebuilt from the folder: archived inputs recorded, their billable claims counted as
    sent, control numbers continued above the outbox's.
    """
    existed = os.path.exists(os.path.join(directory, "cob.toml"))
    try:
        path = init_folder(directory)
    except ConfigError as exc:
        out.error(f"cob: {exc}")
        sys.exit(2)
    except OSError as exc:  # e.g. a parent folder that is read-only: say which path
        out.error(f"cob: cannot create {exc.filename or directory}: {exc.strerror or exc}")
        sys.exit(2)
    out.info(f"{'kept existing' if existed else 'wrote'} {path}")
    if adopt:
        from cob.run.adopt import adopt as adopt_state

        try:
            done = adopt_state(_config(str(path)), _now())
        except ConfigError as exc:
            out.error(f"cob: {exc}")
            sys.exit(2)
        out.info(f"adopted: {done.inputs} archived inputs recorded, {done.claims_sent} claims counted as sent, "
                 f"{done.claims_waiting} waiting; control numbers: "
                 + (", ".join(f"{k} {v:09d}" for k, v in sorted(done.controls.items())) or "none yet"))
        for name in done.unreadable:
            out.error(f"cob: {name} in the archive could not be read; it was left out")
    out.info(f"drop 835 and 837P files into {path.parent / 'inbox'}, then: cob run --config {path}")
    for name in ("inbox", "outbox", "archive", "rejected", "reports"):
        out.detail(f"  {path.parent / name}/")


EPILOG_RUN = """\b
Examples:
  cob run --config /tmp/fx-site/cob.toml             # process what is in the inbox now
  cob run --config /srv/cob/cob.toml --dry-run -v    # what would be sent, with the summary
  cob run --config /srv/cob/cob.toml --format json | jq .summary
  30 1 * * * cob run --config /srv/cob/cob.toml      # crontab line: silent unless errors
"""


@click.command("run", epilog=EPILOG_RUN)
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="The cob.toml to use (see `cob init`).")
@click.option("--wait", is_flag=True, help="Wait for a run in progress instead of exiting at once.")
@click.option("--dry-run", is_flag=True, help="Decide and report what would be sent; record, send and move nothing.")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Parse input files and bill claims in N processes (default: the configuration's, else the "
                   "CPU count).")
@format_option(help="text: the summary on a terminal; json: also the run's JSON report on stdout (as in reports/).")
@output_options
def run(config_path: str, wait: bool, dry_run: bool, workers: int | None, fmt: str, out: Output) -> None:
    """Process the inbox once: bill what can be billed, keep what waits, report, archive.

    Safe under cron: one run at a time, every step committed before the next, a killed run finished by
    the next one. Exit 0 ok, 1 something was quarantined or rejected (see the report) or the lock is held
    too long, 2 configuration error, 3 internal error, 130/143 stopped by SIGINT/SIGTERM.
    """
    from cob.run.runner import RunOptions, run_batch

    config = _config(config_path)
    options = RunOptions(wait=wait, dry_run=dry_run, workers=workers, now=_now(),
                         validate=os.environ.get("COB_SKIP_IG_VALIDATION") != "1", progress=out.progress)
    try:
        result = run_batch(config, options)
    except ConfigError as exc:
        out.error(f"cob: {exc}")
        sys.exit(2)
    if result.locked_out:
        if result.exit_code:
            out.error(result.message)
        else:
            out.info(result.message)
        sys.exit(result.exit_code)
    for line in result.errors:
        out.error(line)
    if fmt == "json" and result.report_path is not None:
        out.data(result.report_path.read_text(encoding="utf-8"), nl=False)
    if result.report is not None and (out.verbose or (stderr_is_terminal() and not out.quiet)):
        out.info(result.report.morning_summary(), nl=False)
        out.info(f"report: {result.report_path}")
        if result.page_path is not None:
            out.info(f"page: {result.page_path}")
    out.detail(f"summary: {result.summary_path}")
    out.detail(f"log: {result.log_path}")
    sys.exit(result.exit_code)


EPILOG_STATUS = """\b
Examples:
  cob status --config /tmp/fx-site/cob.toml              # what waits and why
  cob status --config /srv/cob/cob.toml --format json | jq .stale
  cob status --config /srv/cob/cob.toml -q               # only the STALE claims (cron mail)
  cob status --config /srv/cob/cob.toml --format html > needs-a-person.html
  cob status --config /srv/cob/cob.toml --deadline-within 7   # exit 1 when a filing deadline is that near
"""


@click.command("status", epilog=EPILOG_STATUS)
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="The cob.toml to use (see `cob init`).")
@format_option(help="Output for people (text), programs (json) or a page to open in a browser (html: what "
                    "needs a person across the whole state, one self-contained file).",
               choices=("text", "json", "html"))
@click.option("--stale-only", is_flag=True, help="List only claims waiting longer than max_wait_days.")
@click.option("--deadline-within", type=click.IntRange(0, None), default=None, metavar="N",
              help="List claims not yet filed with their next payer whose filing deadline is within N days "
                   "(or past), and exit 1 when there is one (for a monitor).")
@output_options
def status(config_path: str, fmt: str, stale_only: bool, deadline_within: int | None, out: Output) -> None:
    """List what waits and why (claims without their 835, 835s without their claim, held claims);
    claims waiting longer than the configured age are marked STALE, and who holds the run lock (with a
    PostgreSQL state, also the `cob run` processes at work on the drop and the units they hold); the COB
    worklist, final patient balances, filing deadlines near or past, claims sent and never acknowledged.
    Exit 0; with --stale-only, 1 when a claim is stale (a cron line that mails); with --deadline-within N,
    1 when a claim's filing deadline is within N days or past; 2 when the state cannot be read."""
    from cob.run.status import status_report

    config = _config(config_path)
    try:
        if fmt == "html":
            from cob.run.page import status_page

            out.data(status_page(config, _now(), deadline_within=deadline_within), nl=False)
            return
        report = status_report(config, _now(), stale_only=stale_only, deadline_within=deadline_within)
    except ConfigError as exc:
        out.error(f"cob: {exc}")
        sys.exit(2)
    if fmt == "json":
        out.data(json.dumps(report.to_dict(), indent=2))
    elif out.quiet:
        out.data(report.stale_text(), nl=False)
    else:
        out.data(report.text(limit=None if out.verbose else 200), nl=False)
    if stale_only and report.stale:
        sys.exit(1)
    if deadline_within is not None and report.after_payment.deadlines:
        out.error(f"cob status: {len(report.after_payment.deadlines)} claim(s) not filed within "
                  f"{deadline_within} days of their filing deadline")
        sys.exit(1)


COMMANDS = (init, run, status)
