"""The test app's configuration, and the rule for tests whose real part is missing."""

import os
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """Skip a test whose real part is missing; under CI that is a failure, not a skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: every real part must be installed by .ci/run)")
    pytest.skip(reason)


def app_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DEVELOPMENT": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": None,
        # No SERVER_NAME, as in production: links in mails must not depend on it (backoffice/urls.py).
        "SERVER_NAME": None,
        "PUBLIC_URL": "http://localhost",
        # Tests change categories and read the form at once; test_category_cache covers the cache.
        "CATEGORY_CACHE_SECONDS": 0,
        "NOTICE_CACHE_SECONDS": 0,
        **overrides,
    }


def smtp_config(port: int, **extra: object) -> dict[str, object]:
    """Config for an app that delivers to the SMTP server on `port` (retries due at once)."""
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_RETRY_BASE_SECONDS": 0,
        # The tests see the delivery the moment the response is closed; test_delivery covers the thread.
        "MAIL_DELIVER_IN_BACKGROUND": False,
        **extra,
    }
