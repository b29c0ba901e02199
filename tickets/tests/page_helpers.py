"""Helpers for the page tests: uploads, messages, response bodies and list titles."""

import io
from datetime import UTC, date, datetime
from pathlib import Path

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tickets.attachments import check_upload


def png_bytes(colour=(0, 90, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), colour).save(buffer, "PNG")
    return buffer.getvalue()


def png_upload(name: str = "screen.png", colour=(0, 90, 200)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(colour), content_type="image/png")


def checked_png(name: str = "screen.png"):
    return check_upload(png_upload(name))


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def stored_files(root) -> list[Path]:
    root = Path(root)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def body_of(response) -> bytes:
    """The whole body of a response. Reading a download to the end makes the test client close it
    (and its file); calling ``close()`` again here would also close the test's database connection."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def titles(response) -> list[str]:
    return [ticket.title for ticket in response.context["page"].object_list]


def noon(day: date) -> datetime:
    # Midday UTC is the same calendar day in Europe/Berlin, so date filters are unambiguous.
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def text_file_upload(name: str = "notes.txt", text: str = "just text\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/plain")
