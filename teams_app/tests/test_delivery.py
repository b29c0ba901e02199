"""Delivering notifications to the fake Graph and the fake Entra token endpoint over real HTTP:
payload, token, retries, dead rows, the e-mail fallback and one send per claim."""

import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from background_task.models import Task
from django.core.management import call_command
from django.utils import timezone

from core import microsoft as graph
from devtools.fake_graph import Scripted
from teams_app import activity_types, delivery
from teams_app.models import Notification, NotificationPreference
from teams_app.tests.conftest import CLIENT, TEAMS_APP_ID, TENANT, connect_microsoft, token_requests
from tickets import services

Status = Notification.Status


@pytest.fixture
def recipient(microsoft, agent):
    """An IT agent who signs in with Microsoft and has the Teams app installed."""
    agent.oid = connect_microsoft(agent, microsoft)
    return agent


def file_ticket(employee, tree, *, title="Printer on floor 2 jams", description="Every second page jams."):
    return services.ticket_create(
        requester=employee, problem_source=tree["paper_jam"], title=title, description=description
    )


@pytest.fixture
def teams_row(recipient, employee, tree):
    ticket = file_ticket(employee, tree)
    return Notification.objects.get(ticket=ticket, recipient=recipient, channel="teams")


def fresh(row: Notification) -> Notification:
    return Notification.objects.get(pk=row.pk)


def scheduled_tasks(row: Notification) -> list[Task]:
    return [task for task in Task.objects.order_by("run_at") if task.params()[0] == [row.pk]]


# --- The request Graph gets ------------------------------------------------------------------------


def test_a_teams_notification_is_posted_with_an_app_token_and_the_declared_shape(
    microsoft, notify_entra, recipient, teams_row, employee
):
    assert delivery.deliver(teams_row.pk) == Status.SENT

    [request] = microsoft.activity_requests
    assert request.path == f"/v1.0/users/{recipient.oid}/teamwork/sendActivityNotification"
    scheme, token = request.header("Authorization").split(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(token, options={"verify_signature": False})  # the fake Graph checked the signature
    assert (claims["tid"], claims["appid"], claims["idtyp"]) == (TENANT, CLIENT, "app")
    assert claims["aud"] == "https://graph.microsoft.com"

    body = request.body
    assert set(body) == {"topic", "activityType", "previewText", "templateParameters", "chainId"}
    assert body["chainId"] == teams_row.pk  # a repeat replaces this one in the feed
    assert body["activityType"] == "ticketCreated"
    ticket = teams_row.ticket
    assert body["topic"]["source"] == "text"
    assert body["topic"]["value"] == f"#{ticket.pk} Printer on floor 2 jams"
    assert body["previewText"] == {"content": "Every second page jams."}
    assert body["templateParameters"] == [
        {"name": "actor", "value": employee.display_name},
        {"name": "ticket", "value": f"#{ticket.pk} Printer on floor 2 jams"},
    ]
    row = fresh(teams_row)
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 1, "")
    assert row.sent_at is not None


def test_the_topic_links_into_the_teams_tab_at_the_ticket(microsoft, teams_row):
    delivery.deliver(teams_row.pk)
    link = urlsplit(microsoft.activity_requests[0].body["topic"]["webUrl"])
    assert (link.scheme, link.netloc, link.path) == (
        "https",
        "teams.microsoft.com",
        f"/l/entity/{TEAMS_APP_ID}/myTickets",
    )
    query = parse_qs(link.query)
    ticket_id = teams_row.ticket_id
    assert query["webUrl"] == [f"https://tickets.example.com/tickets/{ticket_id}/"]
    assert json.loads(query["context"][0]) == {"subEntityId": f"ticket-{ticket_id}"}
    assert "{" not in link.query  # the JSON context is URL-encoded


def test_every_template_parameter_of_every_activity_type_is_filled(microsoft, recipient, employee, agent, tree):
    """Teams refuses a notification with an unfilled placeholder; the fake Graph does too."""
    connect_microsoft(employee, microsoft)
    second = services.ticket_create(requester=employee, problem_source=tree["toner"], title="Toner", description="y")
    services.ticket_take(ticket=second, agent=agent)
    services.ticket_comment(ticket=second, author=agent, body="Ordered.")
    services.ticket_comment(ticket=second, author=employee, body="Thanks!")
    services.ticket_update(ticket=second, actor=agent, status="resolved")
    other = services.ticket_create(requester=employee, problem_source=tree["toner"], title="Ink", description="z")
    from conftest import make_user

    boss = make_user("boss", agent=True)
    connect_microsoft(boss, microsoft)
    services.ticket_update(ticket=other, actor=boss, assignee=recipient)
    from tickets import sla_alerts
    from tickets.tests.sla_helpers import set_policy, standard_policy

    node = set_policy(tree["paper_jam"], standard_policy())
    late = services.ticket_create(requester=employee, problem_source=node, title="Late", description="w")
    services.ticket_update(ticket=late, actor=boss, assignee=recipient)
    sla_alerts.run(now=late.created_at + timedelta(days=30))  # the service level: breached

    rows = Notification.objects.filter(channel="teams")
    assert {row.kind for row in rows} == {activity.type for activity in activity_types.ALL}
    assert [delivery.deliver(row.pk) for row in rows] == [Status.SENT] * len(rows)
    status = next(r.body for r in microsoft.activity_requests if r.body["activityType"] == "ticketStatusChanged")
    assert {"name": "status", "value": "Resolved"} in status["templateParameters"]


