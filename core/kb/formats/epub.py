"""E-books (.epub): a zip of XHTML chapters in the order the package's spine gives. Read with
zipfile and lxml directly (EbookLib, the usual parser, is AGPL); one section per chapter."""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from urllib.parse import unquote

from core.i18n import msg
from core.kb.formats.base import Parsed, Section, check_zip_size
from core.kb.formats.markup import html_text

_OPF = "{http://www.idpf.org/2007/opf}"
_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"


def _xml(raw: bytes):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    return etree.fromstring(raw, parser)


def parse(data: bytes) -> Parsed:
    from lxml import etree

    from core.kb.loaders import LoadError, decode

    package = check_zip_size(data, ".epub")
    try:
        container = _xml(package.read("META-INF/container.xml"))
        rootfile = container.find(f".//{_CONTAINER}rootfile")
        opf_path = unquote(rootfile.get("full-path", ""))
        opf = _xml(package.read(opf_path))
        base = posixpath.dirname(opf_path)
        manifest = {item.get("id"): item.get("href", "") for item in opf.iter(f"{_OPF}item")}
        spine = [ref.get("idref") for ref in opf.iter(f"{_OPF}itemref")]
        names = set(package.namelist())
        sections = []
        for idref in spine:
            href = manifest.get(idref)
            if not href:
                continue
            member = posixpath.normpath(posixpath.join(base, unquote(href.split("#")[0])))
            if member not in names:
                continue
            title, text = html_text(decode(package.read(member))[0])
            if text.strip():
                sections.append(Section(text, heading=title))
    except LoadError:
        raise
    except (KeyError, AttributeError, ValueError, etree.XMLSyntaxError, OSError, zipfile.BadZipFile, zlib.error) as exc:
        raise LoadError(msg("errors.kb_package_damaged", what=".epub"), msg("errors.kb_package_damaged.hint")) from exc
    finally:
        package.close()
    return Parsed(tuple(sections))
