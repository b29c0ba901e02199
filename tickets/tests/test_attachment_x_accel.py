"""Attachments behind nginx: with ATTACHMENT_X_ACCEL_PREFIX the view checks permission and hands the
file to nginx (X-Accel-Redirect to an internal location); without it Django sends the bytes."""

import pytest

from tickets import services
from tickets.models import Attachment
from tickets.tests.page_helpers import body_of, checked_png


@pytest.fixture
def attachment(employee, ticket) -> Attachment:
    services.ticket_attach(ticket=ticket, user=employee, files=[checked_png("Störung 1.png")])
    return Attachment.objects.get()


def test_with_the_prefix_nginx_sends_the_file_after_the_permission_check(client, settings, employee, attachment):
    settings.ATTACHMENT_X_ACCEL_PREFIX = "/protected-attachments/"
    client.force_login(employee)

    response = client.get(attachment.get_absolute_url())

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-attachments/{attachment.file.name}"
    assert response.content == b""
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''St%C3%B6rung%201.png"
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_with_the_prefix_a_foreign_employee_still_gets_404(client, settings, other_employee, attachment):
    settings.ATTACHMENT_X_ACCEL_PREFIX = "/protected-attachments/"
    client.force_login(other_employee)

    response = client.get(attachment.get_absolute_url())

    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response


def test_without_the_prefix_django_sends_the_bytes(client, settings, employee, attachment):
    settings.ATTACHMENT_X_ACCEL_PREFIX = ""
    client.force_login(employee)

    response = client.get(attachment.get_absolute_url())

    assert response.status_code == 200
    assert "X-Accel-Redirect" not in response
    with attachment.file.open("rb") as stored:
        assert body_of(response) == stored.read()
