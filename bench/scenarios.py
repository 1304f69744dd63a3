"""What the load generator does, step by step, the way a browser would."""

import re
import time
import urllib.parse
from collections.abc import Callable

import pyotp

from bench.client import Browser, Response, Sample, UnexpectedResponse, Upload, timed
from bench.dataset import BENCH_OPERATOR, OPERATOR_PASSWORD, PORTAL_PASSWORD

SUBMISSION_KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')
REFERENCE = re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}")
# Set by the runner before the client processes fork: a general 大/中カテゴリー pair.
CATEGORY: dict[str, str] = {}


def choose_category(dsn: str) -> None:
    """Send the benchmark's inquiries in the first general 中カテゴリー (before the clients fork)."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        major, minor = conn.execute(
            "SELECT parent_id, id FROM inquiry_categories WHERE kind = 'general' "
            "AND parent_id IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()
    CATEGORY.update(major_category=str(major), category=str(minor))


# Set by the runner before the client processes fork: the ids of the newest tickets, whose status
# pages (token `t<id>`, as bench.dataset writes them) the requesters answer on.
STATUS_TICKETS: dict[str, int] = {}
MESSAGE_KEY = re.compile(r'name="message_key" type="hidden" value="([^"]+)"')


def choose_status_tickets(dsn: str, span: int = 50_000) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        # The newest loaded ticket: those sent through the form during the run have random tokens.
        newest = conn.execute(
            "SELECT id FROM inquiries WHERE status_token_hash = "
            "encode(sha256(convert_to('t' || id::text, 'UTF8')), 'hex') ORDER BY id DESC LIMIT 1"
        ).fetchone()[0]
    STATUS_TICKETS.update(first=max(1, newest - span + 1), span=min(span, newest))


def status_reply(browser: Browser, i: int) -> Sample:
    """A requester answers on the status page: GET it, POST 「追加で連絡する」 (→ the same page), GET it."""
    path = f"/inquiry/status/t{STATUS_TICKETS['first'] + (i * 7919) % STATUS_TICKETS['span']}"
    state: dict[str, str] = {}

    def page() -> Response:
        response = browser.expect(browser.get(path), 200)
        key = MESSAGE_KEY.search(response.body)
        if not key:
            raise UnexpectedResponse("no message key on the status page")
        state.update(csrf=response.csrf(), key=key.group(1))
        return response

    return timed(
        browser,
        [
            ("page", page),
            (
                "send",
                _post_form(
                    browser,
                    path,
                    state,
                    lambda: {"message_key": state["key"], "body": "エラーの文言は「E-102」です。"},
                    path,
                ),
            ),
            ("thread", lambda: browser.expect(browser.get(path), 200)),
        ],
    )


def inquiry_data(i: int) -> dict[str, str]:
    return {
        **CATEGORY,
        "name": "山田　太郎",
        "name_kana": "やまだ　たろう",
        "organization": "ひまわりデイサービス",
        "email": f"bench{i}@himawari.example.jp",
        "email_confirm": f"bench{i}@himawari.example.jp",
        "phone": "０３－１２３４－５６７８",
        "body": "ログインできません。パスワードを入力するとエラーになります。",
        "privacy_consent": "y",
    }


# Set by the runner before the client processes fork: the phone screenshot requesters attach.
SCREENSHOT: dict[str, Upload] = {}


def screenshot(megabytes: float = 2.0) -> Upload:
    """A phone screenshot (1170 × 2532 PNG) of about `megabytes`: flat screen colours, with a band of
    noise (a photo in the page) that no encoder can shrink, sized to reach the file size."""
    import io
    import random

    from PIL import Image

    width, height = 1170, 2532
    image = Image.new("RGB", (width, height), (246, 246, 248))
    rows = int(megabytes * 1024 * 1024 / (width * 3))
    noise = random.Random(20).randbytes(width * rows * 3)
    image.paste(Image.frombytes("RGB", (width, rows), noise), (0, 300))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Upload("IMG_0042.PNG", "image/png", out.getvalue())


def choose_screenshot() -> None:
    SCREENSHOT["attachments"] = screenshot()


def submit_with_screenshot(browser: Browser, i: int) -> Sample:
    """`submit` with the 2 MB screenshot attached at 入力."""
    return submit(browser, i, files=SCREENSHOT)


def submit(browser: Browser, i: int, files: dict[str, Upload] | None = None) -> Sample:
    """GET the form, POST it (→ 確認), GET 確認, POST 送信 (→ 完了), GET 完了; the result is the 受付番号."""
    data = inquiry_data(i)
    state: dict[str, str] = {}

    def confirm():
        page = browser.expect(browser.get("/inquiry/confirm"), 200)
        key = SUBMISSION_KEY.search(page.body)
        if not key:
            raise UnexpectedResponse("no submission key on 確認")
        state.update(csrf=page.csrf(), key=key.group(1))
        return page

    def complete():
        page = browser.expect(browser.get("/inquiry/complete"), 200)
        number = REFERENCE.search(page.body)
        if not number:
            raise UnexpectedResponse("no 受付番号 on 完了")
        state["reference"] = number.group(0)
        return page

    sample = timed(
        browser,
        [
            ("form", _get_form(browser, "/inquiry", state)),
            (
                "input",
                _post_form(browser, "/inquiry", state, lambda: data, "/inquiry/confirm", files),
            ),
            ("confirm", confirm),
            (
                "send",
                _post_form(
                    browser,
                    "/inquiry/confirm",
                    state,
                    lambda: {"submission_key": state["key"]},
                    "/inquiry/complete",
                ),
            ),
            ("complete", complete),
        ],
    )
    sample.result = state.get("reference")
    return sample


def _get_form(browser: Browser, path: str, state: dict[str, str]) -> Callable[[], Response]:
    """A step: GET the form at `path` and keep its CSRF token in `state` for the POST after it."""

    def step() -> Response:
        page = browser.expect(browser.get(path), 200)
        state["csrf"] = page.csrf()
        return page

    return step


def _post_form(
    browser: Browser,
    path: str,
    state: dict[str, str],
    fields: Callable[[], dict[str, str]],
    then: str,
    files: dict[str, Upload] | None = None,
) -> Callable[[], Response]:
    """A step: POST `fields()` (read when the step runs) with the kept CSRF token, and `files`; a
    redirect to `then` is expected."""

    def step() -> Response:
        response = browser.post(path, {**fields(), "csrf_token": state["csrf"]}, files)
        return _redirect(browser.expect(response, 302), then)

    return step


def _redirect(response: Response, path: str) -> Response:
    if response.location != path:
        raise UnexpectedResponse(f"redirected to {response.location!r}, not {path!r}")
    return response


class page:
    """GET one page (signed in through the browser's cookies); 200 expected."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, browser: Browser, i: int) -> Sample:
        return timed(browser, [("page", lambda: browser.expect(browser.get(self.path), 200))])


def operator_sign_in(port: int) -> Browser:
    """Sign the benchmark's operator in (password + TOTP) and return the signed-in browser."""
    browser = Browser(port)
    for _attempt in range(3):
        form = browser.expect(browser.get("/admin/login"), 200)
        code = pyotp.TOTP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").now()
        response = browser.post(
            "/admin/login",
            {
                "csrf_token": form.csrf(),
                "email": BENCH_OPERATOR,
                "password": OPERATOR_PASSWORD,
                "code": code,
            },
        )
        if response.status == 302:
            return browser
        time.sleep(31)  # the code of this 30-second step was used already: wait for the next one
    raise UnexpectedResponse(f"operator sign-in failed: HTTP {response.status}")


def portal_login(
    browser: Browser, email: str, read_code: Callable[[str], str]
) -> tuple[Sample, float, float]:
    """Log in with ID + password, then the emailed one-time password; returns the sample and the two
    POSTs' times (password, one-time password)."""
    state: dict[str, str] = {}

    def mypage():
        return browser.expect(browser.get("/mypage"), 200)

    sample = timed(
        browser,
        [
            ("login_form", _get_form(browser, "/login", state)),
            (
                "password",
                _post_form(
                    browser,
                    "/login",
                    state,
                    lambda: {"email": email, "password": PORTAL_PASSWORD},
                    "/login/otp",
                ),
            ),
            ("otp_form", _get_form(browser, "/login/otp", state)),
            (
                "otp",
                _post_form(
                    browser, "/login/otp", state, lambda: {"code": read_code(email)}, "/mypage"
                ),
            ),
            ("mypage", mypage),
        ],
    )
    times = {name: ms for name, _status, ms in sample.steps}
    return sample, times.get("password", 0.0), times.get("otp", 0.0)


def quoted(path: str, **params: str) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}" if params else path


