# Two entry points (see README.md): `make demo` and `make test`. Both create or reuse .venv and
# install the pinned stack from constraints.txt; Java 17 and Maven (for the local Kafka broker)
# are installed with apt-get when missing (scripts/ensure-system-packages.sh).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast install constraints clean system-packages eval-sources

# Cheap when all is present; runs every time so a machine that lost a package gets it back.
system-packages:
	scripts/ensure-system-packages.sh

# The logo evaluation set's sources (npm logo packages, Debian photographs): tests only.
eval-sources:
	scripts/ensure-logo-eval-sources.sh

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: system-packages $(STAMP)

demo: system-packages $(STAMP)
	$(VENV)/bin/cluewatch demo

test: system-packages eval-sources $(STAMP)
	$(VENV)/bin/pytest

# Unit tests only (no services): quick feedback while editing.
test-fast: eval-sources $(STAMP)
	$(VENV)/bin/pytest -m "not service"

# Re-pin after changing dependencies in pyproject.toml.
constraints: $(STAMP)
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^cluewatch' > constraints.txt

clean:
	rm -rf $(VENV) var
