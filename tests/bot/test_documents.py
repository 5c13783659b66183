"""bot/documents.py: a canary in every metadata field of every format, and none comes out.

Each generator writes the canary (or a variant of it) into every field the format has for
metadata; each test cleans the file, looks for the canary in the output bytes, in every
zip entry and in every PDF stream decoded, and checks that the content is still there.
"""

from __future__ import annotations

import asyncio
import binascii
import io
import re
import zipfile
import zlib

import pikepdf
import pytest
from docx import Document
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from PIL import Image
from pptx import Presentation
from pptx.util import Inches

from bot import documents
from bot.documents import Cleaned, Residue, clean, clean_isolated

from .photos import phone_exif

CANARY = "CANARY-7f3a91"
CONTENT = "CONTENT-SURVIVES"
GPS_CANARY = b"GPS-CANARY-55.75N"
RSID = "00C0FFEE"  # rsids are hex: a value of our own instead of the canary


def variants(text: str) -> list[bytes]:
    raw = text.encode()
    return [
        raw,
        text.encode("utf-16-be"),
        text.encode("utf-16-le"),
        binascii.hexlify(raw),
        binascii.hexlify(raw).upper(),
    ]


def blobs_of(data: bytes, *, cleaned: bool = False) -> list[bytes]:
    """The bytes, every zip entry (recursively) and every zlib stream inside them.

    ``cleaned``: also check that a zip keeps no date, comment or extra field."""
    out = [data]
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert not cleaned or zf.comment == b""
            for info in zf.infolist():
                if cleaned:
                    assert info.extra == b"" and info.comment == b""
                    assert info.date_time == (1980, 1, 1, 0, 0, 0)
                out.extend(blobs_of(zf.read(info), cleaned=cleaned))
    if data.startswith(b"%PDF"):
        with pikepdf.open(io.BytesIO(data)) as pdf:
            qdf = io.BytesIO()
            pdf.save(
                qdf,
                qdf=True,
                compress_streams=False,
                stream_decode_level=pikepdf.StreamDecodeLevel.generalized,
                object_stream_mode=pikepdf.ObjectStreamMode.disable,
            )
            out.append(qdf.getvalue())
    for match in re.finditer(rb"x[\x01\x5e\x9c\xda]", data):
        try:
            out.append(zlib.decompressobj().decompress(data[match.start() :], 10_000_000))
        except zlib.error:
            continue
    return out


def assert_no_canary(data: bytes, *canaries: str) -> None:
    for blob in blobs_of(data, cleaned=True):
        for canary in (CANARY, *canaries):
            for form in variants(canary):
                assert form not in blob, f"{canary!r} left in the output"
        assert GPS_CANARY not in blob


def canary_jpeg() -> bytes:
    exif = phone_exif(CANARY, GPS_CANARY, latitude=(55.0, 45.0, 1.0), longitude=(37.0, 37.0, 2.0))
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(
        out, "JPEG", exif=exif, comment=CANARY.encode(), quality=90
    )
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>{CANARY}</rdf:RDF></x:xmpmeta>'
    data = out.getvalue()
    segment = b"http://ns.adobe.com/xap/1.0/\x00" + xmp.encode()
    app1 = b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment
    after_app0 = 4 + int.from_bytes(data[4:6], "big")  # readers look for JFIF first
    return data[:after_app0] + app1 + data[after_app0:] + b"TRAILER-" + CANARY.encode()


def canary_png() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", CANARY)
    info.add_text("Comment", CANARY, zip=True)
    info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{CANARY}</x:xmpmeta>", zip=False)
    exif = phone_exif(CANARY, GPS_CANARY, latitude=(55.0, 45.0, 1.0), longitude=(37.0, 37.0, 2.0))
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(out, "PNG", pnginfo=info, exif=exif)
    return out.getvalue()


def is_picture(data: bytes, size: tuple[int, int] = (32, 24)) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size == size


# -- PDF ----------------------------------------------------------------------------------


