"""Securebase settings: one file, read from the environment.

With nothing set, the service runs on its embedded default: SQLite, a filesystem Celery broker that
a separate worker process can share, and a local-memory cache. `DATABASE_URL` switches to
PostgreSQL, `REDIS_URL` to Redis as broker and cache, and `DJANGO_ENV=production` turns on the
production hardening (and refuses to start without a real `SECRET_KEY`).
"""

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.getenv(name, default).lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DJANGO_ENV = os.getenv("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"
DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production-0123456789"

SECRET_KEY = os.getenv("SECRET_KEY", DEV_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    # A guessable key would let anyone forge sessions and password-reset links.
    raise ImproperlyConfigured("DJANGO_ENV=production needs a SECRET_KEY of at least 50 characters.")

DEBUG = envbool("DEBUG", "false" if PRODUCTION else "true")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
# How many reverse proxies in front of gunicorn append to X-Forwarded-For. 0 (the default): the
# header is ignored and the client is REMOTE_ADDR, so a client cannot forge its IP to dodge the
# per-IP throttles. With N proxies the N-th address from the right is the client (DRF NUM_PROXIES).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "0")
# The Django admin is off in production unless ADMIN_ENABLED=true; its login uses the API's lockout.
ADMIN_ENABLED = envbool("ADMIN_ENABLED", "false" if PRODUCTION else "true")
# /metrics: open outside production; in production only with `Authorization: Bearer <METRICS_TOKEN>`
# (unset: 404), or keep it on an internal bind.
METRICS_TOKEN = os.getenv("METRICS_TOKEN", "")
DATABASE_RETRY_AFTER_SECONDS = envint("DATABASE_RETRY_AFTER_SECONDS", "5")
DASHBOARD_CSP = os.getenv(
    "DASHBOARD_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
)
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

VAR_DIR = Path(os.getenv("VAR_DIR", BASE_DIR / "var"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "tracker",
    "notifications",
]

MIDDLEWARE = [
    "config.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.ApiConventionsMiddleware",
    "config.middleware.BodySizeLimitMiddleware",
    "config.middleware.ResilienceMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): this session passed a second factor (dashboard gate, OTPAdminSite).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
if os.getenv("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # Web, worker and beat share one file: wait for the lock instead of failing, and
                # take the write lock at BEGIN so two writers never deadlock on an upgrade.
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker and cache -----------------------------------------------------------------------------
REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
    # Throttles and the lockout keep working through a Redis outage (tracker/common/cache.py).
    CACHES = {
        "default": {
            "BACKEND": "tracker.common.cache.FallbackRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_TIMEOUT": float(os.getenv("CACHE_SOCKET_TIMEOUT", "0.25")),
                "RETRY_SECONDS": float(os.getenv("CACHE_RETRY_SECONDS", "5")),
            },
        }
    }
else:
    BROKER_DIR = VAR_DIR / "broker"
    # kombu's filesystem transport needs its folders; web, worker and beat all share them.
    for folder in ("queue", "processed"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "false")

# Periodic jobs run by each scheduler tick, in order (dotted paths to `def job(*, now) -> int`).
SCHEDULER_JOBS: list[str] = [
    "tracker.entries.services.regulation.safety_sweep_job",
    "tracker.insights.services.summaries_due_job",  # before the announcement job, which reads its rows
    "notifications.jobs.reminders_job",
    "notifications.jobs.rereminders_job",  # one more nudge for a prompt still open; off unless set
    "notifications.jobs.weekly_summaries_job",
    "notifications.jobs.dispatch_job",  # last: sends what the jobs above queued
    "tracker.common.idempotency.idempotency_purge_job",
    "tracker.accounts.services.tokens_purge_job",  # expired device tokens (authentication skips them)
    "tracker.alerts.services.alerts_evaluate_job",  # after the safety sweep (it reads its flags)
    "tracker.alerts.services.alert_emails_job",  # right after: tells therapists of new alerts
]
SCHEDULER_TICK_SECONDS = envint("SCHEDULER_TICK_SECONDS", "60")
# How long a process keeps its instrument catalogue before re-reading it (changes made in the same
# process clear it at once; see tracker.entries.selectors.instruments).
INSTRUMENT_CATALOG_TTL_SECONDS = envint("INSTRUMENT_CATALOG_TTL_SECONDS", "60")

# Scores, trends and weekly summaries (DESIGN §5): the quadrant cut c on the 1-7 scale (one value for
# check-in scores, trends and the dashboard), users per summary
# chunk, and how long after a user's local week ends its summary is computed (0 = at local midnight).
QUADRANT_CUT = float(os.getenv("QUADRANT_CUT", "4"))
WEEKLY_SUMMARY_CHUNK_SIZE = envint("WEEKLY_SUMMARY_CHUNK_SIZE", "1000")
WEEKLY_SUMMARY_DELAY_MINUTES = envint("WEEKLY_SUMMARY_DELAY_MINUTES", "0")

# --- Notifications (reminder nudges, summary announcements, push, email) ---------------------------
# A slot missed by more than this is recorded as skipped, never sent late (and a late one is still
# skipped if quiet hours have begun by the time it could be sent).
REMINDER_GRACE_SECONDS = envint("REMINDER_GRACE_SECONDS", str(15 * 60))
# A sent nudge is a prompt; a check-in within this long after it answers it, a later one is late.
PROMPT_EXPIRY_SECONDS = envint("PROMPT_EXPIRY_SECONDS", str(2 * 60 * 60))
# One re-reminder this long after an unanswered nudge (must be below the expiry); 0 turns it off.
PROMPT_REREMIND_AFTER_SECONDS = envint("PROMPT_REREMIND_AFTER_SECONDS", "0")
REMINDER_BATCH_SIZE = envint("REMINDER_BATCH_SIZE", "500")
REMINDER_MAX_BATCHES_PER_TICK = envint("REMINDER_MAX_BATCHES_PER_TICK", "1000")
# After this many unopened nudges in a row, only every other slot is sent (see notifications.planning).
REMINDER_BACKOFF_AFTER = envint("REMINDER_BACKOFF_AFTER", "3")
SUMMARY_NOTIFY_BATCH_SIZE = envint("SUMMARY_NOTIFY_BATCH_SIZE", "500")
DISPATCH_BATCH_SIZE = envint("DISPATCH_BATCH_SIZE", "50")
DISPATCH_MAX_BATCHES_PER_TICK = envint("DISPATCH_MAX_BATCHES_PER_TICK", "200")
NOTIFICATION_MAX_ATTEMPTS = envint("NOTIFICATION_MAX_ATTEMPTS", "5")
NOTIFICATION_RETRY_BASE_SECONDS = envint("NOTIFICATION_RETRY_BASE_SECONDS", "30")
# A dispatch still `sending` after this long belonged to a worker that died: abandoned, not resent.
NOTIFICATION_SENDING_LEASE_SECONDS = envint("NOTIFICATION_SENDING_LEASE_SECONDS", "900")
# FCM HTTP v1 with a service account; without credentials push is reported as disabled.
FCM_SERVICE_ACCOUNT_FILE = os.getenv("FCM_SERVICE_ACCOUNT_FILE", "")
FCM_SERVICE_ACCOUNT_JSON = os.getenv("FCM_SERVICE_ACCOUNT_JSON", "")
FCM_PROJECT_ID = os.getenv("FCM_PROJECT_ID", "")
FCM_BASE_URL = os.getenv("FCM_BASE_URL", "https://fcm.googleapis.com")
FCM_TOKEN_URI = os.getenv("FCM_TOKEN_URI", "")  # default: the service account's token_uri
FCM_TIMEOUT_SECONDS = float(os.getenv("FCM_TIMEOUT_SECONDS", "10"))
EMAIL_BACKEND = os.getenv(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "10")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "Securebase <no-reply@securebase.invalid>")

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "tracker.User"
KNOX_TOKEN_MODEL = "tracker.DeviceToken"
# knox's own migrations would create its unused default token table (with a foreign key to our
# users) even though the model is swapped; treated as unmigrated, the swapped model gets no table.
MIGRATION_MODULES = {"knox": None}
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=envint("TOKEN_TTL_DAYS", "30")),
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": None,
    "AUTO_REFRESH": False,
}
# Failed logins per email before the account is locked, and for how long.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", "900")
# Second factor (tracker/accounts/second_factor.py): the API login's challenge lives this long;
# wrong codes share the login lockout above, so django-otp's own per-device backoff is off.
MFA_LOGIN_TTL_SECONDS = envint("MFA_LOGIN_TTL_SECONDS", "300")
OTP_TOTP_ISSUER = "Securebase"
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# Clinic invitations (tracker/clinics): the emailed link works once, for this long.
CLINIC_INVITATION_TTL_HOURS = envint("CLINIC_INVITATION_TTL_HOURS", "72")
# The dashboard's public origin, for links in emails (no trailing slash).
DASHBOARD_BASE_URL = os.getenv("DASHBOARD_BASE_URL", "http://127.0.0.1:8000")
LOGIN_URL = "/dashboard/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/dashboard/login/"
# How long an `Idempotency-Key` answer is replayed (DESIGN §4); older records are purged by the tick.
IDEMPOTENCY_TTL_HOURS = envint("IDEMPOTENCY_TTL_HOURS", "24")

# --- Sharing with therapists ---------------------------------------------------------------------
SHARE_INVITE_TTL_HOURS = envint("SHARE_INVITE_TTL_HOURS", "72")
# Wrong invite codes a therapist (and, separately, an IP address) may send per window before every
# accept from them is refused with 429 for the rest of it. 30^10 codes make guessing hopeless at that rate.
SHARE_ACCEPT_FAILURES_PER_THERAPIST = envint("SHARE_ACCEPT_FAILURES_PER_THERAPIST", "5")
SHARE_ACCEPT_FAILURES_PER_IP = envint("SHARE_ACCEPT_FAILURES_PER_IP", "20")
SHARE_ACCEPT_WINDOW_SECONDS = envint("SHARE_ACCEPT_WINDOW_SECONDS", "900")

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tracker.accounts.api.authentication.TokenOrBearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        # 403 mfa_required for therapists/clinic admins without a second factor (views may opt out).
        "tracker.accounts.api.permissions.SecondFactorEnrolled",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["tracker.common.api.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "tracker.common.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "tracker.common.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "tracker.common.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": os.getenv("THROTTLE_AUTH", "20/min"),
        "user": os.getenv("THROTTLE_USER", "600/min"),
        # GET me/export reads every row of the user: a few a day is all anyone needs.
        "data_export": os.getenv("THROTTLE_DATA_EXPORT", "10/hour"),
    },
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    # Per-IP throttles read the client address through this (see TRUSTED_PROXY_COUNT).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_MAX_PAGE_SIZE = 200
# Base of the canonical URLs in FHIR exports (Questionnaire/<code>, CodeSystem/<name>, id/<kind>).
# Canonical URLs are identities, not links: set it once per deployment and keep it.
FHIR_BASE_URL = os.getenv("FHIR_BASE_URL", "https://fhir.securebase.example")
# Requests larger than this are refused with 413 before anything parses them.
MAX_REQUEST_BODY_BYTES = envint("MAX_REQUEST_BODY_BYTES", str(2 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# URLs (path + query string) longer than this are refused with 414; no query of ours comes close.
MAX_REQUEST_URI_BYTES = envint("MAX_REQUEST_URI_BYTES", "4096")

SPECTACULAR_SETTINGS = {
    "TITLE": "Securebase API",
    "DESCRIPTION": "Belief check-ins, regulation logs and trends toward a secure working model.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Optional choice fields are plain nullable enums, not oneOf [XEnum, BlankEnum, NullEnum].
    "ENUM_ADD_EXPLICIT_BLANK_NULL_CHOICE": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tracker.common.api.schema.postprocess",
    ],
    # The trend direction appears in GET trends/ and in the therapist's client list: one enum.
    # A user's role and the side that ended a share (ShareGrant.revoked_by) are the same two values.
    "ENUM_NAME_OVERRIDES": {
        "DirectionEnum": ["improving", "stable", "worsening", "insufficient_data"],
        "RoleEnum": "tracker.accounts.models.User.Role",
        "AlertKindEnum": "tracker.alerts.models.AlertKind",
        "NotificationKindEnum": "notifications.models.deliveries.Delivery.Kind",
        # The sync ops: one enum for a push item's op (every entry type), one for a feed change's.
        "SyncPushOp": ["create", "update", "delete"],
        "SyncChangeOp": ["upsert", "delete"],
        "FhirBundleType": ["collection"],
        "FhirResourceType": ["Bundle"],
        # The entry kinds keep the name they had before the FHIR bundle added another `type` enum.
        "TypeEnum": ["checkin", "regulation_log"],
        # One enum per vocabulary, the same in request bodies, responses and query filters.
        "StrategyEnum": "tracker.entries.vocabularies.STRATEGIES",
        "StrategyFamilyEnum": "tracker.entries.vocabularies.STRATEGY_FAMILIES",
        "TriggerEnum": "tracker.entries.vocabularies.TRIGGERS",
        "TriggerTargetEnum": "tracker.entries.vocabularies.TRIGGER_TARGETS",
        # Two different "channels": where a therapist read shared data, and how a reminder is sent.
        "ScopeEnum": "tracker.sharing.models.ALL_SCOPES",
        "AccessChannelEnum": "tracker.sharing.models.AccessLogEntry.Channel",
        "DeliveryChannelEnum": "notifications.transports.channel_choices",
    },
}

# --- Encryption of free-text notes at rest (Fernet, with rotation) ---------------------------------
# Comma-separated Fernet keys, NEWEST FIRST: new writes use the first, every listed key still
# decrypts. Rotate by prepending a new key, running `manage.py rotate_note_keys`, then dropping the
# old one. The embedded default derives a key from SECRET_KEY; production must set its own.
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS", "")
if not FIELD_ENCRYPTION_KEYS:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs FIELD_ENCRYPTION_KEYS (generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)."
        )
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(b"securebase-note-key:" + SECRET_KEY.encode()).digest()).decode()
    ]
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        _valid = len(base64.urlsafe_b64decode(_key.encode())) == 32
    except ValueError:
        _valid = False
    if not _valid:
        raise ImproperlyConfigured("Each FIELD_ENCRYPTION_KEYS entry must be a Fernet key (32 url-safe base64 bytes).")

