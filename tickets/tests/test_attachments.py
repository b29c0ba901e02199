"""Uploads are accepted by what their bytes prove, never by their name or the browser's claim (C6)."""

import io
import tracemalloc
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tickets.attachments import ALLOWED_EXTENSIONS, CheckedFile, check_upload, detect_content_type
from tickets.forms import AttachmentsField

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


# --- Real minimal files, built here -------------------------------------------------------------


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def zip_bytes(entries: dict[str, bytes], *, first: tuple[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if first:
            # OpenDocument wants its `mimetype` entry first and stored uncompressed.
            archive.writestr(zipfile.ZipInfo(first[0]), first[1], compress_type=zipfile.ZIP_STORED)
        for name, data in entries.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


CONTENT_TYPES_XML = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)


def docx_bytes() -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": CONTENT_TYPES_XML,
            "_rels/.rels": b"<Relationships/>",
            "word/document.xml": b"<w:document><w:body><w:p/></w:body></w:document>",
        }
    )


def xlsx_bytes() -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": CONTENT_TYPES_XML,
            "_rels/.rels": b"<Relationships/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"<worksheet/>",
        }
    )


def pptx_bytes() -> bytes:
    return zip_bytes({"[Content_Types].xml": CONTENT_TYPES_XML, "ppt/presentation.xml": b"<p:presentation/>"})


def opendocument_bytes(mimetype: str) -> bytes:
    return zip_bytes(
        {"content.xml": b"<office:document-content/>", "META-INF/manifest.xml": b"<manifest/>"},
        first=("mimetype", mimetype.encode("ascii")),
    )


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def rejection(file: SimpleUploadedFile) -> str:
    with pytest.raises(ValidationError) as info:
        check_upload(file)
    return " ".join(info.value.messages)


# --- Accepted, with the content type the bytes prove --------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param("screenshot.png", image_bytes("PNG"), "image/png", id="png"),
        pytest.param("photo.jpg", image_bytes("JPEG"), "image/jpeg", id="jpg"),
        pytest.param("photo.JPEG", image_bytes("JPEG"), "image/jpeg", id="jpeg-upper-case-extension"),
        pytest.param("anim.gif", image_bytes("GIF"), "image/gif", id="gif"),
        pytest.param("modern.webp", image_bytes("WEBP"), "image/webp", id="webp"),
        pytest.param("invoice.pdf", pdf_bytes(), "application/pdf", id="pdf"),
        pytest.param("letter.docx", docx_bytes(), DOCX, id="docx"),
        pytest.param("budget.xlsx", xlsx_bytes(), XLSX, id="xlsx"),
        pytest.param("slides.pptx", pptx_bytes(), PPTX, id="pptx"),
        pytest.param("letter.odt", opendocument_bytes(ODT), ODT, id="odt"),
        pytest.param("budget.ods", opendocument_bytes(ODS), ODS, id="ods"),
        pytest.param("old.doc", OLE_HEADER, "application/msword", id="legacy-doc"),
        pytest.param("old.xls", OLE_HEADER, "application/vnd.ms-excel", id="legacy-xls"),
        pytest.param("notes.txt", "Drucker im 2. Stock: Papierstau, Grüße aus Köln, Maße 3×4\n".encode(), "text/plain"),
        pytest.param(
            "error.log", "2024-05-01 12:00:00 ERROR Zugriff verweigert für Benutzer 'müller'\n".encode(), "text/plain"
        ),
        pytest.param("export.csv", b"id;name\n1;printer\n", "text/plain", id="csv"),
    ],
)
def test_allowed_file_is_accepted_with_detected_content_type(name, content, expected):
    # The browser's claim is deliberately wrong: only the bytes count.
    checked = check_upload(upload(name, content, content_type="text/html"))

    assert isinstance(checked, CheckedFile)
    assert checked.content_type == expected
    assert checked.name == name
    assert checked.size == len(content)


