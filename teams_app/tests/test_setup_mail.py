"""/teams/setup/ lists the mail permissions, the Exchange RBAC scoping and the intake's last run;
a ticket filed by e-mail says so on its page."""

import html
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from conftest import make_user
from tickets import services
from tickets.models import MailboxConnection

SETUP_URL = "/teams/setup/"


@pytest.fixture
def staff(db):
    return make_user("stefan", is_staff=True)


def test_the_setup_page_lists_the_mail_permissions_and_the_rbac_lines(settings, client, staff):
    settings.ENTRA_CLIENT_ID = "0c0ffee0-0000-4000-8000-0000000a1100"
    settings.EMAIL_GRAPH_MAILBOX = "it@contoso.example"
    settings.MAIL_INTAKE_MAILBOX = "it@contoso.example"
    MailboxConnection.objects.create(
        mailbox="it@contoso.example", last_success_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), last_error=""
    )
    client.force_login(staff)

    page = html.unescape(client.get(SETUP_URL).content.decode())

    assert "Mail.Send" in page and "Mail.ReadWrite" in page
    assert "EMAIL_URL=graph://it@contoso.example" in page
    assert "PrimarySmtpAddress -eq 'it@contoso.example'" in page
    assert (
        'New-ManagementRoleAssignment -App 0c0ffee0-0000-4000-8000-0000000a1100 -Role "Application Mail.ReadWrite"'
        in page
    )
    assert "Last successful run" in page
    assert "never" not in page.split("Last successful run")[1][:200]


def test_the_setup_page_shows_the_intakes_last_error_and_a_run_that_never_succeeded(settings, client, staff):
    settings.MAIL_INTAKE_MAILBOX = "it@contoso.example"
    MailboxConnection.objects.create(mailbox="it@contoso.example", last_error="Access is denied. (HTTP 403)")
    client.force_login(staff)

    page = client.get(SETUP_URL).content.decode()

    assert "never" in page
    assert "Access is denied. (HTTP 403)" in page


def test_without_mail_settings_the_page_says_what_is_off(client, staff):
    client.force_login(staff)
    page = client.get(SETUP_URL).content.decode()
    assert "not through Microsoft Graph" in page
    assert "MAIL_INTAKE_MAILBOX is empty" in page


def test_a_ticket_filed_by_mail_is_marked_on_its_page(client, employee, tree):
    by_mail = services.ticket_create(
        requester=employee, problem_source=tree["software"], title="Mail", description="x", via_email=True
    )
    on_the_web = services.ticket_create(
        requester=employee, problem_source=tree["software"], title="Web", description="x"
    )
    client.force_login(employee)

    assert "via e-mail" in client.get(reverse("tickets:detail", args=[by_mail.pk])).content.decode()
    assert "via e-mail" not in client.get(reverse("tickets:detail", args=[on_the_web.pk])).content.decode()
