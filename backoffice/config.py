"""Configuration: code defaults, then `FLASK_*` environment variables, then `DATABASE_URL`/`SECRET_KEY`.

Any key below can be set as `FLASK_<KEY>` (values are parsed as JSON where they can be, so
`FLASK_MAIL_PORT=2525` is an int and `FLASK_DEVELOPMENT=true` a bool).
"""

import os
import secrets
from datetime import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from backoffice.paths import INSTANCE


class ConfigError(RuntimeError):
    """The configuration cannot serve real users; the message says what to set."""


DEFAULTS: dict[str, Any] = {
    # Development switches on the embedded defaults: a generated secret key, plain-HTTP cookies, and the
    # development mailbox when no mail server is set. Everything else is production.
    "DEVELOPMENT": False,
    "SECRET_KEY": None,
    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{INSTANCE / 'backoffice.sqlite3'}",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # The site's public base URL: every link in a mail is built from it, never from a request's Host
    # header. Required outside development; development defaults to `make run`'s address.
    "PUBLIC_URL": None,
    # Host names the app answers to (others get the 400 page). None: the host of PUBLIC_URL outside
    # development, any host in development. A probe by IP address still gets /healthz (backoffice/hosts.py).
    "TRUSTED_HOSTS": None,
    # Requests: anything larger than this is refused with the 413 page; the routes that take
    # attachments allow ATTACHMENT_MAX_FILES × ATTACHMENT_MAX_BYTES more (backoffice/attachments).
    "MAX_CONTENT_LENGTH": 256 * 1024,
    # Attachments (backoffice/attachments): where the files are kept (None: instance/attachments),
    # how many and how large per message, the largest image in pixels (a larger one is refused as a
    # decompression bomb), and the total a mail carries (larger files are named with the link).
    "ATTACHMENT_FOLDER": None,
    "ATTACHMENT_MAX_FILES": 5,
    "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    "ATTACHMENT_MAX_TOTAL_BYTES": 20 * 1024 * 1024,
    "ATTACHMENT_MAX_PIXELS": 50_000_000,
    "ATTACHMENT_MAIL_MAX_BYTES": 10 * 1024 * 1024,
    # Days after a ticket is finished (完了, 却下, スパム) before its files' contents are deleted.
    "ATTACHMENT_RETENTION_DAYS": 365,
    # `flask retention apply` (backoffice/retention): days after a ticket is finished before its contact
    # fields and bodies are erased; before an inbound mail's original and a sent mail's body are
    # deleted (for mail of a ticket: also after it is finished). None keeps them.
    "RETENTION_INQUIRY_DAYS": 365,
    "RETENTION_INBOUND_RAW_DAYS": 90,
    "RETENTION_MAIL_BODY_DAYS": 90,
    # `flask attachments sweep` deletes files without a row once they are this old (a crash's leftovers).
    "ATTACHMENT_ORPHAN_MINUTES": 60,
    # The bearer token Prometheus sends for /metrics (a list: any of them, during a rotation).
    # None: there is no /metrics page.
    "METRICS_TOKEN": None,
    # How many reverse proxies set X-Forwarded-* in front of the app (0: none, trust nothing).
    "PROXY_FIX_HOPS": 0,
    # Cookies: HttpOnly and SameSite=Lax always; Secure and the `__Host-` prefix (no Domain, Path=/, so
    # no other host can set or read it) outside development.
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "kip_session",
    "SESSION_COOKIE_SECURE": None,  # None: Secure outside development
    # CSRF tokens live as long as the session; a form left open overnight still gets a clear message.
    "WTF_CSRF_TIME_LIMIT": None,
    # Mail: no server means outbox only (and, in development, the development mailbox page).
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "介護情報基盤ポータル お問い合わせ窓口 <noreply@kaigo-portal.example.jp>",
    "MAIL_TIMEOUT": 10,
    "MAIL_MAX_ATTEMPTS": 12,
    "MAIL_RETRY_BASE_SECONDS": 60,
    "MAIL_RETRY_MAX_SECONDS": 3600,
    "MAIL_LEASE_SECONDS": 300,
    # Inbound mail (backoffice/inbound): replies to a ticket's mail go to INBOUND_ADDRESS tagged with
    # the ticket (support+<tag>@…), bounces to it tagged with the outbox mail (VERP). None: neither.
    "INBOUND_ADDRESS": "介護情報基盤ポータル お問い合わせ窓口 <support@kaigo-portal.example.jp>",
    "INBOUND_DELIMITER": "+",
    # A larger message is recorded as unreadable and kept whole in the error folder (or by the MTA).
    "INBOUND_MAX_BYTES": 30 * 1024 * 1024,
    # More mails than this from one address in an hour are held, not appended (a loop, or a flood).
    "INBOUND_SENDER_HOURLY_LIMIT": 20,
    # `flask mail fetch`: the IMAP mailbox (SECURITY: "ssl" for IMAPS on 993, "starttls" on 143).
    "INBOUND_IMAP_HOST": None,
    "INBOUND_IMAP_PORT": None,
    "INBOUND_IMAP_SECURITY": "ssl",
    "INBOUND_IMAP_USERNAME": None,
    "INBOUND_IMAP_PASSWORD": None,
    # A CA bundle to verify the server with (None: the system's).
    "INBOUND_IMAP_CA_FILE": None,
    "INBOUND_IMAP_FOLDER": "INBOX",
    "INBOUND_IMAP_PROCESSED_FOLDER": "Processed",
    "INBOUND_IMAP_ERROR_FOLDER": "Error",
    "INBOUND_IMAP_TIMEOUT": 30,
    # A message another fetcher claimed less long ago than this is left to it (then: it died).
    "INBOUND_IMAP_CLAIM_SECONDS": 300,
    # Send right after the response from a thread of the worker (False: the worker itself sends).
    "MAIL_DELIVER_IN_BACKGROUND": True,
    # Rate limits (Flask-Limiter syntax). Memory storage is the embedded default; Redis in production.
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    # With memory storage each worker counts alone, so several workers multiply every limit; outside
    # development gunicorn then refuses to start unless this says that is acceptable (the benchmark).
    "RATELIMIT_MEMORY_PER_WORKER": False,
    "INQUIRY_SEND_LIMIT": "5 per 10 minutes;20 per day",
    "INQUIRY_FORM_LIMIT": "60 per 10 minutes",
    # Back office: sessions end after this long idle or in all; lockout from this many failures on.
    "OPERATOR_IDLE_MINUTES": 30,
    "OPERATOR_ABSOLUTE_HOURS": 12,
    "OPERATOR_LOCKOUT_THRESHOLD": 5,
    "OPERATOR_LOGIN_LIMIT": "10 per minute;60 per hour",
    # An admin's invite or reset mails an enrolment link that works once, for this long; an operator
    # made by `flask operators create` may enrol at /admin/enrol with the password alone for as long.
    "OPERATOR_ENROLMENT_HOURS": 24,
    # Portal users: sessions, lockout, initial passwords, user limit (docs/security.md; [U] values of docs/domain.md are settings).
    "PORTAL_IDLE_MINUTES": 30,
    # Signed-in pages warn this long before the idle limit ends the session, with 「ログインを続ける」.
    "SESSION_WARNING_SECONDS": 120,
    "PORTAL_ABSOLUTE_HOURS": 12,
    # Adding or disabling a user asks for the password again when it was last proven longer ago.
    "PORTAL_REAUTH_MINUTES": 15,
    "PORTAL_LOCKOUT_THRESHOLD": 5,
    "PORTAL_LOGIN_LIMIT": "20 per 10 minutes;100 per hour",
    "INITIAL_PASSWORD_HOURS": 72,
    "MAX_ADDED_USERS": 4,
    # 電子請求受付システム: lock an ID after this many wrong passwords, for this long ([U] in docs/domain.md);
    # 初回利用登録 must be finished within REGISTRATION_FLOW_MINUTES.
    "ECLAIMS_LOCK_THRESHOLD": 3,
    "ECLAIMS_LOCK_MINUTES": 30,
    # `flask eclaims import`: the key of the rows' fingerprints, which let a re-import skip rows whose
    # secrets did not change (backoffice/eclaims/fingerprints.py; never SECRET_KEY, never in the
    # database). None: every row is hashed on every import. Threads hashing at once (None: one per core).
    "ECLAIMS_FINGERPRINT_KEY": None,
    "ECLAIMS_IMPORT_WORKERS": None,
    "REGISTRATION_FLOW_MINUTES": 30,
    "REGISTRATION_LIMIT": "20 per 10 minutes;100 per hour",
    # One-time passwords by email.
    "OTP_DIGITS": 6,
    "OTP_TTL_MINUTES": 10,
    "OTP_MAX_ATTEMPTS": 5,
    "OTP_RESEND_SECONDS": 60,
    "OTP_HOURLY_CAP": 5,
    # Inquiry form.
    "INQUIRY_BODY_MAX_LENGTH": 2000,
    "INQUIRY_DRAFT_TTL_HOURS": 24,
    "INQUIRY_DRAFT_PURGE_SECONDS": 60,
    # Each process keeps the category tree of the public form this long (0: read it on every request).
    "CATEGORY_CACHE_SECONDS": 30,
    # The official manuals the registration flows name (shown as plain names while unset), and the
    # 電子請求受付システム's page on its IDs and passwords (note ※2 of the flow).
    "SETUP_MANUAL_URL": None,
    "FIRST_LOGIN_MANUAL_URL": None,
    "ECLAIMS_HELP_URL": "https://www.kaigo.e-seikyuu.jp/KShinsei/main",
    # 個人情報の取扱い on the inquiry form and the registration: None shows the standard text (with the
    # retention periods above); a string replaces it with the operator's own wording.
    "PRIVACY_NOTICE": None,
    # Each process keeps the お知らせ not yet ended this long (0: read them on every request).
    "NOTICE_CACHE_SECONDS": 30,
    "HELPDESK_NAME": "介護情報基盤ポータル お問い合わせ窓口",
    "HELPDESK_HOURS": "平日 9時00分〜17時00分（土日祝日・年末年始を除く）",
    # 受付時間 as times (Japan time) on business days: reminders and closing notices wait for them.
    "HELPDESK_OPENS": "09:00",
    "HELPDESK_CLOSES": "17:00",
    # A 解決済 ticket becomes 完了 after this many business days without an answer; an answer within
    # them reopens it, an answer after them starts a new ticket linked to it.
    "INQUIRY_REOPEN_BUSINESS_DAYS": 5,
    "INQUIRY_MESSAGE_LIMIT": "10 per 10 minutes;50 per day",
    # 「確認ページのURLを再送」: per IP address, and at most one mail per ticket in this many minutes.
    "INQUIRY_LINK_LIMIT": "5 per 10 minutes;20 per day",
    "INQUIRY_LINK_RESEND_MINUTES": 10,
}


