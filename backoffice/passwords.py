"""Password hashing (argon2id) and the password policy (docs/security.md).

Policy: 12–128 characters, any characters, no composition rules; refuse common passwords (zxcvbn's
list of the 30,000 commonest, also in l33t, repeated or with a few digits or symbols added), trivial
patterns and passwords built from the person's own details (email, name, 事業所番号, ID).
"""

import re
import secrets
import unicodedata
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from backoffice.domain_errors import DomainError

MIN_LENGTH = 12
MAX_LENGTH = 128

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the account does not exist, so that both answers take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# The 30,000 commonest passwords of leaked-password lists, lowercase, as packaged with zxcvbn and read
# once at import from the installed package (no network). The local words are the service's own names
# and Japanese words that the English-centric list lacks.
COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"]) | {
    "kaigo",
    "kaigojoho",
    "kokuho",
    "portal",
    "nihon",
    "tokyo",
    "administrator",
}
# Runs along the alphabet and the keyboard (its rows one after another, and the walks down its
# columns), read either way; `_is_trivial` lets a run wrap round, as in "7890123".
_SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "1234567890qwertyuiopasdfghjklzxcvbnm",
    "1q2w3e4r5t6y7u8i9o0p",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)
_RUNS = tuple(text * 3 for sequence in _SEQUENCES for text in (sequence, sequence[::-1]))
# zxcvbn's l33t table read backwards. 1, 7 and | stand for more than one letter: two readings.
_LEET = {
    "4": "a",
    "@": "a",
    "8": "b",
    "(": "c",
    "{": "c",
    "[": "c",
    "<": "c",
    "3": "e",
    "6": "g",
    "9": "g",
    "!": "i",
    "0": "o",
    "$": "s",
    "5": "s",
    "+": "t",
    "%": "x",
    "2": "z",
}
_UNLEET = (
    str.maketrans({**_LEET, "1": "i", "|": "i", "7": "t"}),
    str.maketrans({**_LEET, "1": "l", "|": "l", "7": "l"}),
)
# Digits, symbols and spaces: what people put before or after a word (\W and \d, not letters).
_NOT_LETTER = re.compile(r"[\W\d_]")
# Digits (with at most 2 symbols) added to a listed password, up to this many ("2026!!", "123456"),
# are as guessable as none.
_SHORT_AFFIX = 6


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
    if _is_guessable(folded):
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


def _is_guessable(folded: str) -> bool:
    """True for a common or trivial password, also when written in l33t, repeated, spaced out, or with
    a few digits or symbols (or a run or repeat of them) before or after it: "Password2026",
    "iloveyouiloveyou", "p@ssw0rd!!!!!!", "1234qwertyuiop"."""
    for text in {folded, "".join(folded.split())}:
        for core in _cores(text):
            unit = _repeated_unit(core)
            if _is_trivial(unit) or any(
                word in COMMON_PASSWORDS for word in {unit, *(unit.translate(t) for t in _UNLEET)}
            ):
                return True
    return False


def _cores(text: str) -> set[str]:
    """`text` and, when it has letters, what is left of them once guessable digits and symbols are
    taken off either end. (Digits alone are not cut up: the list holds so many numbers that most
    random ones would hold one.)"""
    if all(_NOT_LETTER.match(char) for char in text):
        return {text}
    ends = [0, 0]  # how many characters at the start and at the end are not letters
    for side, chars in enumerate((text, reversed(text))):
        for char in chars:
            if not _NOT_LETTER.match(char):
                break
            ends[side] += 1
    cores = set()
    for start in range(ends[0] + 1):
        for stop in range(max(start + 1, len(text) - ends[1]), len(text) + 1):
            if _is_guessable_affix(text[:start]) and _is_guessable_affix(text[stop:]):
                cores.add(text[start:stop])
    return cores


def _is_guessable_affix(affix: str) -> bool:
    """What people add to a word: a few digits with a symbol or two ("2026", "123!", "!2026!"), a run
    ("123456789") or one character or pair repeated ("!!!!!!", "121212"). Random symbols are not."""
    if len(affix) <= _SHORT_AFFIX and sum(not char.isdigit() for char in affix) <= 2:
        return True
    return len(_repeated_unit(affix)) <= 2 or any(affix in run for run in _RUNS)


def _repeated_unit(text: str) -> str:
    """The shortest piece that `text` is a repeat of ("abcabc" → "abc"), or `text` itself."""
    period = (text + text).find(text, 1)
    return text[:period] if period < len(text) else text


def _is_trivial(folded: str) -> bool:
    """Fewer than 4 different characters, or a run along the alphabet, the digits or the keyboard."""
    return len(set(folded)) < 4 or any(folded in run for run in _RUNS)


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
