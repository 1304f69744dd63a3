"""The password policy (docs/security.md "Passwords"): 12–128 characters of any kind, no composition
rules; common passwords (zxcvbn's packaged list), trivial ones and the person's own details refused."""

import subprocess
import sys
from pathlib import Path

import pytest
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from backoffice import passwords
from backoffice.passwords import PasswordRejected, check_policy

ROOT = Path(__file__).resolve().parent.parent
COMMON = "よく使われていて推測されやすい"
PHRASE = "the quiet river bends past the old mill where herons wait for the evening trains "


def refusal(password: str, **kwargs: object) -> str:
    with pytest.raises(PasswordRejected) as rejected:
        check_policy(password, **kwargs)
    assert rejected.value.field == kwargs.get("field", "password")
    return str(rejected.value)


def test_twelve_characters_are_enough_and_eleven_are_not() -> None:
    check_policy("hanabitokuma")
    assert refusal("hanabitokum") == "＊パスワードは12文字以上で入力してください。"


@pytest.mark.parametrize("length", [64, 128])
def test_64_and_128_characters_are_accepted(length: int) -> None:
    password = (PHRASE * 2)[:length]
    assert len(password) == length
    check_policy(password)


def test_129_characters_are_refused_with_the_limit_in_the_message() -> None:
    assert refusal((PHRASE * 2)[:129]) == "＊パスワードは128文字以内で入力してください。"
    assert (
        refusal("あ" * 129, label="新しいパスワード", field="new")
        == "＊新しいパスワードは128文字以内で入力してください。"
    )


@pytest.mark.parametrize(
    "password",
    [
        "ゆきのひのさんぽみちをあるく",
        "いつもの駅で降りて川沿いの道を歩く",
        "🐱🍣🚃🌸🗻🍵🎐🌙🦊🐟🍡🎋",
        "correct horse battery staple",
        "  spaces at both ends count too  ",
        "私の 好きな 季節は 秋です",
    ],
)
def test_unicode_and_spaces_are_accepted(password: str) -> None:
    check_policy(password)


@pytest.mark.parametrize("password", ["glassriverowlmoss", "739418265093", "GLASSRIVEROWL"])
def test_there_are_no_composition_rules(password: str) -> None:
    check_policy(password)


def test_the_list_is_zxcvbns_packaged_list_of_the_commonest_passwords() -> None:
    packaged = FREQUENCY_LISTS["passwords"]
    assert len(packaged) >= 10_000
    assert set(packaged) <= passwords.COMMON_PASSWORDS


def test_the_list_loads_with_no_network() -> None:
    script = (
        "import sys\n"
        "def no_network(event, args):\n"
        "    if event.startswith(('socket.', 'urllib.')):\n"
        "        raise OSError(f'no network in this test: {event}')\n"
        "sys.addaudithook(no_network)\n"
        "from backoffice import passwords\n"
        "assert len(passwords.COMMON_PASSWORDS) >= 10_000\n"
        "passwords.check_policy('glassriverowlmoss')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_every_listed_password_of_12_characters_or_more_is_refused() -> None:
    long_ones = [word for word in FREQUENCY_LISTS["passwords"] if len(word) >= 12]
    assert len(long_ones) > 200
    accepted = []
    for word in long_ones:
        try:
            check_policy(word)
        except PasswordRejected:
            continue
        accepted.append(word)
    assert accepted == []


@pytest.mark.parametrize(
    "password", ["LeaveMeAlone", "FINALFANTASY", "JustinBieber", "IseeDeadPeople"]
)
def test_listed_passwords_are_refused_in_any_case(password: str) -> None:
    assert password.lower() in FREQUENCY_LISTS["passwords"]
    assert COMMON in refusal(password)


@pytest.mark.parametrize(
    "password",
    [
        "iloveyou2026",
        "Sunshine123456",
        "Dragon2025!!",
        "2026iloveyou!",
        "monkey!!!!!!",
        "Superman!2026",
        "shadow123456789",
    ],
)
def test_listed_passwords_with_digits_or_symbols_added_are_refused(password: str) -> None:
    assert COMMON in refusal(password)


@pytest.mark.parametrize(
    "password",
    ["P@ssw0rd2026", "5uperm4n12345", "iloveyouiloveyou", "dragondragon", "i love you 2026"],
)
def test_listed_passwords_in_l33t_repeated_or_spaced_out_are_refused(password: str) -> None:
    assert COMMON in refusal(password)


@pytest.mark.parametrize("password", ["kaigojoho2026", "Kokuho123456", "tokyotokyo26"])
def test_the_services_names_and_japanese_words_the_list_lacks_are_refused_too(
    password: str,
) -> None:
    assert COMMON in refusal(password)


@pytest.mark.parametrize(
    "password",
    ["qwertyuiopasdfgh", "1qaz2wsx3edc4rfv5tgb", "aaaaaaaa2026", "abcdefgh2026", "zyxwvutsrqpo"],
)
def test_keyboard_and_alphabet_runs_and_repeats_are_refused(password: str) -> None:
    assert COMMON in refusal(password)


@pytest.mark.parametrize(
    ("password", "context"),
    [
        ("hanako-no-himitsu-2026", ("hanako.yamada@example.jp", "山田 花子")),
        ("yamadahanakokaigo", ("hanako.yamada@example.jp",)),
        ("mybureau1312345678", ("1312345678",)),
        ("ひまわり介護センターです", ("ひまわり介護センター",)),
    ],
)
def test_passwords_built_from_the_persons_own_details_are_refused(
    password: str, context: tuple[str, ...]
) -> None:
    message = refusal(password, context=context, label="新しいパスワード", field="new")
    assert (
        message
        == "＊新しいパスワードに、メールアドレス・氏名・番号などご自身の情報を含めないでください。"
    )


def test_random_and_initial_passwords_are_accepted() -> None:
    for _ in range(200):
        check_policy(passwords.generate_initial_password())
    check_policy("x83619472031")
    check_policy("Zq8#vL2!pW7&")
