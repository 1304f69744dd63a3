"""Check digits of docs/domain.md, with its own examples."""

import pytest

from backoffice.codes import care_office_number_check_digit_ok, medical_code_check_digit_ok


@pytest.mark.parametrize("code", ["0110113719", "0110112489"])
def test_medical_code_luhn_examples_verify(code: str) -> None:
    assert medical_code_check_digit_ok(code)


def test_tokyo_code_verifies_over_the_six_local_digits() -> None:
    # 東京 1310110049 fails Luhn over nine digits (that would give 2) but verifies over the local six.
    assert medical_code_check_digit_ok("1310110049")
    # Either rule is accepted there: 2 is the nine-digit Luhn check of the same code.
    assert medical_code_check_digit_ok("1310110042")
    assert not medical_code_check_digit_ok("1310110041")


def test_local_rule_applies_only_to_saitama_chiba_tokyo_kanagawa() -> None:
    # The same digits under 北海道 (01) must verify by Luhn over nine digits only.
    assert not medical_code_check_digit_ok("0110110049")
    assert medical_code_check_digit_ok("1110110049")  # 埼玉: local six verify
    assert medical_code_check_digit_ok("1410110049")  # 神奈川


@pytest.mark.parametrize(
    "code", ["0110113710", "0110112480", "1310110048", "011011371", "01101137190", "abcdefghij"]
)
def test_wrong_or_malformed_medical_codes_do_not_verify(code: str) -> None:
    assert not medical_code_check_digit_ok(code)


def test_care_office_number_example_with_letter_verifies() -> None:
    assert care_office_number_check_digit_ok("04A0700017")


@pytest.mark.parametrize(
    "number", ["04A0700018", "04I0700017", "04O0700017", "04Q0700017", "4A0700017"]
)
def test_care_office_number_wrong_digit_or_forbidden_letter(number: str) -> None:
    assert not care_office_number_check_digit_ok(number)
