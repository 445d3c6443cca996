"""Settings of the example shop, read from the environment and ``.env`` (django-environ).

See ``.env.example`` for every variable. With no ``.env`` at all the shop runs on SQLite
against the in-process fake Polar, so it needs no account and no network.
"""

import os
from pathlib import Path

import django
import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    POLAR_SERVER=(str, "fake"),
    POLAR_CLIENT_CALLS=(str, "browser"),
    POLAR_ALLOWED_PRODUCTS=(list, []),
)
# SHOP_ENV_FILE points elsewhere (the tests use an empty one); real variables win anyway.
ENV_FILE = Path(os.environ.get("SHOP_ENV_FILE", BASE_DIR / ".env"))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)

DEBUG = env("DEBUG")
# Only the demo's default; set SECRET_KEY in .env for anything reachable by others.
SECRET_KEY = env("SECRET_KEY", default="example-shop-insecure-key-for-local-demo-only")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    # The shop first, so its templates (e.g. polar_checkouts/base.html) win.
    "shop",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "polar_checkouts",
    # The fake Polar's test-payment selector (its template and script) for the demo.
    "polar_checkouts.testing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "shop.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop_site.urls"
WSGI_APPLICATION = "shop_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The fake Polar posts its webhooks to this site from a background thread while the
    # shopper's own requests write too: SQLite's default (deferred) transactions then fail
    # with "database is locked" instead of waiting. Take the write lock up front and wait.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
    if django.VERSION >= (5, 1):
        DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "purchases"
LOGOUT_REDIRECT_URL = "home"

# -- Polar ------------------------------------------------------------------------------
POLAR_SERVER = env("POLAR_SERVER")
POLAR_ACCESS_TOKEN = env("POLAR_ACCESS_TOKEN", default=None) or (
    # The fake Polar accepts any token but, like Polar, refuses calls without one.
    "polar_oat_example_shop_fake" if POLAR_SERVER == "fake" else None
)
POLAR_ORGANIZATION_ID = env("POLAR_ORGANIZATION_ID", default=None) or None
POLAR_WEBHOOK_SECRET = env("POLAR_WEBHOOK_SECRET", default=None) or (
    # The fake Polar signs its webhook deliveries with any secret; give the demo one.
    "polar_whs_example_shop_demo" if POLAR_SERVER == "fake" else None
)
# The fake Polar delivers its webhooks to this shop's own endpoint, signed with the secret
# above, as Polar does in production: the webhook log, the signals and the admin fill up.
# scripts/demo serves on DEMO_ADDR (127.0.0.1:8000 by default); another address needs
# POLAR_FAKE_WEBHOOK_URL=http://<address>/checkout/webhook/, and "off" turns it off.
POLAR_FAKE_WEBHOOK_URL = env("POLAR_FAKE_WEBHOOK_URL", default=None) or (
    f"http://{os.environ.get('DEMO_ADDR') or '127.0.0.1:8000'}/checkout/webhook/"
    if POLAR_SERVER == "fake"
    else None
)
if POLAR_FAKE_WEBHOOK_URL == "off":
    POLAR_FAKE_WEBHOOK_URL = None
POLAR_CLIENT_CALLS = env("POLAR_CLIENT_CALLS")
POLAR_ALLOWED_PRODUCTS = env("POLAR_ALLOWED_PRODUCTS") or None
# The membership the members' page asks for: by default the fake Polar's "Pro Membership"
# (polar_checkouts.testing.catalogue.PRODUCT_SUBSCRIPTION_ID); set it for a real account.
SHOP_MEMBERSHIP_PRODUCT_ID = env("SHOP_MEMBERSHIP_PRODUCT_ID", default=None) or (
    "1b9d6f80-3c4e-4d2f-9a0b-2c3d4e5f6a01" if POLAR_SERVER == "fake" else None
)
# Every checkout records where it came from (see shop/hooks.py).
POLAR_CHECKOUT_METADATA = "shop.hooks.checkout_metadata"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"polar_checkouts": {"handlers": ["console"], "level": "INFO"}},
}
