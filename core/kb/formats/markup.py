"""HTML (pages, and the chapters of an EPUB) as text lines, its tables as Markdown tables."""

from __future__ import annotations

MAX_TABLES = 2000  # a page with more tables than this keeps the rest as plain lines


def html_text(text: str) -> tuple[str, str]:
    """(title, text) of an HTML document; scripts and styles dropped, each <table> replaced by its
    Markdown form (innermost first, so a nested table flattens into its outer cell)."""
    from bs4 import BeautifulSoup

    from core.kb.formats.tables import markdown_table

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag is not None else ""
    if title_tag is not None:
        title_tag.decompose()
    for table in reversed(soup.find_all("table", limit=MAX_TABLES)):
        rows = [[cell.get_text(" ") for cell in row.find_all(["th", "td"], recursive=False)] for row in table.find_all("tr")]
        table.replace_with(f"\n{markdown_table(rows)}\n")
    lines = (line.strip() for line in soup.get_text("\n").splitlines())
    return title, "\n".join(line for line in lines if line)
