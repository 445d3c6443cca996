"""Settings for the test suite. ``DATABASE_URL`` selects the database (SQLite by default)."""

import os
from importlib.util import find_spec
from typing import Any

import django
import environ

BASE_DIR = os.path.dirname(os.path.abspath(__file__))

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "shop.example.com"]
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {
    "default": environ.Env.db_url_config(
        os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(BASE_DIR, "test.sqlite3")
    )
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "polar_checkouts",
    # The fake Polar's payment template and script (POLAR_SERVER = "fake" pages).
    "polar_checkouts.testing",
]
# Django's task framework: built in from 6.0, the django-tasks backport before (an app).
TASKS_PACKAGE = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
if TASKS_PACKAGE == "django_tasks":
    INSTALLED_APPS.append("django_tasks")

# Webhook processing runs inline, right after the delivery commits (Django's default
# backend, spelled out); tests of the hand-over itself switch to the dummy backend.
TASKS: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": f"{TASKS_PACKAGE}.backends.immediate.ImmediateBackend"}
}
# The database backend (django-tasks-db, the "tasks-db" extra; Django >= 5.2) for the test
# with a real db_worker process: only when installed.
if find_spec("django_tasks_db"):
    INSTALLED_APPS.append("django_tasks_db")
    TASKS["database"] = {"BACKEND": "django_tasks_db.DatabaseBackend"}
# The Redis queue backend (django-tasks-rq, the "tasks-rq" extra) for the test with real RQ
# worker processes: Redis db 1 unless POLAR_TEST_REDIS_URL names another, and a queue of
# its own so nothing else on that Redis is touched.
# Enqueues reuse one pooled connection per process (polar_checkouts.rq_settings).
RQ_TEST_QUEUE = "polar_checkouts_tests"
RQ_TEST_REDIS_URL = os.environ.get("POLAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
if find_spec("django_tasks_rq"):
    from polar_checkouts.rq_settings import pooled_rq_queue

    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {RQ_TEST_QUEUE: pooled_rq_queue(RQ_TEST_REDIS_URL, DEFAULT_TIMEOUT=60)}
    TASKS["rq"] = {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [RQ_TEST_QUEUE]}

# A worker process a test starts enqueues retries on the backend and queue the test chose.
POLAR_TASK_BACKEND = os.environ.get("POLAR_TEST_TASK_BACKEND", "default")
POLAR_TASK_QUEUE = os.environ.get("POLAR_TEST_TASK_QUEUE") or None

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(BASE_DIR, "templates")],
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

STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

POLAR_ACCESS_TOKEN = "polar_oat_test_token_never_shown"
POLAR_SERVER = "sandbox"
POLAR_WEBHOOK_SECRET = "polar_whs_test_secret"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"polar_checkouts": {"level": "DEBUG", "propagate": True}},
}
