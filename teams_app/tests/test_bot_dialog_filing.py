"""Filing through the ticket dialog: the dialog closes (its last page hands the ticket to the bot
with task/submit), the chat then shows the ticket's card, and a ticket made from a Teams message
links back to it."""

import pytest
from django.urls import reverse

from teams_app import delivery
from teams_app.models import Notification, TeamsMessageLink
from teams_app.tests.adaptive_card_checks import card_problems
from teams_app.tests.conftest import post_activity, reachable_in_chat
from teams_app.tests.test_bot_message_action import LINK, dialog_url, fetch_task, open_form
from tickets import services
from tickets.models import Ticket

FORM = {"title": "Printer", "description": "From Teams", "priority": 2}


@pytest.fixture
def oid(bot, microsoft, employee):
    return reachable_in_chat(employee, bot, microsoft)


def file_in_dialog(client, url, tree):
    open_form(client, url, tree)
    return client.post("/tickets/new/", {"problem_source": tree["paper_jam"].pk, **FORM})


def test_new_ticket_dialog_files_and_closes_on_the_done_page(client, bot, oid, employee, tree):
    body = post_activity(client, bot, bot.activity("invoke", user_oid=oid, name="task/fetch", value={})).json()
    url = body["task"]["value"]["url"]
    assert url.endswith("/teams/new/?dialog=1")
    client.force_login(employee)

    response = file_in_dialog(client, url, tree)

    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("teams_app:dialog_done", args=[ticket.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f'data-ticket="{ticket.pk}"' in page.text
    assert "teams-dialog-done.js" in page.text
    # The next ticket filed on the web is an ordinary one: the dialog's mark is used up.
    response = client.post("/tickets/new/", {"problem_source": tree["paper_jam"].pk, **FORM})
    assert response["Location"] == reverse("tickets:detail", args=[Ticket.objects.latest("pk").pk])


def test_the_done_page_shows_only_ones_own_ticket(client, employee, other_employee, tree):
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="t", description="d")
    client.force_login(other_employee)
    assert client.get(reverse("teams_app:dialog_done", args=[ticket.pk])).status_code == 404


def submit(bot, oid, ticket_id, **fields):
    value = {"data": {"ticket": ticket_id}, "context": {"theme": "default"}}
    return bot.activity("invoke", user_oid=oid, name="task/submit", value=value, **fields)


def test_the_submitted_dialog_posts_the_ticket_card_in_the_chat_once(client, bot, oid, employee, tree):
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="Jam", description="d")
    activity = submit(bot, oid, ticket.pk)

    assert post_activity(client, bot, activity).status_code == 200
    assert post_activity(client, bot, activity).status_code == 200  # Teams delivered it again

    row = Notification.objects.get(recipient=employee, kind="ticketFiled")
    assert (row.channel, row.ticket) == ("chat", ticket)
    assert delivery.deliver(row.pk) == Notification.Status.SENT
    card = bot.sent[-1].body["attachments"][0]["content"]
    assert card_problems(card) == []
    assert "Jam" in str(card) and "It's solved" in str(card)


def test_a_submitted_ticket_one_may_not_see_posts_nothing(client, bot, oid, other_employee, tree):
    foreign = services.ticket_create(
        requester=other_employee, problem_source=tree["paper_jam"], title="t", description="d"
    )

    post_activity(client, bot, submit(bot, oid, foreign.pk))

    assert not Notification.objects.filter(kind="ticketFiled").exists()


def test_a_ticket_from_a_teams_message_links_back_to_it_on_its_cards(client, bot, oid, employee, agent, tree):
    url = dialog_url(client, bot, fetch_task(bot, oid))
    assert "dialog=1" in url
    client.force_login(employee)

    file_in_dialog(client, url, tree)

    ticket = Ticket.objects.get()
    assert TeamsMessageLink.objects.get(ticket=ticket).url == LINK
    from teams_app import cards

    for card in (cards.ticket_card(ticket, employee), cards.channel_ticket_card(ticket)):
        assert {"type": "Action.OpenUrl", "title": "Teams message", "url": LINK} in card["actions"]
        assert card_problems(card) == []


def test_a_link_that_is_not_into_teams_is_not_kept(client, bot, oid, employee, tree):
    url = dialog_url(client, bot, fetch_task(bot, oid, link="https://evil.example/phish"))
    client.force_login(employee)

    file_in_dialog(client, url, tree)

    assert not TeamsMessageLink.objects.exists()
