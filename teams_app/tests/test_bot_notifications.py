"""Ticket notifications reach people in their chat with the app as ticket cards, beside the activity
feed, once the bot knows that chat; the card shows what the recipient may see and do."""

from datetime import timedelta

from django.utils import timezone

from teams_app import delivery
from teams_app.models import BotActivityReceipt, Notification
from teams_app.tests.adaptive_card_checks import card_problems
from teams_app.tests.conftest import connect_microsoft, reachable_in_chat
from tickets import jobs, services

Status = Notification.Status


def test_a_new_ticket_reaches_an_agent_in_the_chat_as_a_card_with_take_it(bot, microsoft, employee, agent, tree):
    oid = reachable_in_chat(agent, bot, microsoft)
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="Jam", description="x")

    channels = set(Notification.objects.filter(ticket=ticket, recipient=agent).values_list("channel", flat=True))
    assert channels == {"teams", "chat"}  # the activity feed and the chat
    row = Notification.objects.get(ticket=ticket, recipient=agent, channel="chat")
    assert delivery.deliver(row.pk) == Status.SENT

    [posted] = bot.sent
    card = posted.body["attachments"][0]["content"]
    assert card_problems(card) == []
    assert card["refresh"]["userIds"] == [f"29:{oid}"]
    assert "Take it" in [action["title"] for action in card["actions"]]


def test_a_reply_reaches_the_requester_as_a_card_with_the_reply_and_never_an_internal_note(
    bot, microsoft, employee, agent, tree
):
    reachable_in_chat(employee, bot, microsoft)
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="Jam", description="x")
    services.ticket_comment(ticket=ticket, author=agent, body="Please restart it")
    services.ticket_comment(ticket=ticket, author=agent, body="secret: toner fraud", is_internal=True)

    rows = Notification.objects.filter(recipient=employee, channel="chat")
    assert rows.count() == 1  # the public reply only
    delivery.deliver(rows.get().pk)
    text = str(bot.sent[0].body)
    assert "Please restart it" in text
    assert "toner fraud" not in text
    assert "It's solved" in text


def test_without_a_known_chat_there_is_no_chat_row(bot, microsoft, employee, agent, tree):
    connect_microsoft(agent, microsoft)  # a Microsoft account, but the app's chat is unknown
    services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="A", description="x")
    assert Notification.objects.filter(recipient=agent, channel="teams").exists()
    assert not Notification.objects.filter(channel="chat").exists()


def test_with_the_bot_off_there_is_no_chat_row(bot, microsoft, settings, employee, agent, tree):
    reachable_in_chat(agent, bot, microsoft)
    settings.TEAMS_BOT_ENABLED = False
    services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="A", description="x")
    assert Notification.objects.filter(recipient=agent, channel="teams").exists()
    assert not Notification.objects.filter(channel="chat").exists()


def test_old_activity_receipts_are_pruned(db, settings):
    settings.PRUNE_AFTER_DAYS = 30
    old = BotActivityReceipt.objects.create(activity_id="old", created_at=timezone.now() - timedelta(days=31))
    new = BotActivityReceipt.objects.create(activity_id="new")
    jobs.prune()
    assert list(BotActivityReceipt.objects.values_list("pk", flat=True)) == [new.pk]
    assert old.pk != new.pk
