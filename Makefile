# Two entry points (see README.md): `make demo` and `make test`. Both create or reuse .venv and
# install the pinned stack from constraints.txt; Java 17 and Maven (for the local Kafka broker)
# are installed with apt-get when missing (scripts/ensure-system-packages.sh).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast install constraints bench clean

$(STAMP): pyproject.toml constraints.txt
	scripts/ensure-system-packages.sh
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cluewatch demo

test: $(STAMP)
	$(VENV)/bin/pytest

# Unit tests only (no services): quick feedback while editing.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -m "not service"

# Re-pin after changing dependencies in pyproject.toml.
constraints: $(STAMP)
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^cluewatch' > constraints.txt

clean:
	rm -rf $(VENV) var
