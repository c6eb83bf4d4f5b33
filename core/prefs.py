"""Per-user settings (answer length, temperature, top-k…) kept on disk, one file per browser.

A browser is known by a random id in a cookie (`USER_COOKIE`, set by `UserCookieMiddleware`
on the first page load). The id is only ever used as a file name after it matched
`USER_ID`, so a forged cookie cannot point outside the folder. Only JSON scalars are
stored, and only for keys the UI declared, so the file stays small and harmless.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

USER_COOKIE = "liandan_user"
USER_ID = re.compile(r"[0-9a-f]{32}")
COOKIE_MAX_AGE_S = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days
MAX_VALUE_CHARS = 2000
Scalar = str | int | float | bool | None


def new_user_id() -> str:
    return secrets.token_hex(16)


def valid_user_id(value: object) -> bool:
    return isinstance(value, str) and USER_ID.fullmatch(value) is not None


class PrefsStore:
    """`folder/<user id>.json` = {key: value}; unreadable files count as empty, never as an error."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, user_id: str) -> Path:
        if not valid_user_id(user_id):
            raise ValueError(f"not a user id: {user_id!r}")
        return self.folder / f"{user_id}.json"

    def load(self, user_id: str) -> dict[str, Scalar]:
        try:
            data = json.loads(self._path(user_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable settings of user %s: %s", user_id, exc)
            return {}
        return {k: v for k, v in data.items() if _storable(v)} if isinstance(data, dict) else {}

    def save(self, user_id: str, values: dict[str, Scalar]) -> None:
        path = self._path(user_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        clean = {k: v for k, v in values.items() if isinstance(k, str) and _storable(v)}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(clean, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        tmp.replace(path)  # atomic: a reader never sees half a file


def _storable(value: object) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_VALUE_CHARS
    return value is None or isinstance(value, (bool, int, float))


class UserCookieMiddleware:
    """Give every browser a random id cookie on its first page load (HttpOnly: scripts never see it).

    The Streamlit front end opens its websocket after loading the page, so the session's
    `st.context.cookies` already carries the id on the very first visit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _has_valid_cookie(scope):
            await self.app(scope, receive, send)
            return
        cookie = (
            f"{USER_COOKIE}={new_user_id()}; Max-Age={COOKIE_MAX_AGE_S}; Path=/; HttpOnly; SameSite=Lax"
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "text/html" in headers.get("content-type", ""):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _has_valid_cookie(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == USER_COOKIE and valid_user_id(val):
                    return True
    return False
