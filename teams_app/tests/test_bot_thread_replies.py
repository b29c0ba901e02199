"""A message typed in the thread of a ticket card the bot posted (its replyToId, or the channel
thread it hangs in) becomes a public comment on that ticket: for whoever may comment now, once per
activity id, never for a card the bot did not post."""

import pytest

from teams_app import delivery
from teams_app.models import BotCard, BotChannel, Notification
from teams_app.tests.conftest import connect_microsoft, post_activity, reachable_in_chat
from tickets import services
from tickets.models import AffectedPerson, Comment

SUPPORT = "19:it-support@thread.tacv2"


@pytest.fixture
def ticket(employee, tree):
    return services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="Jam", description="x")


@pytest.fixture
def employee_oid(bot, microsoft, employee):
    return reachable_in_chat(employee, bot, microsoft)


@pytest.fixture
def chat_card(bot, employee_oid, employee, agent, ticket) -> BotCard:
    """The card of the agent's reply, delivered to the requester's chat: its activity id is kept."""
    services.ticket_comment(ticket=ticket, author=agent, body="Please restart it")
    row = Notification.objects.get(recipient=employee, channel="chat")
    delivery.deliver(row.pk)
    return BotCard.objects.get(user=employee)


def test_a_card_delivered_to_a_chat_keeps_its_activity_id(bot, chat_card, ticket, employee_oid):
    assert chat_card.ticket == ticket
    assert chat_card.conversation_id == f"a:personal-{employee_oid}"
    assert chat_card.activity_id.startswith("1:")


def test_a_reply_to_the_card_in_the_chat_becomes_a_public_comment(client, bot, chat_card, employee_oid, employee):
    activity = bot.activity(
        "message", user_oid=employee_oid, text="Did that, still jammed", replyToId=chat_card.activity_id
    )

    assert post_activity(client, bot, activity).status_code == 200

    comment = Comment.objects.filter(author=employee).get()
    assert (comment.ticket_id, comment.body, comment.is_internal) == (
        chat_card.ticket_id,
        "Did that, still jammed",
        False,
    )
    assert not Notification.objects.filter(recipient=employee, kind="botWelcome").exists()  # no welcome card


def test_the_same_reply_delivered_twice_makes_one_comment(client, bot, chat_card, employee_oid, employee):
    activity = bot.activity("message", user_oid=employee_oid, text="twice?", replyToId=chat_card.activity_id)
    post_activity(client, bot, activity)
    post_activity(client, bot, activity)

    assert Comment.objects.filter(author=employee).count() == 1


def test_a_reply_to_a_closed_ticket_by_the_requester_is_not_taken(
    client, bot, chat_card, employee_oid, employee, agent
):
    services.ticket_close(ticket=chat_card.ticket, user=agent)
    activity = bot.activity("message", user_oid=employee_oid, text="late", replyToId=chat_card.activity_id)

    post_activity(client, bot, activity)

    assert not Comment.objects.filter(author=employee).exists()


def test_a_reply_to_something_the_bot_did_not_post_is_an_ordinary_message(
    client, bot, chat_card, employee_oid, employee
):
    activity = bot.activity("message", user_oid=employee_oid, text="hello", replyToId="1:not-a-card")

    post_activity(client, bot, activity)

    assert not Comment.objects.filter(author=employee).exists()


@pytest.fixture
def channel_card(bot, ticket) -> BotCard:
    channel = BotChannel.objects.create(
        channel_id=SUPPORT,
        team_id="19:team@thread.tacv2",
        service_url=bot.service_url,
        tenant_id=bot.tenant_id,
        is_it_channel=True,
    )
    return BotCard.objects.create(
        ticket=ticket, channel=channel, conversation_id=SUPPORT, service_url=bot.service_url, activity_id="1:root"
    )


def channel_reply(bot, oid, text, root="1:root") -> dict:
    activity = bot.team_activity(
        "message",
        user_oid=oid,
        team_id="19:team@thread.tacv2",
        channel_id=SUPPORT,
        conversation_id=f"{SUPPORT};messageid={root}",
        text=text,
    )
    activity["replyToId"] = root
    return activity


def test_an_agent_replying_in_the_channel_thread_comments_publicly_without_the_mention(
    client, bot, microsoft, agent, channel_card
):
    oid = connect_microsoft(agent, microsoft)
    activity = channel_reply(bot, oid, "<at>TinyTeamsTicket</at> I'll be there in 5 &amp; bring toner")

    post_activity(client, bot, activity)

    comment = Comment.objects.get(author=agent)
    assert (comment.body, comment.is_internal) == ("I'll be there in 5 & bring toner", False)


def test_someone_who_may_not_see_the_ticket_cannot_comment_from_the_thread(
    client, bot, microsoft, other_employee, channel_card
):
    oid = connect_microsoft(other_employee, microsoft)

    post_activity(client, bot, channel_reply(bot, oid, "let me in"))

    assert not Comment.objects.exists()


def test_someone_only_affected_by_the_ticket_cannot_comment_from_the_thread(
    client, bot, microsoft, other_employee, channel_card
):
    AffectedPerson.objects.create(ticket=channel_card.ticket, user=other_employee)  # sees it, may not write
    oid = connect_microsoft(other_employee, microsoft)

    response = post_activity(client, bot, channel_reply(bot, oid, "me too"))

    assert response.status_code == 200  # answered, not a refused request the Connector retries
    assert not Comment.objects.exists()


def test_an_unknown_sender_comments_nothing(client, bot, channel_card):
    post_activity(client, bot, channel_reply(bot, "00000000-0000-4000-8000-000000000000", "anonymous"))

    assert not Comment.objects.exists()
