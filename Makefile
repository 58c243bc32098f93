# The two commands of the README do all the set-up on a fresh machine:
#   make run   — the app on SQLite under ./data (http://127.0.0.1:8000)
#   make test  — the whole suite on SQLite, and its database tests on PostgreSQL (both at once; logs in .test-logs/)
#   make check — lint, format, types and the unit tests: the quick loop while editing (< 90 s)
#   make mutation — mutation testing of the money core (not part of make test; docs/contributing/mutation.md)
#   make docs  — the documentation site (docs/, mkdocs.yml) on http://127.0.0.1:8008
#   make lock  — refresh the locked requirements (requirements/*.txt) after editing pyproject.toml
#   make test-py313 — the unit and integration suites on both databases under Python 3.13 (CI runs it)
#   make i18n-extract / i18n-update / i18n-compile — the pay page's gettext catalogs (docs/contributing/translations.md)
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
VENV313 ?= .venv313
BIN313 = $(VENV313)/bin

.PHONY: run test check lint install browser mutation docs lock lock-check install-py313 test-py313 \
	i18n-extract i18n-update i18n-compile

# Installs come from the lock (exact versions, every file's hash checked); the project itself goes
# on top without resolving anything. requirements/runtime.txt is what the Docker image installs.
$(BIN)/saleor-coinpayments: pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# The compiled catalogs (.mo, git-ignored) are built from the .po files at every install.
install: $(BIN)/saleor-coinpayments i18n-compile

# The gettext catalogs of the buyer-facing pages, with Babel: extract the messages the code uses into
# the template (messages.pot), merge it into each language's messages.po, compile those to .mo (and
# write the storefront example's examples/storefront/messages.js, which is committed).
LOCALE_DIR = saleor_coinpayments/locale
i18n-extract: $(BIN)/saleor-coinpayments
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output -o $(LOCALE_DIR)/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel -q update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -D messages --no-fuzzy-matching --ignore-obsolete

i18n-compile: $(BIN)/saleor-coinpayments
	$(BIN)/pybabel -q compile -d $(LOCALE_DIR) -D messages
	$(BIN)/python -m saleor_coinpayments.locale.storefront_js examples/storefront

# The lock: uv resolves pyproject.toml for every platform and Python >= 3.11 and writes pip
# requirements with hashes. An existing pin is kept while it still satisfies pyproject.toml, so
# `make lock` after adding a dependency only adds what is new (a few seconds);
# `make lock UPGRADE=1` moves every pin to the newest allowed release. runtime.txt takes the
# versions of dev.txt, so the image runs what the suite tested.
LOCK_DIR ?= .
COMPILE = cd $(LOCK_DIR) && $(abspath $(BIN))/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --quiet --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

$(BIN)/uv:
	@test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "uv>=0.9,<1"

lock: $(BIN)/uv
	$(COMPILE) --extra dev -o requirements/dev.txt
	$(COMPILE) -c requirements/dev.txt -o requirements/runtime.txt

