"""Text-based PDF files, Arabic included, through pdfminer.six.

PDF files hold glyphs placed on a page, not text. Arabic is usually written in
*visual* order (left to right, as it is drawn, a lam-alef ligature being one glyph
whose text is "لا"), so the characters of a line come out backwards. Each line is
put back in logical order glyph by glyph: reversing characters instead would break
the ligatures, and numbers and Latin words inside Arabic keep their own direction.
(pypdf and pdfium were measured on the same files: pypdf misplaces numbers inside
Arabic lines, pdfium swaps the letters of lam-alef.)
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Iterator
from itertools import pairwise

from khabar.errors import InputError

MAX_PAGES = 2000
# Arabic presentation forms (glyph code points some PDF writers map back to);
# NFKC turns them into letters.
_PRESENTATION = ("\ufb50", "\ufdff"), ("\ufe70", "\ufeff")


def _is_rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL")


def _is_ltr(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("L", "EN", "AN")


def visual_to_logical(glyphs: list[str]) -> str:
    """The logical text of a right-to-left line given as glyph texts in visual order.

    Runs of left-to-right glyphs (Latin letters, digits, and what lies between two of
    them) keep their order; everything else is read right to left.
    """
    strong = [
        "L" if any(_is_ltr(c) for c in g) else "R" if any(_is_rtl(c) for c in g) else ""
        for g in glyphs
    ]
    # A neutral glyph (space, punctuation) joins a left-to-right run only when it has
    # left-to-right glyphs on both sides (before any right-to-left one).
    kinds = list(strong)
    for i, kind in enumerate(strong):
        if kind:
            continue
        left = next((k for k in reversed(strong[:i]) if k), "R")
        right = next((k for k in strong[i + 1 :] if k), "R")
        kinds[i] = "L" if left == right == "L" else "R"
    out: list[str] = []
    i = len(glyphs) - 1
    while i >= 0:
        if kinds[i] == "L":
            j = i
            while j > 0 and kinds[j - 1] == "L":
                j -= 1
            out.extend(glyphs[j : i + 1])
            i = j - 1
        else:
            out.append(glyphs[i])
            i -= 1
    return "".join(out)


def _line_text(glyphs: list[tuple[float, str]]) -> str:
    """A line's text from (x position, glyph text) in the order the page drew them."""
    texts = [t for _, t in glyphs]
    letters = [(x, t) for x, t in glyphs if any(_is_rtl(c) for c in t)]
    if not letters:
        return "".join(texts)
    rising = sum(1 for (a, _), (b, _) in pairwise(letters) if b > a)
    if rising * 2 < len(letters) - 1:
        return "".join(texts)  # already in logical order (drawn right to left)
    return visual_to_logical(texts)


def _fold_presentation_forms(text: str) -> str:
    if not any(lo <= ch <= hi for ch in text for lo, hi in _PRESENTATION):
        return text
    return "".join(
        unicodedata.normalize("NFKC", ch) if any(lo <= ch <= hi for lo, hi in _PRESENTATION) else ch
        for ch in text
    )


def _glyphs(line: Iterable[object]) -> list[tuple[float, str]]:
    from pdfminer.layout import LTAnno, LTChar

    glyphs: list[tuple[float, str]] = []
    for item in line:
        if isinstance(item, LTChar):
            glyphs.append((float(item.x0), item.get_text()))
        elif isinstance(item, LTAnno) and item.get_text() != "\n":
            x = glyphs[-1][0] if glyphs else 0.0
            glyphs.append((x, item.get_text()))
    return glyphs


def _paragraphs(pages: Iterable[object]) -> Iterator[str]:
    from pdfminer.layout import LTTextBox, LTTextLine

    for page in pages:
        for box in page:  # type: ignore[attr-defined]
            if not isinstance(box, LTTextBox):
                continue
            lines = [
                _line_text(_glyphs(line)).strip() for line in box if isinstance(line, LTTextLine)
            ]
            text = " ".join(line for line in lines if line)
            if text:
                yield _fold_presentation_forms(text)


def pdf_text(data: bytes, name: str) -> tuple[str, dict[str, str]]:
    """The text of a PDF (paragraphs separated by blank lines) and its Title/Author metadata.

    InputError for a file that is not a PDF, is encrypted, or has no text layer.
    """
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFParser, PDFSyntaxError

    if not data.lstrip().startswith(b"%PDF"):
        raise InputError(f"{name}: not a PDF file")
    meta: dict[str, str] = {}
    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        for info in document.info:
            for key in ("Title", "Author"):
                value = info.get(key)
                if isinstance(value, bytes):
                    value = _decode_pdf_string(value)
                if isinstance(value, str) and value.strip():
                    meta[key.lower()] = value.strip()
        pages = extract_pages(io.BytesIO(data), laparams=LAParams(), maxpages=MAX_PAGES)
        text = "\n\n".join(_paragraphs(pages))
    except (PDFEncryptionError, PDFPasswordIncorrect) as exc:
        raise InputError(f"{name}: the PDF is encrypted; save an unprotected copy") from exc
    except (PDFSyntaxError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{name}: cannot read the PDF ({exc.__class__.__name__}: {exc})") from exc
    if not text.strip():
        raise InputError(f"{name}: the PDF has no text layer (a scan?); khabar reads text PDFs")
    return text, meta


def _decode_pdf_string(value: bytes) -> str:
    if value.startswith((b"\xfe\xff", b"\xff\xfe")):
        return value.decode("utf-16", errors="replace")
    return value.decode("latin-1")
