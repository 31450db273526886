"""Documents, bulk files and feeds read from disk: DOCX, PDF, CSV, RSS/Atom, and their bombs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from khabar.errors import InputError
from khabar.ingest import read_path
from khabar.ingest.dates import parse_date, parse_day
from khabar.ingest.files import ReadContext
from khabar.ingest.pdf import visual_to_logical

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core
FIRST = (
    "قال الرئيس الروسي فلاديمير بوتين إن العلاقات مع إسرائيل جيدة في عام 2024، "
    "وأضاف أن الحوار مستمر مع جميع الأطراف في المنطقة منذ سنوات طويلة بحسب وكالة Reuters للأنباء."
)
SECOND = "الفقرة الثانية تتحدث عن سوريا والوزراء الجدد في الحكومة."


def make_pdf(path: Path) -> None:
    """An Arabic PDF as word processors write them: shaped glyphs in visual order,
    a lam-alef ligature, digits and a Latin word inside Arabic, a wrapped line."""
    from fpdf import FPDF

    assert FONT.exists(), "install fonts-dejavu-core (the CI does)"
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("dejavu", fname=str(FONT))
    pdf.set_font("dejavu", size=12)
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="ara")
    pdf.set_title("بوتين والعلاقات")
    pdf.set_author("مراسل خبر")
    pdf.multi_cell(0, 6, FIRST, align="R")
    pdf.ln(8)
    pdf.multi_cell(0, 6, SECOND, align="R")
    pdf.output(str(path))


def test_arabic_pdf_comes_out_in_logical_order(tmp_path: Path) -> None:
    path = tmp_path / "statement.pdf"
    make_pdf(path)
    [article] = read_path(path)
    assert article.text == f"{FIRST}\n\n{SECOND}"
    assert article.title == "بوتين والعلاقات" and article.author == "مراسل خبر"


def test_visual_to_logical_keeps_numbers_latin_and_ligatures() -> None:
    # Visual order (left to right as drawn): "2024 عام" drawn as ["2","0","2","4"," ","م","ا","ع"]
    assert visual_to_logical(list("2024 ماع")) == "عام 2024"
    # A lam-alef ligature is one glyph whose text is "لا": it must not be split.
    assert visual_to_logical(["ت", "ا", "ق", "لا", "ع", "ل", "ا"]) == "العلاقات"
    assert visual_to_logical(list("Reuters ةلاكو")) == "وكالة Reuters"


def test_pdf_without_text_damaged_or_encrypted(tmp_path: Path) -> None:
    from fpdf import FPDF

    empty = FPDF()
    empty.add_page()
    empty.output(str(tmp_path / "scan.pdf"))
    with pytest.raises(InputError, match=r"scan\.pdf: the PDF has no text layer"):
        read_path(tmp_path / "scan.pdf")
    (tmp_path / "fake.pdf").write_bytes(b"<html>not a pdf</html>")
    with pytest.raises(InputError, match=r"fake\.pdf: not a PDF file"):
        read_path(tmp_path / "fake.pdf")
    locked = FPDF()
    locked.add_page()
    locked.set_font("helvetica", size=12)
    locked.cell(0, 10, "secret text")
    locked.set_encryption(owner_password="owner", user_password="user")
    locked.output(str(tmp_path / "locked.pdf"))
    with pytest.raises(InputError, match=r"locked\.pdf: the PDF is encrypted"):
        read_path(tmp_path / "locked.pdf")


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.author = "مراسل خبر"
    document.add_heading("بوتين والعلاقات", level=0)
    document.add_heading("الاجتماع", level=1)
    document.add_paragraph(FIRST)
    document.add_paragraph(SECOND)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "الوزير"
    table.cell(0, 1).text = "الدفاع"
    document.save(str(path))


def test_arabic_docx_with_heading_title_and_table(tmp_path: Path) -> None:
    path = tmp_path / "statement.docx"
    make_docx(path)
    [article] = read_path(path)
    assert article.title == "بوتين والعلاقات" and article.author == "مراسل خبر"
    assert article.text == f"الاجتماع\n\n{FIRST}\n\n{SECOND}\n\nالوزير | الدفاع"


def test_a_word_table_of_short_cells_is_kept_row_by_row(tmp_path: Path) -> None:
    import docx

    from khabar.chunk import chunk_article

    rows = [("الدولة", "عدد السياح"), ("مصر", "15 مليون"), ("تركيا", "50 مليون"), ("الأردن", "6")]
    document = docx.Document()
    document.add_paragraph(SECOND)
    table = document.add_table(rows=len(rows), cols=2)
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
    document.add_paragraph(FIRST)
    path = tmp_path / "tourists.docx"
    document.save(str(path))
    [article] = read_path(path)
    chunks = chunk_article(article)
    texts = [c.text for c in chunks]
    assert "الدولة | عدد السياح; مصر | 15 مليون; تركيا | 50 مليون; الأردن | 6" in texts
    assert all(c.section is None for c in chunks)  # no row was taken for a heading
    assert texts[0] == SECOND and texts[-1] == FIRST


def test_zip_bomb_posing_as_docx_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:document>" + b" " * 200_000_000)
    path = tmp_path / "bomb.docx"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 1_000_000
    with pytest.raises(InputError, match=r"bomb\.docx: refused: word/document\.xml would inflate"):
        read_path(path)
    (tmp_path / "fake.docx").write_bytes(b"just text")
    with pytest.raises(InputError, match=r"fake\.docx: not a \.docx file"):
        read_path(tmp_path / "fake.docx")


def test_csv_with_named_columns(tmp_path: Path) -> None:
    path = tmp_path / "wire.csv"
    path.write_text(
        "id,title,text,source,author,published,extra\n"
        f'a1,الأول,"{FIRST}\n\n{SECOND}",وكالة,مراسل,2025-06-10,x\n'
        f"a2,الثاني,{SECOND},,,10 Jun 2025,y\n",
        encoding="utf-8-sig",
    )
    with pytest.raises(InputError, match=r"wire\.csv, row 3: cannot read the date '10 Jun 2025'"):
        read_path(path)
    path.write_text(path.read_text("utf-8-sig").replace("10 Jun 2025", "2025/06/11"), "utf-8")
    first, second = read_path(path)
    assert (first.id, first.title, first.source, first.author) == ("a1", "الأول", "وكالة", "مراسل")
    assert first.text == f"{FIRST}\n\n{SECOND}" and first.published == "2025-06-10"
    assert second.source == "wire.csv" and second.published == "2025-06-11"  # no server path
    (tmp_path / "bad.csv").write_text("title,body\nx,y\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.csv: the first row must name the columns"):
        read_path(tmp_path / "bad.csv")


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>وكالة الأنباء</title>
<item><title>بوتين والعلاقات</title><link>https://news.example/a1</link>
<description>ملخص</description><dc:creator>مراسل خبر</dc:creator>
<pubDate>Tue, 10 Jun 2025 08:30:00 +0300</pubDate>
<content:encoded><![CDATA[<p>{first}</p><script>var leak = 'SCRIPT';</script>
<style>p {{ color: red }}</style><p>{second}</p>]]></content:encoded></item>
<item><title>خبر بلا نص</title></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>موقع الأخبار</title>
<entry><title>سوريا والوزراء</title><id>urn:uuid:1</id>
<published>2025-06-11T10:00:00Z</published><author><name>محرر</name></author>
<content type="html">&lt;p&gt;{second}&lt;/p&gt;</content></entry></feed>"""


