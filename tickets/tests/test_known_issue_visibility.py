"""People affected by a ticket see its public timeline and nothing else.

The matrix: the requester, a person affected by the ticket ("affected"), a person who was affected
and was removed again ("removed"), another employee and an agent, on every page, export, search,
dashboard history, notification and Teams card that shows a ticket.
"""

import csv
import io

import pytest
from django.db import connection
from django.urls import reverse

from conftest import make_user
from teams_app import activity_types, cards
from teams_app.models import Notification
from tickets import known_issues, services
from tickets.models import AffectedPerson, Attachment, Comment, Ticket, TicketEvent
from tickets.tests.page_helpers import body_of, checked_png, png_upload
from tickets.tests.test_permissions import state

STATUS = activity_types.TICKET_STATUS.type


@pytest.fixture
def people(employee, other_employee, agent):
    affected = make_user("petra", first_name="Petra", last_name="Pfeiffer")
    removed = make_user("rolf", first_name="Rolf", last_name="Rausch")
    return {"requester": employee, "affected": affected, "removed": removed, "other": other_employee, "agent": agent}


@pytest.fixture
def known(ticket, tree, people):
    """The requester's ticket as a known issue with a public reply, an internal note with a file, a
    public file; Petra is affected, Rolf was and is not any more."""
    agent = people["agent"]
    known_issues.known_issue_mark(
        ticket=ticket, actor=agent, problem_source=tree["printer"], status_text="Technician on the way"
    )
    services.ticket_comment(
        ticket=ticket, author=people["requester"], body="Still jamming", files=[checked_png("jam.png")]
    )
    services.ticket_comment(ticket=ticket, author=agent, body="We are on it, bring paper")
    services.ticket_comment(
        ticket=ticket,
        author=agent,
        body="Vendor contract 4711 secret",
        is_internal=True,
        files=[checked_png("int.png")],
    )
    for person in (people["affected"], people["removed"]):
        known_issues.affected_add(ticket=ticket, user=person)
    known_issues.affected_remove(ticket=ticket, user=people["removed"], actor=people["removed"])
    return Ticket.objects.get(pk=ticket.pk)


def test_visible_to_includes_tickets_a_person_is_affected_by(known, people):
    assert list(Ticket.objects.visible_to(people["affected"])) == [known]
    assert not Ticket.objects.visible_to(people["removed"]).exists()
    assert not Ticket.objects.visible_to(people["other"]).exists()
    assert Ticket.objects.visible_to(people["requester"]).get() == known


def test_affected_person_sees_public_content_only(known, people):
    affected = people["affected"]

    comments = {comment.body for comment in Comment.objects.visible_to(affected)}
    files = {attachment.original_name for attachment in Attachment.objects.visible_to(affected)}
    events = TicketEvent.objects.visible_to(affected)

    assert comments == {"Still jamming", "We are on it, bring paper"}
    assert files == {"jam.png"}
    assert not events.filter(is_internal=True).exists()
    # Who else is affected is an internal event: nobody but IT staff learns it.
    assert not events.filter(kind=TicketEvent.Kind.AFFECTED).exists()
    assert TicketEvent.objects.visible_to(people["agent"]).filter(kind=TicketEvent.Kind.AFFECTED).count() == 3
    for user in (people["removed"], people["other"]):
        assert not Comment.objects.visible_to(user).exists()
        assert not Attachment.objects.visible_to(user).exists()
        assert not TicketEvent.objects.visible_to(user).exists()


# --- Every URL with the ticket's id ---------------------------------------------------------------