def register(browser: Browser, eclaims_id: str, password: str, email: str, read_code) -> Sample:
    """初回利用登録: ID + password, the one-time password from the security email, the registrant's
    details, 完了."""
    state: dict[str, str] = {}

    details = {
        "name": "鈴木 一郎",
        "name_kana": "スズキ イチロウ",
        "email": email,
        "email_confirm": email,
        "phone": "03-1234-5678",
        "department": "管理課",
    }

    def complete():
        return browser.expect(browser.get("/register/complete"), 200)

    return timed(
        browser,
        [
            ("register_form", _get_form(browser, "/register", state)),
            (
                "register_credentials",
                _post_form(
                    browser,
                    "/register",
                    state,
                    lambda: {"eclaims_id": eclaims_id, "password": password},
                    "/register/otp",
                ),
            ),
            ("register_otp_form", _get_form(browser, "/register/otp", state)),
            (
                "register_otp",
                _post_form(
                    browser,
                    "/register/otp",
                    state,
                    lambda: {"code": read_code(security_email(eclaims_id))},
                    "/register/details",
                ),
            ),
            ("register_details_form", _get_form(browser, "/register/details", state)),
            (
                "register_details",
                _post_form(
                    browser, "/register/details", state, lambda: details, "/register/complete"
                ),
            ),
            ("register_complete", complete),
        ],
    )


def security_email(eclaims_id: str) -> str:
    return f"security-{eclaims_id.lower()}@office.example.jp"
