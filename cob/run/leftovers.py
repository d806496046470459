"""Temp files a dead run left behind, removed by the next run once it holds the lock.

Every file cob writes appears by temp file, fsync, rename (`edi.writer.atomic_output`, `controls`), so a
run killed while writing a report, a reason file or the control-number file leaves a hidden temp file
(`.<name>.<random>.tmp`, or `.<name>.moving` of a move across file systems) that nothing would ever
remove. Only a run holding the run lock calls `clean_stale_temp_files`, so no live writer owns them.
Outputs' temp files in the outbox are not touched here: some are committed (staged) and are published
by the runner's recovery, the others discarded there.
"""

from __future__ import annotations

from pathlib import Path

from .config import RunConfig
from .controls import controls_path


def _stale(name: str) -> bool:
    return name.startswith(".") and (name.endswith(".tmp") or name.endswith(".moving"))


def clean_stale_temp_files(config: RunConfig) -> list[Path]:
    """Remove dead runs' temp files from reports/, rejected/, archive/ (and archive/duplicates/) and the
    control-number file's folder; returns what was removed."""
    removed: list[Path] = []
    folders = [config.reports, config.rejected, config.archive, config.archive / "duplicates"]
    for folder in folders:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for f in entries:
            if _stale(f.name) and f.is_file():
                f.unlink(missing_ok=True)
                removed.append(f)
    controls = controls_path(config.outbox)
    try:
        for f in controls.parent.glob(f".{controls.name}.*.tmp"):
            f.unlink(missing_ok=True)
            removed.append(f)
    except OSError:
        pass
    return removed
