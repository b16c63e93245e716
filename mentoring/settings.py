"""Settings, read from the environment (and an optional .env file) with django-environ.

With nothing set, the app runs on its embedded default: SQLite in the project folder,
Celery tasks run in-process, emails printed to the console, DEBUG on.
With DEBUG off it refuses to start without SECRET_KEY and ALLOWED_HOSTS.
"""

from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-do-not-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS") if not env.str(name, default="")]
    if missing:
        raise ImproperlyConfigured(
            f"DEBUG is off, so {' and '.join(missing)} must be set in the environment."
        )
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "mentoring.apps.MentoringAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "formtools",
    "simple_history",
    "axes",
    "sessions_app",
    "invoicing",
    "notifications",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mentoring.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the audit trail records request.user as who made each change.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mentoring.urls"
WSGI_APPLICATION = "mentoring.wsgi.application"

# Two engines (README, Architecture, "Templates"): Jinja2 renders the project's own templates in jinja2/ (every
# browser page, email and PDF); Django's engine renders the admin and its customisations in templates/admin/.
# A name is looked up in that order, so an admin template is never shadowed unless jinja2/ holds the same path.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "mentoring.jinja2.environment",
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "sessions_app.context_processors.roles",
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sessions_app.context_processors.roles",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # The covering indexes' INCLUDE columns are for PostgreSQL; SQLite builds the same indexes without them.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # No JIT compilation: PostgreSQL compiles a query to machine code when its estimated cost passes jit_above_cost,
    # which pays only for long analytical scans. Our pages' queries read a few rows from indexes, but some are
    # estimated dear (Senior Leadership's funding to renew: 0 rows read, 170 ms compiling, at 1,000,000 sessions).
    # README, Benchmarks, "Real traffic".
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "sessions_app.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    # django-axes' AxesStandaloneBackend first: a locked-out address is refused before its password is checked.
    "mentoring.middleware.AxesLockoutBackend",
    # Django's ModelBackend, loading the user's permissions (roles) in the user's own query on every request.
    "sessions_app.backends.UserWithPermissionsBackend",
]