# CI: the committed lock must be what `make lock` makes from pyproject.toml (resolved again in a
# copy, keeping the committed pins; only a change to pyproject.toml can move them).
lock-check: $(BIN)/uv
	@tmp=$$(mktemp -d) && mkdir $$tmp/requirements && cp pyproject.toml $$tmp/ && cp requirements/*.txt $$tmp/requirements/ \
	  && $(MAKE) --no-print-directory lock LOCK_DIR=$$tmp >/dev/null \
	  && diff -u requirements/dev.txt $$tmp/requirements/dev.txt && diff -u requirements/runtime.txt $$tmp/requirements/runtime.txt \
	  || { echo "requirements/*.txt disagree with pyproject.toml: run make lock and commit the result"; rm -rf $$tmp; exit 1; }; \
	rm -rf $$tmp; echo "lock matches pyproject.toml"

run: install
	$(BIN)/saleor-coinpayments serve

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: browser tests will skip (install Debian's chromium)"; fi; }
	@fc-list :lang=ja 2>/dev/null | grep -q . || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null; \
	  else echo "no Chinese/Japanese font: the ja and zh-Hans screenshots show boxes (install fonts-wqy-zenhei)"; fi; }

lint: install lock-check
	$(BIN)/ruff check saleor_coinpayments tests bench
	$(BIN)/ruff format --check saleor_coinpayments tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8008

check: install
	$(BIN)/ruff check saleor_coinpayments tests bench
	$(BIN)/ruff format --check saleor_coinpayments tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 tests/unit

# The two databases' suites run side by side: most of an end-to-end test is waiting for servers,
# so two suites of two workers each keep two cores busy. The SQLite suite runs every test; the
# PostgreSQL suite runs only the tests marked `database` (`-m database`). tests/conftest.py marks a
# test from the fixtures it uses: it reaches a database only through `database_url` (directly, or
# through the app, the world, the Dashboard... that need one), so every test that does is marked,
# and the others (unit tests, the simulator, the fake Saleor, the HTTP client) would run the same
# a second time. The database tests are ordered first (they are the long ones) and the workers
# steal from each other (`--dist worksteal`), so neither suite ends on one long test.
# Each one's output is kept in its log and shown when both are done (all of it for a suite that
# failed); the target fails if either does. docs/contributing/tests.md: what runs where. Each log
# ends with its 20 slowest tests: where to look first when the suite's time grows.
TEST_LOGS = .test-logs
PYTEST_TEST = $(BIN)/pytest -q -n 2 --dist worksteal --durations=20
test: install browser
	@mkdir -p $(TEST_LOGS)
	@echo "SQLite (every test) and PostgreSQL (the database tests) side by side (progress: tail -f $(TEST_LOGS)/*.log)"
	@TEST_DATABASE=sqlite $(PYTEST_TEST) >$(TEST_LOGS)/sqlite.log 2>&1 & sqlite=$$!; \
	TEST_DATABASE=postgresql $(PYTEST_TEST) -m database >$(TEST_LOGS)/postgresql.log 2>&1; postgresql=$$?; \
	wait $$sqlite; sqlite=$$?; \
	for suite in sqlite:$$sqlite postgresql:$$postgresql; do \
	  name=$${suite%%:*}; code=$${suite#*:}; echo "=== $$name ($(TEST_LOGS)/$$name.log)"; \
	  if [ "$$code" = 0 ]; then tail -n 3 $(TEST_LOGS)/$$name.log; else cat $(TEST_LOGS)/$$name.log; fi; \
	done; \
	test $$sqlite = 0 && test $$postgresql = 0

# A second virtualenv on Python 3.13 (.ci/find-python313: python3.13 on PATH, else pyenv's).
$(BIN313)/saleor-coinpayments: pyproject.toml requirements/dev.txt
	@python313="$$(.ci/find-python313)" && echo "Python 3.13: $$python313" && "$$python313" -m venv $(VENV313)
	$(BIN313)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN313)/pip install --quiet --no-deps -e .
	touch $@

install-py313: $(BIN313)/saleor-coinpayments

# The browser tests drive the page's script in Chromium against server code the other suites run
# on 3.13 already; they would add about a third to the 3.13 run. `make test-py313 PY313_TESTS=tests`
# runs the whole suite. As in `make test`, PostgreSQL runs only the tests marked `database`.
PY313_TESTS ?= tests/unit tests/integration
test-py313: install-py313
	TEST_DATABASE=sqlite $(BIN313)/pytest -q -n 2 --dist worksteal $(PY313_TESTS)
	TEST_DATABASE=postgresql $(BIN313)/pytest -q -n 2 --dist worksteal -m database $(PY313_TESTS)

# Fresh every time (mutmut would keep verdicts of functions whose tests changed). Two workers, niced:
# the machine is shared. The log of the run is mutants/run.log; the score fails under 95 %.
mutation: install
	rm -rf mutants
	mkdir -p mutants
	nice -n 10 $(BIN)/mutmut run --max-children 2 >mutants/run.log 2>&1 || { tail -n 40 mutants/run.log; exit 1; }
	$(BIN)/python -m tests.mutation.score --fail-under 95
