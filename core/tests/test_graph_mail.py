"""Outgoing e-mail through Microsoft Graph (EMAIL_URL=graph://...): the MIME arrives as Django built it,
and failures keep the outbox's retry rules (429 with Retry-After, 5xx, permanent 403)."""

import logging
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from core import microsoft
from core.tests.mail_fixtures import MAILBOX
from devtools.fake_graph import Scripted
from teams_app import delivery
from teams_app.models import Notification
from tickets import services

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_a_message_goes_out_as_mime_with_alternatives_headers_and_attachment(mail_graph):
    message = EmailMultiAlternatives(
        subject="Your ticket #7 – printer",
        body="Plain text",
        from_email="Somebody Else <other@contoso.example>",
        to=["erika@example.com"],
        bcc=["audit@example.com"],
        headers={"Message-ID": "<notification-7.x@contoso.example>", "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative("<p>HTML text</p>", "text/html")
    message.attach("log.txt", "line 1\n", "text/plain")

    assert message.send() == 1

    [sent] = mail_graph.sent
    # Exchange sends as the mailbox: another From would need "Send As" and be refused.
    assert sent["From"].addresses[0].addr_spec == MAILBOX
    assert sent["From"].addresses[0].display_name == "Somebody Else"
    assert sent["Message-ID"] == "<notification-7.x@contoso.example>"
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["Bcc"] == "audit@example.com"
    assert sent["Subject"] == "Your ticket #7 – printer"
    assert sent.get_body(("plain",)).get_content().strip() == "Plain text"
    assert sent.get_body(("html",)).get_content().strip() == "<p>HTML text</p>"
    [attachment] = list(sent.iter_attachments())
    assert attachment.get_filename() == "log.txt"
    [request] = mail_graph.requests_to("/sendMail")
    assert request.path == f"/v1.0/users/{MAILBOX}/sendMail"
    assert request.header("Authorization").startswith("Bearer ")


def test_a_german_notification_arrives_in_german_through_graph(mail_graph, ticket, agent, employee):
    employee.language = "de"
    employee.save()
    services.ticket_comment(ticket=ticket, author=agent, body="Bitte das andere Fach probieren. Grüße")
    [row] = Notification.objects.filter(channel="email", recipient=employee)

    assert delivery.deliver(row.pk) == Notification.Status.SENT

    [sent] = mail_graph.sent
    assert sent["To"].addresses[0].addr_spec == employee.email
    assert sent["Subject"] == f"Anna Tester hat auf Ihr Ticket #{ticket.pk} Printer on floor 2 jams geantwortet"
    assert "Bitte das andere Fach probieren. Grüße" in sent.get_body(("plain",)).get_content()
    assert '<html lang="de">' in sent.get_body(("html",)).get_content()
    # The stable Message-ID of the outbox row survives: a repeat after a timeout is a duplicate.
    assert sent["Message-ID"] == delivery._message_id(row)


def test_an_english_notification_arrives_in_english_through_graph(mail_graph, ticket, agent, employee):
    services.ticket_comment(ticket=ticket, author=agent, body="Please try the other tray.")
    [row] = Notification.objects.filter(channel="email", recipient=employee)

    assert delivery.deliver(row.pk) == Notification.Status.SENT

    [sent] = mail_graph.sent
    assert sent["Subject"] == f"Anna Tester replied to your ticket #{ticket.pk} Printer on floor 2 jams"
    assert '<html lang="en">' in sent.get_body(("html",)).get_content()


@pytest.fixture
def email_row(mail_graph, ticket, agent, employee) -> Notification:
    services.ticket_comment(ticket=ticket, author=agent, body="Please try the other tray.")
    return Notification.objects.get(channel="email", recipient=employee)


def test_throttling_waits_for_retry_after_and_uses_up_no_attempt(mail_graph, email_row):
    mail_graph.script(Scripted(429, retry_after=7))
    before = timezone.now()

    assert delivery.deliver(email_row.pk) == Notification.Status.FAILED

    row = Notification.objects.get(pk=email_row.pk)
    assert row.attempts == 0
    assert before + timedelta(seconds=6) <= row.next_attempt_at <= timezone.now() + timedelta(seconds=8)
    assert "429" in row.last_error
    assert mail_graph.sent == []


def test_a_server_error_is_retried_with_backoff(settings, mail_graph, email_row):
    settings.NOTIFICATION_BACKOFF_SECONDS = 30
    mail_graph.script(Scripted(503))

    assert delivery.deliver(email_row.pk) == Notification.Status.FAILED
    row = Notification.objects.get(pk=email_row.pk)
    assert row.attempts == 1
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=25)

    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver(row.pk) == Notification.Status.SENT
    assert len(mail_graph.sent) == 1


def test_a_timeout_is_retried(mail_graph, email_row):
    mail_graph.script(Scripted(hang=1.5))
    assert delivery.deliver(email_row.pk) == Notification.Status.FAILED
    assert "timed out" in Notification.objects.get(pk=email_row.pk).last_error
    # Graph may still accept the request after the app gave up waiting (hence the stable Message-ID):
    # wait for that here, so that it does not land in the next test.
    deadline = time.monotonic() + 3
    while not mail_graph.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mail_graph.sent) == 1


def test_a_mailbox_outside_the_rbac_scope_is_a_permanent_failure_recorded_on_the_row(mail_graph, email_row):
    mail_graph.add_mailbox(MAILBOX, allowed=False)

    assert delivery.deliver(email_row.pk) == Notification.Status.DEAD

    row = Notification.objects.get(pk=email_row.pk)
    assert "403" in row.last_error and "ErrorAccessDenied" in row.last_error
    assert mail_graph.sent == []


def test_fail_silently_returns_zero_instead_of_raising(mail_graph):
    mail_graph.script(Scripted(500))
    assert mail.send_mail("s", "b", None, ["x@example.com"], fail_silently=True) == 0
    mail_graph.script(Scripted(500))
    with pytest.raises(microsoft.MicrosoftError):
        mail.send_mail("s", "b", None, ["x@example.com"])


def test_a_failed_password_reset_mail_is_logged_and_the_page_still_answers(client, mail_graph, employee, caplog):
    mail_graph.script(Scripted(503))
    with caplog.at_level(logging.ERROR):
        response = client.post(reverse("accounts:password_reset"), {"email": employee.email})

    assert response.status_code == 302
    assert "Failed to send password reset email" in caplog.text
    assert mail_graph.sent == []


def test_a_password_reset_mail_goes_out_through_graph(client, mail_graph, employee):
    response = client.post(reverse("accounts:password_reset"), {"email": employee.email})
    assert response.status_code == 302
    [sent] = mail_graph.sent
    assert sent["To"].addresses[0].addr_spec == employee.email


def _settings_with(email_url: str) -> subprocess.CompletedProcess:
    code = "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.DEFAULT_FROM_EMAIL)"
    env = {**os.environ, "DEBUG": "1", "EMAIL_URL": email_url, "DJANGO_SETTINGS_MODULE": "core.settings"}
    env.pop("DEFAULT_FROM_EMAIL", None)
    return subprocess.run(  # fixed arguments: our own settings
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_email_url_graph_selects_the_graph_backend_and_sends_as_the_mailbox():
    result = _settings_with("graph://it@contoso.example")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["core.graph_mail.GraphEmailBackend", "TinyTeamsTicket", "<it@contoso.example>"]


def test_email_url_graph_without_a_mailbox_address_fails_loudly():
    result = _settings_with("graph://contoso.example")
    assert result.returncode != 0
    assert "graph://it@contoso.com" in result.stderr
