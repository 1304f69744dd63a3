"""Field types shared by the forms.

`TextInput` keeps exactly what the user typed for re-display, while `.data` holds the normalised value that
validation and storage see (docs/domain.md: accept lenient input, store one canonical form).
"""

from collections.abc import Callable
from typing import Any

from wtforms import StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError

from backoffice.normalize import InvalidInput, nfkc

# Far above any real value; only there so that absurd input never reaches a normaliser.
RAW_LIMIT = 10_000


class _Normalised:
    normalizer: Callable[[str], str] = staticmethod(nfkc)

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = str(valuelist[0]) if valuelist else ""
        self.data = self.normalizer(raw[:RAW_LIMIT])

    def _value(self) -> str:
        return self.raw_data[0] if self.raw_data else (self.data or "")


class TextInput(_Normalised, StringField):
    """A one-line text field with a normaliser (NFKC and folded spaces unless told otherwise)."""

    def __init__(self, *args: Any, normalizer: Callable[[str], str] = nfkc, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.normalizer = normalizer


class TextArea(_Normalised, TextAreaField):
    def __init__(self, *args: Any, normalizer: Callable[[str], str] = nfkc, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.normalizer = normalizer


def required(label: str, verb: str = "入力") -> Callable[[Any, Any], None]:
    """「＊{label}を入力してください。」 when empty; stops the field's other checks."""

    def check(form: Any, field: Any) -> None:
        if not field.data:
            raise StopValidation(f"＊{label}を{verb}してください。")

    return check


def max_length(label: str, limit: int) -> Callable[[Any, Any], None]:
    def check(form: Any, field: Any) -> None:
        if field.data and len(field.data) > limit:
            raise ValidationError(
                f"＊{label}は{limit}文字以内で入力してください（現在{len(field.data)}文字）。"
            )

    return check


def checked_by(check: Callable[..., None], *args: Any) -> Callable[[Any, Any], None]:
    """Turn a `backoffice.normalize.check_*` function into a validator for non-empty values."""

    def validator(form: Any, field: Any) -> None:
        if field.data:
            try:
                check(field.data, *args)
            except InvalidInput as error:
                raise ValidationError(str(error)) from error

    return validator
