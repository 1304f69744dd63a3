"""What the load generator does, step by step, the way a browser would."""

import re
import time
import urllib.parse
from collections.abc import Callable

import pyotp

from bench.client import Browser, Sample, UnexpectedResponse, timed
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
    }


def submit(browser: Browser, i: int) -> Sample:
    """GET the form, POST it (→ 確認), GET 確認, POST 送信 (→ 完了), GET 完了; the result is the 受付番号."""
    data = inquiry_data(i)
    state: dict[str, str] = {}

    def form():
        page = browser.expect(browser.get("/inquiry"), 200)
        state["csrf"] = page.csrf()
        return page

    def post_form():
        response = browser.post("/inquiry", {**data, "csrf_token": state["csrf"]})
        return _redirect(browser.expect(response, 302), "/inquiry/confirm")

    def confirm():
        page = browser.expect(browser.get("/inquiry/confirm"), 200)
        key = SUBMISSION_KEY.search(page.body)
        if not key:
            raise UnexpectedResponse("no submission key on 確認")
        state.update(csrf=page.csrf(), key=key.group(1))
        return page

    def send():
        response = browser.post(
            "/inquiry/confirm", {"csrf_token": state["csrf"], "submission_key": state["key"]}
        )
        return _redirect(browser.expect(response, 302), "/inquiry/complete")

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
            ("form", form),
            ("input", post_form),
            ("confirm", confirm),
            ("send", send),
            ("complete", complete),
        ],
    )
    sample.result = state.get("reference")
    return sample


def _redirect(response, path: str):
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

    def login_form():
        page = browser.expect(browser.get("/login"), 200)
        state["csrf"] = page.csrf()
        return page

    def password():
        response = browser.post(
            "/login", {"csrf_token": state["csrf"], "email": email, "password": PORTAL_PASSWORD}
        )
        return _redirect(browser.expect(response, 302), "/login/otp")

    def otp_form():
        page = browser.expect(browser.get("/login/otp"), 200)
        state["csrf"] = page.csrf()
        return page

    def otp():
        code = read_code(email)
        response = browser.post("/login/otp", {"csrf_token": state["csrf"], "code": code})
        return _redirect(browser.expect(response, 302), "/mypage")

    def mypage():
        return browser.expect(browser.get("/mypage"), 200)

    sample = timed(
        browser,
        [
            ("login_form", login_form),
            ("password", password),
            ("otp_form", otp_form),
            ("otp", otp),
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

    def start_form():
        page = browser.expect(browser.get("/register"), 200)
        state["csrf"] = page.csrf()
        return page

    def credentials():
        response = browser.post(
            "/register",
            {"csrf_token": state["csrf"], "eclaims_id": eclaims_id, "password": password},
        )
        return _redirect(browser.expect(response, 302), "/register/otp")

    def otp_form():
        page = browser.expect(browser.get("/register/otp"), 200)
        state["csrf"] = page.csrf()
        return page

    def otp():
        code = read_code(security_email(eclaims_id))
        response = browser.post("/register/otp", {"csrf_token": state["csrf"], "code": code})
        return _redirect(browser.expect(response, 302), "/register/details")

    def details_form():
        page = browser.expect(browser.get("/register/details"), 200)
        state["csrf"] = page.csrf()
        return page

    def details():
        response = browser.post(
            "/register/details",
            {
                "csrf_token": state["csrf"],
                "name": "鈴木 一郎",
                "name_kana": "スズキ イチロウ",
                "email": email,
                "email_confirm": email,
                "phone": "03-1234-5678",
                "department": "管理課",
            },
        )
        return _redirect(browser.expect(response, 302), "/register/complete")

    def complete():
        return browser.expect(browser.get("/register/complete"), 200)

    return timed(
        browser,
        [
            ("register_form", start_form),
            ("register_credentials", credentials),
            ("register_otp_form", otp_form),
            ("register_otp", otp),
            ("register_details_form", details_form),
            ("register_details", details),
            ("register_complete", complete),
        ],
    )


def security_email(eclaims_id: str) -> str:
    return f"security-{eclaims_id.lower()}@office.example.jp"
