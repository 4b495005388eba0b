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
TEST_PACKAGES := chromium libatomic1 nginx postgresql redis-server rabbitmq-server

.PHONY: run test test-packages lint check install clean bench-http bench-broadcast

# Debian's Python needs its venv module as a package of its own.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV) || \
	  { tests/debian-packages python3-venv && python3 -m venv $(VENV); }

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_demo
	DEBUG=1 $(BIN)/python manage.py ensure_admin
	@# A Celery worker with beat embedded (notifications, maintenance ticks, snapshot
	@# refresh) on the file-system broker, beside daphne; it stops when daphne stops.
	DEBUG=1 $(BIN)/celery -A statuspage worker -B --pool=threads --concurrency=4 --loglevel=INFO & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null' INT TERM; \
	DEBUG=1 $(BIN)/python -m daphne -b 127.0.0.1 -p $(PORT) statuspage.asgi:application; status=$$?; \
	kill -TERM $$worker 2>/dev/null; wait $$worker; exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: install
	SECRET_KEY=check-only $(BIN)/python manage.py check
	SECRET_KEY=check-only $(BIN)/python manage.py makemigrations --check --dry-run

test-packages:
	@tests/debian-packages $(TEST_PACKAGES)

test: test-packages lint check
	SECRET_KEY=test-only DATABASE_CONN_MAX_AGE=0 $(BIN)/pytest -n 2 -q

# Benchmarks (bench/): each prints a Markdown table and writes it to bench/results/.
bench-http: install
	@tests/debian-packages nginx wrk redis-server
	$(BIN)/python bench/http.py

bench-broadcast: install
	$(BIN)/python bench/broadcast.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
