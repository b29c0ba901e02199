"""The help-desk mailbox becomes tickets (tickets.mail_intake), against the fake Graph with mailboxes."""

import pytest
from django.urls import reverse

from accounts.models import User
from core.tests.mail_fixtures import MAILBOX
from devtools.fake_graph import Scripted
from teams_app.models import Notification
from tickets import mail_intake, problem_sources, services
from tickets.models import Comment, InboundMail, MailboxConnection, Ticket
from tickets.tests.test_attachments import image_bytes

FOLDER = "Processed by TinyTeamsTicket"


@pytest.fixture
def intake(settings, mail_graph, tree):
    """The intake reads MAILBOX; "Other / not sure" exists; returns the fake Graph."""
    settings.MAIL_INTAKE_MAILBOX = MAILBOX
    settings.MAIL_INTAKE_FOLDER = FOLDER
    settings.MAIL_INTAKE_MAX_ATTEMPTS = 3
    problem_sources.problem_source_create(name_en="Other / not sure", name_de="Sonstiges / weiß nicht")
    return mail_graph


def deliver(graph, sender: str, subject: str, body: str, **kwargs) -> str:
    return graph.deliver(MAILBOX, sender=sender, subject=subject, body=body, **kwargs)


def replies_to(graph, address: str) -> list:
    return [m for m in graph.sent if m["To"].addresses[0].addr_spec == address]


def test_a_mail_from_an_employee_files_a_ticket_and_is_confirmed(intake, employee):
    message_id = deliver(
        intake,
        employee.email,
        "Printer on floor 3 is offline",
        "It shows error 50.\nPlease help.\n\n-- \nErika Tester\nAccounting\n\n> older quoted text",
    )

    result = mail_intake.run()

    assert result.error == ""
    ticket = Ticket.objects.get()
    assert ticket.requester == employee
    assert ticket.title == "Printer on floor 3 is offline"
    assert ticket.description == "It shows error 50.\nPlease help."
    assert ticket.problem_source.name_en == "Other / not sure"
    assert ticket.via_email
    row = InboundMail.objects.get()
    assert (row.status, row.ticket, row.sender, row.attempts) == ("ticket", ticket, employee.email, 1)
    [confirmation] = replies_to(intake, employee.email)
    assert confirmation["Subject"] == f"[#{ticket.pk}] Printer on floor 3 is offline"
    assert confirmation["Auto-Submitted"] == "auto-replied"
    assert confirmation["In-Reply-To"] == row.internet_message_id
    text = confirmation.get_content()
    assert f"ticket #{ticket.pk}" in text
    assert f"https://tickets.example.com/tickets/{ticket.pk}/" in text
    # Moved, not deleted; IT staff heard of the new ticket as always.
    assert intake.folder_of(MAILBOX, message_id) == FOLDER
    assert MailboxConnection.objects.get(mailbox=MAILBOX).last_success_at is not None


def test_a_german_html_mail_is_reduced_to_its_text_and_answered_in_german(intake, employee):
    body = (
        "<html><body><p>Hallo,</p><p>mein Laptop startet nicht &amp; piept dreimal.<br>Danke!</p>"
        "<script>alert(1)</script>"
        '<div id="divRplyFwdMsg"><b>Von:</b> IT &lt;it@contoso.example&gt;<br>alte Nachricht</div></body></html>'
    )
    deliver(intake, employee.email, "Laptop startet nicht", body, html=True, headers={"Content-Language": "de-DE"})

    mail_intake.run()

    ticket = Ticket.objects.get()
    assert ticket.description == "Hallo,\nmein Laptop startet nicht & piept dreimal.\nDanke!"
    [confirmation] = replies_to(intake, employee.email)
    assert "wurde als Ticket" in confirmation.get_content()


def test_an_english_mail_from_a_german_speaker_is_answered_in_their_language(intake, employee):
    employee.language = "de"
    employee.save()
    deliver(intake, employee.email, "VPN drops", "The VPN drops every hour.", headers={"Content-Language": "en-US"})
    mail_intake.run()
    [confirmation] = replies_to(intake, employee.email)
    assert "wurde als Ticket" in confirmation.get_content()
    assert Ticket.objects.get().description == "The VPN drops every hour."


def test_each_message_is_processed_once_and_the_delta_link_is_kept(intake, employee):
    deliver(intake, employee.email, "One", "first")
    mail_intake.run()
    deliver(intake, employee.email, "Two", "second")
    mail_intake.run()
    mail_intake.run()

    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["One", "Two"]
    assert len(replies_to(intake, employee.email)) == 2
    assert "$deltatoken=" in MailboxConnection.objects.get().delta_link
    # The later runs continued from the stored link instead of reading the whole inbox again.
    assert any("$deltatoken=" in request.query for request in intake.requests_to("/messages/delta"))


