"""Keep ChatGLM3's remote code working on current transformers.

ChatGLM3-6B's `tokenization_chatglm.py` / `modeling_chatglm.py` were written for
transformers 4.3x. Newer releases call `_pad(..., padding_side=...)`, removed
`_extract_past_from_model_output`, and changed the internals `stream_chat` relies on. We
patch the first two on the loaded classes and never call `stream_chat`: streaming goes
through `generate()` + a streamer like every other model.
"""

from __future__ import annotations

import functools
import inspect
import logging

log = logging.getLogger(__name__)


def patch_tokenizer(tokenizer) -> bool:
    """Let an old `_pad` accept (and ignore) the `padding_side` keyword newer code passes."""
    cls = type(tokenizer)
    pad = getattr(cls, "_pad", None)
    if pad is None or getattr(pad, "_liandan_patched", False):
        return False
    if "padding_side" in inspect.signature(pad).parameters:
        return False

    @functools.wraps(pad)
    def _pad(self, *args, padding_side=None, **kwargs):
        return pad(self, *args, **kwargs)

    _pad._liandan_patched = True
    cls._pad = _pad
    log.info("patched %s._pad for padding_side", cls.__name__)
    return True


def _extract_past_from_model_output(self, outputs, standardize_cache_format: bool = False):
    """The transformers 4.3x helper ChatGLM3's `_update_model_kwargs_for_generation` calls."""
    return getattr(outputs, "past_key_values", None)


def patch_model(model) -> bool:
    cls = type(model)
    if hasattr(cls, "_extract_past_from_model_output"):
        return False
    cls._extract_past_from_model_output = _extract_past_from_model_output
    log.info("patched %s._extract_past_from_model_output", cls.__name__)
    return True


def needs_compat(config: dict) -> bool:
    return config.get("model_type") == "chatglm" or "chatglm" in str(config.get("auto_map", "")).lower()
