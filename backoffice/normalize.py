"""Japanese input normalisation: accept lenient input, store one canonical form (docs/domain.md).

Each `normalize_*` function returns the canonical value; each `check_*`/`parse_*` function raises
`InvalidInput` with the Japanese message to show next to the field.
"""

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from backoffice.domain_errors import DomainError

# NFKC leaves these alone; in phone numbers and postal codes they all mean "-".
_DASHES = "-‐‑‒–—―−ー－ｰ﹣"
_DASH_RE = re.compile(f"[{re.escape(_DASHES)}]")
_SPACES_RE = re.compile(r"\s+")
_KATAKANA_RE = re.compile(r"^[ァ-ヶー・ ]+$")
_PHONE_RE = re.compile(r"^0\d{9,10}$")
_POSTAL_RE = re.compile(r"^(\d{3})(\d{4})$")
# The shape of one whole email address (a search term that names an address rather than part of one).
WHOLE_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class InvalidInput(DomainError, ValueError):
    """The value cannot be accepted; `str(error)` is the message for the user."""


def nfkc(value: str | None) -> str:
    """NFKC, with runs of white space (including the full-width space) folded to one space and trimmed."""
    if value is None:
        return ""
    return _SPACES_RE.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def normalize_text(value: str | None) -> str:
    """Free text (a body): NFKC per line, line endings unified, outer blank space trimmed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", value).replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def hiragana_to_katakana(value: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" or c in "ゝゞ" else c for c in value)


def normalize_kana(value: str | None) -> str:
    """フリガナ: half-width カナ and ひらがな become full-width カタカナ."""
    return hiragana_to_katakana(nfkc(value))


def check_kana(value: str, label: str) -> None:
    """Raises InvalidInput unless the (normalised) value is katakana, ー, ・ and spaces only."""
    if value and not _KATAKANA_RE.match(value):
        raise InvalidInput(f"＊{label}はカタカナで入力してください。")


def normalize_digits(value: str | None) -> str:
    """Codes and numbers: full-width digits to half-width, dashes and spaces removed."""
    return _DASH_RE.sub("", nfkc(value)).replace(" ", "")


def normalize_phone(value: str | None) -> str:
    """電話番号: digits only; brackets around an area code are dropped too."""
    digits = normalize_digits(value)
    return digits.replace("(", "").replace(")", "")


def check_phone(value: str) -> None:
    if not _PHONE_RE.match(value):
        raise InvalidInput("＊電話番号は0から始まる10桁または11桁の数字で入力してください。")


def normalize_postal_code(value: str | None) -> str:
    """郵便番号: `〒` dropped; seven digits are stored as 123-4567."""
    digits = normalize_digits((value or "").replace("〒", ""))
    if m := _POSTAL_RE.match(digits):
        return f"{m.group(1)}-{m.group(2)}"
    return digits


def check_postal_code(value: str) -> None:
    if not re.fullmatch(r"\d{3}-\d{4}", value):
        raise InvalidInput("＊郵便番号は7桁の数字で入力してください。")


def normalize_email(value: str | None) -> str:
    """メールアドレス: NFKC (so full-width letters count) and no spaces; the domain is lower-cased."""
    address = nfkc(value).replace(" ", "")
    local, at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}" if at else address


def check_email(value: str) -> None:
    """Raises InvalidInput for an address that mail servers would refuse, with a hint at the usual causes."""
    if "@" not in value:
        raise InvalidInput(
            "＊メールアドレスは「@」を含めて、例）info@example.jp のように入力してください。"
        )
    local = value.rpartition("@")[0]
    if ".." in local or local.startswith(".") or local.endswith("."):
        raise InvalidInput(
            "＊このメールアドレスにはメールを送信できません（「.」の連続や「@」直前の「.」）。"
            "別のメールアドレスを入力してください。"
        )
    try:
        validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidInput(
            "＊メールアドレスの形式が正しくありません。例）info@example.jp のように半角英数字で入力してください。"
        ) from error
