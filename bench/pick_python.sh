#!/bin/sh
# Prints the fastest CPython >= 3.11 on this machine that can make a virtual environment; `make` builds
# the project's venv with it (PYTHON=... on the make command line overrides).
#
# Why: cob is CPU-bound pure Python, and interpreter builds differ: on our machines pyenv's python3 (a
# plain -O3 build with a shared libpython) runs cob about 10% slower than Debian's /usr/bin/python3
# (built with profile-guided and link-time optimization). A short probe of the kind of work cob does
# (splitting X12 text, dict lookups) decides; with one candidate, or if every probe fails, python3.
probe='
import sys, time
if sys.version_info < (3, 11):
    sys.exit(1)
import ensurepip, venv  # noqa: F401 - it must be able to make the venv
text = "SV1*HC:99213:25*125.5*UN*1***1:2~DTP*472*D8*20240131~REF*6R*L1~" * 700
def work():
    seen = {}
    for segment in text.split("~"):
        elements = segment.split("*")
        seen[elements[0]] = seen.get(elements[0], 0) + sum(1 for e in elements if e)
    return seen
best = 1e9
for _ in range(7):
    t = time.perf_counter()
    for _ in range(10):
        work()
    best = min(best, time.perf_counter() - t)
print(best, sys.executable)
'
best=""
best_time=""
for candidate in python3 /usr/bin/python3 /usr/local/bin/python3 python3.13 python3.12 python3.11; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    out=$("$candidate" -c "$probe" 2>/dev/null) || continue
    time=${out%% *}
    exe=${out#* }
    if [ -z "$best" ] || awk -v a="$time" -v b="$best_time" 'BEGIN { exit !(a < b) }'; then
        best=$exe
        best_time=$time
    fi
done
echo "${best:-python3}"
