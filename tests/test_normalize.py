"""Japanese input normalisation (docs/domain.md): lenient input, one canonical form."""

import pytest

from backoffice.normalize import (
    InvalidInput,
    check_email,
    check_kana,
    check_phone,
    check_postal_code,
    nfkc,
    normalize_digits,
    normalize_email,
    normalize_kana,
    normalize_phone,
    normalize_postal_code,
    normalize_text,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03-1234-5678", "0312345678"),
        ("０３－１２３４－５６７８", "0312345678"),
        ("03ー1234ー5678", "0312345678"),
        ("03−1234−5678", "0312345678"),
        ("03‐1234‐5678", "0312345678"),
        ("03–1234—5678", "0312345678"),
        ("(03) 1234 5678", "0312345678"),
        ("090-1234-5678", "09012345678"),
    ],
)
def test_phone_numbers_normalise_to_digits(raw: str, expected: str) -> None:
    value = normalize_phone(raw)
    assert value == expected
    check_phone(value)


@pytest.mark.parametrize("raw", ["1234567890", "03-1234-567", "0312345678901", "03-abcd-5678"])
def test_bad_phone_numbers_are_refused_in_japanese(raw: str) -> None:
    with pytest.raises(InvalidInput, match="電話番号は0から始まる10桁または11桁"):
        check_phone(normalize_phone(raw))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1000001", "100-0001"),
        ("〒100-0001", "100-0001"),
        ("〒１００ー０００１", "100-0001"),
        ("100 0001", "100-0001"),
    ],
)
def test_postal_codes(raw: str, expected: str) -> None:
    assert normalize_postal_code(raw) == expected
    check_postal_code(normalize_postal_code(raw))


def test_bad_postal_code() -> None:
    with pytest.raises(InvalidInput, match="郵便番号は7桁の数字"):
        check_postal_code(normalize_postal_code("100-001"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("やまだ　たろう", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("ヤマダ・タロウ", "ヤマダ・タロウ"),
        ("ゔぁーじょん", "ヴァージョン"),
    ],
)
def test_kana_becomes_full_width_katakana(raw: str, expected: str) -> None:
    assert normalize_kana(raw) == expected
    check_kana(normalize_kana(raw), "氏名（フリガナ）")


def test_kanji_in_kana_field_is_refused() -> None:
    with pytest.raises(InvalidInput, match="＊氏名（フリガナ）はカタカナで入力してください。"):
        check_kana(normalize_kana("山田"), "氏名（フリガナ）")


def test_full_width_email_becomes_ascii_with_lower_case_domain() -> None:
    assert normalize_email("　Ｙａｍａｄａ＠Example.JP ") == "Yamada@example.jp"


@pytest.mark.parametrize(
    "address", ["taro..yamada@docomo.ne.jp", "taro.@docomo.ne.jp", ".taro@ezweb.ne.jp"]
)
def test_old_carrier_addresses_are_refused_with_a_reason(address: str) -> None:
    with pytest.raises(InvalidInput, match=r"「\.」の連続"):
        check_email(address)


@pytest.mark.parametrize(
    "address", ["yamada", "yamada@", "@example.jp", "yamada@example", "山田@example.jp"]
)
def test_malformed_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidInput, match="メールアドレス"):
        check_email(normalize_email(address))


def test_digits_and_text() -> None:
    assert normalize_digits("０１１０ １１３ ７１９") == "0110113719"
    assert nfkc("  Ａ　 B  ") == "A B"
    assert normalize_text("１行目\r\n２行目\r\n") == "1行目\n2行目"
