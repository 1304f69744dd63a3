"""Checks inside the real browser: axe-core's accessibility findings, and the README's screenshots."""

import os
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException

from backoffice.paths import ROOT

SCREENSHOTS = ROOT / "docs" / "screenshots"


def shot(page, name: str) -> None:
    """With SCREENSHOTS=1 (`make screenshots`), save the page for the README."""
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page, axe_source: str) -> list[dict]:
    """Serious and critical WCAG 2.x A/AA violations on the current page."""
    # Through the DevTools protocol, which the page's CSP (script-src 'self') does not govern; the page
    # itself keeps its real policy.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
        })"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


class Checker:
    """Checks the page it is called on: nothing scrolls sideways, axe finds nothing serious, and since
    the last call the console has had no error and no file the page loads (a script, a stylesheet, an
    icon) has failed. A page's own status (a form's 422) is not an error. Remembers what it checked."""

    def __init__(self, page, axe_source: str, app) -> None:
        self.page, self.axe_source, self.app = page, axe_source, app
        self.console: list[str] = []
        self.seen: set[str] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.console.append(str(e)))
        page.on("response", self._response)
        page.on("requestfailed", lambda r: self.console.append(f"{r.url}: {r.failure}"))

    def _console(self, message) -> None:
        # Chromium repeats every 4xx/5xx response here, the page's own included: those are judged by
        # their request's kind in _response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console.append(message.text)

    def _response(self, response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.console.append(f"{response.url}: {response.status}")

    def __call__(self) -> None:
        page = self.page
        page.wait_for_load_state("load")  # the page's deferred scripts have run
        overflow = sideways(page)
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow} px: {too_wide(page)}"
        found = axe_violations(page, self.axe_source)
        assert found == [], (page.url, found)
        errors, self.console[:] = list(self.console), []
        assert errors == [], (page.url, errors)
        self.seen.add(self._endpoint(page.url))

    def saw_every_page(self, blueprints: set[str], except_for: set[str]) -> None:
        """Every GET route of these blueprints was checked (routes join the tour as they are added)."""
        routed = {
            rule.endpoint
            for rule in self.app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint.partition(".")[0] in blueprints
        }
        assert routed - except_for - self.seen == set()

    def _endpoint(self, url: str) -> str:
        path = urlsplit(url).path
        try:
            endpoint, _ = self.app.url_map.bind("localhost").match(path, method="GET")
        except HTTPException:
            return "(not found)"
        return endpoint


def sideways(page) -> int:
    """How far the page is wider than the screen, in CSS px. Against the viewport Playwright set, not
    window.innerWidth: a phone widens its layout viewport to fit a page that is too wide (and zooms
    out), so innerWidth grows with the page."""
    return page.evaluate("document.documentElement.scrollWidth") - page.viewport_size["width"]


def too_wide(page) -> list[str]:
    """The outermost elements that reach past the screen's right edge (for the failure's message)."""
    return page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > width + 1
                && !(e.parentElement && e.parentElement.getBoundingClientRect().right > width + 1))
            .slice(0, 3)
            .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))""",
        page.viewport_size["width"],
    )


def check_phone_page(page, axe_source: str) -> None:
    """Nothing scrolls sideways at the page's width (375 px on a phone) and axe finds nothing serious."""
    page.wait_for_load_state("load")  # the page's deferred scripts have run
    overflow = sideways(page)
    assert overflow <= 0, (page.url, overflow)
    assert axe_violations(page, axe_source) == [], page.url


def fill_general_inquiry(page, body: str = "ワンタイムパスワードのエラー画面です。") -> None:
    """The お問い合わせフォーム's fields for a general inquiry, as a person fills them in."""
    page.get_by_label("お問い合わせ区分（大カテゴリー）").select_option(
        label="介護情報基盤ポータルについて"
    )
    page.locator("#category").select_option(index=1)
    page.locator("#name").fill("山田 太郎")
    page.locator("#name_kana").fill("やまだ たろう")
    page.locator("#organization").fill("さくら介護")
    page.locator("#email").fill("yamada@sakura.example.jp")
    page.locator("#email_confirm").fill("yamada@sakura.example.jp")
    page.locator("#phone").fill("03-1234-5678")
    page.locator("#body").fill(body)
    page.get_by_label("個人情報の取扱いに同意する").check()
