"""File uploads that speak the UI's language.

Streamlit's uploader draws its own English ("Upload", "200MB per file", "Drag and drop
files here") and has no locale setting (1.67), and a file of a type not in `type=` is
refused in the browser with only a red "!" whose English reason hides in a tooltip.
So: `localize_uploaders()` swaps the uploader's built-in words for ours with CSS (its
stable `data-testid`s), and `uploader()` takes every file, then refuses the wrong types
itself, naming each file and the reason in the UI's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from components.i18n import lang, t

_CSS = """
<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { display: none !important; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "%(button)s"; }
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0 !important; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after { content: "%(limit)s"; font-size: 0.875rem; }
</style>
"""


def _css_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def max_upload_mb() -> int:
    return int(st.get_option("server.maxUploadSize"))


def localize_uploaders() -> None:
    """Once per run, from the entry point: the uploader's own words in Chinese (English keeps Streamlit's)."""
    if lang() == "en":
        return
    st.html(_CSS % {"button": _css_text(t("upload.button")), "limit": _css_text(t("upload.limit", mb=max_upload_mb()))})


def type_list(types: Iterable[str]) -> str:
    return " ".join(f".{s.lstrip('.')}" for s in sorted(types))


def uploader(label: str, types: Iterable[str], key: str, multiple: bool = False, help: str | None = None,
             show_types: bool = False):
    """Like `st.file_uploader(label, type=types)`, but a refused file gets a message with its reason.

    The label should name the accepted types (or pass `show_types`).
    Returns the accepted file(s): a list when `multiple`, else one file or None.
    """
    allowed = {s.lower().lstrip(".") for s in types}
    if show_types:  # for labels that do not list the types themselves
        st.caption(t("upload.types", types=type_list(allowed)))
    got = st.file_uploader(label, accept_multiple_files=multiple, key=key, help=help)
    files: list[UploadedFile] = (got or []) if multiple else ([got] if got is not None else [])
    accepted = []
    for f in files:
        suffix = "".join(PurePath(f.name).suffixes[-1:]).lower().lstrip(".")
        if suffix in allowed:
            accepted.append(f)
        else:
            st.error(
                t("upload.rejected", name=f.name, suffix=f".{suffix}" if suffix else t("upload.no_suffix"), types=type_list(allowed)),
                icon="🚫",
            )
    return accepted if multiple else (accepted[0] if accepted else None)