def test_a_reply_with_the_number_in_the_subject_becomes_a_public_comment(intake, employee, ticket):
    deliver(
        intake, employee.email, f"Re: [#{ticket.pk}] Printer on floor 2 jams", "It jams again.\n\nOn Mon wrote:\n> x"
    )

    mail_intake.run()

    comment = Comment.objects.get(ticket=ticket)
    assert (comment.author, comment.body, comment.is_internal) == (employee, "It jams again.", False)
    assert InboundMail.objects.get().status == "comment"
    assert Ticket.objects.count() == 1
    assert replies_to(intake, employee.email) == []  # the comment itself is the answer


def test_a_reply_to_a_notification_finds_its_ticket_by_in_reply_to(intake, employee, agent, ticket):
    services.ticket_comment(ticket=ticket, author=agent, body="Which tray?")
    row = Notification.objects.get(channel="email", recipient=employee)
    from teams_app.delivery import _message_id

    deliver(
        intake,
        employee.email,
        "AW: Anna Tester hat auf Ihr Ticket geantwortet",
        "Das untere Fach.",
        headers={"In-Reply-To": _message_id(row), "References": f"<x@y> {_message_id(row)}"},
    )

    mail_intake.run()

    assert Comment.objects.filter(ticket=ticket, author=employee, body="Das untere Fach.").exists()


def test_a_reply_to_the_confirmation_threads_onto_the_new_ticket(intake, employee, agent):
    deliver(intake, employee.email, "Monitor flickers", "Since today.")
    mail_intake.run()
    ticket = Ticket.objects.get()
    [confirmation] = replies_to(intake, employee.email)

    # An agent answers the confirmation (copied to them): threaded by headers, subject changed.
    deliver(intake, agent.email, "New cable", "Try a new cable.", headers={"In-Reply-To": confirmation["Message-ID"]})
    mail_intake.run()

    assert Comment.objects.get(ticket=ticket).author == agent
    assert Ticket.objects.count() == 1


def test_a_reply_from_someone_else_is_refused_with_a_reply(intake, other_employee, ticket):
    deliver(intake, other_employee.email, f"Re: [#{ticket.pk}] jams", "I close this for you.")

    mail_intake.run()

    assert not Comment.objects.exists()
    row = InboundMail.objects.get()
    assert row.status == "refused"
    [refusal] = replies_to(intake, other_employee.email)
    assert f"not added to ticket #{ticket.pk}" in refusal.get_content()
    assert refusal["Auto-Submitted"] == "auto-replied"


def test_a_forged_sender_flagged_by_exchange_is_refused(intake, employee, ticket):
    headers = {"Authentication-Results": "spf=fail smtp.mailfrom=evil.example; dmarc=fail action=none"}
    deliver(intake, employee.email, f"Re: [#{ticket.pk}]", "Forged.", headers=headers)
    mail_intake.run()
    assert not Comment.objects.exists()
    assert InboundMail.objects.get().status == "refused"


@pytest.mark.parametrize(
    "headers, subject",
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: Printer"),
        ({"X-Auto-Response-Suppress": "All"}, "Automatic reply: Printer"),
        ({"Content-Type": "multipart/report; report-type=delivery-status"}, "Undeliverable: Printer"),
        ({}, "Automatische Antwort: Drucker"),
        ({"Precedence": "bulk"}, "Newsletter"),
    ],
)
def test_automatic_mails_never_file_tickets_comments_or_replies(intake, employee, ticket, headers, subject):
    message_id = deliver(intake, employee.email, f"{subject} [#{ticket.pk}]", "I am out of office.", headers=headers)

    mail_intake.run()

    assert Ticket.objects.count() == 1
    assert not Comment.objects.exists()
    assert intake.sent == []
    assert InboundMail.objects.get().status == "ignored"
    assert intake.folder_of(MAILBOX, message_id) == FOLDER


def test_a_bounce_from_the_mailer_daemon_is_ignored(intake):
    deliver(intake, "MAILER-DAEMON@mail.example", "Failure notice", "Your message could not be delivered.")
    mail_intake.run()
    assert InboundMail.objects.get().status == "ignored"
    assert intake.sent == []


