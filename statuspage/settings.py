"""Settings, read from the environment (12-factor) with embedded defaults.

With no environment at all the project runs on SQLite, an in-process channel layer, a
local-memory cache and a file-system Celery broker: `make run` needs no server. Production
sets DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, SECRET_KEY and ALLOWED_HOSTS.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    # Development only: a key kept in var/, never committed. `make run` (DEBUG) makes it;
    # the README's commands run beside it on the embedded defaults with DEBUG off and use
    # the same key. With a real database named this is production: no fallback.
    key_file = VAR_DIR / "secret-key"
    embedded = not env.str("DATABASE_URL", default="")
    if not (DEBUG or (embedded and key_file.exists())):
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(get_random_secret_key())
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "incidents",
]

MIDDLEWARE = [
    "statuspage.middleware.RefuseNul",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, so it sees the views' database errors first: 503 + Retry-After, never 500.
    "statuspage.middleware.DatabaseUnavailable",
]

ROOT_URLCONF = "statuspage.urls"
ASGI_APPLICATION = "statuspage.asgi.application"
WSGI_APPLICATION = "statuspage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "incidents.web.views.page_context",
            ],
        },
    },
]

# Database: SQLite by default; DATABASE_URL=postgres://… in production (psycopg 3).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # Writers take the lock at BEGIN, so the sequence counter is never read by two.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file too: in-memory shared cache ignores the busy timeout.
    # (one file per test run, so two runs side by side never share it).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
else:
    # No connection outlives its request (CONN_MAX_AGE=0): under ASGI each request runs in
    # a thread of its own, and kept connections piled up until PostgreSQL refused new ones
    # (issue 11). A statement waits at most DATABASE_LOCK_TIMEOUT_MS for a lock and runs
    # at most DATABASE_STATEMENT_TIMEOUT_MS, so nothing queues behind a lock (the request
    # gets a 503, statuspage.middleware); a hung database does not hang a request either.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=5),
            "options": (
                f"-c lock_timeout={env.int('DATABASE_LOCK_TIMEOUT_MS', default=2000)}"
                f" -c statement_timeout={env.int('DATABASE_STATEMENT_TIMEOUT_MS', default=10000)}"
            ),
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django requests one web process runs at once (each on a thread and a connection of its
# own); the others wait, and after WEB_DB_QUEUE_SECONDS get a 503. With the sockets' one
# shared connection, a web process holds at most WEB_DB_CONCURRENCY + 1 (statuspage/budget.py).
WEB_DB_CONCURRENCY = env.int("WEB_DB_CONCURRENCY", default=8)
WEB_DB_QUEUE_SECONDS = env.float("WEB_DB_QUEUE_SECONDS", default=10.0)

REDIS_URL = env.str("REDIS_URL", default="")

# Cache: Redis when configured, with short timeouts so that a frozen Redis cannot hang a
# request; in-process otherwise.
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache behind the process's Redis breaker (statuspage/cache.py).
            "BACKEND": "statuspage.cache.BreakerRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="statuspage"),
            "OPTIONS": {
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "retry_on_timeout": False,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# After a Redis call times out, this process leaves Redis alone this long (the cache and
# the live-push publish fall back at once meanwhile: incidents/publish/breaker.py).
REDIS_BREAKER_SECONDS = env.float("REDIS_BREAKER_SECONDS", default=5.0)
# Sockets are fed by each process's hub (incidents/publish/hub.py), which hears of changes
# made in other processes on Redis pub/sub (LIVE_REDIS_URL): no Channels layer is used.
LIVE_REDIS_URL = env.str("LIVE_REDIS_URL", default=REDIS_URL)

# Sockets one process accepts at once from one client address (behind nginx, the address
# it forwards: uvicorn's --proxy-headers trusts X-Forwarded-For from loopback only). Many
# users share an address behind NAT; nginx spreads one address's sockets over every web
# process, so a machine takes about WEB_CONCURRENCY times this many.
LIVE_MAX_SOCKETS_PER_IP = env.int("LIVE_MAX_SOCKETS_PER_IP", default=200)
# Live push: how often each process's hub checks for changes it was not told about, and
# how long an OKX socket may stay silent before it is closed (OKX: 30 s).
LIVE_POLL_SECONDS = env.float("LIVE_POLL_SECONDS", default=2.0)
OKX_WS_IDLE_SECONDS = env.float("OKX_WS_IDLE_SECONDS", default=30.0)
# A process serving sockets runs Python's full garbage collections itself, this often,
# between fan-outs (incidents/publish/upkeep.py explains why).
LIVE_GC_FULL_SECONDS = env.float("LIVE_GC_FULL_SECONDS", default=60.0)

# Sessions live in the database: operators can log in while Redis is down.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
# Storage is UTC (USE_TZ); this is the zone the page and the admin show times in.
TIME_ZONE = env.str("PAGE_TIME_ZONE", default="Asia/Hong_Kong")

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Every public read as a file, kept current by this node's processes (incidents.publish
# .site); nginx serves it by itself (deploy/nginx.conf.template).
PUBLISH_DIR = Path(env.str("PUBLISH_DIR", default=str(VAR_DIR / "public")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "statuspage.staticfiles.CompressedStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Serve straight from the source folders unless collectstatic ran (production).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
# Files browsers ask for at the root (/favicon.ico), answered by WhiteNoise before any
# view, session or database.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# Email: console in development, SMTP in production (EMAIL_URL=smtp+tls://user:pass@host:587).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# `make run` keeps mail out of the terminal: each message becomes a file in this folder
# (EMAIL_URL has no scheme for that). A mail server named in EMAIL_URL wins.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
if EMAIL_FILE_PATH and not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="status@example.com")
# A hung mail server must not hold a worker for long; the delivery is retried.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)

# Notifications (incidents/notify/). Seconds to wait after each failed try of a
# delivery, about three days in all (Standard Webhooks' schedule); jitter is added.
NOTIFICATION_RETRY_SCHEDULE = env.list(
    "NOTIFICATION_RETRY_SCHEDULE", cast=float, default=[5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
)
# Webhooks: loopback receivers are refused in production; `make run` (DEBUG) and tests allow them.
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=DEBUG)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=5)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=15)
# Failed webhook attempts in a row before the subscriber is quarantined and its owner told.
WEBHOOK_QUARANTINE_AFTER = env.int("WEBHOOK_QUARANTINE_AFTER", default=10)
# How long an email confirmation link works.
SUBSCRIPTION_CONFIRM_MAX_AGE = env.int("SUBSCRIPTION_CONFIRM_MAX_AGE", default=7 * 24 * 3600)

# The public page this deployment serves.
STATUS_PAGE = {
    "ID": env.str("PAGE_ID", default="okxstatus001"),
    "NAME": env.str("PAGE_NAME", default="OKX Status"),
    "URL": env.str("PAGE_URL", default="http://127.0.0.1:8000"),
    "TIME_ZONE": TIME_ZONE,
    "TIME_ZONE_LABEL": env.str("PAGE_TIME_ZONE_LABEL", default="HKT"),
    # OKX `env`: 1 production trading, 2 demo trading.
    "OKX_ENV": env.str("OKX_ENV", default="1"),
}

# Celery: a file-system broker by default so `make run` needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # kombu's file-system transport, with each message renamed into place whole.
    CELERY_BROKER_TRANSPORT = "statuspage.broker:Transport"
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        # Broadcast (worker control) files, else kombu writes them into the working directory.
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_ACKS_LATE = True
# A delivery running when the broker connection drops finishes and records its outcome;
# the redelivered message then finds nothing left to do (Celery 6 will default to True).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat only asks; the work is idempotent, so a late or doubled tick does no harm, and a
# tick not picked up before the next one is dropped (`expires`) rather than piled up.
CELERY_BEAT_SCHEDULE = {
    "dispatch-notifications": {
        "task": "incidents.dispatch_notifications",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "maintenance-tick": {"task": "incidents.maintenance_tick", "schedule": 30.0, "options": {"expires": 25}},
    "refresh-snapshot": {"task": "incidents.refresh_snapshot", "schedule": 60.0, "options": {"expires": 55}},
}

# The largest request body the v1 API reads (a postmortem of a few hundred KB fits).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_000_000)
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bounded in size and nesting before it is parsed (incidents/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["incidents.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "incidents.api.views.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "api-write": env.str("API_WRITE_RATE", default="60/min"),
        "api-read": env.str("API_READ_RATE", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Status page API",
    "DESCRIPTION": (
        "Public reads in Atlassian Statuspage's v2 format (`/api/v2/`) and OKX's v5 system status "
        "(`/api/v5/system/status`), and the authenticated v1 API for ops automation "
        "(`Authorization: Bearer <token>`; make a token with `manage.py create_api_token`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per value set that several fields share (else drf-spectacular guesses and warns).
    "ENUM_NAME_OVERRIDES": {
        "ComponentStatusEnum": "incidents.rules.COMPONENT_STATUSES",
        "IncidentStatusEnum": "incidents.rules.INCIDENT_STATUSES",
        "MaintenanceStatusEnum": "incidents.rules.MAINTENANCE_STATUSES",
        "UpdateStatusEnum": "incidents.api.schema.UPDATE_STATUSES",
        "ImpactEnum": "incidents.api.schema.IMPACTS",
        "OkxServiceTypeEnum": "incidents.models.OkxServiceType",
    },
}

if env.bool("SECURE_COOKIES", default=False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The file-system broker has no host; kombu warns of that at every connection.
        **({"kombu.connection": {"level": "ERROR"}} if CELERY_BROKER_URL == "filesystem://" else {}),
    },
}
