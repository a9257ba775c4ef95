"""Settings shared by every environment. Everything that differs between machines comes from the
environment (django-environ); see the configuration table in the README."""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# Runtime data (SQLite file, Celery filesystem queue, beat schedule). Made in every mode: real mode
# keeps beat's file schedule there when the Redis scheduler is off.
DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env("SECRET_KEY", default="insecure-local-development-key-change-me-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our own static files (no CDN)
    "accounts",
    "wallet",
    "coupons",
    "orders",
    "seckill",
    "parking",
    "config",  # the composition root: its management commands (api_docs)
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "config.middleware.RequestMetricsMiddleware",
    "config.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DomainNotFoundMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "config.context_processors.product",
                "config.context_processors.csp",
            ],
        },
    },
]

# Content-Security-Policy (config/middleware.py), in every mode so the tests and the browser tests
# run the pages under it. Inline <script> blocks carry the request's nonce ({{ csp_nonce }}); inline
# event handlers are not allowed (behaviour lives in static/js). Inline styles stay allowed.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=False)

# The plate rule for customers' vehicles (parking/plates.py): "cn", mainland civil plates only, or
# "any" plate up to 16 characters. Gate cameras always take any plate and flag the unusual ones.
VEHICLE_PLATE_RULE = env.str("VEHICLE_PLATE_RULE", default="cn")

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL=postgres://... selects PostgreSQL with psycopg 3's connection pool. Without it the
# embedded default is SQLite in WAL mode, with IMMEDIATE transactions (a writer takes the lock at
# BEGIN, so two writers never deadlock on a lock upgrade) and a busy timeout, so gunicorn workers
# and Celery processes can share one file.
DATABASE_URL = env("DATABASE_URL", default="")
DB_POOL_MAX = env.int("DB_POOL_MAX", default=10)
# Seconds a request waits for a pooled connection (and for a new one to open) before it gives up:
# while PostgreSQL is down or restarting the API answers 503 service_unavailable after this long
# instead of holding the client (and a gunicorn thread) until the server is back.
DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", default=3.0)
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=3)
if DATABASE_URL:
    _db = env.db_url_config(DATABASE_URL)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db.setdefault("OPTIONS", {})
        _db["OPTIONS"].setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
        if env.bool("DB_POOL", default=True):
            _db["OPTIONS"]["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX, "timeout": DB_POOL_TIMEOUT}
            _db["CONN_MAX_AGE"] = 0
        else:
            _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", default=str(DATA_DIR / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, broker, seckill gate ------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "pm",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# "redis" puts the Lua gate and the asynchronous intake in front of the database; "db" sells
# straight through the database guard. Defaults to redis whenever Redis is configured.
SECKILL_GATE = env("SECKILL_GATE", default="redis" if REDIS_URL else "db")
SECKILL_KEY_PREFIX = env("SECKILL_KEY_PREFIX", default="sk")
# The gate may live on a Redis of its own, or on a Redis Cluster (every key of one voucher shares
# a hash tag, so each script runs on one shard): SECKILL_REDIS_URL names it (any node of a
# cluster); REDIS_URL stays the broker and the cache.
SECKILL_REDIS_URL = env("SECKILL_REDIS_URL", default="")
SECKILL_REDIS_CLUSTER = env.bool("SECKILL_REDIS_CLUSTER", default=False)

# --- Celery ------------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # kombu's filesystem transport: a folder is the queue, so worker, beat and web share it
    # without any server. Results go to files too.
    _q = DATA_DIR / "celery"
    for sub in ("queue", "processed", "results", "control"):
        (_q / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_q / "queue"),
        "data_folder_out": str(_q / "queue"),
        "processed_folder": str(_q / "processed"),
        "control_folder": str(_q / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{_q / 'results'}"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Beat. The embedded default keeps Celery's file scheduler (one beat, one machine). With Redis,
# celery-redbeat keeps the schedule in Redis behind a lock: start a beat on every machine that may
# have to run one; one holds the lock and sends, the others wait, and when the holder dies (its
# lock not renewed for BEAT_LOCK_TIMEOUT seconds) one of them takes over from the last run times
# stored in Redis, so each periodic task still runs once per period.
BEAT_LOCK_TIMEOUT = env.int("BEAT_LOCK_TIMEOUT", default=30)
if REDIS_URL and env.bool("BEAT_REDIS_SCHEDULER", default=True):
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = env("REDBEAT_REDIS_URL", default=REDIS_URL)
    CELERY_REDBEAT_REDIS_OPTIONS = {"retry_period": BEAT_LOCK_TIMEOUT}
    CELERY_REDBEAT_KEY_PREFIX = env("REDBEAT_KEY_PREFIX", default="redbeat:")
    CELERY_REDBEAT_LOCK_TIMEOUT = BEAT_LOCK_TIMEOUT
    # The holder renews the lock at least this often (each beat tick), well inside its timeout.
    CELERY_BEAT_MAX_LOOP_INTERVAL = max(1, BEAT_LOCK_TIMEOUT // 5)

# --- Auth, i18n, static -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A refused CSRF check answers the product's own 403 page (both languages), not Django's.
CSRF_FAILURE_VIEW = "config.handlers.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True
CURRENCY = env("CURRENCY", default="CNY")
CURRENCY_SYMBOL = env("CURRENCY_SYMBOL", default="¥")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="noreply@parkmarket.local")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Who is mailed when the money reconciliation finds a mismatch (and Django's own error mails).
ADMINS = [("ParkMarket operations", address) for address in env.list("ADMINS", default=[])]

# --- DRF ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": None,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env("THROTTLE_AUTH", default="20/min"),
        "purchase": env("THROTTLE_PURCHASE", default="30/min"),
        "money": env("THROTTLE_MONEY", default="60/min"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ParkMarket API",
    "DESCRIPTION": "Parking coupons, flash sales, wallet and parking fees.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Every operation lists its errors; strict integers keep their bounds (config/schema.py).
    "ENUM_NAME_OVERRIDES": {
        # One name for the benefit types wherever they appear (vouchers, partnerships, merchants).
        "BenefitTypeEnum": "coupons.models.Voucher.BenefitType",
        "VoucherKindEnum": "coupons.models.Voucher.Kind",
        "VoucherStatusEnum": "coupons.models.Voucher.Status",
        "SaleStatusEnum": "coupons.api.SALE_STATUSES",
        "SessionStatusEnum": "parking.models.ParkingSession.Status",
        "PaymentStatusEnum": "parking.models.ParkingPayment.Status",
        "PlateKindEnum": "parking.plates.PlateKind",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# The public payment-provider webhook shares this secret with the provider (HMAC-SHA256).
PAYMENT_WEBHOOK_SECRET = env("PAYMENT_WEBHOOK_SECRET", default="sandbox-webhook-secret")
# Payment providers accepted for top-ups and webhooks (wallet/payments.py).
PAYMENT_PROVIDERS = env.list("PAYMENT_PROVIDERS", default=["sandbox", "sandbox_async"])

# --- Operating it: logs, metrics --------------------------------------------------------------------
# "json": one JSON object a line (production's default), "plain" for a terminal. Every line carries
# the request id (config/tracing.py), also in the Celery tasks a request starts.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.tracing.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# Celery logs through the configuration above (JSON, request ids) instead of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`; without a token it is off (404).
# Alternatively METRICS_PORT (and METRICS_ADDR) serve the metrics from gunicorn's master on their own
# address (config/gunicorn.py), out of the public site's reach.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
