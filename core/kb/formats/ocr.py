"""Offline OCR (PP-OCRv4 Chinese+English through RapidOCR on onnxruntime, CPU).

The models ship inside the `rapidocr-onnxruntime` wheel, so nothing downloads at run time. The
engine loads once per process on first use (~0.3 s) and is shared behind a lock: one page at a
time uses all cores already, and the engine object is not documented as thread-safe.

Two shapes RapidOCR handles badly are reshaped before it sees them. It scales any image down to
2000 px on its long side, so a phone's long screenshot (1080×24000, a 长截图) came back as noise:
a tall image is read in overlapping tiles at its own resolution. And its detector scales the
SHORT side up to 736 px, so a tall, thin strip (30 px wide, 1999 tall: a few hundred bytes of PNG) became a
736×49000 canvas: 41 s and 5 GB. Every canvas is padded to at most MAX_ASPECT first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.errors import Cancelled

log = logging.getLogger(__name__)
_lock = threading.Lock()
_engine = None

TILE_SIDE = 2000  # RapidOCR's max_side_len: a longer canvas is scaled down before detection
TILE_OVERLAP = 200  # taller than a line of text; each line is read in the tile that holds its centre
MAX_ASPECT = 4  # long side / short side of what the engine gets; a thinner canvas is padded with white
BLANK_CONTRAST = 8  # a tile whose darkest and lightest values differ by less (of 255) holds no legible text


@dataclass(frozen=True)
class TextBox:
    """One detected line of text, in the coordinates of the whole image."""

    left: float
    top: float
    bottom: float
    text: str

    @property
    def centre(self) -> float:
        return (self.top + self.bottom) / 2


def _get_engine():
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        _engine = RapidOCR()
    return _engine


def recognize(image: np.ndarray, on_tile: Callable[[int, int], None] | None = None,
              should_stop: Callable[[], bool] = lambda: False) -> str:
    """The text of an image (H×W×3 uint8), one detected line per line, top to bottom; "" if none.
    A tall image is read tile by tile: `on_tile(done, total)` after each, Cancelled between them
    when `should_stop()`. Raises whatever the engine raises (the caller reports it for that page)."""
    spans = tiles(image.shape[0], image.shape[1])
    boxes: list[TextBox] = []
    for number, (start, end) in enumerate(spans):
        if should_stop():
            raise Cancelled()
        low = (start + spans[number - 1][1]) / 2 if number else -np.inf  # the middle of each overlap
        high = (spans[number + 1][0] + end) / 2 if number + 1 < len(spans) else np.inf
        boxes += [box for box in _read(image[start:end], start) if low <= box.centre < high]
        if on_tile is not None:
            on_tile(number + 1, len(spans))
    boxes.sort(key=lambda box: (box.top, box.left))
    return "\n".join(_lines(boxes))


def tiles(height: int, width: int) -> list[tuple[int, int]]:
    """Row spans [start, end) that cover the image, overlapping by TILE_OVERLAP: one span unless
    the image is taller than both TILE_SIDE and twice its width (so a page, 1.41:1, stays whole
    and is scaled to TILE_SIDE as before; a 1080-wide screenshot is read in 1080×2160 tiles)."""
    side = max(TILE_SIDE, 2 * width)
    if height <= side:
        return [(0, height)]
    step = side - TILE_OVERLAP
    starts = list(range(0, height - side, step)) + [height - side]
    return [(start, start + side) for start in starts]


def _read(tile: np.ndarray, offset: int) -> list[TextBox]:
    """The engine's lines in one tile, in the whole image's coordinates (`offset` rows down).
    The tile is scaled to TILE_SIDE first, as the engine would, so that padding stays small. A blank
    tile (a screenshot's empty stretch, JPEG noise on white, a hostile 1-px-wide image 60000 tall) is
    not given to the engine at all: each engine call took 0.5–0.7 s here even with nothing to find."""
    from PIL import Image

    if tile.size == 0 or int(tile.max()) - int(tile.min()) < BLANK_CONTRAST:
        return []
    height, width = tile.shape[:2]
    scale = min(1.0, TILE_SIDE / max(height, width))
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        tile = np.asarray(Image.fromarray(tile).resize(size, Image.Resampling.BOX))
        height, width = tile.shape[:2]
    pad_right = max(0, -(-height // MAX_ASPECT) - width)
    pad_bottom = max(0, -(-width // MAX_ASPECT) - height)
    if pad_right or pad_bottom:
        tile = np.pad(tile, ((0, pad_bottom), (0, pad_right), (0, 0)), constant_values=255)
    with _lock:
        result, _ = _get_engine()(np.ascontiguousarray(tile))
    boxes = []
    for points, text, _score in result or []:
        ys = [p[1] / scale for p in points]
        boxes.append(TextBox(min(p[0] for p in points) / scale, min(ys) + offset, max(ys) + offset, text))
    return boxes


def _lines(boxes: list[TextBox]) -> list[str]:
    """Boxes whose vertical centres are within half a line height of each other form one line,
    joined left to right (a table row or two columns of a form stay on one line)."""
    lines: list[list[TextBox]] = []
    last: TextBox | None = None
    for box in boxes:
        if last is not None and abs(box.centre - last.centre) < max(box.bottom - box.top, last.bottom - last.top) / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
            last = box
    return [" ".join(box.text for box in sorted(line, key=lambda b: b.left)) for line in lines]
