"""What may be uploaded, decided by the file's content and not by the name or browser's claim.

An upload is accepted when its content is one of the allowed kinds AND its extension belongs to that
kind, so neither a script renamed to .png nor a PNG renamed to .html gets through. The stored content
type is the detected one. SVG and HTML files are never accepted: browsers execute script inside them.
Markup inside a .txt or .log is stored and served as text/plain, always as a download with nosniff.
"""

import codecs
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

_OFFICE_ZIP = {
    # detected kind -> (content type, extensions)
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", {"docx"}),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", {"xlsx"}),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", {"pptx"}),
    "odt": ("application/vnd.oasis.opendocument.text", {"odt"}),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", {"ods"}),
    "odp": ("application/vnd.oasis.opendocument.presentation", {"odp"}),
}
_BINARY = {
    "image/png": {"png"},
    "image/jpeg": {"jpg", "jpeg"},
    "image/gif": {"gif"},
    "image/webp": {"webp"},
    "application/pdf": {"pdf"},
}
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls/.ppt
_OLE_TYPES = {"doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint"}
_TEXT_EXTENSIONS = {"txt", "log", "csv", "json", "xml", "ini", "cfg", "conf", "md"}
_SNIFF_BYTES = 64 * 1024

ALLOWED_EXTENSIONS = sorted(
    {ext for _type, exts in _OFFICE_ZIP.values() for ext in exts}
    | {ext for exts in _BINARY.values() for ext in exts}
    | set(_OLE_TYPES)
    | _TEXT_EXTENSIONS
)


@dataclass(frozen=True)
class CheckedFile:
    upload: object
    name: str
    content_type: str
    size: int


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _office_zip_kind(upload) -> str | None:
    """Tell OOXML and OpenDocument files apart by the parts inside the zip."""
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                # Read only the head: a zip bomb in this entry must not be inflated into memory.
                with archive.open("mimetype") as entry:
                    mimetype = entry.read(100).decode("ascii", "replace")
                for kind, (content_type, _exts) in _OFFICE_ZIP.items():
                    if mimetype == content_type:
                        return kind
            if "[Content_Types].xml" in names:
                for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                    if any(name.startswith(prefix) for name in names):
                        return kind
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        upload.seek(0)
    return None


def _looks_like_text(head: bytes, *, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    try:
        # A multi-byte character cut off at the end of a partial read is still text; invalid bytes
        # anywhere, or a cut-off character at the real end of the file, are not.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def detect_content_type(upload, extension: str) -> str | None:
    """The content type the bytes prove, if it is allowed and matches the extension."""
    upload.seek(0)
    head = upload.read(_SNIFF_BYTES)
    complete = not upload.read(1)
    upload.seek(0)
    if head.startswith(_OLE_SIGNATURE):
        return _OLE_TYPES.get(extension)
    if head.startswith(b"PK\x03\x04"):
        kind = _office_zip_kind(upload)
        if kind and extension in _OFFICE_ZIP[kind][1]:
            return _OFFICE_ZIP[kind][0]
        return None
    guessed = filetype.guess(head)
    if guessed is not None:
        return guessed.mime if extension in _BINARY.get(guessed.mime, set()) else None
    if extension in _TEXT_EXTENSIONS and _looks_like_text(head, complete=complete):
        return "text/plain"
    return None


def _kind_of_content(upload) -> tuple[str, str] | None:
    """(the allowed kind the bytes show, its usual extension), whatever the name says; else None."""
    for extension in (
        "png",
        "jpg",
        "gif",
        "webp",
        "pdf",
        "docx",
        "xlsx",
        "pptx",
        "odt",
        "ods",
        "odp",
        "doc",
        "xls",
        "ppt",
    ):
        if detect_content_type(upload, extension) is not None:
            return extension.upper(), extension
    return None


def check_upload(upload) -> CheckedFile:
    """Validate one uploaded file; raise ValidationError with a message naming the file."""
    name = (upload.name or "").replace("\x00", "").strip()[-255:] or "file"
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("%(name)s is %(size)s; files may be at most %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
            }
        )
    if upload.size == 0:
        raise ValidationError(_("%(name)s is empty.") % {"name": name})
    extension = _extension(name)
    content_type = detect_content_type(upload, extension)
    if content_type is None:
        kind = _kind_of_content(upload)
        if kind is not None and extension:
            raise ValidationError(
                _(
                    "%(name)s was refused: its content is a %(kind)s file, but its name ends in .%(extension)s. "
                    "Rename it to .%(expected)s and add it again."
                )
                % {"name": name, "kind": kind[0], "extension": extension, "expected": kind[1]}
            )
        raise ValidationError(
            _("%(name)s is not an allowed file type. Allowed are images, PDF, text and log files and office documents.")
            % {"name": name}
        )
    return CheckedFile(upload=upload, name=name, content_type=content_type, size=upload.size)
