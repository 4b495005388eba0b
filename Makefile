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
# libatomic1, which chromium does not pull in), nginx for the production stack, and the
# servers the suite starts its own instances of (PostgreSQL, Redis, RabbitMQ).
TEST_PACKAGES := chromium libatomic1 nginx libnginx-mod-http-brotli-static postgresql redis-server rabbitmq-server

.PHONY: run free-port demo token test faults test-packages lint check install clean bench-http bench-broadcast

# Debian's Python needs its venv module as a package of its own.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV) || \
	  { tests/debian-packages python3-venv && python3 -m venv $(VENV); }

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# `make run` is for a person at a terminal: only what they must read is printed (the login
# last, once the server answers); routine logs stay at WARNING and mail goes to files.
RUN_ENV := DEBUG=1 LOG_LEVEL=WARNING EMAIL_FILE_PATH="$${VAR_DIR:-var}/mail"

run: free-port install
	@$(RUN_ENV) $(BIN)/python manage.py migrate --noinput -v 0
	@$(RUN_ENV) $(BIN)/python manage.py load_demo
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

# A run that hangs is stopped after RUN_LIMIT seconds (SIGINT: pytest still stops the
# servers it started and says where it was) instead of holding up CI for hours.
RUN_LIMIT ?= 2400
LIMITED = timeout --signal=INT --kill-after=120 $(RUN_LIMIT)

test: test-packages lint check
	SECRET_KEY=test-only $(LIMITED) $(BIN)/pytest -n 2 --dist loadgroup -q -m "not outage"

# The outage hour (tests/faults/test_outage_hour.py): every fault of issue #11 done for real
# to the production stack; writes bench/results/faults.md. About 6 minutes.
faults: test-packages install
	SECRET_KEY=test-only $(LIMITED) $(BIN)/pytest -n 1 -q -m outage tests/faults/test_outage_hour.py
	@cat bench/results/faults.md

# Benchmarks (bench/): each prints a Markdown table and writes it to bench/results/.
bench-http: install
	@tests/debian-packages nginx wrk redis-server
	$(BIN)/python bench/http.py

bench-broadcast: install
	$(BIN)/python bench/broadcast.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
