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


def xsrf_token(cookie: str | None) -> bytes | None:
    """The random token inside Streamlit's `_streamlit_xsrf` cookie, or None.

    Streamlit re-masks the cookie on every page load (`2|mask|masked-token|time`) but keeps
    the token, so the token (not the cookie text) identifies one browser. It lives in that
    browser's cookie jar only: never in a URL, a command line or a log.
    """
    value = (cookie or "").strip("\"' ")
    try:
        if value.startswith("2|"):
            _, mask_hex, masked_hex, _ = value.split("|")
            mask, masked = bytes.fromhex(mask_hex), bytes.fromhex(masked_hex)
            if len(mask) != 4 or not masked:
                return None
            return bytes(b ^ mask[i % 4] for i, b in enumerate(masked))
        token = bytes.fromhex(value)
        return token or None
    except ValueError:
        return None


def login_binding(xsrf_cookie: str | None, connection: str) -> str:
    """What a login is bound to: a digest of this browser's XSRF token, else this one connection.

    A Streamlit session id alone lets a new websocket take over a session (and its
    `session_state`); storing this next to "logged in" and comparing it on every run means
    the id without the browser's cookie gets the password form again.
    """
    token = xsrf_token(xsrf_cookie)
    if token:
        return "browser:" + hashlib.sha256(b"liandan-login\0" + token).hexdigest()
    return "connection:" + connection