def load(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill `app.config` in order: defaults, `FLASK_*` variables, `DATABASE_URL`/`SECRET_KEY`, overrides.

    Raises ConfigError outside development when the secret key, the mail server or the public URL is
    missing, and whenever the public URL is not an http(s) address.
    """
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env()
    if url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(url)
    if key := os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = key
    if overrides:
        app.config.from_mapping(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(app.config["SQLALCHEMY_DATABASE_URI"])

    development = app.config["DEVELOPMENT"] or app.testing
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not development
    if not development and not app.config["SESSION_COOKIE_NAME"].startswith("__Host-"):
        app.config["SESSION_COOKIE_NAME"] = "__Host-" + app.config["SESSION_COOKIE_NAME"]
        app.config.update(SESSION_COOKIE_DOMAIN=None, SESSION_COOKIE_PATH="/")
    if not development:
        missing = [k for k in ("SECRET_KEY", "MAIL_SERVER", "PUBLIC_URL") if not app.config.get(k)]
        if missing:
            names = ", ".join(
                f"FLASK_{k} (or {k})" if k == "SECRET_KEY" else f"FLASK_{k}" for k in missing
            )
            raise ConfigError(
                f"Missing configuration outside development: {names}. "
                "Set them in the environment, or set FLASK_DEVELOPMENT=true for a local run."
            )
    elif not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _development_secret_key()
    if development and not app.config["PUBLIC_URL"]:
        app.config["PUBLIC_URL"] = DEVELOPMENT_URL
    public_host = _public_host(app.config["PUBLIC_URL"])
    _check_desk_hours(app.config["HELPDESK_OPENS"], app.config["HELPDESK_CLOSES"])
    if app.config["TRUSTED_HOSTS"] is None and not development:
        app.config["TRUSTED_HOSTS"] = [public_host]


DEVELOPMENT_URL = "http://127.0.0.1:5000"


def _public_host(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"FLASK_PUBLIC_URL must be an http(s) address such as https://portal.example.jp, not {url!r}."
        )
    return parts.hostname


def _check_desk_hours(opens: str, closes: str) -> None:
    """受付時間 is what the service targets count in: it must be a span within one day."""
    try:
        span = (time.fromisoformat(opens), time.fromisoformat(closes))
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"FLASK_HELPDESK_OPENS and FLASK_HELPDESK_CLOSES must be times such as 09:00, "
            f"not {opens!r} and {closes!r}."
        ) from error
    if span[0] >= span[1] or span[0].second or span[1].second:
        raise ConfigError(
            f"FLASK_HELPDESK_OPENS ({opens}) must be before FLASK_HELPDESK_CLOSES ({closes}), "
            "in whole minutes."
        )


def check_rate_limit_storage(workers: int) -> None:
    """Called by gunicorn before it forks: refuse several workers that would each keep their own rate
    limit counters (memory storage) outside development. Raises ConfigError."""
    probe = Flask(__name__)
    load(probe, None)
    config = probe.config
    if (
        workers > 1
        and config["RATELIMIT_STORAGE_URI"].startswith("memory://")
        and not (config["DEVELOPMENT"] or config["RATELIMIT_MEMORY_PER_WORKER"])
    ):
        raise ConfigError(
            f"{workers} workers with memory:// rate-limit storage would each count alone, multiplying "
            "every limit. Set FLASK_RATELIMIT_STORAGE_URI=redis://… (shared by all workers), or run "
            "one worker, or set FLASK_RATELIMIT_MEMORY_PER_WORKER=true if per-worker limits are meant."
        )


def _sqlalchemy_url(url: str) -> str:
    """Accept the usual `postgres://` and `postgresql://` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _development_secret_key() -> str:
    """A key kept under instance/ so that development sessions survive a restart."""
    path = INSTANCE / "development-secret-key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE.mkdir(exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