def test_changes_by_the_system_are_announced_in_its_name(microsoft, recipient, ticket):
    from teams_app.notifications import notify
    from tickets.models import Ticket, TicketEvent

    Ticket.objects.filter(pk=ticket.pk).update(assignee=recipient)
    event = TicketEvent.objects.create(ticket=ticket, actor=None, kind="assignment", new_value=str(recipient.pk))
    [row] = notify([event])
    assert (row.recipient, row.kind, row.channel) == (recipient, "ticketAssigned", "teams")
    assert delivery.deliver(row.pk) == Status.SENT
    parameters = microsoft.activity_requests[0].body["templateParameters"]
    assert {"name": "actor", "value": "TinyTeamsTicket"} in parameters


def test_user_text_stays_inert_plain_text_in_the_payload(microsoft, recipient, employee, tree):
    title = '<script>alert("t")</script> **bold** [click](javascript:alert(1))'
    description = "<img src=x onerror=alert(1)>\n\n# Heading\n`code`"
    ticket = file_ticket(employee, tree, title=title, description=description)
    delivery.deliver(Notification.objects.get(ticket=ticket, channel="teams").pk)

    body = microsoft.activity_requests[0].body
    assert body["topic"]["value"] == f"#{ticket.pk} {title}"
    assert body["previewText"]["content"] == "<img src=x onerror=alert(1)> # Heading `code`"
    dumped = json.dumps(body)
    # Nothing was rendered into markup or escaped into entities: the text is carried as written.
    for rendered in ("<strong>", "<b>", "<a ", "<h1", "&lt;", "&amp;"):
        assert rendered not in dumped


def test_long_text_is_cut_to_what_teams_shows(microsoft, recipient, employee, tree):
    ticket = file_ticket(employee, tree, title="T" * 200, description="word " * 100)
    delivery.deliver(Notification.objects.get(ticket=ticket, channel="teams").pk)
    body = microsoft.activity_requests[0].body
    assert len(body["previewText"]["content"]) == 150
    assert body["previewText"]["content"].endswith("…")
    assert all(len(parameter["value"]) <= 100 for parameter in body["templateParameters"])


def test_the_app_token_is_cached_between_notifications(microsoft, notify_entra, recipient, employee, tree):
    for number in range(3):
        ticket = file_ticket(employee, tree, title=f"Ticket {number}")
        assert delivery.deliver(Notification.objects.get(ticket=ticket).pk) == Status.SENT
    assert len(microsoft.activity_requests) == 3
    assert len(token_requests(notify_entra)) == 1
    [token_request] = token_requests(notify_entra)
    assert token_request.form["scope"] == "https://graph.microsoft.com/.default"


def test_tokens_are_never_logged_or_stored(microsoft, recipient, teams_row, caplog):
    caplog.set_level(logging.DEBUG)
    microsoft.script(Scripted(503))
    delivery.deliver(teams_row.pk)
    Notification.objects.filter(pk=teams_row.pk).update(next_attempt_at=timezone.now())
    delivery.deliver(teams_row.pk)
    token = microsoft.activity_requests[-1].header("Authorization").split(" ")[1]
    assert token not in caplog.text
    row = fresh(teams_row)
    assert token not in row.last_error
    assert all(token not in task.task_params for task in Task.objects.all())


def test_a_refused_client_secret_is_retried_and_the_secret_stays_out_of_the_row(settings, microsoft, teams_row):
    settings.ENTRA_CLIENT_SECRET = "wrong-secret-value"
    assert delivery.deliver(teams_row.pk) == Status.FAILED
    row = fresh(teams_row)
    assert "AADSTS7000215" in row.last_error
    assert "wrong-secret-value" not in row.last_error
    assert microsoft.activity_requests == []


# --- Transient failures ---------------------------------------------------------------------------


