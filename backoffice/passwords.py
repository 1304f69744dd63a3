"""Password hashing (argon2id) and the password policy (docs/security.md).

Policy: 12–128 characters, any characters, no composition rules; refuse common passwords, trivial
patterns and passwords built from the person's own details (email, name, 事業所番号, ID).
"""

import secrets
import unicodedata
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backoffice.domain_errors import DomainError

MIN_LENGTH = 12
MAX_LENGTH = 128

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the account does not exist, so that both answers take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# Frequent choices in leaked-password lists that reach 12 characters, and their obvious stems.
COMMON_PASSWORDS = frozenset(
    [
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "password1234567",
        "qwertyuiop12",
        "qwertyuiopasdf",
        "qwertyuiopas",
        "qwerty123456",
        "qwerty1234567",
        "1qaz2wsx3edc",
        "1q2w3e4r5t6y",
        "1q2w3e4r5t6y7u",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456123456",
        "123123123123",
        "111111111111",
        "000000000000",
        "abcdefghijkl",
        "abc123abc123",
        "iloveyou1234",
        "welcome12345",
        "welcome123456",
        "administrator",
        "admin1234567",
        "admin12345678",
        "letmein12345",
        "changeme1234",
        "sunshine1234",
        "football1234",
        "baseball1234",
        "princess1234",
        "dragon123456",
        "monkey123456",
        "trustno11234",
        "superman1234",
        "starwars1234",
        "passw0rd1234",
        "p@ssw0rd1234",
        "p@ssword1234",
        "asdfghjkl123",
        "zxcvbnm12345",
        "kaigo1234567",
        "kaigokaigo12",
        "portal123456",
        "nihon1234567",
        "tokyo1234567",
        "sakura123456",
        "password2024",
        "password2025",
        "password2026",
        "password!234",
    ]
)
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


class PasswordRejected(DomainError, ValueError):
    """The password breaks the policy; `field` is the input the password was typed into."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown account) it spends the same time and fails."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_policy(
    password: str,
    context: Iterable[str | None] = (),
    label: str = "パスワード",
    field: str = "password",
) -> None:
    """Raises PasswordRejected (for the input `field`, whose label is `label`) with the reason when
    the password breaks the policy."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"＊{label}は{MIN_LENGTH}文字以上で入力してください。", field=field)
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"＊{label}は{MAX_LENGTH}文字以内で入力してください。", field=field)
    folded = unicodedata.normalize("NFKC", password).casefold()
    if folded in COMMON_PASSWORDS or _is_trivial(folded):
        raise PasswordRejected(
            f"＊この{label}はよく使われていて推測されやすいため使えません。別の{label}を入力してください。",
            field=field,
        )
    for word in _context_words(context):
        if word in folded:
            raise PasswordRejected(
                f"＊{label}に、メールアドレス・氏名・番号などご自身の情報を含めないでください。",
                field=field,
            )


def _is_trivial(folded: str) -> bool:
    if len(set(folded)) < 4:
        return True
    for sequence in _SEQUENCES:
        for text in (sequence, sequence[::-1]):
            if folded in text * 3:
                return True
    return False


def _context_words(context: Iterable[str | None]) -> set[str]:
    """Pieces of the person's details long enough to matter (4+ characters)."""
    words: set[str] = set()
    for value in context:
        if not value:
            continue
        folded = unicodedata.normalize("NFKC", value).casefold()
        local = folded.partition("@")[0] if "@" in folded else folded
        for piece in {
            folded,
            local,
            *local.replace(".", " ").replace("_", " ").replace("-", " ").split(),
        }:
            if len(piece) >= 4:
                words.add(piece)
    return words


def generate_initial_password(length: int = 16) -> str:
    """A random password without look-alike characters, for initial passwords."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))
