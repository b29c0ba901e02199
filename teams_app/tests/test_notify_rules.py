"""Who hears of which ticket change, over which channel, and that it is written with the change."""

import pytest
from background_task.models import Task
from django.db import transaction

from conftest import make_user
from teams_app import activity_types
from teams_app.models import Notification, NotificationPreference
from teams_app.notifications import notify
from teams_app.tests.conftest import connect_microsoft
from tickets import services
from tickets.models import Ticket, TicketEvent

CREATED = activity_types.TICKET_CREATED.type
ASSIGNED = activity_types.TICKET_ASSIGNED.type
REPLY = activity_types.TICKET_REPLY.type
COMMENT = activity_types.TICKET_COMMENT.type
STATUS = activity_types.TICKET_STATUS.type
TASK_NAME = "teams_app.tasks.deliver_notifications"


def heard(**filters) -> set[tuple[str, str, str]]:
    """(username, kind, channel) of the notifications written so far."""
    return {
        (row.recipient.username if row.recipient else "-", row.kind, row.channel)
        for row in Notification.objects.filter(**filters).select_related("recipient")
    }


def new_ticket(requester, tree, title="Printer jams") -> Ticket:
    return services.ticket_create(requester=requester, problem_source=tree["paper_jam"], title=title, description="x")


def forget_notifications():
    Notification.objects.all().delete()
    Task.objects.all().delete()


@pytest.fixture
def assigned_ticket(ticket, agent):
    services.ticket_take(ticket=ticket, agent=agent)
    forget_notifications()
    return Ticket.objects.get(pk=ticket.pk)


# --- New tickets ----------------------------------------------------------------------------------


def test_it_staff_hear_of_a_new_ticket_and_the_requester_does_not(employee, agent, second_agent, admin, tree):
    new_ticket(employee, tree)
    assert heard() == {("anna", CREATED, "email"), ("bernd", CREATED, "email"), ("root", CREATED, "email")}


def test_an_agent_filing_a_ticket_is_not_told_of_it(agent, second_agent, tree):
    new_ticket(agent, tree)
    assert heard() == {("bernd", CREATED, "email")}


def test_inactive_agents_hear_nothing(employee, agent, second_agent, tree):
    second_agent.is_active = False
    second_agent.save()
    new_ticket(employee, tree)
    assert heard() == {("anna", CREATED, "email")}


def test_rows_and_their_delivery_tasks_are_written_in_the_ticket_transaction(employee, agent, second_agent, tree):
    new_ticket(employee, tree)
    rows = Notification.objects.order_by("pk")
    tasks = Task.objects.filter(task_name=TASK_NAME)
    # One task delivers all rows of one change.
    assert [sorted(task.params()[0][0]) for task in tasks] == [[row.pk for row in rows]]
    assert {row.status for row in rows} == {Notification.Status.PENDING}

    with pytest.raises(RuntimeError), transaction.atomic():
        new_ticket(employee, tree, title="rolled back")
        raise RuntimeError("the request failed after the change")
    assert Notification.objects.count() == 2
    assert Task.objects.count() == 1


def test_each_row_names_event_recipient_and_channel_in_its_dedupe_key(employee, agent, tree):
    ticket = new_ticket(employee, tree)
    row = Notification.objects.get()
    event = ticket.events.get()
    assert row.event == event
    assert row.ticket == ticket
    assert row.dedupe_key == f"{event.pk}:{agent.pk}:email"


def test_reporting_the_same_events_twice_writes_no_duplicates(employee, agent, tree):
    ticket = new_ticket(employee, tree)
    assert notify(list(ticket.events.all())) == []
    assert Notification.objects.count() == 1
    assert Task.objects.count() == 1


def test_the_channel_webhook_gets_new_tickets_only_when_configured(settings, employee, agent, tree):
    new_ticket(employee, tree)
    assert not Notification.objects.filter(channel="webhook").exists()

    settings.TEAMS_WEBHOOK_URL = "https://example.invalid/workflows/hook?sig=x"
    ticket = new_ticket(employee, tree, title="second")
    webhook = Notification.objects.get(channel="webhook")
    assert (webhook.ticket, webhook.recipient, webhook.kind) == (ticket, None, CREATED)
    assert webhook.dedupe_key.endswith(":-:webhook")

    services.ticket_comment(ticket=ticket, author=agent, body="on it")
    assert Notification.objects.filter(channel="webhook").count() == 1


