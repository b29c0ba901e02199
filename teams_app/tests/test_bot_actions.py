"""Card actions (Universal Actions, adaptiveCard/action invokes) for requesters and agents: each is
checked again at the moment of the action, acts once per activity id, and on a ticket that changed
meanwhile answers with the current card and a note instead of a stale success."""

from datetime import timedelta

import pytest
from django.utils import timezone

from teams_app import cards
from teams_app.tests.conftest import connect_microsoft, post_activity
from tickets import services
from tickets.models import Comment, Ticket

Status = Ticket.Status


@pytest.fixture
def ticket(employee, tree):
    return services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="Jam", description="x")


@pytest.fixture
def people(bot, microsoft, employee, agent, other_employee):
    return {
        "employee": connect_microsoft(employee, microsoft),
        "agent": connect_microsoft(agent, microsoft),
        "other": connect_microsoft(other_employee, microsoft),
    }


def press(client, bot, oid, verb, ticket, **inputs):
    """Press a button of the card that shows ``ticket`` as it is now; returns the invoke response."""
    ticket.refresh_from_db()
    activity = bot.card_action(
        user_oid=oid, verb=verb, data={"ticket": ticket.pk, "v": cards.version_of(ticket), **inputs}
    )
    response = post_activity(client, bot, activity)
    assert response.status_code == 200
    return response.json(), activity


def card_text(body) -> str:
    """Everything the card shows, as one string."""
    import json

    return json.dumps(body["value"], ensure_ascii=False)


def titles(body) -> list[str]:
    return [action["title"] for action in body["value"].get("actions", [])]


def test_requester_sees_reply_and_solved_but_no_agent_buttons(client, bot, people, ticket):
    body, activity = press(client, bot, people["employee"], cards.VERB_REFRESH, ticket)
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert titles(body) == ["Reply", "It's solved", "Open in browser"]
    assert body["value"]["refresh"]["userIds"] == [activity["from"]["id"]]


def test_agent_sees_take_status_reply_and_internal_note(client, bot, people, ticket):
    body, _activity = press(client, bot, people["agent"], cards.VERB_REFRESH, ticket)
    assert titles(body) == ["Take it", "Status", "Reply", "Internal note", "Open in browser"]


def test_requester_reply_becomes_a_public_comment(client, bot, people, ticket, employee):
    body, _activity = press(client, bot, people["employee"], cards.VERB_REPLY, ticket, comment="Still jammed")
    comment = Comment.objects.get(ticket=ticket)
    assert (comment.author, comment.body, comment.is_internal) == (employee, "Still jammed", False)
    assert "Your reply was added." in card_text(body)
    assert "Still jammed" in card_text(body)  # the last public reply


def test_an_empty_reply_changes_nothing_and_says_so(client, bot, people, ticket):
    body, activity = press(client, bot, people["employee"], cards.VERB_REPLY, ticket, comment="   ")
    assert not Comment.objects.exists()
    assert "Please write something first." in card_text(body)
    # The same activity may be tried again with text: nothing was recorded for it.
    activity["value"]["action"]["data"]["comment"] = "now with text"
    post_activity(client, bot, activity)
    assert Comment.objects.count() == 1


