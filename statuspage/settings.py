"""Settings, read from the environment (12-factor) with embedded defaults.

With no environment at all the project runs on SQLite, an in-process channel layer, a
local-memory cache and a file-system Celery broker: `make run` needs no server. Production
sets DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, SECRET_KEY and ALLOWED_HOSTS.
"""

import os
import sys
from datetime import timedelta
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
# The test suite's own process runs with DEBUG off on a throwaway key over plain HTTP (the
# servers it starts are told so by their environment: tests/servers.py, tests/stack.py).
TESTING = "pytest" in sys.modules
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
# With DEBUG off the key signs sessions, CSRF tokens and subscribers' links: a short or
# guessable one is refused here, before anything is served (Django's own deploy check
# asks the same: 50 characters or more, 5 or more different ones, not a "django-insecure-").
if not (DEBUG or TESTING) and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")
):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for DEBUG off: use 50 or more random characters, e.g. "
        "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    # Incident content per language: name_zh_hans, body_zh_hant, … columns beside each
    # translated field, read in the active language with English as the fallback
    # (incidents/translation.py). Before the admin, which it extends.
    "modeltranslation",
    # Django's admin on the operators' site: two-factor login and enrolment (statuspage/accounts.py).
    "statuspage.apps.OperatorsAdminConfig",
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
    # Operators' accounts: one-time codes (TOTP) for every admin login, and login
    # throttling with lockout per username and address (statuspage/accounts.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp_webauthn",
    "axes",
    "csp",
    "incidents",
]

MIDDLEWARE = [
    "statuspage.middleware.RefuseNul",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The reader's language: the URL's prefix on the public pages (/zh-hans/…), the
    # browser's choice in the admin (statuspage/middleware.py).
    "statuspage.middleware.ReaderLanguage",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Locked-out logins get the lockout answer (429) before any view runs.
    "axes.middleware.AxesMiddleware",
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
# Every Redis call gives up after this long: a cache or a push that is late is worse than
# none (each caller has a fallback), and a frozen Redis must not hold a write. A healthy
# Redis on the same network answers in about a millisecond.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.25)

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
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "retry_on_timeout": False,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# After a Redis call times out, this process leaves Redis alone (the cache and the
# live-push publish fall back at once) until the breaker's probe, every this many
# seconds, gets an answer (incidents/publish/breaker.py).
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

# The page's languages: the interface (locale/<code>/LC_MESSAGES/django.po) and the
# incident content (incidents/translation.py) in each. Adding one is a line here and a .po
# file (and `makemigrations` for its content columns). English is the default and the
# fallback: its URLs have no prefix.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# The reader's remembered choice (the language switch sets it).
LANGUAGE_COOKIE_NAME = "page_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
# Services say which language they write; nothing is copied between languages by itself.
MODELTRANSLATION_AUTO_POPULATE = False
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
# Community channels (incidents/notify/chat.py, through Apprise). The services' API bases:
# a self-hosted Telegram Bot API server (https://github.com/tdlib/telegram-bot-api), or a
# forwarding proxy in front of Discord's or Slack's webhooks; empty: the service's own.
# Mattermost, ntfy and other self-hosted services take their host in the channel's URL.
CHAT_TELEGRAM_API_URL = env.str("CHAT_TELEGRAM_API_URL", default="")
CHAT_DISCORD_API_URL = env.str("CHAT_DISCORD_API_URL", default="")
CHAT_SLACK_API_URL = env.str("CHAT_SLACK_API_URL", default="")
# Slack's Web API for bot tokens (slack://xoxb-…/#channel: threads), e.g. through a proxy.
CHAT_SLACK_BOT_API_URL = env.str("CHAT_SLACK_BOT_API_URL", default="")
CHAT_TIMEOUT = env.float("CHAT_TIMEOUT", default=15)
# Seconds between two messages to one channel, by Apprise service ("*": any other).
# Telegram takes about 20 messages a minute in a group or channel; Discord's and Slack's
# webhooks about one a second.
# CHAT_MIN_INTERVAL="tgram=3,discord=1,*=1" overrides any of them.
CHAT_MIN_INTERVAL = {
    "tgram": 3.0,
    "*": 1.0,
    **{
        service.strip(): float(seconds)
        for service, _, seconds in (item.partition("=") for item in env.list("CHAT_MIN_INTERVAL", default=[]))
    },
}
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
# The queue this deployment's tasks go through: deployments sharing a broker (a staging
# beside production on one RabbitMQ vhost) each take only their own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
# A delivery running when the broker connection drops finishes and records its outcome;
# the redelivered message then finds nothing left to do (Celery 6 will default to True).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# After a reconnect Celery lowers the prefetch and raises it again from each finished
# task's callback. In a threads pool that callback runs on a pool thread and sends
# basic.qos on the consumer's own connection while the consumer reads it: the pool thread
# can wait for its answer forever and the worker stops consuming (seen in the broker-outage
# test). With a prefetch of 1 per process the reduction saves little; keep it off.
CELERY_WORKER_ENABLE_PREFETCH_COUNT_REDUCTION = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Public metrics (incidents/services/metrics.py): the Prometheus that answers the queries
# operators publish, how often each is sampled, and how long one query may take.
PROMETHEUS_URL = env.str("PROMETHEUS_URL", default="")
METRICS_SAMPLE_SECONDS = env.int("METRICS_SAMPLE_SECONDS", default=60)
METRICS_TIMEOUT = env.float("METRICS_TIMEOUT", default=3.0)
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
    "sample-metrics": {
        "task": "incidents.sample_metrics",
        "schedule": float(METRICS_SAMPLE_SECONDS),
        "options": {"expires": METRICS_SAMPLE_SECONDS * 0.9},
    },
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
        "IncidentOpenStatusEnum": "incidents.rules.INCIDENT_OPEN",
        "MaintenanceStatusEnum": "incidents.api.schema.WIRE_MAINTENANCE_STATUSES",
        "MaintenancePhaseEnum": "incidents.rules.MAINTENANCE_STATUSES",
        "UpdateStatusEnum": "incidents.api.schema.UPDATE_STATUSES",
        "PhaseEnum": "incidents.api.schema.PHASES",
        "TradingModeEnum": "incidents.rules.TRADING_MODES",
        "FundingStatusEnum": "incidents.rules.FUNDING_STATUSES",
        "ImpactEnum": "incidents.api.schema.IMPACTS",
        "OkxServiceTypeEnum": "incidents.models.OkxServiceType",
    },
}

