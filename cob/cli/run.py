"""`cob init`, `cob run`, `cob status`: thin click wrappers over `cob.run`.

Exit codes (scripts and cron depend on them): 0 ok (also: another run holds the lock); 1 an input was
quarantined, a claim rejected or the run stopped part-way (nothing lost); 2 configuration or usage error.
Under cron (stderr not a terminal) `cob run` prints nothing but errors; on a terminal it shows progress
bars and the summary.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import click

from cob.run.config import ConfigError, init_folder, load_config


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


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create DIRECTORY/{inbox,outbox,archive,rejected,reports} and a commented DIRECTORY/cob.toml.

    The configuration works as written: drop 835s and 837P files into inbox/ and run
    `cob run --config DIRECTORY/cob.toml`. An existing cob.toml is kept.
    """
    existed = (os.path.exists(os.path.join(directory, "cob.toml")))
    path = init_folder(directory)
    click.echo(f"{'kept existing' if existed else 'wrote'} {path}")
    click.echo(f"drop 835 and 837P files into {path.parent / 'inbox'}, then: cob run --config {path}")


@click.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="The cob.toml to use (see `cob init`).")
@click.option("--wait", is_flag=True, help="Wait for a run in progress instead of exiting at once.")
@click.option("--dry-run", is_flag=True, help="Decide and report what would be sent; record, send and move nothing.")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Parse input files in N processes (default: the configuration's, else the CPU count).")
def run(config_path: str, wait: bool, dry_run: bool, workers: int | None) -> None:
    """Process the inbox once: bill what can be billed, keep what waits, report, archive.

    Safe under cron: one run at a time, every step committed before the next, a killed run finished by
    the next one. Exit 0 ok, 1 something was quarantined or rejected (see the report), 2 configuration error.
    """
    from cob.run.runner import RunOptions, run_batch

    config = _config(config_path)
    tty = sys.stderr.isatty()
    options = RunOptions(wait=wait, dry_run=dry_run, workers=workers, now=_now(),
                         validate=os.environ.get("COB_SKIP_IG_VALIDATION") != "1", progress=tty)
    try:
        result = run_batch(config, options)
    except ConfigError as exc:
        click.echo(f"cob: {exc}", err=True)
        sys.exit(2)
    if result.locked_out:
        click.echo(result.message, err=True)
        sys.exit(0)
    for line in result.errors:
        click.echo(line, err=True)
    if tty and result.report is not None:
        click.echo(result.report.morning_summary(), err=True, nl=False)
        click.echo(f"report: {result.report_path}", err=True)
    sys.exit(result.exit_code)


@click.command("status")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--stale-only", is_flag=True, help="List only claims waiting longer than max_wait_days.")
def status(config_path: str, as_json: bool, stale_only: bool) -> None:
    """List what waits and why (claims without their 835, 835s without their claim, held claims);
    claims waiting longer than the configured age are marked STALE. Exit 0."""
    from cob.run.status import status_report

    config = _config(config_path)
    report = status_report(config, _now())
    if stale_only:
        report.waiting = report.stale
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.text(), nl=False)


COMMANDS = (init, run, status)