def test_a_429_waits_for_its_retry_after(microsoft, teams_row):
    microsoft.script(Scripted(429, retry_after=7))
    before = timezone.now()
    assert delivery.deliver(teams_row.pk) == Status.FAILED

    row = fresh(teams_row)
    assert (row.status, row.attempts) == (Status.FAILED, 0)  # throttling uses up no attempt
    assert timedelta(seconds=6) < row.next_attempt_at - before < timedelta(seconds=9)
    assert "429" in row.last_error
    # A delivery task waits for that moment; run early, the row is not due and nothing is sent.
    assert abs(scheduled_tasks(row)[-1].run_at - row.next_attempt_at) < timedelta(seconds=1)
    assert delivery.deliver(row.pk) is None
    assert len(microsoft.activity_requests) == 1

    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver(row.pk) == Status.SENT
    assert (fresh(row).attempts, len(microsoft.activity_requests)) == (1, 2)


def test_server_errors_back_off_exponentially_up_to_the_cap(settings, microsoft, teams_row):
    settings.NOTIFICATION_BACKOFF_SECONDS = 30
    settings.NOTIFICATION_BACKOFF_MAX_SECONDS = 100
    microsoft.script(Scripted(503), Scripted(502), Scripted(500), Scripted(504))
    waits = []
    for _attempt in range(4):
        before = timezone.now()
        assert delivery.deliver(teams_row.pk) == Status.FAILED
        row = fresh(teams_row)
        waits.append(round((row.next_attempt_at - before).total_seconds()))
        Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert waits == [30, 60, 100, 100]
    assert delivery.deliver(teams_row.pk) == Status.SENT


def test_a_timeout_is_retried(microsoft, teams_row):
    microsoft.script(Scripted(hang=2.0))
    assert delivery.deliver(teams_row.pk) == Status.FAILED
    row = fresh(teams_row)
    assert "timed out" in row.last_error
    assert row.next_attempt_at > timezone.now()


def test_after_the_last_attempt_the_row_is_dead(settings, microsoft, teams_row):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    teams_row.recipient.email = ""  # nothing to fall back to (see test_throttling.py for the fallback)
    teams_row.recipient.save()
    microsoft.script(Scripted(503), Scripted(503), Scripted(503))
    outcomes = []
    for _attempt in range(3):
        outcomes.append(delivery.deliver(teams_row.pk))
        Notification.objects.filter(pk=teams_row.pk).update(next_attempt_at=timezone.now())
    assert outcomes == [Status.FAILED, Status.FAILED, Status.DEAD]
    row = fresh(teams_row)
    assert (row.status, row.attempts) == (Status.DEAD, 3)
    assert "503" in row.last_error
    assert delivery.deliver(row.pk) is None  # dead rows wait for retry_notifications
    assert len(microsoft.activity_requests) == 3


# --- Permanent failures and the e-mail fallback ---------------------------------------------------


@pytest.mark.parametrize(("installed", "status"), [(False, 403), (None, 404)])
def test_a_permanent_teams_refusal_falls_back_to_one_email(
    microsoft, agent, employee, tree, mailoutbox, installed, status
):
    if installed is None:  # a user Graph does not know
        from social_django.models import UserSocialAuth

        UserSocialAuth.objects.create(
            user=agent, provider="azuread-v2-tenant-oauth2", uid="11111111-2222-4333-8444-555555555555"
        )
    else:
        connect_microsoft(agent, microsoft, installed=installed)
    row = Notification.objects.get(ticket=file_ticket(employee, tree), recipient=agent)
    assert row.channel == "teams"

    assert delivery.deliver(row.pk) == Status.SENT
    row = fresh(row)
    assert (row.status, row.channel, row.attempts) == (Status.SENT, "email", 1)
    assert f"HTTP {status}" in row.fallback_note
    assert "e-mail instead" in row.fallback_note
    assert [message.to for message in mailoutbox] == [[agent.email]]
    assert delivery.deliver(row.pk) is None
    assert len(mailoutbox) == 1
    assert len(microsoft.activity_requests) == 1


def test_no_fallback_when_the_person_gets_the_email_anyway(microsoft, agent, employee, tree, mailoutbox):
    connect_microsoft(agent, microsoft, installed=False)
    NotificationPreference.objects.create(user=agent, kind="ticketCreated", channel="both")
    ticket = file_ticket(employee, tree)
    teams = Notification.objects.get(ticket=ticket, channel="teams")
    email = Notification.objects.get(ticket=ticket, channel="email")

    assert delivery.deliver(teams.pk) == Status.DEAD
    assert "by e-mail as well" in fresh(teams).fallback_note
    assert delivery.deliver(email.pk) == Status.SENT
    assert len(mailoutbox) == 1


def test_no_fallback_without_an_address(microsoft, agent, employee, tree, mailoutbox):
    connect_microsoft(agent, microsoft, installed=False)
    ticket = file_ticket(employee, tree)
    agent.email = ""
    agent.save()
    row = Notification.objects.get(ticket=ticket)
    assert delivery.deliver(row.pk) == Status.DEAD
    assert "No e-mail address" in fresh(row).fallback_note
    assert mailoutbox == []


