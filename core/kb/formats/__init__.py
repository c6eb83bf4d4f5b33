"""Parsers for the formats that are more than a text stream: pages (PDF, images, OCR), tables
(sheets, Markdown tables from PDF/Word/HTML), slides and e-books. `core.kb.loaders` dispatches to
them by extension; each returns a `Parsed` (sections with their heading and metadata, plus notes
for the per-file report) or plain text."""
