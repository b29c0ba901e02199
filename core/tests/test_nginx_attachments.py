"""Attachments sent by nginx from its internal location (X-Accel-Redirect) keep every security header
the app gives them (C6, C17): the sandbox CSP, X-Frame-Options, nosniff, and the app's content type."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tickets import services
from tickets.attachments import check_upload
from tickets.models import Attachment
from tickets.tests.page_helpers import png_upload

pytestmark = pytest.mark.usefixtures("transactional_db")

# What the app's attachment view decides for the browser; nginx must send all of it unchanged.
SECURITY_HEADERS = [
    "Content-Type",
    "Content-Disposition",
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Cache-Control",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
]


def signed_in(nginx, user):
    client = Client()
    client.force_login(user)
    session = nginx.client()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    return session


def attach(ticket, user, upload) -> Attachment:
    services.ticket_attach(ticket=ticket, user=user, files=[check_upload(upload)])
    return Attachment.objects.filter(ticket=ticket).latest("pk")


@pytest.mark.parametrize(
    "upload",
    [
        lambda: png_upload("Störung.png"),
        # Markup in a text file: a browser that sniffed it or rendered it inline would run it.
        lambda: SimpleUploadedFile("notes.txt", b"<script>alert(document.cookie)</script>\n"),
    ],
    ids=["png", "text-with-markup"],
)
def test_nginx_sends_the_file_with_the_apps_security_headers(nginx_proxy, live_server, employee, ticket, upload):
    attachment = attach(ticket, employee, upload())
    browser = signed_in(nginx_proxy, employee)
    path = attachment.get_absolute_url()

    app = browser.get(live_server.url + path, timeout=10)  # the app's own answer, before nginx
    served = browser.get(nginx_proxy.url + path, timeout=10)

    assert app.headers["X-Accel-Redirect"].startswith("/protected-attachments/") and app.content == b""
    assert served.status_code == 200
    with attachment.file.open("rb") as stored:
        assert served.content == stored.read()
    assert "X-Accel-Redirect" not in served.headers
    for name in SECURITY_HEADERS:
        assert served.headers.get(name) == app.headers.get(name), name
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox; frame-ancestors 'none'"
    assert served.headers["X-Frame-Options"] == "DENY"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("attachment;")


def test_the_internal_location_is_not_reachable_from_outside(nginx_proxy, employee, ticket):
    attachment = attach(ticket, employee, png_upload())

    answer = signed_in(nginx_proxy, employee).get(f"{nginx_proxy.url}/protected-attachments/{attachment.file.name}")

    assert answer.status_code == 404
    assert answer.content != attachment.file.open("rb").read()
