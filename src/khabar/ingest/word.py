"""Word documents (.docx) through python-docx, after a check that the zip is not a bomb.

DOCX stores text in logical order, so Arabic needs no reordering. Heading and Title
paragraphs become their own short lines, which the chunker reads as section headings.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from khabar.errors import InputError

# A zip member that inflates more than this many times, to more than a megabyte,
# is a bomb, not a document (Word's XML compresses about ten times).
MAX_RATIO = 100
MAX_MEMBER_RATIO_BYTES = 1024 * 1024
# A table's rows are joined into paragraphs of about this many characters.
TABLE_BLOCK_CHARS = 400


def check_zip(data: bytes, name: str, max_unpacked: int) -> zipfile.ZipFile:
    """Open ``data`` as a zip whose declared sizes are sane. Python's zipfile never
    inflates a member past its declared size, so checking those bounds the memory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InputError(f"{name}: not a .docx file (not a zip archive)") from exc
    total = 0
    for info in members:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_MEMBER_RATIO_BYTES and ratio > MAX_RATIO:
            raise InputError(
                f"{name}: refused: {info.filename} would inflate {ratio:,.0f} times "
                f"to {info.file_size:,} bytes (a zip bomb?)"
            )
        if total > max_unpacked:
            raise InputError(
                f"{name}: refused: it unpacks to more than {max_unpacked:,} bytes (a zip bomb?)"
            )
    return archive


def table_blocks(table: Any) -> list[str]:
    """A Word table as paragraphs: each row's cells joined by " | ", consecutive rows by
    "; " into paragraphs of up to TABLE_BLOCK_CHARS. A row on a line of its own would be
    short and unpunctuated, which the chunker reads as a heading ("مصر | 3 ملايين"), and
    would be lost as text."""
    rows: list[str] = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        if any(cells):
            rows.append(" | ".join(cells))
    blocks: list[str] = []
    for text in rows:
        if blocks and len(blocks[-1]) + 2 + len(text) <= TABLE_BLOCK_CHARS:
            blocks[-1] += "; " + text
        else:
            blocks.append(text)
    return blocks


def docx_text(data: bytes, name: str, max_unpacked: int) -> tuple[str, dict[str, str]]:
    """The text of a .docx (paragraphs separated by blank lines; tables cell by cell)
    and its title/author properties."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    check_zip(data, name, max_unpacked)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{name}: not a Word document ({exc})") from exc
    except Exception as exc:  # lxml's XMLSyntaxError and friends: a damaged file
        raise InputError(f"{name}: cannot read the Word document ({exc})") from exc
    blocks: list[str] = []
    title = ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(table_blocks(item))
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        if item.style is not None and item.style.name == "Title" and not title:
            title = text
            continue
        blocks.append(text)
    props = document.core_properties
    meta = {"title": (props.title or "").strip() or title, "author": (props.author or "").strip()}
    return "\n\n".join(blocks), {k: v for k, v in meta.items() if v}
