"""Notification e-mails: text and HTML, in the recipient's language, with user text escaped."""

import pytest

from teams_app import delivery
from teams_app.models import Notification
from tickets import services
from tickets.models import Ticket

EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "https://tickets.example.com"


def deliver_all() -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        assert delivery.deliver(pk) == Notification.Status.SENT


def test_an_email_has_text_and_html_and_links_to_the_ticket(ticket, agent, employee, mailoutbox):
    services.ticket_comment(ticket=ticket, author=agent, body="Please try the other tray.\nThen tell me.")
    deliver_all()

    [message] = mailoutbox
    assert message.to == [employee.email]
    assert message.subject == f"Anna Tester replied to your ticket #{ticket.pk} Printer on floor 2 jams"
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "Please try the other tray.\nThen tell me." in message.body
    assert f"https://tickets.example.com/tickets/{ticket.pk}/" in message.body
    assert "https://tickets.example.com/teams/notifications/" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "Please try the other tray.<br>Then tell me." in html
    assert f'href="https://tickets.example.com/tickets/{ticket.pk}/"' in html


def test_the_email_speaks_the_recipients_language(ticket, agent, employee, mailoutbox):
    employee.language = "de"
    employee.save()
    services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.RESOLVED)
    deliver_all()

    [message] = mailoutbox
    assert "Gelöst" in message.subject
    [(html, _mimetype)] = message.alternatives
    assert '<html lang="de">' in html


def test_without_a_language_the_email_uses_the_sites(settings, ticket, agent, employee, mailoutbox):
    settings.LANGUAGE_CODE = "de"
    services.ticket_update(ticket=ticket, actor=agent, status=Ticket.Status.WAITING)
    deliver_all()
    assert "Wartet auf Rückmeldung" in mailoutbox[0].subject


def test_user_text_is_escaped_in_the_html_and_plain_in_the_text(employee, agent, tree, mailoutbox):
    agent.first_name = '<b onmouseover="x">Anna</b>'
    agent.save()
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title=EVIL, description="d")
    services.ticket_comment(ticket=ticket, author=agent, body=f"{EVIL}\n[link](javascript:alert(1)) **bold**")
    Notification.objects.exclude(recipient=employee).delete()
    deliver_all()

    [message] = mailoutbox
    [(html, _mimetype)] = message.alternatives
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b onmouseover=&quot;x&quot;&gt;Anna&lt;/b&gt;" in html
    assert "<strong>bold</strong>" not in html  # Markdown is not rendered into the mail
    assert 'href="javascript' not in html
    # Plain text is not HTML: it carries the text as written, not as entities.
    assert EVIL in message.body
    assert "&lt;" not in message.body
    assert EVIL in message.subject
    assert "\n" not in message.subject


def test_a_new_ticket_email_shows_the_description_cut_to_a_readable_length(employee, agent, tree, mailoutbox):
    services.ticket_create(
        requester=employee, problem_source=tree["paper_jam"], title="Long", description="word " * 400
    )
    deliver_all()
    [message] = mailoutbox
    assert message.to == [agent.email]
    assert "[…]" in message.body
    assert len(message.body) < 1500
