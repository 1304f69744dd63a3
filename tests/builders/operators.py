"""Operators of each role, their authenticator's current code, and the sign-in page walked like a browser."""

import pyotp

from backoffice.operators import operations
from backoffice.operators.models import Operator, Role
from tests.builders.web import csrf_token

PASSWORD = "correct horse battery staple"


def make_operator(role: Role = Role.AGENT, email: str | None = None, name: str = "") -> Operator:
    address = email or f"{role.value}@ops.example.jp"
    return operations.create_operator(address, name or f"{role.value}担当", role, PASSWORD)


def current_code(operator: Operator) -> str:
    return pyotp.TOTP(operator.totp_secret).now()


def login(client, email: str, password: str, code: str):
    page = client.get("/admin/login")
    return client.post(
        "/admin/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": email,
            "password": password,
            "code": code,
        },
    )
