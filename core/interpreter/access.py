"""When the code interpreter may be offered at all: it runs code on the server, so never
to anonymous visitors from the network.
"""

from __future__ import annotations

LOCAL_ADDRESSES = {"localhost", "127.0.0.1", "::1"}


def localhost_only(server_address: str | None) -> bool:
    """Streamlit's `server.address`; unset means every interface, i.e. reachable from outside."""
    return (server_address or "").strip().strip("[]") in LOCAL_ADDRESSES


def interpreter_allowed(password_set: bool, server_address: str | None) -> bool:
    return password_set or localhost_only(server_address)