def test_requester_closes_and_reopens_within_the_reopen_days(client, bot, people, ticket, settings):
    press(client, bot, people["employee"], cards.VERB_CLOSE, ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    body, _activity = press(client, bot, people["employee"], cards.VERB_REFRESH, ticket)
    assert "Still broken" in titles(body)

    press(client, bot, people["employee"], cards.VERB_REOPEN, ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_requester_cannot_reopen_after_the_reopen_days(client, bot, people, ticket, settings):
    settings.TICKET_REOPEN_DAYS = 14
    press(client, bot, people["employee"], cards.VERB_CLOSE, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=15))
    body, _activity = press(client, bot, people["employee"], cards.VERB_REFRESH, ticket)
    assert "Still broken" not in titles(body)
    body, _activity = press(client, bot, people["employee"], cards.VERB_REOPEN, ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert "You may not do this (any more)." in card_text(body)


def test_agent_takes_changes_status_replies_and_notes(client, bot, people, ticket, agent):
    press(client, bot, people["agent"], cards.VERB_TAKE, ticket)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (agent, Status.IN_PROGRESS)

    press(client, bot, people["agent"], cards.VERB_STATUS, ticket, status=Status.WAITING)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING

    press(client, bot, people["agent"], cards.VERB_REPLY, ticket, comment="Please restart it")
    body, _activity = press(client, bot, people["agent"], cards.VERB_NOTE, ticket, note="secret: toner fraud")
    comments = list(Comment.objects.filter(ticket=ticket).order_by("pk").values_list("body", "is_internal"))
    assert comments == [("Please restart it", False), ("secret: toner fraud", True)]
    assert "Your internal note was added." in card_text(body)


def test_internal_notes_never_appear_on_the_requesters_card(client, bot, people, ticket, agent):
    services.ticket_comment(ticket=ticket, author=agent, body="public answer")
    services.ticket_comment(ticket=ticket, author=agent, body="secret: toner fraud", is_internal=True)
    body, _activity = press(client, bot, people["employee"], cards.VERB_REFRESH, ticket)
    assert "public answer" in card_text(body)
    assert "toner fraud" not in card_text(body)


@pytest.mark.parametrize(
    ("verb", "inputs"),
    [
        (cards.VERB_TAKE, {}),
        (cards.VERB_STATUS, {"status": "closed"}),
        (cards.VERB_NOTE, {"note": "sneaky"}),
    ],
)
def test_requester_crafting_agent_actions_changes_nothing(client, bot, people, ticket, verb, inputs):
    body, _activity = press(client, bot, people["employee"], verb, ticket, **inputs)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id) == (Status.NEW, None)
    assert not Comment.objects.exists()
    assert "You may not do this (any more)." in card_text(body)


def test_another_employee_cannot_see_or_act_on_the_ticket(client, bot, people, ticket):
    for verb in (cards.VERB_REFRESH, cards.VERB_REPLY, cards.VERB_CLOSE):
        body, _activity = press(client, bot, people["other"], verb, ticket, comment="hi")
        assert body["type"] == "application/vnd.microsoft.activity.message"
        assert "Jam" not in body["value"]
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not Comment.objects.exists()


def test_permissions_are_checked_at_the_moment_of_the_action(client, bot, people, ticket, agent):
    agent.groups.clear()  # no longer IT staff since the card was shown
    agent.__dict__.pop("is_agent", None)
    body, _activity = press(client, bot, people["agent"], cards.VERB_TAKE, ticket)
    ticket.refresh_from_db()
    assert ticket.assignee_id is None
    assert body["type"] == "application/vnd.microsoft.activity.message"  # an employee now: not their ticket


def test_an_action_on_a_stale_card_answers_with_the_current_card_and_does_nothing(
    client, bot, people, ticket, second_agent, agent
):
    ticket.refresh_from_db()
    old_version = cards.version_of(ticket)
    services.ticket_take(ticket=ticket, agent=second_agent)  # someone else, meanwhile

    activity = bot.card_action(
        user_oid=people["agent"], verb=cards.VERB_TAKE, data={"ticket": ticket.pk, "v": old_version}
    )
    body = post_activity(client, bot, activity).json()
    ticket.refresh_from_db()
    assert ticket.assignee == second_agent
    assert "changed meanwhile" in card_text(body)
    assert second_agent.display_name in card_text(body)  # the fresh state


def test_the_same_action_delivered_twice_acts_once(client, bot, people, ticket):
    ticket.refresh_from_db()
    activity = bot.card_action(
        user_oid=people["employee"],
        verb=cards.VERB_REPLY,
        data={"ticket": ticket.pk, "v": cards.version_of(ticket), "comment": "once"},
    )
    first = post_activity(client, bot, activity).json()
    second = post_activity(client, bot, activity).json()
    assert Comment.objects.filter(ticket=ticket).count() == 1
    assert "Your reply was added." in card_text(first)
    assert "This was done already." in card_text(second)


def test_my_open_tickets_lists_only_the_persons_open_tickets(client, bot, people, ticket, other_employee, tree):
    services.ticket_create(
        requester=other_employee, problem_source=tree["paper_jam"], title="Not mine", description="x"
    )
    activity = bot.card_action(user_oid=people["employee"], verb=cards.VERB_MY_TICKETS, data={})
    body = post_activity(client, bot, activity).json()
    assert "Jam" in card_text(body)
    assert "Not mine" not in card_text(body)


def test_the_new_ticket_button_opens_the_tab_form_as_a_dialog(client, bot, people):
    activity = bot.activity("invoke", user_oid=people["employee"], name="task/fetch", value={"dialog": "newTicket"})
    body = post_activity(client, bot, activity).json()
    assert body["task"]["type"] == "continue"
    assert body["task"]["value"]["url"] == "https://tickets.example.com/teams/new/?dialog=1"  # filing closes it


def test_someone_unknown_pressing_a_button_is_asked_to_sign_in(client, bot, people, ticket):
    activity = bot.card_action(
        user_oid="9f1b2c3d-0000-4000-8000-000000000009", verb=cards.VERB_CLOSE, data={"ticket": ticket.pk}
    )
    body = post_activity(client, bot, activity).json()
    assert "sign in" in body["value"]
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_a_person_affected_by_a_known_issue_reads_the_card_but_acts_on_nothing(
    client, bot, people, ticket, tree, agent, other_employee
):
    from tickets import known_issues

    known_issues.known_issue_mark(ticket=ticket, actor=agent, problem_source=tree["printer"], status_text="On it")
    services.ticket_comment(ticket=ticket, author=ticket.requester, body="Tray 2 too")
    known_issues.affected_add(ticket=ticket, user=other_employee)

    body, _activity = press(client, bot, people["other"], cards.VERB_REFRESH, ticket)
    assert titles(body) == ["Open in browser"]
    assert "Tray 2 too" in card_text(body) and ticket.requester.first_name not in card_text(body)
    for verb in (cards.VERB_REPLY, cards.VERB_CLOSE, cards.VERB_TAKE):
        body, _activity = press(client, bot, people["other"], verb, ticket, comment="me too")
        assert "You may not do this (any more)." in card_text(body)
    assert list(Comment.objects.values_list("body", flat=True)) == ["Tray 2 too"]
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW

    known_issues.affected_remove(ticket=ticket, user=other_employee, actor=other_employee)
    body, _activity = press(client, bot, people["other"], cards.VERB_REFRESH, ticket)
    assert body["type"] == "application/vnd.microsoft.activity.message"  # removed: not theirs to see