# --- Replies, comments, internal notes -----------------------------------------------------------


def test_the_requester_hears_of_a_public_reply(assigned_ticket, agent):
    services.ticket_comment(ticket=assigned_ticket, author=agent, body="Try turning it off and on.")
    assert heard() == {("erika", REPLY, "email")}


def test_a_reply_by_another_agent_reaches_the_requester_only(assigned_ticket, second_agent):
    services.ticket_comment(ticket=assigned_ticket, author=second_agent, body="Toner is on its way.")
    assert heard() == {("erika", REPLY, "email")}


def test_internal_notes_never_reach_the_requester(assigned_ticket, agent, second_agent):
    services.ticket_comment(
        ticket=assigned_ticket, author=second_agent, body="Her printer is ancient.", is_internal=True
    )
    services.ticket_comment(ticket=assigned_ticket, author=agent, body="Order a new one.", is_internal=True)
    assert heard() == set()


def test_the_assignee_hears_of_the_requesters_comments(assigned_ticket, employee):
    services.ticket_comment(ticket=assigned_ticket, author=employee, body="It jams again.")
    assert heard() == {("anna", COMMENT, "email")}


def test_a_requesters_comment_on_an_unassigned_ticket_notifies_nobody(ticket, employee, agent):
    forget_notifications()
    services.ticket_comment(ticket=ticket, author=employee, body="Any news?")
    assert heard() == set()


def test_an_agent_commenting_on_their_own_ticket_hears_nothing_of_it(agent, second_agent, tree):
    ticket = new_ticket(agent, tree)
    services.ticket_update(ticket=ticket, actor=second_agent, assignee=second_agent)
    forget_notifications()
    services.ticket_comment(ticket=ticket, author=second_agent, body="Done?")
    services.ticket_comment(ticket=ticket, author=agent, body="Not yet.")
    assert heard() == {("anna", REPLY, "email"), ("bernd", COMMENT, "email")}


# --- Assignment and status -----------------------------------------------------------------------


def test_the_new_assignee_hears_of_the_assignment(ticket, agent, second_agent):
    forget_notifications()
    services.ticket_update(ticket=ticket, actor=agent, assignee=second_agent)
    assert heard() == {("bernd", ASSIGNED, "email")}


def test_taking_a_ticket_notifies_nobody(ticket, agent):
    forget_notifications()
    services.ticket_take(ticket=ticket, agent=agent)
    assert heard() == set()


def test_unassigning_notifies_nobody(assigned_ticket, second_agent):
    services.ticket_update(ticket=assigned_ticket, actor=second_agent, assignee=None)
    assert heard() == set()


@pytest.mark.parametrize("status", [Ticket.Status.WAITING, Ticket.Status.RESOLVED, Ticket.Status.CLOSED])
def test_the_requester_hears_of_waiting_resolved_and_closed(assigned_ticket, agent, status):
    services.ticket_update(ticket=assigned_ticket, actor=agent, status=status)
    assert heard() == {("erika", STATUS, "email")}


def test_other_status_changes_and_field_changes_notify_nobody(assigned_ticket, agent, tree):
    services.ticket_update(ticket=assigned_ticket, actor=agent, status=Ticket.Status.NEW)
    services.ticket_update(
        ticket=assigned_ticket, actor=agent, priority=Ticket.Priority.HIGH, problem_source=tree["toner"]
    )
    assert heard() == set()


def test_the_requester_closing_their_own_ticket_hears_nothing_but_an_agent_closing_it_is_heard(
    assigned_ticket, employee, agent
):
    services.ticket_close(ticket=assigned_ticket, user=employee)
    assert heard() == set()
    services.ticket_reopen(ticket=assigned_ticket, user=employee)
    assert heard() == set()  # reopening is not among the news the requester hears of
    services.ticket_close(ticket=assigned_ticket, user=agent)
    assert heard() == {("erika", STATUS, "email")}