def test_an_unknown_sender_is_refused_politely_by_default(intake):
    deliver(intake, "stranger@elsewhere.example", "Need help", "My PC is broken.")

    mail_intake.run()

    assert not Ticket.objects.exists()
    assert not User.objects.filter(email="stranger@elsewhere.example").exists()
    [refusal] = replies_to(intake, "stranger@elsewhere.example")
    assert "has no account" in refusal.get_content()
    assert InboundMail.objects.get().status == "refused"


def test_an_unknown_sender_gets_an_account_without_password_when_the_admin_chose_so(settings, intake):
    settings.MAIL_INTAKE_UNKNOWN_SENDERS = "create"
    deliver(intake, "Neu.Kollege@Contoso.example", "Drucker", "Geht nicht.", sender_name="Neu Kollege")

    mail_intake.run()

    person = User.objects.get(email="neu.kollege@contoso.example")
    assert not person.has_usable_password()
    assert (person.first_name, person.last_name) == ("Neu", "Kollege")
    assert Ticket.objects.get().requester == person
    assert len(replies_to(intake, "neu.kollege@contoso.example")) == 1


def test_attachments_pass_the_upload_checks_and_the_rest_is_named_in_the_reply(settings, intake, employee):
    settings.ATTACHMENT_MAX_BYTES = 5000
    attachments = (
        ("screen.png", "image/png", image_bytes("PNG")),
        ("page.html", "text/html", b"<script>alert(1)</script>"),
        ("huge.log", "text/plain", b"x" * 6000),
    )
    deliver(intake, employee.email, "Screenshots", "See attached.", attachments=attachments)

    mail_intake.run()

    ticket = Ticket.objects.get()
    assert [a.original_name for a in ticket.attachments.all()] == ["screen.png"]
    text = replies_to(intake, employee.email)[0].get_content()
    assert "page.html is not an allowed file type" in text
    assert "huge.log is 5.9\xa0KB; files may be at most 4.9\xa0KB." in text


def test_a_poison_message_is_given_up_after_n_attempts_and_shown_in_the_admin(intake, employee, admin, client):
    bad = deliver(intake, employee.email, "Broken", "x")
    intake.broken.add(bad)
    deliver(intake, employee.email, "Fine", "y")

    for _run in range(4):
        mail_intake.run()

    row = InboundMail.objects.get(graph_id=bad)
    assert (row.status, row.attempts) == ("poison", 3)
    assert "500" in row.last_error
    assert intake.folder_of(MAILBOX, bad) == "inbox"  # left for a person to look at
    assert list(Ticket.objects.values_list("title", flat=True)) == ["Fine"]

    client.force_login(admin)
    page = client.get(reverse("admin:tickets_inboundmail_changelist") + "?status=poison")
    assert page.status_code == 200
    assert "Broken message. (HTTP 500, ErrorInternalServerError)" in page.content.decode()


def test_a_restart_in_the_middle_of_a_batch_processes_nothing_twice(intake, employee, monkeypatch):
    for title in ("First", "Second", "Third"):
        deliver(intake, employee.email, title, "text")
    real = mail_intake._process
    calls = []

    def dies_on_the_second(row):
        calls.append(row.pk)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker is killed while it works on the second message
        return real(row)

    monkeypatch.setattr(mail_intake, "_process", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        mail_intake.run()
    assert list(Ticket.objects.values_list("title", flat=True)) == ["First"]

    monkeypatch.setattr(mail_intake, "_process", real)
    mail_intake.run()

    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["First", "Second", "Third"]
    assert len(replies_to(intake, employee.email)) == 3
    assert InboundMail.objects.get(subject="Second").attempts == 2


def test_graph_being_down_is_recorded_on_the_connection(intake, employee):
    deliver(intake, employee.email, "Hello", "x")
    intake.script(Scripted(503))

    result = mail_intake.run()

    assert "503" in result.error
    connection = MailboxConnection.objects.get()
    assert "503" in connection.last_error and connection.last_success_at is None
    mail_intake.run()
    assert Ticket.objects.count() == 1
    assert MailboxConnection.objects.get().last_error == ""


def test_a_failed_confirmation_keeps_the_ticket_and_says_so(intake, employee):
    deliver(intake, employee.email, "Hello", "x")
    # delta, the message, then the confirmation's sendMail fails for good.
    intake.script(Scripted(200), Scripted(200), Scripted(403, code="ErrorAccessDenied"))

    mail_intake.run()

    row = InboundMail.objects.get()
    assert row.status == "ticket" and "Confirmation not sent" in row.last_error
    assert Ticket.objects.count() == 1


def test_without_a_mailbox_the_intake_does_nothing(settings, mail_graph):
    settings.MAIL_INTAKE_MAILBOX = ""
    assert mail_intake.run().collected == 0
    assert mail_graph.requests == []
