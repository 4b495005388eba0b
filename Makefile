# The commands people type. `make run` needs nothing but Python 3.11; `make test` also
# installs the Debian packages its tests use when they are missing (as root; otherwise it
# stops and names the command) and starts its own throwaway servers.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PAGE_URL ?= http://127.0.0.1:$(PORT)
export PYTHONDONTWRITEBYTECODE := 1

# What the tests use from Debian: Chromium for the browser tests (Playwright's driver needs
# libatomic1, which chromium does not pull in) and a CJK font for it to draw the Chinese
# pages with, nginx for the production stack, the servers the suite starts its own
# instances of (PostgreSQL, Redis, RabbitMQ), and GNU gettext (msgfmt checks the catalogs'
# placeholders; without it `compilemessages` falls back to Babel).
TEST_PACKAGES := chromium libatomic1 fonts-noto-cjk nginx libnginx-mod-http-brotli-static postgresql redis-server rabbitmq-server gettext prometheus prometheus-alertmanager

.PHONY: run free-port demo token test faults test-packages lint check install clean bench-http bench-broadcast

# Debian's Python needs its venv module as a package of its own.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV) || \
	  { tests/debian-packages python3-venv && python3 -m venv $(VENV); }

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The page's languages: the .po catalogs are committed, the .mo files they compile to are
# not; made on install and again whenever a .po changes (msgfmt, or Babel where it is
# missing: incidents/management/commands/compilemessages.py).
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

$(MO_FILES): %.mo: %.po | $(VENV)/.installed
	@DEBUG=1 SECRET_KEY=compile-only LOG_LEVEL=WARNING $(BIN)/python manage.py compilemessages -v 0

install: $(VENV)/.installed $(MO_FILES)

# `make run` is for a person at a terminal: only what they must read is printed (the login
# last, once the server answers); routine logs stay at WARNING and mail goes to files.
RUN_ENV := DEBUG=1 LOG_LEVEL=WARNING EMAIL_FILE_PATH="$${VAR_DIR:-var}/mail"

run: free-port install
	@$(RUN_ENV) $(BIN)/python manage.py migrate --noinput -v 0
	@$(RUN_ENV) $(BIN)/python manage.py load_demo --metrics
	@# A Celery worker with beat embedded (notifications, maintenance ticks, snapshot
	@# refresh) on the file-system broker, beside daphne; both stop together. (Its advice
	@# not to run as root is for production workers, not a laptop or a fresh VM.)
	@export $(RUN_ENV); \
	PYTHONWARNINGS="ignore:You're running the worker with superuser privileges" \
	$(BIN)/celery -A statuspage -q worker -B --pool=threads --concurrency=4 --loglevel=WARNING & worker=$$!; \
	$(BIN)/python -m daphne -v 0 -b 127.0.0.1 -p $(PORT) statuspage.asgi:application & server=$$!; \
	trap 'kill -TERM $$server $$worker 2>/dev/null' INT TERM; \
	until $(BIN)/python -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' $(PORT) 2>/dev/null; do \
		kill -0 $$server 2>/dev/null || break; sleep 0.2; \
	done; \
	kill -0 $$server 2>/dev/null && $(BIN)/python manage.py ensure_admin; \
	wait $$server; status=$$?; \
	kill -TERM $$worker 2>/dev/null; wait $$worker; exit $$status

# Before anything else, so a second `make run` touches nothing: is the port free?
# (SO_REUSEADDR: a port left in TIME_WAIT by the last run counts as free, as for daphne.)
free-port:
	@python3 -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' $(PORT) 2>/dev/null || { \
		echo "Port $(PORT) on 127.0.0.1 is already in use (another make run?). Stop it, or pick another port: PORT=9000 make run" >&2; \
		exit 1; }

# Replays the 2021-01-29 outage on today's date against the `make run` instance (run it in a
# second terminal and watch the page); MINUTES=… sets its length (default 2).
demo: install
	@$(RUN_ENV) $(BIN)/python manage.py migrate --noinput -v 0
	@$(RUN_ENV) $(BIN)/python manage.py load_demo --replay $(if $(MINUTES),--minutes $(MINUTES))

# A write token for the API, for the `make run` admin.
token: install
	@$(BIN)/python manage.py create_api_token admin --write

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

check: install
	DEBUG=1 SECRET_KEY=check-only $(BIN)/python manage.py check
	DEBUG=1 SECRET_KEY=check-only $(BIN)/python manage.py makemigrations --check --dry-run
	@# Production settings (DEBUG off, TLS at a proxy): not one warning of Django's deploy checks.
	DEBUG=0 SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=status.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

test-packages:
	@tests/debian-packages $(TEST_PACKAGES)

# Lighthouse (the accessibility audit of tests/web/test_page_truth.py), pinned, in the
# checkout's own .tools/ (never global). 12.x: 13 needs Node 22; Debian's nodejs is 18.
LIGHTHOUSE := .tools/node_modules/.bin/lighthouse
$(LIGHTHOUSE):
	@command -v npm >/dev/null || tests/debian-packages nodejs npm
	npm install --silent --no-audit --no-fund --prefix .tools lighthouse@12.2.3

# A run that hangs is stopped after RUN_LIMIT seconds (SIGINT: pytest still stops the
# servers it started and says where it was) instead of holding up CI for hours.
RUN_LIMIT ?= 2400
LIMITED = timeout --signal=INT --kill-after=120 $(RUN_LIMIT)

test: test-packages $(LIGHTHOUSE) lint check
	LIGHTHOUSE=$(CURDIR)/$(LIGHTHOUSE) SECRET_KEY=test-only $(LIMITED) $(BIN)/pytest -n 2 --dist loadgroup -q -m "not outage"

# The outage hour (tests/faults/test_outage_hour.py): every fault of issue #11 done for real
# to the production stack, writing bench/results/faults.md; and the connection budget under
# load (tests/faults/test_connection_budget.py). About 7 minutes.
faults: test-packages install
	SECRET_KEY=test-only $(LIMITED) $(BIN)/pytest -n 1 -q -m outage tests/faults/
	@cat bench/results/faults.md

# Benchmarks (bench/): each prints a Markdown table and writes it to bench/results/.
bench-http: install
	@tests/debian-packages nginx wrk redis-server
	$(BIN)/python bench/http.py

bench-broadcast: install
	$(BIN)/python bench/broadcast.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