# url name -> (method, expected status per persona); 302 is a redirect, 403 a ticket one sees but may
# not write on. The requester and the agent are the reference of what is possible.
MATRIX = {
    "detail": ("get", {"affected": 200, "removed": 404, "other": 404, "requester": 200, "agent": 200}),
    "public_file": ("get", {"affected": 200, "removed": 404, "other": 404, "requester": 200, "agent": 200}),
    "internal_file": ("get", {"affected": 404, "removed": 404, "other": 404, "requester": 404, "agent": 200}),
    "comment": ("post", {"affected": 403, "removed": 404, "other": 404, "requester": 302, "agent": 302}),
    "attach": ("post", {"affected": 403, "removed": 404, "other": 404, "requester": 302, "agent": 302}),
    "take": ("post", {"affected": 404, "removed": 404, "other": 404, "requester": 404, "agent": 302}),
    "update": ("post", {"affected": 404, "removed": 404, "other": 404, "requester": 404, "agent": 302}),
    # Closing and reopening are for the requester and IT staff: others are told so, nothing changes.
    "close": ("post", {"affected": 302, "removed": 404, "other": 404, "requester": 302, "agent": 302}),
    "reopen": ("post", {"affected": 302, "removed": 404, "other": 404, "requester": 302, "agent": 302}),
    "known_issue": ("post", {"affected": 404, "removed": 404, "other": 404, "requester": 404, "agent": 302}),
    "known_issue_resolve": ("post", {"affected": 404, "removed": 404, "other": 404, "requester": 404, "agent": 302}),
    "duplicate": ("post", {"affected": 404, "removed": 404, "other": 404, "requester": 404, "agent": 302}),
    "merge": ("post", {"affected": 404, "removed": 404, "other": 404, "requester": 404, "agent": 302}),
    "similar_panel": ("get", {"affected": 404, "removed": 404, "other": 404, "requester": 404, "agent": 200}),
}
PERSONAS = ["affected", "removed", "other", "requester", "agent"]


def _url(name: str, ticket: Ticket) -> str:
    if name.endswith("_file"):
        internal = name == "internal_file"
        attachment = Attachment.objects.get(ticket=ticket, is_internal=internal)
        return attachment.get_absolute_url()
    return reverse(f"tickets:{name}", args=[ticket.pk])


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", list(MATRIX))
def test_permission_matrix_for_affected_and_removed_people(client, known, people, tree, name, persona):
    other_ticket = services.ticket_create(
        requester=people["other"], problem_source=tree["toner"], title="Toner", description="x"
    )
    if name == "reopen":
        known_issues.known_issue_resolve(ticket=known, actor=people["agent"], status_text="Fixed")
    method, expected = MATRIX[name]
    data = {
        "comment": {"body": "Me too!"},
        "attach": {"upload-attachments": [png_upload("more.png")]},
        "update": {"status": "closed", "priority": 3, "problem_source": tree["toner"].pk},
        "known_issue": {"known-problem_source": tree["paper_jam"].pk, "known-status_text": "Fixed?"},
        "known_issue_resolve": {"resolve-status_text": "Fixed"},
        "duplicate": {"ticket": other_ticket.pk},
        "merge": {"ticket": other_ticket.pk},
    }.get(name, {})
    before = state(known)
    client.force_login(people[persona])

    response = getattr(client, method)(_url(name, known), data)
    body_of(response)

    assert response.status_code == expected[persona]
    if method == "post" and (persona in ("affected", "removed", "other") or response.status_code == 404):
        assert state(known) == before, "a refused request changes nothing"
    elif method == "post" and name != "duplicate":  # attaching the known issue to a plain ticket is refused
        assert state(known) != before, "the requester's or agent's action really happened"


def test_detail_page_shows_an_affected_person_the_public_timeline_without_identities(client, known, people):
    client.force_login(people["affected"])

    html = client.get(known.get_absolute_url()).content.decode()

    assert "We are on it, bring paper" in html and "Still jamming" in html
    assert "Technician on the way" in html
    assert "Vendor contract" not in html and "int.png" not in html
    for hidden in ("Erika", "erika@example.com", "Rolf"):  # (Petra is herself, in the menu)
        assert hidden not in html, hidden
    assert "Anna" in html  # IT staff are named
    assert 'id="reply"' not in html
    assert f'action="{reverse("tickets:attach", args=[known.pk])}"' not in html
    assert reverse("tickets:affected_remove", args=[known.pk]) in html


def test_requester_and_agent_still_see_names_and_agents_see_who_is_affected(client, known, people):
    client.force_login(people["requester"])
    html = client.get(known.get_absolute_url()).content.decode()
    assert "Erika" in html and "Petra" not in html and 'id="reply"' in html

    client.force_login(people["agent"])
    html = client.get(known.get_absolute_url()).content.decode()
    assert "Petra Pfeiffer" in html and "Vendor contract" in html


def test_dashboard_history_of_an_affected_person_names_nobody_but_it_staff(client, known, people):
    client.force_login(people["affected"])

    response = client.get(reverse("dashboard"))

    sentences = " ".join(str(event.sentence) for event in response.context["history"]["events"])
    assert "Anna" in sentences and "A colleague" in sentences
    assert "Erika" not in sentences and "Rolf" not in sentences
    assert "Vendor contract" not in response.content.decode()


