"""Rich Text (.rtf) through striprtf (BSD): control words dropped, \\uN and \\'xx escapes decoded
in the code page the file declares (\\ansicpg936 in Chinese Word files)."""

from __future__ import annotations

from core.i18n import msg


def parse(data: bytes) -> str:
    from striprtf.striprtf import rtf_to_text

    from core.kb.loaders import LoadError

    if not data.lstrip().startswith(b"{\\rtf"):
        raise LoadError(msg("errors.kb_rtf_invalid"), msg("errors.kb_rtf_invalid.hint"))
    return rtf_to_text(data.decode("latin-1"), errors="replace")