# Argon2 (argon2-cffi), as Django's documentation recommends: it costs a log-in about what PBKDF2 does, and is
# memory-hard, so far dearer to guess with graphics cards (README: "Password hashing"). A PBKDF2 hash made before is
# still accepted, and replaced by an Argon2 one at that user's next log-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
FORMAT_MODULE_PATH = ["mentoring.formats"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
if EMAIL_FILE_PATH:  # each email written to a file in this folder (tests, and trying things out)
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
FINANCE_EMAIL = env.str("FINANCE_EMAIL", default="")
OUTBOX_SWEEP_GRACE_SECONDS = env.int("OUTBOX_SWEEP_GRACE_SECONDS", default=120)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mentoring <no-reply@mentoring.example>")
# Where replies to our emails go (they say "reply to this email" and come from a no-reply address): the accounts
# email in the organisation's details, if Finance has set one, otherwise this.
REPLY_TO_EMAIL = env.str("REPLY_TO_EMAIL", default="")
# The domain of every email's Message-ID: the site's, not the host name of the machine that sends it.
EMAIL_DOMAIN = env.str("EMAIL_DOMAIN", default="") or (
    parseaddr(DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "mentoring.example"
)

# Celery: Redis when REDIS_URL is set, otherwise tasks run in-process.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# max_retries 0: with the broker down, handing an email to a worker fails at once (the sweeper sends it later)
# instead of keeping the user waiting while the connection is retried.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 5, "max_retries": 0}

# Sessions: in the database. With Redis, also read from it (Django's cached_db): a logged-in page loads its session
# without a query, and log-ins survive Redis being restarted or emptied; with Redis unreachable, the database alone
# (mentoring/sessions.py). README: "What a logged-in request costs".
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "sessions": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sessions",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    SESSION_ENGINE = "mentoring.sessions"
    SESSION_CACHE_ALIAS = "sessions"

# Domain settings
LATE_NOTICE_HOURS = env.int("LATE_NOTICE_HOURS", default=24)
# After Cancel Session, the mentee's attendance email waits this long in the outbox: if the mentor books the
# replacement meanwhile, it becomes one email saying "cancelled and rebooked"; if not, the sweeper sends it as it is.
# 0 sends it at once. The embedded default has no beat (no sweeper), so there it is 0 unless set.
REBOOKING_HOLD_MINUTES = env.int("REBOOKING_HOLD_MINUTES", default=0 if CELERY_TASK_ALWAYS_EAGER else 10)

# The accounting imports (Xero, QuickBooks Online): the sales account and the product/service invoices are coded to.
ACCOUNTING_SALES_ACCOUNT_CODE = env.str("ACCOUNTING_SALES_ACCOUNT_CODE", default="200")
ACCOUNTING_ITEM_NAME = env.str("ACCOUNTING_ITEM_NAME", default="Mentoring session")

# A funding arrangement with fewer authorised hours left than this (after what is used and booked) is "nearly used
# up": Finance's list filter and the weekly email of arrangements to renew.
AUTHORISED_HOURS_WARNING = env.float("AUTHORISED_HOURS_WARNING", default=5.0)
# How long a mentee's sign-off link works, in days from the email (a reminder brings a fresh link).
SIGN_OFF_LINK_DAYS = env.int("SIGN_OFF_LINK_DAYS", default=30)
CALENDAR_FEED_DAYS_BACK = env.int("CALENDAR_FEED_DAYS_BACK", default=90)
CALENDAR_FEED_DAYS_AHEAD = env.int("CALENDAR_FEED_DAYS_AHEAD", default=365)

# Personal data (README: "Personal data"): how long each kind is kept before the `apply-retention` job anonymises it.
# Session notes, Admin Details, internal cancellation notes and Finance tickets' text: years after the mentee's last
# session. Invoices, credit notes, payment statements and their lines: years after the end of the UK financial
# year (5 April) they fall in (HMRC asks for six). Outbox emails' bodies: days after they were written.
RETENTION_NOTES_YEARS = env.int("RETENTION_NOTES_YEARS", default=2)
RETENTION_DOCUMENTS_YEARS = env.int("RETENTION_DOCUMENTS_YEARS", default=6)
RETENTION_OUTBOX_BODY_DAYS = env.int("RETENTION_OUTBOX_BODY_DAYS", default=90)
# Earlier versions of a mentor's bank details (replaced accounts; who saw them in full): years after each was recorded.
RETENTION_BANK_DETAILS_YEARS = env.int("RETENTION_BANK_DETAILS_YEARS", default=2)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=500)

# ---- Security (README: "Who may do what"). `python manage.py check --deploy` passes with DEBUG off.

# A log-in lasts 8 hours (from the last change to the session) and ends when the browser is closed.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy on every response (mentoring.middleware.ContentSecurityPolicyMiddleware): our pages use
# no inline script or style. The Django admin (and our admin templates) use a few inline styles, allowed there only.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
CONTENT_SECURITY_POLICY_BY_PATH = {"/admin/": {"style-src": ["'self'", "'unsafe-inline'"]}}

# django-axes: after AXES_FAILURE_LIMIT failed log-ins with one email address from one IP address, that pair is
# locked out for an hour (each further try restarts the hour). Senior Leadership and Finance unlock it on the
# "Locked-out accounts" page; a superuser also in the admin ("Access attempts") or with `axes_reset_username`.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(hours=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "mentoring.middleware.axes_username"
AXES_LOCKOUT_CALLABLE = "mentoring.middleware.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Plain HTTP is redirected to HTTPS, except the health check (load balancers and containers probe it over
    # HTTP). Off by default only where the cookies are not secure either (SECURE_COOKIES=0: production over HTTP).
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SESSION_COOKIE_SECURE)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
