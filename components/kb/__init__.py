"""The Knowledge base page's parts: create, ingest, browse, search, watch, calibrate."""
