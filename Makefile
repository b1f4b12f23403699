# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test test-calendar lint

run: $(INSTALLED)
	$(BIN)/partnerflow dev

test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The tests whose clocks faketime moves (all but the dev server's), on SQLite, on the days a
# month, a quarter, a leap February and a year end, each started just before midnight UTC so
# that the run crosses it; and in the first minute of a month. Needs Debian's faketime. Tests
# of threads' timed waits (real_clock) are left out: faketime's clock makes them wait forever.
CALENDAR_STARTS := '2026-12-01 00:00:30' '2027-03-31 23:58:00' '2028-02-29 23:58:00' \
	'2027-12-31 23:58:00'

test-calendar: $(INSTALLED)
	@command -v faketime >/dev/null || \
		{ echo "make test-calendar needs faketime: apt-get install faketime" >&2; exit 1; }
	@for start in $(CALENDAR_STARTS); do \
		echo "== the suite on $$start UTC"; \
		faketime "$$start" $(BIN)/python -m pytest -m 'not dev_server and not real_clock' \
			-k 'not postgresql' \
			-p no:cacheprovider -q $(PYTEST_ARGS) || exit 1; \
	done

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "partnerflow needs Python 3.11 or newer: make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || \
		{ echo "could not create $(VENV): on Debian/Ubuntu, apt-get install python3-venv" >&2; exit 1; }

# Reinstall only when the dependencies change.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@