# --- HTTPS ----------------------------------------------------------------------------
# TLS says where HTTPS ends:
#   proxy  (the default with DEBUG off) a TLS proxy or load balancer in front sends plain
#          HTTP with `X-Forwarded-Proto: https` (deploy/run's nginx passes it on);
#   direct the app processes themselves are reached over HTTPS;
#   off    plain HTTP, no redirect and no HSTS: `make run`, the test servers on loopback,
#          or a private network (`manage.py check --deploy` then warns, rightly).
# With TLS on, plain HTTP is redirected to HTTPS, HSTS is sent and cookies are Secure.
TLS = env.str("TLS", default="off" if DEBUG or TESTING else "proxy")
if TLS not in ("proxy", "direct", "off"):
    raise ImproperlyConfigured(f"TLS must be proxy, direct or off, not {TLS!r}.")
if TLS != "off":
    if TLS == "proxy":
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # One year, subdomains and preload (what `check --deploy` asks); HSTS_SECONDS=300
    # while trying HTTPS out, HSTS_INCLUDE_SUBDOMAINS=0 if other hosts of the domain are HTTP.
    SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=True)

# --- Operators' accounts -----------------------------------------------------------------
# An admin session lasts a working shift at most, and ends when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Every admin login needs a one-time code from the operator's authenticator app; one who
# has none yet is sent to enrol one first (/admin/two-factor/). Off for `make run`'s DEBUG
# demo, so the printed login works as it is; an operator who enrolled needs the code anyway.
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=not (DEBUG or TESTING))
OTP_TOTP_ISSUER = env.str("PAGE_NAME", default="OKX Status") + " admin"
# Passkeys (django-otp-webauthn) as the second factor, beside the code: after the password,
# the browser's passkey prompt (a security key, Touch ID, Windows Hello, a phone). Never
# instead of the password (the lockout stays the one door). A passkey is bound to one
# domain: PASSKEY_RP_ID is the admin's host name (no scheme, no port) and PASSKEY_ORIGINS
# the admin's origins as browsers send them (https://…; http:// only for localhost). Both
# default to PAGE_URL's, with `localhost` for an address (browsers bind no passkey to an
# IP: `make run`'s admin takes passkeys at http://localhost:8000/admin/).
_page = urlsplit(STATUS_PAGE["URL"] or "http://localhost:8000")


def _passkey_host(host: str | None) -> str:
    try:
        ip_address(host or "")
    except ValueError:
        return host or "localhost"
    return "localhost"


_passkey_host = _passkey_host(_page.hostname)
OTP_WEBAUTHN_RP_ID = env.str("PASSKEY_RP_ID", default=_passkey_host)
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "PASSKEY_ORIGINS", default=[f"{_page.scheme}://{_passkey_host}" + (f":{_page.port}" if _page.port else "")]
)
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures a username is locked
# out from that address only (an attacker elsewhere cannot lock the on-call out), for
# LOGIN_COOLOFF_MINUTES or until `manage.py axes_reset_username <name>`. Every login,
# failure and lockout is in the admin (Axes: access attempts, logs, failures).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# The client's address as the ASGI server saw it: behind nginx that is the forwarded one
# (uvicorn --proxy-headers trusts X-Forwarded-For from loopback only); a client's own
# X-Forwarded-For is never read.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# --- Content-Security-Policy -------------------------------------------------------------
# Nothing inline, nothing from elsewhere: every script and style is a file of this site.
# deploy/nginx.conf.template sends the same header with the files it serves itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

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
