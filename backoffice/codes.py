"""Identifier formats and check digits of the long-term-care and medical systems (docs/domain.md).

These functions take already normalised strings (see `backoffice.normalize.normalize_digits`).
"""

import re

MEDICAL_CODE_RE = re.compile(r"^\d{10}$")
CARE_OFFICE_NUMBER_RE = re.compile(r"^\d{2}[0-9A-HJ-NPR-Z]\d{7}$")
ECLAIMS_ID_RE = re.compile(r"^KJ[0-9A-Z]{12}$")

# Prefectures whose published 医療機関コード validate only over the six local digits (docs/domain.md, empirical):
# 埼玉, 千葉, 東京, 神奈川.
_LOCAL_CHECK_PREFECTURES = frozenset({"11", "12", "13", "14"})
# 介護保険事業所番号: letters count A=10 … Z=32, skipping I, O and Q.
_LETTER_VALUES = {c: 10 + i for i, c in enumerate("ABCDEFGHJKLMNPRSTUVWXYZ")}


def _mod10_weighted(values: list[int]) -> int:
    """Modulus 10 with weights 2,1,2,1… from the right, two-digit products split into their digits."""
    total = 0
    for position, value in enumerate(reversed(values)):
        product = value * (2 if position % 2 == 0 else 1)
        total += sum(int(d) for d in str(product))
    return (10 - total % 10) % 10


def medical_code_check_digit_ok(code: str) -> bool:
    """True when a 10-digit 医療機関コード's last digit verifies.

    The rule is Luhn over the first nine digits; for 埼玉, 千葉, 東京 and 神奈川 the published codes verify over
    the six local digits (郡市区番号 + 医療機関等番号) instead, so either rule is accepted there.
    """
    if not MEDICAL_CODE_RE.match(code):
        return False
    digits = [int(c) for c in code]
    expected = digits[9]
    if _mod10_weighted(digits[:9]) == expected:
        return True
    return code[:2] in _LOCAL_CHECK_PREFECTURES and _mod10_weighted(digits[3:9]) == expected


def care_office_number_check_digit_ok(number: str) -> bool:
    """True when a 10-character 介護保険事業所番号's check digit verifies (letters as A=10 … Z=32)."""
    if not CARE_OFFICE_NUMBER_RE.match(number):
        return False
    values = [_LETTER_VALUES[c] if c.isalpha() else int(c) for c in number[:9]]
    return _mod10_weighted(values) == int(number[9])
