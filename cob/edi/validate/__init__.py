"""`cob validate`: IG validation (SNIP 1-5) of 837P and 835 files, with 999 and TA1 acknowledgments.

`validate_file(path)` returns a `FileResult` (findings.py); `ack.write_acks(result, dir)` answers it;
`validate_files(paths, ack_dir=...)` (files.py) does both for many files: what `cob validate` does.
"""

from .engine import ALL_SNIP, Validator, validate_file
from .files import Validated, validate_files
from .findings import ERROR, WARNING, FileResult, Finding

__all__ = ["ALL_SNIP", "ERROR", "WARNING", "FileResult", "Finding", "Validated", "Validator", "validate_file",
           "validate_files"]
