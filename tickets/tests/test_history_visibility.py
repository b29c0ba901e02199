"""Who sees which events, attachments and comments of a ticket (the visible_to querysets)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from tickets import services
from tickets.models import Attachment, Comment, TicketEvent
from tickets.tests.service_helpers import png_file, text_file

Kind = TicketEvent.Kind


@pytest.fixture
def history(ticket, other_ticket, employee, other_employee, agent):
    """Public and internal items on the employee's ticket, a public item on the other employee's."""
    public = services.ticket_comment(ticket=ticket, author=employee, body="public", files=[png_file("public.png")])
    internal = services.ticket_comment(
        ticket=ticket, author=agent, body="internal", is_internal=True, files=[text_file("internal.txt")]
    )
    foreign = services.ticket_comment(
        ticket=other_ticket, author=other_employee, body="foreign", files=[text_file("foreign.txt")]
    )
    return {"public": public, "internal": internal, "foreign": foreign}


def test_employee_sees_public_events_of_own_tickets_only(history, ticket, employee):
    events = TicketEvent.objects.visible_to(employee)

    assert {e.ticket_id for e in events} == {ticket.pk}
    assert not any(e.is_internal for e in events)
    assert sorted(e.kind for e in events) == sorted([Kind.CREATED, Kind.COMMENT, Kind.ATTACHMENT])
    assert history["internal"].pk not in {e.comment_id for e in events}


def test_other_employee_sees_none_of_the_employees_events(history, ticket, other_ticket, other_employee):
    events = TicketEvent.objects.visible_to(other_employee)

    assert {e.ticket_id for e in events} == {other_ticket.pk}
    assert not TicketEvent.objects.filter(ticket=ticket).visible_to(other_employee).exists()


def test_agent_sees_all_events_including_internal(history, ticket, other_ticket, agent):
    events = TicketEvent.objects.visible_to(agent)

    assert {e.ticket_id for e in events} == {ticket.pk, other_ticket.pk}
    assert {e.kind for e in events if e.is_internal} == {Kind.INTERNAL_NOTE, Kind.ATTACHMENT}
    assert events.count() == TicketEvent.objects.count()


def test_employee_sees_public_attachments_of_own_tickets_only(history, employee, other_employee, agent):
    assert [a.original_name for a in Attachment.objects.visible_to(employee)] == ["public.png"]
    assert [a.original_name for a in Attachment.objects.visible_to(other_employee)] == ["foreign.txt"]
    assert sorted(a.original_name for a in Attachment.objects.visible_to(agent)) == [
        "foreign.txt",
        "internal.txt",
        "public.png",
    ]


def test_anonymous_and_inactive_users_see_nothing(history, employee, agent):
    anonymous = AnonymousUser()
    assert not TicketEvent.objects.visible_to(anonymous).exists()
    assert not Attachment.objects.visible_to(anonymous).exists()

    for user in (employee, agent):
        user.is_active = False
        user.save()
        inactive = type(user).objects.get(pk=user.pk)
        assert not TicketEvent.objects.visible_to(inactive).exists()
        assert not Attachment.objects.visible_to(inactive).exists()


def test_comments_reachable_through_visible_events_hide_internal_notes(history, employee, agent):
    def comments_for(user):
        return {e.comment.body for e in TicketEvent.objects.visible_to(user).select_related("comment") if e.comment_id}

    assert comments_for(employee) == {"public"}
    assert comments_for(agent) == {"public", "internal", "foreign"}


def test_comment_queryset_visible_to_hides_internal_and_foreign_comments(history, employee, other_employee, agent):
    assert [c.body for c in Comment.objects.visible_to(employee)] == ["public"]
    assert [c.body for c in Comment.objects.visible_to(other_employee)] == ["foreign"]
    assert sorted(c.body for c in Comment.objects.visible_to(agent)) == ["foreign", "internal", "public"]
