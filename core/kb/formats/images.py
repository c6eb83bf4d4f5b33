"""Photos and screenshots of text (.png/.jpg): the same OCR as scanned PDF pages."""

from __future__ import annotations

import io

import numpy as np

from core.i18n import msg
from core.kb.formats import ocr
from core.kb.formats.base import LoadOptions, Parsed, Section

MAX_PIXELS = 60_000_000  # a 60-megapixel photo is ~180 MB decoded; a larger "image" is a decompression bomb


def parse(data: bytes, options: LoadOptions) -> Parsed:
    from PIL import Image, UnidentifiedImageError

    from core.kb.loaders import LoadError

    if not options.ocr:
        raise LoadError(msg("errors.kb_image_ocr_off"), msg("errors.kb_image_ocr_off.hint"))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise LoadError(msg("errors.kb_image_too_large", width=image.width, height=image.height))
            image.draft("RGB", (ocr.TILE_SIDE, ocr.TILE_SIDE))  # JPEG decodes at a reduced size directly
            rgb = image.convert("RGB")
    except LoadError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own limit, for headers past twice its pixel cap
        raise LoadError(msg("errors.kb_image_bomb")) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise LoadError(msg("errors.kb_image_damaged", detail=type(exc).__name__), msg("errors.kb_image_damaged.hint")) from exc
    if min(rgb.size) > ocr.TILE_SIDE:  # the engine would scale each tile down to this anyway
        scale = ocr.TILE_SIDE / min(rgb.size)
        rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS)
    text = ocr.recognize(np.asarray(rgb), options.on_page, options.should_stop)  # a long screenshot's tiles are its "pages"
    if not text.strip():
        raise LoadError(msg("errors.kb_image_no_text"))
    return Parsed((Section(text),), (msg("kb.report.image_ocr"),))