# --- Check-ins, regulation logs, sync ---------------------------------------------------------------
# Entries can be edited this long after the server first stored them (deletion is always possible).
ENTRY_EDIT_WINDOW_HOURS = envint("ENTRY_EDIT_WINDOW_HOURS", "24")
# How far ahead of the server clock an `occurred_at` may be (phone clocks drift) before it is refused.
ENTRY_FUTURE_TOLERANCE_MINUTES = envint("ENTRY_FUTURE_TOLERANCE_MINUTES", "10")
SYNC_BATCH_MAX_ITEMS = 500
SYNC_PAGE_MAX = 500
# A regulation log with intensity >= 9 and no recovery recorded this long after it happened is flagged.
SAFETY_NO_RECOVERY_MINUTES = envint("SAFETY_NO_RECOVERY_MINUTES", "120")
# --- Alerts the client agreed to (tracker/alerts; defaults documented in docs/alerts.md) -----------
# "No check-in for N days": N. A weekly rhythm is the slowest the reminders offer, so a full week
# plus a day of slack before the therapist hears of it.
ALERT_NO_CHECKIN_DAYS = envint("ALERT_NO_CHECKIN_DAYS", "8")
# "Distance to secure rising for K weeks": K week-over-week rises in a row (K + 1 weeks with check-ins).
ALERT_DISTANCE_RISING_WEEKS = envint("ALERT_DISTANCE_RISING_WEEKS", "3")
# A safety flag keeps its episode open this long after the latest flagged entry (or until acknowledged).
ALERT_SAFETY_LOOKBACK_DAYS = envint("ALERT_SAFETY_LOOKBACK_DAYS", "7")
# Where the therapist's alert email points (the dashboard's alert list is under it).
PUBLIC_BASE_URL = os.getenv("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
# Crisis resources by locale (JSON, see tracker/data/crisis_resources.json for the shape).
CRISIS_RESOURCES_FILE = Path(
    os.getenv("CRISIS_RESOURCES_FILE", BASE_DIR / "tracker" / "data" / "crisis_resources.json")
)

# --- I18N, time -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the API docs' assets (and the dashboard's) from our own origin: no CDN.
# Outside production it reads them straight from the apps, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

# --- Logging: never health data; request bodies are not logged anywhere. ---------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tracker.common.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "tracker.common.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": os.getenv("LOG_FORMAT", "json" if PRODUCTION else "plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}

# --- Production hardening (python manage.py check --deploy --fail-level WARNING) -------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    if not SECURE_SSL_REDIRECT and envbool("TLS_REDIRECT_AT_PROXY", "false"):
        # The TLS-terminating proxy in front redirects http → https (docs/operations.md); the app
        # itself is reached on plain http only from that proxy and the healthcheck.
        SILENCED_SYSTEM_CHECKS = ["security.W008"]
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
