"""Secrets that must be readable again (a mail's body until it is sent, an operator's TOTP seed), sealed
at rest with keys derived from SECRET_KEY.

Each use has its own label, so one derived key never serves two purposes. Rotating SECRET_KEY: put the
old key in SECRET_KEY_FALLBACKS (Flask reads it for sessions too), start the app with the new one, run
`flask operators reseal`, then drop the fallback (docs/security.md, "Secrets at rest").
"""

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app

OUTBOX = "outbox-body"
TOTP_SEED = "operator-totp-seed"
STATUS_TOKEN = "inquiry-status-token"  # noqa: S105 (a label, not a secret)
INBOUND_RAW = "inbound-raw-message"


def _key(label: str, secret_key: str) -> Fernet:
    digest = hashlib.sha256(f"{label}:{secret_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def sealer(label: str) -> MultiFernet:
    """Seals under SECRET_KEY; opens what SECRET_KEY or any of SECRET_KEY_FALLBACKS sealed."""
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return MultiFernet([_key(label, key) for key in keys])


def seal(label: str, value: str) -> str:
    return sealer(label).encrypt(value.encode()).decode()


def unseal(label: str, token: str) -> str:
    """Raises cryptography.fernet.InvalidToken when no configured key sealed it."""
    return sealer(label).decrypt(token.encode()).decode()


def reseal(label: str, token: str) -> str:
    """The same value sealed under the current SECRET_KEY (after a rotation)."""
    return sealer(label).rotate(token.encode()).decode()


def seal_bytes(label: str, value: bytes) -> bytes:
    return sealer(label).encrypt(value)


def unseal_bytes(label: str, token: bytes) -> bytes:
    """Raises cryptography.fernet.InvalidToken when no configured key sealed it."""
    return sealer(label).decrypt(token)


def reseal_bytes(label: str, token: bytes) -> bytes:
    return sealer(label).rotate(token)
