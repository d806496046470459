"""`cob run`: unattended batch runs over clearinghouse drop folders (issue #5).

Modules, one job each:

- `config`     TOML configuration (`cob init` writes a commented one) -> `RunConfig`
- `db`         one small interface over SQLite (stdlib) and PostgreSQL (psycopg 3)
- `migrations` numbered schema migrations recorded in `schema_version`
- `states`     the states of inputs, outputs, claims and the batch, and the verbs that move them (one table
               each, drawn in its docstring)
- `state`      what the database remembers: inputs by sha256, original claims, adjudications, emitted
               claims, control numbers, pending publishes; every query the runner needs
- `lock`       one run at a time: flock beside a SQLite database, pg_advisory_lock with PostgreSQL
- `ingest`     reading one input file into compact records (runs in worker processes)
- `billing`    deciding and building next-payer claims from stored claims and adjudications
- `runner`     one run: recover, ingest, bill, publish, archive, report (`run_batch`)
- `report`     the per-run JSON report, the human summary and the JSON-lines log
- `status`     what waits and why (`cob status`)
- `faults`     fault-injection hooks used by the crash tests (inert unless COB_FAULT_* is set)
- `cli`        the thin click layer: `cob init`, `cob run`, `cob status`
"""

from .config import ConfigError, RunConfig, init_folder, load_config  # noqa: F401
from .runner import RunResult, run_batch  # noqa: F401
from .status import status_report  # noqa: F401