def test_detect_content_type_leaves_the_upload_rewound():
    file = upload("screenshot.png", image_bytes("PNG"))
    file.read(10)

    assert detect_content_type(file, "png") == "image/png"
    assert file.tell() == 0


def test_utf8_text_with_umlaut_cut_at_the_sniffing_limit_is_still_text():
    # 64 KiB are sniffed; an "ü" (two bytes) straddling that boundary must not make it binary.
    content = b"a" * (64 * 1024 - 1) + "ü und mehr Text\n".encode()
    assert check_upload(upload("long.log", content)).content_type == "text/plain"


def test_invalid_utf8_just_before_the_sniffing_limit_is_not_text():
    content = b"a" * (64 * 1024 - 2) + b"\xff" + b"more text after the limit\n"
    assert "not an allowed file type" in rejection(upload("tail.log", content))


def test_html_source_in_a_txt_file_is_stored_as_plain_text_never_as_html():
    # Pasting a page's source into a .txt is legitimate; it must only ever be served as text/plain.
    checked = check_upload(upload("source.txt", b"<html><script>alert(1)</script></html>", content_type="text/html"))
    assert checked.content_type == "text/plain"


def test_uploaded_name_is_cleaned_of_nul_bytes_and_whitespace():
    checked = check_upload(upload("  shot\x00.png  ", image_bytes("PNG")))
    assert checked.name == "shot.png"


# --- Rejected, with a message naming the file ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("page.html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", id="html"),
        pytest.param("page.htm", b"<html><body onload=alert(1)></body></html>", id="htm"),
        pytest.param(
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
            id="svg",
        ),
        pytest.param("app.js", b"fetch('/admin/').then(r => r.text()).then(alert);\n", id="js"),
        pytest.param("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 118 + b"PE\x00\x00", id="exe"),
        pytest.param(
            "setup.txt", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 118 + b"PE\x00\x00", id="exe-as-txt"
        ),
        pytest.param("shot.html", image_bytes("PNG"), id="png-renamed-html"),
        pytest.param("shot.txt", image_bytes("PNG"), id="png-renamed-txt"),
        pytest.param("shot.jpg", image_bytes("PNG"), id="png-renamed-jpg"),
        pytest.param("shot.pdf", image_bytes("PNG"), id="png-renamed-pdf"),
        pytest.param("shot.png", b"<html><script>alert(1)</script></html>", id="html-renamed-png"),
        pytest.param(
            "shot.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg-renamed-png"
        ),
        pytest.param("report.pdf", b"Nur ein Text, kein PDF.\n", id="text-renamed-pdf"),
        pytest.param("report.docx", zip_bytes({"readme.txt": b"just a zip"}), id="plain-zip-renamed-docx"),
        pytest.param("report.zip", docx_bytes(), id="docx-renamed-zip"),
        pytest.param("letter.xlsx", docx_bytes(), id="docx-renamed-xlsx"),
        pytest.param("letter.docx", opendocument_bytes(ODT), id="odt-renamed-docx"),
        pytest.param("broken.docx", b"PK\x03\x04" + b"\x00" * 40, id="truncated-zip-docx"),
        pytest.param("old.txt", OLE_HEADER, id="ole-renamed-txt"),
        pytest.param("old.pdf", OLE_HEADER, id="ole-renamed-pdf"),
        pytest.param("noextension", b"Hallo Welt\n", id="no-extension"),
        pytest.param("binary.txt", b"\x00\x01\x02binary\x00data", id="binary-with-nul-as-txt"),
        pytest.param("latin1.txt", "Grüße".encode("latin-1") + b" aus K\xf6ln, nicht UTF-8\n", id="invalid-utf8-txt"),
        pytest.param("tail.txt", b"harmless looking text\xff", id="invalid-utf8-at-the-end-of-a-short-file"),
        pytest.param("evil.png\x00.html", image_bytes("PNG"), id="nul-byte-trick"),
    ],
)
def test_disallowed_or_mislabelled_file_is_rejected_naming_the_file(name, content):
    file = upload(name, content, content_type="image/png")
    message = rejection(file)

    # Allowed content under another kind's name is told so ("... its content is a PNG file ...").
    assert "not an allowed file type" in message or "but its name ends in" in message
    assert file.name.replace("\x00", "").strip() in message


