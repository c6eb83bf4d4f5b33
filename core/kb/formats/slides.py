"""PowerPoint (.pptx with python-pptx, MIT): each slide's text, tables and speaker notes as one
section headed "Slide n > title", with {"slide": n} stored on its chunks."""

from __future__ import annotations

import io
import zipfile

from core.i18n import msg
from core.kb.formats.base import Parsed, Section, check_zip_size
from core.kb.formats.tables import markdown_table

MAX_GROUP_DEPTH = 20  # group shapes nest; python-pptx walks them recursively


def _shape_texts(shapes, depth: int = 0) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    texts: list[str] = []
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP and depth < MAX_GROUP_DEPTH:
            texts += _shape_texts(shape.shapes, depth + 1)
        elif getattr(shape, "has_table", False) and shape.has_table:
            texts.append(markdown_table([cell.text for cell in row.cells] for row in shape.table.rows))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            texts.append(shape.text_frame.text)
    return [t.strip() for t in texts if t.strip()]


def parse(data: bytes) -> Parsed:
    import pptx
    from pptx.exc import PackageNotFoundError

    from core.kb.loaders import LoadError

    check_zip_size(data, ".pptx").close()
    try:
        deck = pptx.Presentation(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise LoadError(msg("errors.kb_package_damaged", what=".pptx"), msg("errors.kb_package_damaged.hint")) from exc
    sections = []
    for number, slide in enumerate(deck.slides, 1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text.split()) if title_shape is not None and title_shape.has_text_frame else ""
        parts = [t for t in _shape_texts(slide.shapes) if " ".join(t.split()) != title]
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                parts.append(notes)
        heading = f"Slide {number}" + (f" > {title}" if title else "")
        if parts or title:
            sections.append(Section("\n\n".join(parts) or title, heading=heading, meta={"slide": number}))
    return Parsed(tuple(sections))