def canary_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont="/Helvetica"
        )
    )
    image = pikepdf.Stream(pdf, canary_jpeg())
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 32, 24, 8
    image.ColorSpace, image.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
    image.Metadata = pdf.make_stream(f"<x:xmpmeta>{CANARY}</x:xmpmeta>".encode())
    page.Resources = pikepdf.Dictionary(
        Font=pikepdf.Dictionary(F1=font), XObject=pikepdf.Dictionary(Im1=image)
    )
    page.Contents = pdf.make_stream(
        f"BT /F1 12 Tf 20 150 Td ({CONTENT}) Tj ET q 32 0 0 24 20 20 cm /Im1 Do Q".encode()
    )
    page.obj.Metadata = pdf.make_stream(f"<x:xmpmeta>{CANARY}-page</x:xmpmeta>".encode())
    page.obj.PieceInfo = pikepdf.Dictionary(App=pikepdf.Dictionary(Private=f"{CANARY}-piece"))
    page.obj.LastModified = f"D:20240101{CANARY}"
    sticky = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Text,
        Rect=[10, 10, 30, 30],
        T=f"{CANARY}-comment-author",
        Contents=f"{CANARY}-comment-text",
        M=f"D:2024{CANARY}",
    )
    highlight = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Highlight,
        Rect=[20, 140, 120, 160],
        QuadPoints=[20, 160, 120, 160, 20, 140, 120, 140],
        T=f"{CANARY}-highlighter",
        Contents=f"{CANARY}-note",
        CreationDate=f"D:2024{CANARY}",
    )
    link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[0, 0, 5, 5],
        A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI="https://example.org/kept"),
    )
    page.obj.Annots = pdf.make_indirect(
        pikepdf.Array([pdf.make_indirect(a) for a in (sticky, highlight, link)])
    )
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [f"{CANARY}-xmp-creator"]
        meta["dc:title"] = f"{CANARY}-xmp-title"
        meta["xmp:CreatorTool"] = f"{CANARY}-xmp-tool"
        meta["pdf:Producer"] = f"{CANARY}-xmp-producer"
        meta["xmp:CreateDate"] = "2024-01-01T00:00:00"
    pdf.docinfo["/Author"] = f"{CANARY}-author"
    pdf.docinfo["/Creator"] = f"{CANARY}-creator"
    pdf.docinfo["/Producer"] = f"{CANARY}-producer"
    pdf.docinfo["/Title"] = f"{CANARY}-title"
    pdf.docinfo["/Subject"] = f"{CANARY}-subject"
    pdf.docinfo["/Keywords"] = f"{CANARY}-keywords"
    pdf.docinfo["/CreationDate"] = f"D:2024{CANARY}"
    pdf.docinfo["/ModDate"] = f"D:2025{CANARY}"
    pdf.docinfo["/Company"] = f"{CANARY}-company"  # a custom field
    pdf.trailer.ID = pikepdf.Array([pikepdf.String(CANARY), pikepdf.String(CANARY)])
    out = io.BytesIO()
    pdf.save(out, static_id=True)
    return out.getvalue()


def test_pdf_loses_info_xmp_annotations_and_image_exif():
    original = canary_pdf()
    assert CANARY.encode() in original and GPS_CANARY in original
    result = clean(original, name="Отчёт Иванова.pdf", mime="application/pdf")
    assert (result.name, result.mime, result.residue) == ("document-1.pdf", "application/pdf", ())
    assert_no_canary(result.data)
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        assert CONTENT.encode() in page.Contents.read_bytes()
        image = page.Resources.XObject.Im1
        assert is_picture(image.read_raw_bytes())
        highlight, link = page.Annots  # the sticky note went; the others lost their author
        assert highlight.Subtype == "/Highlight" and "/T" not in highlight
        assert str(link.A.URI) == "https://example.org/kept"
        assert "/Info" not in pdf.trailer and "/Metadata" not in pdf.Root


