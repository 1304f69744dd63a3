"""Checks inside the real browser: axe-core's accessibility findings, and the README's screenshots."""

import os

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


def check_phone_page(page, axe_source: str) -> None:
    """Nothing scrolls sideways at the page's width (375 px on a phone) and axe finds nothing serious."""
    page.wait_for_load_state("load")  # the page's deferred scripts have run
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
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