def test_rss_and_atom_files(tmp_path: Path) -> None:
    failures: list[tuple[str, str]] = []
    ctx = ReadContext(on_error=lambda where, message: failures.append((where, message)))
    rss = tmp_path / "wire.rss"
    rss.write_text(RSS.format(first=FIRST, second=SECOND), encoding="utf-8")
    [article] = read_path(rss, ctx=ctx)
    assert article.text == f"{FIRST}\n{SECOND}" and "SCRIPT" not in article.text
    assert (article.title, article.source, article.author) == (
        "بوتين والعلاقات",
        "وكالة الأنباء",
        "مراسل خبر",
    )
    assert (
        article.url == "https://news.example/a1"
        and article.published == "2025-06-10T08:30:00+03:00"
    )
    assert failures == [(f"{rss}, item 2", f"{rss}, item 2: the item has no text and no link")]
    atom = tmp_path / "site.atom"
    atom.write_text(ATOM.format(second=SECOND), encoding="utf-8")
    [entry] = read_path(atom, ctx=ctx)
    assert entry.text == SECOND and entry.author == "محرر" and entry.source == "موقع الأخبار"
    assert entry.published == "2025-06-11T10:00:00+00:00"


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            "<rss><channel><title>&lol3;</title><item><title>x</title></item></channel></rss>",
            "refused: the XML declares entities",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            "<rss><channel><item><description>&e;</description></item></channel></rss>",
            "refused: the XML declares entities",
        ),
        ("<rss><channel><item>", "not well-formed XML"),
        ('<?xml version="1.0"?><html><body/></html>', "not an RSS or Atom feed"),
    ],
)
def test_bad_feeds_are_refused(tmp_path: Path, xml: str, reason: str) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_path(path)
    assert str(path) in str(info.value) and reason in str(info.value)


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2025-06-10", "2025-06-10"),
        ("2025/6/1", "2025-06-01"),
        ("2025-06-10T08:30:00Z", "2025-06-10T08:30:00+00:00"),
        ("Tue, 10 Jun 2025 08:30:00 GMT", "2025-06-10T08:30:00+00:00"),
        ("yesterday", None),
        ("2025-13-40", None),
    ],
)
def test_dates_are_stored_as_iso(value: str, iso: str | None) -> None:
    assert parse_date(value) == iso


def test_filter_bounds_must_be_dates() -> None:
    assert parse_day("2025-06-10T23:00:00+03:00", "since") == "2025-06-10"
    with pytest.raises(InputError, match="since: 'last week' is not a date"):
        parse_day("last week", "since")