def test_pdf_with_a_password_is_unknown():
    pdf = pikepdf.open(io.BytesIO(canary_pdf()))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="o", user="secret"))
    result = clean(out.getvalue(), name="x.pdf", mime="application/pdf")
    assert result.residue == (Residue.UNKNOWN,) and not result.cleaned
    assert result.data == out.getvalue() and result.name == "document-1.pdf"


def test_pdf_with_an_attached_file_says_so():
    pdf = pikepdf.open(io.BytesIO(canary_pdf()))
    pdf.attachments["inner.bin"] = pikepdf.AttachedFileSpec(pdf, b"opaque")
    out = io.BytesIO()
    pdf.save(out)
    result = clean(out.getvalue(), name="x.pdf", mime="application/pdf")
    assert result.residue == (Residue.UNKNOWN,) and result.cleaned


# -- Office ---------------------------------------------------------------------------------


def set_core(props: object) -> None:
    for field in ("author", "last_modified_by", "title", "subject", "keywords", "comments"):
        setattr(props, field, f"{CANARY}-{field}")
    props.category = f"{CANARY}-category"  # type: ignore[attr-defined]
    props.content_status = f"{CANARY}-status"  # type: ignore[attr-defined]
    props.identifier = f"{CANARY}-identifier"  # type: ignore[attr-defined]


APP_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">
<Template>C:\\Users\\{CANARY}\\Normal.dotm</Template><Application>{CANARY}-app</Application>
<Company>{CANARY}-company</Company><Manager>{CANARY}-manager</Manager>
<HyperlinkBase>{CANARY}-base</HyperlinkBase><AppVersion>16.0000</AppVersion></Properties>"""
CUSTOM_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
 xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">
<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="MSIP_Label_Owner">
<vt:lpwstr>{CANARY}@example.org</vt:lpwstr></property></Properties>"""
CUSTOM_CT = (
    '<Override PartName="/docProps/custom.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
)
CUSTOM_REL = (
    '<Relationship Id="rIdCustom" Target="docProps/custom.xml" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/custom-properties"/>'
)


