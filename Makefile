# co3chain — the two commands a fresh machine needs:
#   make run    a local 4-PA consortium network with the CO3 contracts deployed (and the demo run)
#   make test   the whole test suite (what CI runs)
# Both create the Python virtualenv and install the pinned npm toolchain themselves.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
CO3    := $(VENV)/bin/co3chain
STAMP_PY  := $(VENV)/.installed
STAMP_NPM := node_modules/.installed
STAMP_JS  := clients/js/node_modules/.installed
STAMP_BROWNIE := .venv-brownie/.installed
NETDIR ?= run/network
VALIDATORS ?= 4
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run test lint bench deps clients-js browser network-down clean help

help:
	@echo "make run   - start a local $(VALIDATORS)-validator network on loopback, deploy the CO3 suite, run the demo"
	@echo "make test  - lint + full test suite"
	@echo "make bench - benchmarks (bench/)"
	@echo "make network-down - stop the local network"

$(STAMP_PY): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(STAMP_NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The JavaScript SDK (@co3chain/sdk) has its own package and lockfile.
$(STAMP_JS): clients/js/package.json clients/js/package-lock.json
	cd clients/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clients-js: $(STAMP_JS)

# Headless Chromium for the browser-app and offline-docs tests (tests/appkit/test_browser_app.py skip without it).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

deps: $(STAMP_PY) $(STAMP_NPM) $(STAMP_JS)

# eth-brownie pins old libraries: it gets its own virtualenv and is only a client of our node.
$(STAMP_BROWNIE): scripts/setup_brownie.sh
	bash scripts/setup_brownie.sh
	touch $@

run: deps
	$(CO3) network up --validators $(VALIDATORS) --dir $(NETDIR) --deploy --demo

network-down: $(STAMP_PY)
	$(CO3) network down --dir $(NETDIR)

lint: $(STAMP_PY)
	$(VENV)/bin/ruff check co3chain tests scripts bench

test: deps lint $(STAMP_BROWNIE)
	$(CO3) compile --check
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules clients/js/node_modules clients/js/dist run .pytest_cache
