"""The operator's review form for 「アカウント発行」: the public form's fields, normalised and checked the same
way, all required but 部署名, plus the explicit acknowledgement of a failing check digit."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField

from backoffice.accounts.issuance import IssuanceInput
from backoffice.codes import medical_code_check_digit_ok
from backoffice.inquiries.models import Inquiry
from forms.inquiry import InquiryForm

_REQUIRED = {
    "medical_code": "医療機関コード",
    "institution_name": "医療機関名",
    "institution_kana": "医療機関名（フリガナ）",
    "postal_code": "郵便番号",
    "address": "所在地",
    "name": "氏名",
    "name_kana": "氏名（フリガナ）",
    "email": "メールアドレス",
    "phone": "電話番号",
}


class IssuanceForm(FlaskForm):
    # The same field definitions (normalisers, format checks, messages) as the public form.
    medical_code = InquiryForm.medical_code
    institution_name = InquiryForm.institution_name
    institution_kana = InquiryForm.institution_kana
    postal_code = InquiryForm.postal_code
    address = InquiryForm.address
    name = InquiryForm.name
    name_kana = InquiryForm.name_kana
    email = InquiryForm.email
    phone = InquiryForm.phone
    department = InquiryForm.department
    acknowledge_check_digit = BooleanField("検証番号の不一致を確認した")

    @classmethod
    def from_inquiry(cls, inquiry: Inquiry) -> "IssuanceForm":
        details = inquiry.account_request
        if details is None:
            raise ValueError("only ID-issuance tickets carry the institution's details")
        return cls(
            data={
                "medical_code": details.medical_code,
                "institution_name": details.institution_name,
                "institution_kana": details.institution_kana,
                "postal_code": details.postal_code,
                "address": details.address,
                "name": inquiry.requester_name,
                "name_kana": inquiry.requester_kana,
                "email": inquiry.email,
                "phone": inquiry.phone,
                "department": details.department or "",
            }
        )

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        for name, label in _REQUIRED.items():
            field = self[name]
            if not field.data and not field.errors:
                field.errors.append(f"＊{label}を入力してください。")
        return not any(f.errors for f in self)

    @property
    def check_digit_ok(self) -> bool:
        return medical_code_check_digit_ok(self.medical_code.data or "")

    def to_input(self) -> IssuanceInput:
        return IssuanceInput(
            medical_code=self.medical_code.data,
            institution_name=self.institution_name.data,
            institution_kana=self.institution_kana.data,
            postal_code=self.postal_code.data,
            address=self.address.data,
            name=self.name.data,
            name_kana=self.name_kana.data,
            email=self.email.data,
            phone=self.phone.data,
            department=self.department.data or None,
        )


class RejectForm(FlaskForm):
    body = TextAreaField("却下の理由（依頼者にメールで送信）")
