"""`Authorization: Bearer <key>` on every API route once LIANDAN_API_KEY is set.

The comparison is constant-time (core.auth.check_bearer). The docs page and its schema
stay open: they describe the API and reveal nothing a key protects.
"""

from __future__ import annotations

from fastapi import Request

from core.api.errors import ApiError
from core.auth import check_bearer
from core.config import Settings


def bearer_guard(settings: Settings):
    """A FastAPI dependency that refuses requests without the configured key."""

    async def require_key(request: Request) -> None:
        if settings.api_key is None:
            return
        if not check_bearer(request.headers.get("authorization"), settings.api_key.get_secret_value()):
            raise ApiError(
                401,
                "Missing or wrong API key. Send the header 'Authorization: Bearer <LIANDAN_API_KEY>'.",
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_key
