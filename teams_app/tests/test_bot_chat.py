"""Installing the app stores where to reach the person and posts the welcome card through the
outbox (channel "chat") to the Bot Connector's serviceUrl, with an app token of our tenant; a
throttled post waits for Retry-After like every other notification."""

from datetime import timedelta

from django.utils import timezone

from devtools.fake_bot_connector import Scripted
from teams_app import delivery
from teams_app.models import WELCOME_KIND, BotConversation, Notification
from teams_app.tests.conftest import connect_microsoft, fresh, make_due, post_activity

Status = Notification.Status


def install(client, bot, microsoft, person, **fields):
    oid = connect_microsoft(person, microsoft)
    activity = bot.activity("installationUpdate", user_oid=oid, action="add", **fields)
    assert post_activity(client, bot, activity).status_code == 200
    return oid, activity


def welcome_row() -> Notification:
    return Notification.objects.get(kind=WELCOME_KIND)


def test_install_stores_the_conversation_and_welcomes_through_the_outbox(client, bot, microsoft, employee):
    oid, _activity = install(client, bot, microsoft, employee)

    reference = BotConversation.objects.get(user=employee)
    assert reference.conversation_id == f"a:personal-{oid}"
    assert reference.service_url == bot.service_url
    assert reference.user_chat_id == f"29:{oid}"
    row = welcome_row()
    assert (row.channel, row.recipient, row.ticket, row.status) == ("chat", employee, None, Status.PENDING)
    assert bot.sent == []  # nothing in the request waits for Microsoft

    assert delivery.deliver(row.pk) == Status.SENT
    [posted] = bot.sent
    assert posted.method == "POST"
    assert posted.conversation_id == reference.conversation_id
    card = posted.body["attachments"][0]["content"]
    assert posted.body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    titles = [action["title"] for action in card["actions"]]
    assert titles == ["New ticket", "My open tickets"]
    assert card["actions"][0]["data"]["msteams"] == {"type": "task/fetch"}


def test_the_welcome_card_speaks_the_persons_language(client, bot, microsoft, employee):
    employee.language = "de"
    employee.save()
    install(client, bot, microsoft, employee)
    delivery.deliver(welcome_row().pk)
    card = bot.sent[0].body["attachments"][0]["content"]
    assert [action["title"] for action in card["actions"]] == ["Neues Ticket", "Meine offenen Tickets"]


def test_a_bot_added_to_the_personal_chat_counts_as_install(client, bot, microsoft, employee):
    oid = connect_microsoft(employee, microsoft)
    activity = bot.activity("conversationUpdate", user_oid=oid)
    activity["membersAdded"] = [{"id": activity["recipient"]["id"]}]
    assert post_activity(client, bot, activity).status_code == 200
    assert BotConversation.objects.filter(user=employee).exists()
    assert Notification.objects.filter(kind=WELCOME_KIND).count() == 1


def test_the_same_install_delivered_twice_welcomes_once(client, bot, microsoft, employee):
    _oid, activity = install(client, bot, microsoft, employee)
    assert post_activity(client, bot, activity).status_code == 200
    assert Notification.objects.filter(kind=WELCOME_KIND).count() == 1


def test_every_message_refreshes_the_conversation_reference(client, bot, microsoft, employee):
    oid, _activity = install(client, bot, microsoft, employee)
    BotConversation.objects.filter(user=employee).update(updated_at=timezone.now() - timedelta(days=3))
    message = bot.activity("message", user_oid=oid, text="hello", conversation_id="a:moved-chat")
    assert post_activity(client, bot, message).status_code == 200
    reference = BotConversation.objects.get(user=employee)
    assert reference.conversation_id == "a:moved-chat"
    assert timezone.now() - reference.updated_at < timedelta(minutes=1)


def test_someone_who_never_signed_in_here_is_not_remembered(db, client, bot, microsoft):
    activity = bot.activity("installationUpdate", user_oid="9f1b2c3d-0000-4000-8000-000000000001", action="add")
    assert post_activity(client, bot, activity).status_code == 200
    assert not BotConversation.objects.exists()
    assert not Notification.objects.exists()


def test_a_throttled_post_waits_for_retry_after_and_is_sent_later(client, bot, microsoft, employee):
    install(client, bot, microsoft, employee)
    row = welcome_row()
    bot.script(Scripted(429, retry_after=30))

    before = timezone.now()
    assert delivery.deliver(row.pk) == Status.FAILED
    failed = fresh(row)
    assert failed.attempts == 0  # throttling uses up no attempt
    assert timedelta(seconds=29) < failed.next_attempt_at - before < timedelta(seconds=32)
    assert "429" in failed.last_error

    make_due(row)
    assert delivery.deliver(row.pk) == Status.SENT
    assert len(bot.sent) == 2


def test_a_server_error_is_retried_with_backoff(client, bot, microsoft, employee):
    install(client, bot, microsoft, employee)
    row = welcome_row()
    bot.script(Scripted(503))
    assert delivery.deliver(row.pk) == Status.FAILED
    assert fresh(row).attempts == 1
    make_due(row)
    assert delivery.deliver(row.pk) == Status.SENT


def test_without_a_conversation_the_chat_row_is_dead_not_retried(client, bot, microsoft, employee):
    install(client, bot, microsoft, employee)
    BotConversation.objects.all().delete()
    row = welcome_row()
    assert delivery.deliver(row.pk) == Status.DEAD
    assert bot.sent == []


def test_the_outbox_admin_shows_a_welcome_row_without_a_ticket(client, bot, microsoft, employee, admin):
    install(client, bot, microsoft, employee)
    row = welcome_row()
    client.force_login(admin)
    assert client.get("/admin/teams_app/notification/").status_code == 200
    assert client.get(f"/admin/teams_app/notification/{row.pk}/change/").status_code == 200
    assert str(row) == f"Welcome card in the bot chat → {employee}"
