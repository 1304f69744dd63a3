"""Whether a directory row's secrets changed since the last import, without hashing them again.

An argon2 hash of a password costs about 0.1 s of a core, so re-importing a directory of 200,000 offices
would take hours even when almost nothing changed. Each imported row therefore keeps a keyed fingerprint,
HMAC-SHA256 over its e-claims ID, password and security code, under ECLAIMS_FINGERPRINT_KEY: a key of its
own (not SECRET_KEY), set only in the environment and never stored in the database. A row whose
fingerprint matches is not hashed again. Without the key a stolen database gives nothing to guess
passwords against faster than the argon2 hashes beside it; with both, a fingerprint is a fast check, so
the key is kept apart. Rotating it: set the new key; the next import finds no match, hashes every row
once and stores fingerprints under the new key (docs/security.md, "Secrets at rest").
"""

import hashlib
import hmac

from flask import current_app


def key() -> bytes | None:
    """The configured key, or None: then every row is hashed and no fingerprint is kept."""
    value = current_app.config.get("ECLAIMS_FINGERPRINT_KEY")
    return value.encode() if value else None


def fingerprint(secret: bytes, eclaims_id: str, password: str, security_code: str | None) -> str:
    """Bound to the ID, so that two offices with the same password get different fingerprints; the
    parts are length-prefixed, so no two different rows give the same message."""
    parts = [eclaims_id, password, security_code or ""]
    message = b"".join(len(p.encode()).to_bytes(4, "big") + p.encode() for p in parts)
    return hmac.new(secret, b"eclaims-row-v1:" + message, hashlib.sha256).hexdigest()
