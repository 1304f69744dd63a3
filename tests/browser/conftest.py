"""End-to-end tests in a real Chromium (Debian's package, driven by Playwright), against the app served by
a real WSGI server on loopback, with axe-core (npm) injected for accessibility checks.

Without Chromium, Playwright or axe-core these tests skip locally and fail under CI=true.
"""

import gc
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from backoffice import create_app
from backoffice.extensions import db
from backoffice.inquiries.categories import seed_categories
from backoffice.paths import ROOT
from tests.builders.app import app_config, missing
from tests.postgres import free_port

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # When Chromium leaves a page while a static file is still being sent (a cancelled request),
    # Werkzeug's threaded test server drops that file's handle and the garbage collector closes it
    # later, in whichever test runs then. The app's own file responses are checked for leaks in
    # tests/attachments, outside the browser.
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(
                pytest.mark.filterwarnings(
                    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
                )
            )


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        missing("Chromium not found; install Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        missing("axe-core not found; run `npm ci` (the Makefile does)")
    return AXE.read_text()


@pytest.fixture
def live_app(tmp_path: Path):
    """The app on SQLite, served by Werkzeug's threaded server on a free loopback port."""
    port = free_port()
    app = create_app(
        app_config(
            f"sqlite:///{tmp_path / 'browser.sqlite3'}",
            SERVER_NAME=None,
            PUBLIC_URL=f"http://127.0.0.1:{port}",  # links in mails lead to this server
            ATTACHMENT_FOLDER=str(tmp_path / "attachments"),
        )
    )
    with app.app_context():
        db.create_all()
        seed_categories()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield app
    server.shutdown()
    thread.join()
    gc.collect()  # what the server dropped is closed now, inside this test (see above)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def page(browser, live_app):
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    """A page in a 375 px phone context (Japanese locale)."""
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    yield context.new_page()
    context.close()