def test_a_fallback_email_that_cannot_be_sent_yet_is_retried_as_email(microsoft, agent, employee, tree, monkeypatch):
    connect_microsoft(agent, microsoft, installed=False)
    row = Notification.objects.get(ticket=file_ticket(employee, tree))
    sent = []

    def smtp_down(message, *args, **kwargs):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", smtp_down)
    assert delivery.deliver(row.pk) == Status.FAILED
    assert (fresh(row).channel, fresh(row).status) == ("email", Status.FAILED)

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", lambda message, *a, **k: sent.append(message))
    Notification.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver(row.pk) == Status.SENT
    assert len(sent) == 1
    assert len(microsoft.activity_requests) == 1  # Teams was not asked again


# --- One send per claim ---------------------------------------------------------------------------


def test_delivering_the_same_row_twice_sends_once(microsoft, teams_row):
    assert delivery.deliver(teams_row.pk) == Status.SENT
    assert delivery.deliver(teams_row.pk) is None
    assert len(microsoft.activity_requests) == 1


def test_a_task_queued_twice_sends_once(microsoft, teams_row):
    from background_task.tasks import tasks

    from teams_app.delivery_queue import deliver_notification

    deliver_notification(teams_row.pk)  # a second task for the same row
    while tasks.run_next_task():
        pass
    assert len(microsoft.activity_requests) == 1
    assert fresh(teams_row).status == Status.SENT


def test_a_row_left_sending_is_not_sent_again_by_its_task_or_an_early_retry(microsoft, teams_row, monkeypatch):
    real_send = graph.send_activity_notification

    def send_then_die(*args, **kwargs):
        real_send(*args, **kwargs)
        raise SystemExit("worker killed")  # not an Exception: nothing in deliver() catches it

    monkeypatch.setattr(graph, "send_activity_notification", send_then_die)
    with pytest.raises(SystemExit):
        delivery.deliver(teams_row.pk)
    monkeypatch.setattr(graph, "send_activity_notification", real_send)

    assert fresh(teams_row).status == Status.SENDING
    assert delivery.deliver(teams_row.pk) is None  # the task ran again: nothing is sent
    call_command("retry_notifications", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert fresh(teams_row).status == Status.SENDING  # not stale yet
    assert len(microsoft.activity_requests) == 1


def test_a_row_claimed_by_another_worker_is_left_alone(microsoft, teams_row):
    Notification.objects.filter(pk=teams_row.pk).update(status=Status.SENDING, claimed_at=timezone.now())
    assert delivery.deliver(teams_row.pk) is None
    assert microsoft.activity_requests == []


def test_a_row_deleted_with_its_ticket_is_skipped(microsoft, teams_row):
    teams_row.ticket.delete()
    assert delivery.deliver(teams_row.pk) is None


# --- The channel webhook --------------------------------------------------------------------------


def test_new_tickets_are_posted_to_the_channel_webhook_as_an_adaptive_card(settings, microsoft, employee, tree):
    settings.TEAMS_WEBHOOK_URL = microsoft.webhook_url
    ticket = file_ticket(employee, tree, title="<b>Printer</b> **jams**")
    row = Notification.objects.get(channel="webhook")
    assert delivery.deliver(row.pk) == Status.SENT

    [request] = microsoft.webhook_requests
    assert request.header("Authorization") is None  # the URL carries its own signature
    assert request.body["type"] == "message"
    [attachment] = request.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open ticket", "url": f"https://tickets.example.com/tickets/{ticket.pk}/"}
    ]
    # User text only in TextRuns, which Teams does not read as Markdown; TextBlocks hold our own text.
    runs = [inline["text"] for block in card["body"] if block["type"] == "RichTextBlock" for inline in block["inlines"]]
    assert f"#{ticket.pk} <b>Printer</b> **jams**" in runs
    assert all("Printer" not in block.get("text", "") for block in card["body"] if block["type"] == "TextBlock")


def test_a_refused_webhook_is_dead_without_retries(settings, microsoft, employee, tree):
    settings.TEAMS_WEBHOOK_URL = microsoft.webhook_url.replace("sig=", "sig=wrong")
    file_ticket(employee, tree)
    row = Notification.objects.get(channel="webhook")
    assert delivery.deliver(row.pk) == Status.DEAD
    assert "401" in fresh(row).last_error
    assert settings.TEAMS_WEBHOOK_URL not in fresh(row).last_error


# --- The seam -------------------------------------------------------------------------------------


def test_retry_after_as_an_http_date_is_understood():
    class Answer:
        headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}

    assert graph._retry_after(Answer()) == 0.0
    Answer.headers = {"Retry-After": "3600"}
    assert graph._retry_after(Answer()) == 3600.0
    Answer.headers = {"Retry-After": "soon"}
    assert graph._retry_after(Answer()) is None
