"""Spreadsheets (.xlsx with openpyxl, MIT; .csv) as Markdown tables, one section per sheet headed
by its name; the chunker cuts them into blocks of rows, each with the header row repeated."""

from __future__ import annotations

import csv
import io
import zipfile

from core.i18n import msg
from core.kb.formats.base import Parsed, Section, check_zip_size
from core.kb.formats.tables import markdown_table

MAX_COLUMNS = 200  # a sheet wider than this is cut (a stray value in column XFD would make every row 16k cells)


def parse_xlsx(data: bytes) -> Parsed:
    import openpyxl

    from core.kb.loaders import LoadError

    check_zip_size(data, ".xlsx").close()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise LoadError(msg("errors.kb_package_damaged", what=".xlsx"), msg("errors.kb_package_damaged.hint")) from exc
    try:
        sections = []
        for sheet in book.worksheets:
            table = markdown_table(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS))
            if table:
                sections.append(Section(table, heading=sheet.title))
    finally:
        book.close()
    return Parsed(tuple(sections))


def parse_csv(text: str) -> str:
    """The CSV as one Markdown table (header first); "" for a file with no cells."""
    from core.kb.loaders import LoadError

    try:
        return markdown_table(row[:MAX_COLUMNS] for row in csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise LoadError(msg("errors.kb_csv_invalid", detail=str(exc))) from exc
