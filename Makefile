# The two commands of the README: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev
STAMP := $(VENV)/.installed-$(shell (cat pyproject.toml; echo '$(EXTRAS)') | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install serve clean-data messages

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "brokercrm needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[$(EXTRAS)]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## make demo: install, create and migrate the database, load the demo brokerage, serve it
demo: install
	$(BIN)/brokercrm demo
	$(BIN)/brokercrm serve --host $(HOST) --port $(PORT)

## make test: install and run the test suite (non-zero exit on failure)
test: install
	$(BIN)/python -m pytest

## make messages: refresh the translation catalogues after changing strings
messages: install
	cd brokercrm && ../$(BIN)/django-admin makemessages -l zh_Hans --settings=brokercrm.settings --ignore 'tests/*'
	cd brokercrm && ../$(BIN)/django-admin compilemessages --settings=brokercrm.settings

clean-data:
	rm -rf var
