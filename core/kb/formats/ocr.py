"""Offline OCR (PP-OCRv4 Chinese+English through RapidOCR on onnxruntime, CPU).

The models ship inside the `rapidocr-onnxruntime` wheel, so nothing downloads at run time. The
engine loads once per process on first use (~0.3 s) and is shared behind a lock: one page at a
time uses all cores already, and the engine object is not documented as thread-safe.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

log = logging.getLogger(__name__)
_lock = threading.Lock()
_engine = None


def _get_engine():
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        _engine = RapidOCR()
    return _engine


def recognize(image: np.ndarray) -> str:
    """The text of an image (H×W×3 uint8), one detected line per line, top to bottom; "" if none.
    Raises whatever the engine raises (the caller reports it for that page)."""
    with _lock:
        result, _ = _get_engine()(image)
    if not result:
        return ""
    boxes = sorted(result, key=lambda r: (min(p[1] for p in r[0]), min(p[0] for p in r[0])))
    return "\n".join(_lines(boxes))


def _lines(boxes: list) -> list[str]:
    """Boxes whose vertical centres are within half a line height of each other form one line,
    joined left to right (a table row or two columns of a form stay on one line)."""
    lines: list[list[tuple[float, str]]] = []
    last_centre, last_height = None, 0.0
    for points, text, _score in boxes:
        ys = [p[1] for p in points]
        centre, height = (min(ys) + max(ys)) / 2, max(ys) - min(ys)
        if last_centre is not None and abs(centre - last_centre) < max(height, last_height) / 2:
            lines[-1].append((min(p[0] for p in points), text))
        else:
            lines.append([(min(p[0] for p in points), text)])
            last_centre, last_height = centre, height
    return [" ".join(text for _, text in sorted(line)) for line in lines]