# --- Preferences and channels --------------------------------------------------------------------


def test_people_who_sign_in_with_microsoft_default_to_teams(microsoft, employee, agent, second_agent, tree):
    connect_microsoft(agent, microsoft)
    new_ticket(employee, tree)
    assert heard() == {("anna", CREATED, "teams"), ("bernd", CREATED, "email")}


def test_without_microsoft_sign_in_configured_everyone_gets_email(settings, microsoft, employee, agent, tree):
    connect_microsoft(agent, microsoft)
    settings.ENTRA_ENABLED = False
    new_ticket(employee, tree)
    assert heard() == {("anna", CREATED, "email")}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("teams", {"teams"}),
        ("email", {"email"}),
        ("both", {"teams", "email"}),
        ("none", set()),
    ],
)
def test_each_person_chooses_the_channel_per_kind(microsoft, employee, agent, tree, choice, expected):
    connect_microsoft(agent, microsoft)
    NotificationPreference.objects.create(user=agent, kind=CREATED, channel=choice)
    NotificationPreference.objects.create(user=agent, kind=ASSIGNED, channel="none")
    new_ticket(employee, tree)
    assert {row.channel for row in Notification.objects.filter(recipient=agent)} == expected


def test_a_teams_choice_without_a_microsoft_account_arrives_by_email(employee, agent, tree):
    NotificationPreference.objects.create(user=agent, kind=CREATED, channel="both")
    new_ticket(employee, tree)
    assert heard() == {("anna", CREATED, "email")}


def test_email_needs_an_address(employee, tree):
    make_user("noaddress", agent=True, email="")
    new_ticket(employee, tree)
    assert heard() == set()


def test_a_preference_for_one_kind_leaves_the_others_at_their_default(assigned_ticket, employee, agent):
    NotificationPreference.objects.create(user=employee, kind=STATUS, channel="none")
    services.ticket_update(ticket=assigned_ticket, actor=agent, status=Ticket.Status.RESOLVED)
    services.ticket_comment(ticket=assigned_ticket, author=agent, body="Fixed.")
    assert heard() == {("erika", REPLY, "email")}


# --- Side channels --------------------------------------------------------------------------------


def test_every_recipient_may_see_the_ticket_and_the_event_they_hear_of(
    settings, microsoft, employee, other_employee, agent, second_agent, tree
):
    """Notifications are a side channel: they must follow the pages' visibility rules (C5)."""
    connect_microsoft(employee, microsoft)
    NotificationPreference.objects.create(user=agent, kind=COMMENT, channel="both")
    settings.TEAMS_WEBHOOK_URL = "https://example.invalid/hook"
    ticket = new_ticket(employee, tree)
    services.ticket_update(ticket=ticket, actor=agent, assignee=second_agent)
    services.ticket_comment(ticket=ticket, author=second_agent, body="public")
    services.ticket_comment(ticket=ticket, author=agent, body="internal", is_internal=True)
    services.ticket_comment(ticket=ticket, author=employee, body="from the requester")
    services.ticket_update(ticket=ticket, actor=second_agent, status=Ticket.Status.WAITING)
    services.ticket_close(ticket=ticket, user=second_agent)
    new_ticket(other_employee, tree)

    rows = Notification.objects.exclude(channel="webhook").select_related("recipient")
    assert rows.count() > 8
    for row in rows:
        assert Ticket.objects.visible_to(row.recipient).filter(pk=row.ticket_id).exists(), row
        assert TicketEvent.objects.visible_to(row.recipient).filter(pk=row.event_id).exists(), row


def test_a_ticket_change_never_calls_microsoft(microsoft, notify_entra, employee, agent, tree):
    """Nothing in a request waits for Microsoft: the change only writes rows and tasks."""
    connect_microsoft(agent, microsoft)
    connect_microsoft(employee, microsoft)
    ticket = new_ticket(employee, tree)
    services.ticket_comment(ticket=ticket, author=agent, body="On it.")
    assert Notification.objects.filter(channel="teams").count() == 2
    assert microsoft.requests == []
    assert notify_entra.requests == []