def rewrite_zip(data: bytes, edit) -> bytes:
    """Rewrite a package through ``edit(name, bytes) -> bytes | None``, add extras, and
    give every entry a date, a comment and an extra field (all metadata of the zip)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        names = zin.namelist()
        for name in [*names, *(n for n in edit.extra if n not in names)]:
            body = zin.read(name) if name in names else b""
            body = edit(name, body)
            if body is None:
                continue
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 5, 14, 7, 2))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.comment = CANARY.encode()
            tag = b"CANARY" + CANARY.encode()
            info.extra = b"\xfe\xca" + len(tag).to_bytes(2, "little") + tag
            zout.writestr(info, body)
        zout.comment = CANARY.encode()
    return out.getvalue()


class Editor:
    def __init__(self, parts: dict[str, bytes], replace: dict[str, tuple[str, str]]):
        self.extra = parts
        self.replace = replace

    def __call__(self, name: str, body: bytes) -> bytes:
        if name in self.extra:
            return self.extra[name]
        if name in self.replace:
            old, new = self.replace[name]
            text = body.decode()
            assert old in text, (name, old)
            return text.replace(old, new, 1).encode()
        return body


def common_parts() -> dict[str, bytes]:
    return {"docProps/app.xml": APP_XML.encode(), "docProps/custom.xml": CUSTOM_XML.encode()}


def canary_docx() -> bytes:
    document = Document()
    set_core(document.core_properties)
    paragraph = document.add_paragraph(CONTENT)
    run = paragraph.add_run(" commented words")
    document.add_comment([run], text=f"{CANARY}-comment-text", author=f"{CANARY}-commenter")
    document.add_paragraph("TRACKED-HERE")
    document.add_picture(io.BytesIO(canary_jpeg()), width=Inches(1))
    saved = io.BytesIO()
    document.save(saved)
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    change = (
        f'<w:ins w:id="901" w:author="{CANARY}-inserter" w:date="2024-01-01T00:00:00Z">'
        f"<w:r><w:t>INSERTED-KEPT</w:t></w:r></w:ins>"
        f'<w:del w:id="902" w:author="{CANARY}-deleter" w:date="2024-01-01T00:00:00Z">'
        f"<w:r><w:delText>{CANARY}-deleted-text</w:delText></w:r></w:del>"
    )
    people = (
        f'<w15:people xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml">'
        f'<w15:person w15:author="{CANARY}-person"/></w15:people>'
    )
    settings_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rIdT" Type="http://'
        "schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"
        f'" Target="file:///C:\\Users\\{CANARY}\\Templates\\Normal.dotm" TargetMode="External"/>'
        "</Relationships>"
    )
    editor = Editor(
        {
            **common_parts(),
            "word/people.xml": people.encode(),
            "word/_rels/settings.xml.rels": settings_rels.encode(),
            "customXml/item1.xml": f"<b:Sources>{CANARY}</b:Sources>".encode(),
            "docProps/thumbnail.jpeg": canary_jpeg(),
        },
        {
            "word/document.xml": (
                "<w:t>TRACKED-HERE</w:t></w:r>",
                f"<w:t>TRACKED-HERE</w:t></w:r>{change}",
            ),
            "word/settings.xml": (
                "</w:settings>",
                f'<w:attachedTemplate {w} xmlns:r="http://schemas.openxmlformats.org/'
                f'officeDocument/2006/relationships" r:id="rIdT"/>'
                f'<w:rsids><w:rsidRoot w:val="{RSID}"/><w:rsid w:val="{RSID}"/></w:rsids>'
                f'<w:docVars><w:docVar w:name="who" w:val="{CANARY}-var"/></w:docVars>'
                "</w:settings>",
            ),
            "[Content_Types].xml": ("</Types>", f"{CUSTOM_CT}</Types>"),
            "_rels/.rels": ("</Relationships>", f"{CUSTOM_REL}</Relationships>"),
        },
    )
    data = rewrite_zip(saved.getvalue(), editor)
    # rsids on the paragraphs too, as Word writes them
    return rewrite_zip(
        data,
        Editor(
            {}, {"word/document.xml": ("<w:p>", f'<w:p w:rsidR="{RSID}" w:rsidRDefault="{RSID}">')}
        ),
    )


def test_docx_loses_properties_comments_changes_and_rsids():
    original = canary_docx()
    for probe in (CANARY, RSID, "Normal.dotm"):
        assert probe.encode() in b"".join(blobs_of(original))
    result = clean(original, name="Служебная записка.docx", mime="application/msword")
    assert result.name == "document-1.docx" and result.residue == ()
    assert result.mime.endswith("wordprocessingml.document")
    assert_no_canary(result.data, RSID, "Normal.dotm", "deleted-text")
    document = Document(io.BytesIO(result.data))  # python-docx still reads it
    text = "\n".join(p.text for p in document.paragraphs)
    assert CONTENT in text and "commented words" in text and "INSERTED-KEPT" in text
    assert not document.core_properties.author
    with zipfile.ZipFile(io.BytesIO(result.data)) as zf:
        names = set(zf.namelist())
        assert "word/comments.xml" not in names and "word/people.xml" not in names
        assert "docProps/custom.xml" not in names
        (image,) = [n for n in names if n.startswith("word/media/")]
        assert is_picture(zf.read(image))


def canary_xlsx() -> bytes:
    book = Workbook()
    set_core(book.properties)
    sheet = book.active
    sheet["A1"] = CONTENT
    sheet["B2"] = 42
    sheet["A1"].comment = Comment(f"{CANARY}-note", f"{CANARY}-commenter")
    saved = io.BytesIO()
    book.save(saved)
    workbook_extra = (
        '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-'
        'compatibility/2006"><mc:Choice Requires="x15"><x15ac:absPath xmlns:x15ac="http://'
        f'schemas.microsoft.com/office/spreadsheetml/2010/11/ac" url="C:\\Users\\{CANARY}\\"/>'
        "</mc:Choice></mc:AlternateContent>"
        '<xr:revisionPtr xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/'
        f'revision" revIDLastSave="0" documentId="{CANARY}-docid"/>'
    )
    editor = Editor(
        {
            **common_parts(),
            "xl/persons/person.xml": f'<personList><person displayName="{CANARY}"/>'
            "</personList>".encode(),
        },
        {
            "xl/workbook.xml": ("<workbookPr", f"{workbook_extra}<workbookPr"),
            "[Content_Types].xml": ("</Types>", f"{CUSTOM_CT}</Types>"),
            "_rels/.rels": ("</Relationships>", f"{CUSTOM_REL}</Relationships>"),
        },
    )
    return rewrite_zip(saved.getvalue(), editor)


def test_xlsx_loses_properties_comments_and_paths():
    original = canary_xlsx()
    assert CANARY.encode() in b"".join(blobs_of(original))
    result = clean(original, name="budget.xlsx", mime="")
    assert result.name == "document-1.xlsx" and result.residue == ()
    assert_no_canary(result.data)
    book = load_workbook(io.BytesIO(result.data))
    sheet = book.active
    assert sheet["A1"].value == CONTENT and sheet["B2"].value == 42
    assert sheet["A1"].comment is None
    with zipfile.ZipFile(io.BytesIO(result.data)) as zf:
        names = zf.namelist()
        assert not [n for n in names if "comments" in n or "vmlDrawing" in n]
        assert b"legacyDrawing" not in zf.read("xl/worksheets/sheet1.xml")


def canary_pptx() -> bytes:
    presentation = Presentation()
    set_core(presentation.core_properties)
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = CONTENT
    picture = slide.shapes.add_picture(io.BytesIO(canary_png()), Inches(1), Inches(1))
    picture._element.nvPicPr.cNvPr.set("descr", f"C:\\Users\\{CANARY}\\Pictures\\leak.png")
    saved = io.BytesIO()
    presentation.save(saved)
    p = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
    authors = (
        f'<p:cmAuthorLst {p}><p:cmAuthor id="0" name="{CANARY}-author" initials="CA" '
        'lastIdx="1" clrIdx="0"/></p:cmAuthorLst>'
    )
    comments = (
        f'<p:cmLst {p}><p:cm authorId="0" dt="2024-01-01T00:00:00" idx="1">'
        f'<p:pos x="10" y="10"/><p:text>{CANARY}-comment</p:text></p:cm></p:cmLst>'
    )
    rel = (
        '<Relationship Id="rIdC" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/comments" Target="../comments/comment1.xml"/>'
    )
    authors_rel = (
        '<Relationship Id="rIdA" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/commentAuthors" Target="commentAuthors.xml"/>'
    )
    ct = (
        '<Override PartName="/ppt/commentAuthors.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.presentationml.commentAuthors+xml"/>'
        '<Override PartName="/ppt/comments/comment1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.presentationml.comments+xml"/>'
    )
    editor = Editor(
        {
            **common_parts(),
            "ppt/commentAuthors.xml": authors.encode(),
            "ppt/comments/comment1.xml": comments.encode(),
        },
        {
            "ppt/slides/_rels/slide1.xml.rels": ("</Relationships>", f"{rel}</Relationships>"),
            "ppt/_rels/presentation.xml.rels": (
                "</Relationships>",
                f"{authors_rel}</Relationships>",
            ),
            "[Content_Types].xml": ("</Types>", f"{ct}{CUSTOM_CT}</Types>"),
            "_rels/.rels": ("</Relationships>", f"{CUSTOM_REL}</Relationships>"),
        },
    )
    return rewrite_zip(saved.getvalue(), editor)


def test_pptx_loses_properties_comments_and_image_text():
    original = canary_pptx()
    assert CANARY.encode() in b"".join(blobs_of(original))
    result = clean(original, name="slides.pptx", mime="")
    assert result.name == "document-1.pptx" and result.residue == ()
    assert_no_canary(result.data)
    presentation = Presentation(io.BytesIO(result.data))
    (slide,) = presentation.slides
    assert slide.shapes.title.text == CONTENT
    (picture,) = [s for s in slide.shapes if s.shape_type == 13]
    assert is_picture(picture.image.blob)


# -- images ---------------------------------------------------------------------------------


def canary_image(fmt: str) -> bytes:
    exif = phone_exif(CANARY, GPS_CANARY, latitude=(55.0, 45.0, 1.0), longitude=(37.0, 37.0, 2.0))
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{CANARY}-xmp</x:xmpmeta>'.encode()
    picture = Image.new("RGB", (32, 24), "green")
    out = io.BytesIO()
    if fmt == "JPEG":
        return canary_jpeg()
    if fmt == "PNG":
        return canary_png()
    if fmt == "TIFF":
        picture.save(out, "TIFF", exif=exif, tiffinfo={270: CANARY, 305: CANARY, 315: CANARY})
    elif fmt == "WEBP":
        picture.save(out, "WEBP", exif=exif, xmp=xmp)
    else:
        picture.save(out, "HEIF", exif=exif.tobytes(), xmp=xmp)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("JPEG", "document-1.jpg"), ("PNG", "document-1.png"), ("TIFF", "document-1.tif"),
     ("WEBP", "document-1.webp"), ("HEIF", "document-1.jpg")],
)  # fmt: skip
def test_images_lose_exif_and_xmp(fmt, name):
    original = canary_image(fmt)
    assert CANARY.encode() in original
    result = clean(original, name="IMG_2207.HEIC", mime="image/whatever")
    assert (result.name, result.residue) == (name, ())
    assert_no_canary(result.data)
    assert is_picture(result.data)


def test_heic_without_pillow_heif_is_unknown(monkeypatch):
    def no_heif(data: bytes) -> bytes:
        from bot.media import NotAnImage

        raise NotAnImage("HEIC support is not installed")

    monkeypatch.setattr(documents, "strip_image_metadata", no_heif)
    result = clean(canary_image("HEIF"), name="IMG.HEIC", mime="image/heic")
    assert result.residue == (Residue.UNKNOWN,) and result.name == "document-1.heic"


# -- lossless strippers, names, refusals ------------------------------------------------------


def test_lossless_jpeg_strip_keeps_the_picture_and_drops_trailers():
    original = canary_jpeg()
    stripped = documents.strip_jpeg_segments(original)
    assert_no_canary(stripped)
    assert stripped.endswith(b"\xff\xd9") and is_picture(stripped)


def test_lossless_png_strip():
    stripped = documents.strip_png_chunks(canary_png())
    assert_no_canary(stripped)
    assert is_picture(stripped)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("notes.txt", "document-1.txt"), ("Иванов.CSV", "document-1.csv")],
)
def test_plain_text_keeps_its_bytes_and_loses_its_name(name, expected):
    result = clean("Привет, это текст\n".encode(), name=name, mime="text/plain")
    assert result == Cleaned("Привет, это текст\n".encode(), expected, "text/plain")


@pytest.mark.parametrize(
    ("data", "name", "expected_name"),
    [
        (b"%PDF-1.7\n" + bytes(range(256)) * 10, "contract.pdf", "document-1.pdf"),
        (b"From: someone\r\nSubject: x\r\n\r\nbody", "letter.eml", "document-1.eml"),
        (b"\x00\x01\x02 opaque", "C:\\Users\\me\\secret..\\x.b@d", "document-1.bin"),
        (b"PK\x03\x04 broken zip", "a.docx", "document-1.docx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "old.doc", "document-1.doc"),
    ],
    ids=["broken-pdf", "email", "opaque", "broken-zip", "ole-or-encrypted-office"],
)
def test_what_cannot_be_parsed_is_unknown_never_silently_clean(data, name, expected_name):
    result = clean(data, name=name, mime="application/octet-stream")
    assert result.residue == (Residue.UNKNOWN,) and not result.cleaned
    assert result.data == data and result.name == expected_name


def zip_of(entries: dict[str, bytes], *, stored: bool = False) -> bytes:
    out = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", method) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        for name, body in entries.items():
            zf.writestr(name, body)
    return out.getvalue()


@pytest.mark.parametrize(
    "entries",
    [
        {"word/document.xml": b"<w/>", "word/media/bomb.bin": b"\x00" * (300 << 20)},
        {"word/document.xml": b"<w/>", **{f"x/{i}": b"" for i in range(5_001)}},
        {"word/document.xml": b"<w/>", "../../etc/passwd": b"x"},
        {"word/document.xml": b'<!DOCTYPE x [<!ENTITY a "aaaa">]><w>&a;</w>'},
        {"word/document.xml": b"<w><unclosed></w>"},
    ],
    ids=["bomb", "entry-count", "path", "entities", "malformed-xml"],
)
def test_hostile_office_files_are_unknown(entries):
    data = zip_of(entries)
    result = clean(data, name="x.docx", mime="")
    assert result.residue == (Residue.UNKNOWN,) and result.data == data


def test_an_encrypted_zip_entry_is_unknown():
    data = bytearray(zip_of({"word/document.xml": b"<w/>"}, stored=True))
    # Set the "encrypted" flag in every local and central header.
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for match in re.finditer(re.escape(sig), bytes(data)):
            data[match.start() + offset] |= 0x01
    result = clean(bytes(data), name="x.docx", mime="")
    assert result.residue == (Residue.UNKNOWN,)


def test_a_link_to_a_local_file_is_residue():
    data = canary_docx()
    rel = (
        '<Relationship Id="rIdL" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/hyperlink" Target="file:///C:/Users/x/plan.xlsx" TargetMode="External"/>'
    )
    data = rewrite_zip(
        data,
        Editor(
            {}, {"word/_rels/document.xml.rels": ("</Relationships>", f"{rel}</Relationships>")}
        ),
    )
    assert clean(data, name="x.docx", mime="").residue == (Residue.FILE_NAME,)


# -- the child process ----------------------------------------------------------------------


async def test_isolated_cleaning_gives_the_same_answer():
    original = canary_docx()
    isolated = await clean_isolated(original, name="x.docx", mime="")
    direct = await asyncio.to_thread(clean, original, name="x.docx", mime="")
    assert (isolated.name, isolated.residue, isolated.mime) == (
        direct.name,
        direct.residue,
        direct.mime,
    )
    assert_no_canary(isolated.data)


async def test_a_child_out_of_memory_or_time_costs_one_document():
    picture = io.BytesIO()
    Image.new("RGB", (7000, 7000), "white").save(picture, "PNG")
    data = picture.getvalue()
    starved = await clean_isolated(data, name="x.png", mime="", memory=120 << 20)
    assert starved.residue == (Residue.UNKNOWN,) and starved.data == data
    slow = await clean_isolated(data, name="x.png", mime="", wall_seconds=0.05)
    assert slow.residue == (Residue.UNKNOWN,) and slow.data == data


def test_a_signed_pdf_is_residue_so_the_source_can_keep_its_signature():
    pdf = pikepdf.open(io.BytesIO(canary_pdf()))
    signature = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Sig,
            Name="Signer Name",
            M="D:20240101",
            ByteRange=[0, 1, 2, 3],
            Contents=pikepdf.String(b"\x00" * 16),
        )
    )
    pdf.Root.AcroForm = pikepdf.Dictionary(
        Fields=[pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, V=signature))]
    )
    out = io.BytesIO()
    pdf.save(out)
    result = clean(out.getvalue(), name="signed.pdf", mime="application/pdf")
    assert result.residue == (Residue.AUTHOR, Residue.DATES)