def test_removed_person_sees_nothing_in_history_list_search_and_export(client, known, people):
    client.force_login(people["removed"])

    assert client.get(reverse("dashboard")).context["history"]["events"] == []
    assert list(client.get(reverse("tickets:list")).context["page"].object_list) == []
    assert list(client.get(reverse("tickets:list"), {"q": "bring"}).context["page"].object_list) == []
    rows = list(csv.reader(io.StringIO(body_of(client.get(reverse("tickets:export"))).decode("utf-8-sig"))))
    assert len(rows) == 1  # the header


def test_affected_person_finds_the_ticket_by_public_words_only_and_exports_it_without_requester(client, known, people):
    client.force_login(people["affected"])

    def found(words):
        return [row.pk for row in client.get(reverse("tickets:list"), {"q": words}).context["page"].object_list]

    assert found("bring paper") == [known.pk]
    assert found("Vendor contract") == []
    rows = list(csv.reader(io.StringIO(body_of(client.get(reverse("tickets:export"))).decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [str(known.pk)]
    assert "Erika" not in " ".join(rows[1]) and "A colleague" in rows[1]


def test_teams_card_for_an_affected_person_offers_no_reply_and_names_no_requester(known, people):
    services.ticket_comment(ticket=known, author=people["requester"], body="Third floor too")
    card = cards.ticket_card(Ticket.objects.get(pk=known.pk), people["affected"])

    text = str(card)
    assert "Third floor too" in text and "Erika" not in text and "A colleague" in text
    assert [action["type"] for action in card["actions"]] == ["Action.OpenUrl"]  # no reply, no close


def test_affected_person_cannot_write_through_any_channel(known, people):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.ticket_comment(ticket=known, author=people["affected"], body="via the bot")
    with pytest.raises(PermissionDenied):
        services.ticket_attach(ticket=known, user=people["affected"], files=[checked_png()])


def test_status_text_and_resolve_reach_every_affected_person_once(known, people, tree):
    Notification.objects.all().delete()

    known_issues.known_issue_mark(
        ticket=known, actor=people["agent"], problem_source=tree["printer"], status_text="Part ordered, ETA Friday"
    )
    after_update = {(row.recipient.username, row.kind) for row in Notification.objects.select_related("recipient")}
    Notification.objects.all().delete()
    known_issues.known_issue_resolve(ticket=known, actor=people["agent"], status_text="Printer repaired")
    after_resolve = [(row.recipient.username, row.kind) for row in Notification.objects.select_related("recipient")]

    assert after_update == {("petra", STATUS), ("erika", STATUS)}
    assert sorted(after_resolve) == [("erika", STATUS), ("petra", STATUS)]  # once each, not per event


def test_known_issue_notification_says_the_new_status_text(known, people, tree):
    from teams_app.payloads import email

    Notification.objects.all().delete()
    known_issues.known_issue_mark(
        ticket=known, actor=people["agent"], problem_source=tree["printer"], status_text="Part ordered"
    )
    row = Notification.objects.get(recipient=people["affected"])

    message = email(row)
    assert "Part ordered" in message.text and "Erika" not in message.text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_employee_visible_to_stays_on_indexes_on_postgresql(known, people):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        queryset = Ticket.objects.visible_to(people["affected"]).order_by()
        plan = queryset.explain()
    assert "Seq Scan on tickets_ticket" not in plan, plan
    assert list(Ticket.objects.visible_to(people["affected"])) == [known]


def test_affected_row_is_gone_when_removed(known, people):
    assert AffectedPerson.objects.filter(ticket=known).values_list("user__username", flat=True).get() == "petra"


def test_affected_peoples_preferences_apply_and_removed_people_hear_nothing(known, people, tree):
    from teams_app.models import NotificationPreference

    NotificationPreference.objects.create(user=people["affected"], kind=STATUS, channel="feed+email")
    Notification.objects.all().delete()

    known_issues.known_issue_resolve(ticket=known, actor=people["agent"], status_text="Printer repaired")

    heard = {(row.recipient.username, row.channel) for row in Notification.objects.select_related("recipient")}
    # Feed and e-mail chosen; without Microsoft sign-in, the feed falls back to the one e-mail.
    assert heard == {("petra", "email"), ("erika", "email")}
    NotificationPreference.objects.filter(user=people["affected"]).update(channel=NotificationPreference.NONE)
    Notification.objects.all().delete()
    services.ticket_reopen(ticket=known, user=people["agent"])
    services.ticket_close(ticket=Ticket.objects.get(pk=known.pk), user=people["agent"])
    assert {row.recipient.username for row in Notification.objects.select_related("recipient")} == {"erika"}
