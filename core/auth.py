"""Password and API-key checks, constant-time; a hashed password may live in secrets.toml."""

from __future__ import annotations

import hashlib
import hmac

SHA256_PREFIX = "sha256:"


def hash_password(password: str) -> str:
    return SHA256_PREFIX + hashlib.sha256(password.encode("utf-8")).hexdigest()


def check_password(given: str, expected: str) -> bool:
    """`expected` is plain text, or `sha256:<hex>` as written by `python -m core hash-password`."""
    if expected.startswith(SHA256_PREFIX):
        return hmac.compare_digest(hash_password(given), expected)
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def check_bearer(header: str | None, api_key: str) -> bool:
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].encode("utf-8"), api_key.encode("utf-8"))