def test_empty_file_is_rejected_naming_the_file():
    message = rejection(upload("empty.txt", b""))
    assert message == "empty.txt is empty."


def test_file_above_size_limit_is_rejected_naming_file_and_limit(settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    message = rejection(upload("big.png", image_bytes("PNG") + b"\x00" * 2048))

    assert message.startswith("big.png is ")
    assert "at most 1.0\xa0KB" in message


def test_file_exactly_at_size_limit_is_accepted(settings):
    content = "Zeile mit Umlaut: ä\n".encode() * 50
    settings.ATTACHMENT_MAX_BYTES = len(content)
    assert check_upload(upload("exact.txt", content)).size == len(content)


def test_size_limit_is_checked_before_content(settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    # Even a disallowed type gets the size message first: no sniffing of oversized input.
    assert "at most" in rejection(upload("page.html", b"<html>" * 10))


def test_huge_mimetype_entry_in_a_zip_is_not_decompressed_into_memory():
    """A zip bomb in the `mimetype` entry must not be inflated to check 100 bytes of it (C16)."""
    bomb_size = 32 * 1024 * 1024
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", ODT.encode("ascii") + b" " * bomb_size)
        archive.writestr("content.xml", b"<office:document-content/>")
    file = upload("bomb.odt", buffer.getvalue())
    assert file.size < 1024 * 1024

    tracemalloc.start()
    try:
        with pytest.raises(ValidationError):
            check_upload(file)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < bomb_size // 4


def test_allowed_extensions_never_include_active_content():
    assert {"html", "htm", "svg", "js", "xhtml", "xml.svg", "exe", "zip"}.isdisjoint(ALLOWED_EXTENSIONS)
    assert {"png", "jpg", "pdf", "docx", "odt", "txt", "log"} <= set(ALLOWED_EXTENSIONS)


# --- The form field: count limit and one message per bad file -----------------------------------


def test_attachments_field_returns_checked_files_in_order():
    field = AttachmentsField()
    cleaned = field.clean([upload("a.png", image_bytes("PNG")), upload("b.pdf", pdf_bytes())])

    assert [(item.name, item.content_type) for item in cleaned] == [
        ("a.png", "image/png"),
        ("b.pdf", "application/pdf"),
    ]


def test_attachments_field_accepts_exactly_the_maximum_number_of_files(settings):
    settings.ATTACHMENT_MAX_FILES = 3
    files = [upload(f"note{index}.txt", b"hello\n") for index in range(3)]
    assert len(AttachmentsField().clean(files)) == 3


def test_attachments_field_rejects_more_files_than_allowed(settings):
    settings.ATTACHMENT_MAX_FILES = 2
    files = [upload(f"note{index}.txt", b"hello\n") for index in range(3)]

    with pytest.raises(ValidationError) as info:
        AttachmentsField().clean(files)

    assert info.value.messages == ["At most 2 files can be added at once."]


def test_attachments_field_reports_every_bad_file_by_name():
    files = [upload("ok.png", image_bytes("PNG")), upload("evil.html", b"<script>"), upload("empty.log", b"")]

    with pytest.raises(ValidationError) as info:
        AttachmentsField().clean(files)

    messages = info.value.messages
    assert len(messages) == 2
    assert messages[0].startswith("evil.html is not an allowed file type")
    assert messages[1] == "empty.log is empty."


def test_attachments_field_is_optional_by_default_and_required_when_asked():
    assert AttachmentsField().clean([]) == []
    assert AttachmentsField().clean(None) == []
    with pytest.raises(ValidationError):
        AttachmentsField(required=True).clean([])


def test_attachments_field_accepts_a_single_file_not_in_a_list():
    cleaned = AttachmentsField().clean(upload("one.png", image_bytes("PNG")))
    assert [item.content_type for item in cleaned] == ["image/png"]
