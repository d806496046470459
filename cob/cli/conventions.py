"""What every `cob` command shares, so each command is: parse options -> one library call -> render.

- `-` reads stdin (`cob validate -`, `cob parse -`, `cob order -`): X12 is spooled to a private temp file
  (mode 0600, removed afterwards) because the readers want a file, and messages call it `<stdin>`.
- `--format text|json` where a command has machine output; `--report -` writes the JSON report to stdout.
- `--quiet` prints errors only (machine output asked for on stdout is still written); `--verbose`
  prints more detail. Both go to stderr, like every message: stdout holds only the command's output.
- Progress bars on stderr when it is a terminal (and not --quiet); nothing at all otherwise (cron,
  pipes, CliRunner). Library calls take `progress(done, total, label)`; `ProgressBars` draws them.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import click

from cob.edi.inputs import STDIN_NAME

STDIN = "-"


def stderr_is_terminal() -> bool:
    """Whether progress bars may be drawn (tests patch this to force them)."""
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None)) and stream.isatty()


class ProgressBars:
    """The CLI's side of a library's `progress(done, total, label)`: one click progress bar per label on
    stderr, closed when it reaches its total, when another label starts, or when the command ends."""

    def __init__(self) -> None:
        stream = sys.stderr
        self.drawn = bool(getattr(stream, "isatty", None)) and stream.isatty()  # else click prints labels only
        self.bar: Any = None
        self.label: str | None = None
        self.done = 0
        self.finished: tuple[str, int] | None = None  # (label, total) of the bar closed last

    def __call__(self, done: int, total: int, label: str) -> None:
        if total <= 0:
            return
        if self.bar is None or label != self.label:
            if self.finished == (label, total) and done >= total:
                return  # a late "all done" for a bar already closed
            self.close()
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self.bar.__enter__()
            self.label, self.done = label, 0
        if done > self.done:
            self.bar.update(done - self.done)
            self.done = done
        if done >= total:
            self.close()
            self.finished = (label, total)

    def clear(self) -> None:
        """Wipe the bar's line before other text is printed; the bar is drawn again right after."""
        if self.bar is not None and self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def redraw(self) -> None:
        if self.bar is not None and self.drawn:
            if hasattr(self.bar, "_last_line"):  # click draws a line only when it changed
                self.bar._last_line = None
            self.bar.render_progress()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
            self.label = None


class Output:
    """Where a command's text goes: `data` to stdout (always), `error` to stderr (always), `info` to
    stderr unless --quiet, `detail` to stderr only with --verbose. Bars are wiped around every line."""

    def __init__(self, quiet: bool = False, verbose: bool = False):
        self.quiet = quiet
        self.verbose = verbose
        self.bars = ProgressBars() if not quiet and stderr_is_terminal() else None

    @property
    def progress(self) -> Callable[[int, int, str], None] | None:
        """The callback to hand to a library call: None (no work at all) when no bar is to be drawn."""
        return self.bars

    def _echo(self, text: str, err: bool, nl: bool = True) -> None:
        if self.bars is not None:
            self.bars.clear()
        click.echo(text, err=err, nl=nl)
        if self.bars is not None:
            self.bars.redraw()

    def data(self, text: str, nl: bool = True) -> None:
        self._echo(text, err=False, nl=nl)

    def error(self, text: str) -> None:
        self._echo(text, err=True)

    def info(self, text: str, nl: bool = True) -> None:
        if not self.quiet:
            self._echo(text, err=True, nl=nl)

    def detail(self, text: str) -> None:
        if self.verbose:
            self._echo(text, err=True)

    def close(self) -> None:
        if self.bars is not None:
            self.bars.close()


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds `--quiet/-q` and `--verbose/-v` to a command, which then receives `out: Output`."""

    @functools.wraps(command)
    def wrapper(*args: Any, quiet: bool, verbose: bool, **kwargs: Any) -> Any:
        if quiet and verbose:
            raise click.UsageError("--quiet and --verbose exclude each other")
        out = Output(quiet, verbose)
        try:
            return command(*args, out=out, **kwargs)
        finally:
            out.close()

    wrapper = click.option("--verbose", "-v", is_flag=True, help="More detail on stderr.")(wrapper)
    wrapper = click.option("--quiet", "-q", is_flag=True,
                           help="Print errors only (output asked for on stdout is still written).")(wrapper)
    return wrapper


def format_option(default: str | None = "text", help: str = "Output for people (text) or programs (json).",
                  choices: Sequence[str] = ("text", "json")) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=default,
                        show_default=default is not None, help=help)


@contextmanager
def stdin_spooled(paths: Sequence[str]) -> Iterator[tuple[list[str], dict[Path, str]]]:
    """`paths` with `-` replaced by a private temp file holding stdin, and {that file: "<stdin>"} to name
    it in messages. The file is created 0600 (mkstemp) and removed when the block ends, whatever happens."""
    if STDIN not in paths:
        yield list(paths), {}
        return
    if list(paths).count(STDIN) > 1:
        raise click.UsageError("- (stdin) can be given only once")
    fd, tmp = tempfile.mkstemp(prefix="cob-stdin-", suffix=".x12")
    try:
        with os.fdopen(fd, "wb") as fh:
            shutil.copyfileobj(sys.stdin.buffer, fh, 1 << 20)
        yield [tmp if p == STDIN else p for p in paths], {Path(tmp): STDIN_NAME}
    finally:
        os.unlink(tmp)


def read_stdin_text() -> str:
    """All of stdin as text (small JSON inputs such as `cob order -`)."""
    return sys.stdin.read()
