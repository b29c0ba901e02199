"""The IT channel: the bot learns the channels of the teams it is added to, an admin picks one, every
new ticket is posted there as a card (through the outbox), agents act on the card, and the card is
updated in place (PUT on the posted activity) whenever the ticket changes."""

from urllib.parse import unquote

import pytest
from django.urls import reverse

from teams_app import cards, delivery
from teams_app.models import BotCard, BotChannel, Notification
from teams_app.tests.adaptive_card_checks import card_problems
from teams_app.tests.conftest import connect_microsoft, post_activity
from tickets import services
from tickets.models import ProblemSource, Team, Ticket

Status = Notification.Status
TEAM = "19:it-team-general@thread.tacv2"
SUPPORT = "19:it-support@thread.tacv2"


@pytest.fixture
def agent_oid(bot, microsoft, agent):
    return connect_microsoft(agent, microsoft)


def add_bot_to_team(client, bot, oid) -> None:
    assert (
        post_activity(client, bot, bot.bot_added_to_team(user_oid=oid, team_id=TEAM, team_name="IT")).status_code == 200
    )


def channel_event(client, bot, oid, event: str, channel_id: str, name: str = "") -> None:
    activity = bot.team_activity(
        "conversationUpdate",
        user_oid=oid,
        team_id=TEAM,
        team_name="IT",
        channel_id=channel_id,
        channel_name=name or None,
        event_type=event,
    )
    assert post_activity(client, bot, activity).status_code == 200


@pytest.fixture
def it_channel(client, bot, agent_oid):
    """The bot added to the IT team, its channel "Support" created, and chosen as the IT channel."""
    from teams_app import channels

    add_bot_to_team(client, bot, agent_oid)
    channel_event(client, bot, agent_oid, "channelCreated", SUPPORT, "Support")
    channel = BotChannel.objects.get(channel_id=SUPPORT)
    channels.choose_it_channel(channel)
    return channel


def new_ticket(employee, tree, title="Printer jam") -> Ticket:
    return services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title=title, description="x")


def channel_row(ticket, kind=None) -> Notification:
    rows = Notification.objects.filter(ticket=ticket, channel="itchannel").order_by("pk")
    return rows.filter(kind=kind).get() if kind else rows.last()


def in_channel(activity: dict, channel_id: str = SUPPORT, reply_to: str = "") -> dict:
    """Move a (card action) activity into a thread of a team channel."""
    activity["conversation"] = {
        "id": f"{channel_id};messageid={reply_to}" if reply_to else channel_id,
        "conversationType": "channel",
        "isGroup": True,
        "tenantId": activity["conversation"]["tenantId"],
    }
    activity["channelData"] = {
        "tenant": activity["channelData"]["tenant"],
        "team": {"id": TEAM},
        "channel": {"id": channel_id},
    }
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


# --- Learning the channels --------------------------------------------------------------------------


def test_adding_the_bot_to_a_team_records_its_general_channel(client, bot, agent_oid):
    add_bot_to_team(client, bot, agent_oid)

    channel = BotChannel.objects.get()
    assert (channel.channel_id, channel.team_id, channel.team_name) == (TEAM, TEAM, "IT")
    assert channel.display_channel_name == "General"
    assert channel.service_url == bot.service_url
    assert channel.bot_chat_id == f"28:{bot.app_id}"
    assert not channel.is_it_channel


def test_channels_created_renamed_and_deleted_are_followed(client, bot, agent_oid):
    add_bot_to_team(client, bot, agent_oid)
    channel_event(client, bot, agent_oid, "channelCreated", SUPPORT, "Support")
    assert BotChannel.objects.get(channel_id=SUPPORT).channel_name == "Support"

    channel_event(client, bot, agent_oid, "channelRenamed", SUPPORT, "Service desk")
    assert BotChannel.objects.get(channel_id=SUPPORT).channel_name == "Service desk"

    channel_event(client, bot, agent_oid, "channelDeleted", SUPPORT)
    assert not BotChannel.objects.get(channel_id=SUPPORT).is_available
    assert BotChannel.objects.get(channel_id=TEAM).is_available


def test_removing_the_bot_from_the_team_makes_its_channels_unavailable(client, bot, agent_oid, it_channel):
    activity = bot.team_activity(
        "conversationUpdate",
        user_oid=agent_oid,
        team_id=TEAM,
        event_type="teamMemberRemoved",
        membersRemoved=[{"id": f"28:{bot.app_id}"}],
    )
    post_activity(client, bot, activity)

    assert not BotChannel.objects.filter(is_available=True).exists()


def test_a_forged_team_activity_records_nothing(client, bot, agent_oid):
    activity = bot.bot_added_to_team(user_oid=agent_oid, team_id=TEAM)
    response = post_activity(client, bot, activity, token=bot.token(aud="someone-else"))

    assert response.status_code == 401
    assert not BotChannel.objects.exists()


# --- Choosing the IT channel -------------------------------------------------------------------------


def test_an_admin_picks_the_it_channel_on_the_setup_page(client, bot, agent_oid, admin):
    add_bot_to_team(client, bot, agent_oid)
    channel_event(client, bot, agent_oid, "channelCreated", SUPPORT, "Support")
    support = BotChannel.objects.get(channel_id=SUPPORT)
    client.force_login(admin)

    page = client.get(reverse("teams_app:setup"))
    assert "Support" in page.content.decode()

    response = client.post(reverse("teams_app:setup_it_channel"), {"channel": support.pk})
    assert response.status_code == 302
    assert list(BotChannel.objects.filter(is_it_channel=True)) == [support]

    general = BotChannel.objects.get(channel_id=TEAM)
    client.post(reverse("teams_app:setup_it_channel"), {"channel": general.pk})
    assert list(BotChannel.objects.filter(is_it_channel=True)) == [general]  # one IT channel at most


def test_a_channel_the_bot_left_cannot_be_picked_and_nothing_changes(client, bot, agent_oid, admin, it_channel):
    channel_event(client, bot, agent_oid, "channelCreated", "19:gone@thread.tacv2", "Gone")
    channel_event(client, bot, agent_oid, "channelDeleted", "19:gone@thread.tacv2")
    gone = BotChannel.objects.get(channel_id="19:gone@thread.tacv2")
    client.force_login(admin)

    client.post(reverse("teams_app:setup_it_channel"), {"channel": gone.pk})

    assert list(BotChannel.objects.filter(is_it_channel=True)) == [it_channel]


def test_only_staff_may_pick_the_it_channel(client, agent, it_channel):
    client.force_login(agent)  # an agent, not an admin
    response = client.post(reverse("teams_app:setup_it_channel"), {"channel": ""})

    assert response.status_code == 404
    assert BotChannel.objects.get(pk=it_channel.pk).is_it_channel


# --- Posting and updating in place ---------------------------------------------------------------------


def test_a_new_ticket_is_posted_in_the_it_channel_and_its_activity_id_kept(bot, it_channel, employee, tree):
    ticket = new_ticket(employee, tree)
    row = channel_row(ticket, kind="ticketCreated")
    assert row.recipient is None

    assert delivery.deliver(row.pk) == Status.SENT

    [posted] = bot.sent
    assert (posted.method, posted.conversation_id) == ("POST", SUPPORT)
    card = posted.body["attachments"][0]["content"]
    assert card_problems(card) == []
    assert [action["title"] for action in card["actions"]] == ["Take it", "Assign", "Status", "Open in browser"]
    assert "Printer jam" in str(card)
    stored = BotCard.objects.get(ticket=ticket)
    assert stored.channel == it_channel
    assert stored.conversation_id == SUPPORT
    assert stored.activity_id.startswith("1:")


NETWORK = "19:it-network@thread.tacv2"


def test_a_team_with_its_own_channel_gets_its_tickets_cards_there(client, bot, agent_oid, it_channel, employee, tree):
    channel_event(client, bot, agent_oid, "channelCreated", NETWORK, "Network")
    own = BotChannel.objects.get(channel_id=NETWORK)
    team = Team.objects.create(name="Network & Access", channel=own)
    ProblemSource.objects.filter(pk=tree["paper_jam"].pk).update(team=team)

    ticket = new_ticket(employee, tree)
    assert ticket.team == team
    assert delivery.deliver(channel_row(ticket, kind="ticketCreated").pk) == Status.SENT
    [posted] = bot.sent
    assert posted.conversation_id == NETWORK
    assert BotCard.objects.get(ticket=ticket).channel == own

    # The bot left that channel: the team's next ticket goes to the IT channel instead.
    channel_event(client, bot, agent_oid, "channelDeleted", NETWORK, "Network")
    later = new_ticket(employee, tree, title="Second jam")
    assert delivery.deliver(channel_row(later, kind="ticketCreated").pk) == Status.SENT
    assert bot.sent[-1].conversation_id == SUPPORT


def test_a_team_without_a_channel_posts_in_the_it_channel(bot, it_channel, employee, tree):
    team = Team.objects.create(name="Workplace")
    ProblemSource.objects.filter(pk=tree["paper_jam"].pk).update(team=team)
    ticket = new_ticket(employee, tree)
    assert delivery.deliver(channel_row(ticket, kind="ticketCreated").pk) == Status.SENT
    assert bot.sent[-1].conversation_id == SUPPORT


def test_a_change_updates_the_same_card_in_place(bot, it_channel, employee, agent, tree):
    ticket = new_ticket(employee, tree)
    delivery.deliver(channel_row(ticket).pk)
    posted_id = BotCard.objects.get(ticket=ticket).activity_id
    bot.reset()

    services.ticket_take(ticket=ticket, agent=agent)
    update = channel_row(ticket)
    assert update.kind == "ticketChanged"
    assert delivery.deliver(update.pk) == Status.SENT

    [put] = bot.sent
    assert put.method == "PUT"
    assert unquote(put.path).endswith(f"/activities/{posted_id}")
    assert put.body["id"] == posted_id
    card = put.body["attachments"][0]["content"]
    assert card_problems(card) == []
    text = str(card)
    assert "In progress" in text and agent.display_name in text
    assert BotCard.objects.filter(ticket=ticket).count() == 1  # no second card


def test_an_update_that_overtakes_the_first_post_waits_for_it(bot, it_channel, employee, agent, tree):
    ticket = new_ticket(employee, tree)
    services.ticket_take(ticket=ticket, agent=agent)

    assert delivery.deliver(channel_row(ticket, kind="ticketChanged").pk) == Status.FAILED
    assert bot.sent == []  # nothing posted twice; tried again after the first post

    delivery.deliver(channel_row(ticket, kind="ticketCreated").pk)
    update = channel_row(ticket, kind="ticketChanged")
    Notification.objects.filter(pk=update.pk).update(next_attempt_at=update.created_at)
    assert delivery.deliver(update.pk) == Status.SENT
    assert [request.method for request in bot.sent] == ["POST", "PUT"]


def test_a_throttled_update_is_tried_again_after_retry_after(bot, it_channel, employee, agent, tree):
    from devtools.fake_bot_connector import Scripted

    ticket = new_ticket(employee, tree)
    delivery.deliver(channel_row(ticket).pk)
    services.ticket_take(ticket=ticket, agent=agent)
    update = channel_row(ticket)
    bot.script(Scripted(429, retry_after=7))

    assert delivery.deliver(update.pk) == Status.FAILED

    update.refresh_from_db()
    assert update.attempts == 0  # throttling uses up no attempt
    assert 6 <= (update.next_attempt_at - update.claimed_at).total_seconds() <= 8


def test_no_channel_rows_without_a_chosen_channel_or_with_the_bot_off(settings, bot, agent_oid, employee, tree):
    ticket = new_ticket(employee, tree)
    assert not Notification.objects.filter(ticket=ticket, channel="itchannel").exists()

    settings.TEAMS_BOT_ENABLED = False
    BotChannel.objects.create(
        channel_id=SUPPORT, team_id=TEAM, service_url=bot.service_url, tenant_id=bot.tenant_id, is_it_channel=True
    )
    ticket = new_ticket(employee, tree)
    assert not Notification.objects.filter(ticket=ticket, channel="itchannel").exists()


def test_changes_of_a_ticket_never_posted_there_write_no_update(bot, employee, agent, tree, client, agent_oid):
    ticket = new_ticket(employee, tree)  # before any IT channel was chosen
    from teams_app import channels

    add_bot_to_team(client, bot, agent_oid)
    channels.choose_it_channel(BotChannel.objects.get())
    services.ticket_take(ticket=ticket, agent=agent)

    assert not Notification.objects.filter(ticket=ticket, channel="itchannel").exists()


# --- Acting on the channel card ----------------------------------------------------------------------


def press_in_channel(client, bot, oid, verb, ticket, **inputs):
    ticket.refresh_from_db()
    activity = bot.card_action(
        user_oid=oid, verb=verb, data={"ticket": ticket.pk, "v": cards.version_of(ticket), **inputs}
    )
    response = post_activity(client, bot, in_channel(activity, reply_to="1:card"))
    assert response.status_code == 200
    return response.json()


def test_an_agent_takes_the_ticket_from_the_channel_card_and_the_card_is_updated(
    client, bot, it_channel, agent_oid, employee, agent, tree
):
    ticket = new_ticket(employee, tree)
    delivery.deliver(channel_row(ticket).pk)

    body = press_in_channel(client, bot, agent_oid, cards.VERB_TAKE, ticket)

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (agent, Ticket.Status.IN_PROGRESS)
    assert "You are now responsible for this ticket." in str(body["value"])
    titles = [action["title"] for action in body["value"]["actions"]]
    assert titles == ["Take it", "Assign", "Status", "Open in browser"]  # the channel's card, not a personal one
    assert card_problems(body["value"]) == []
    assert channel_row(ticket).kind == "ticketChanged"  # everyone's card follows through the outbox


def test_an_agent_assigns_a_colleague_from_the_channel_card(
    client, bot, it_channel, agent_oid, employee, agent, second_agent, tree
):
    ticket = new_ticket(employee, tree)

    body = press_in_channel(client, bot, agent_oid, cards.VERB_ASSIGN, ticket, assignee=str(second_agent.pk))

    ticket.refresh_from_db()
    assert ticket.assignee == second_agent
    assert second_agent.display_name in str(body["value"])


def test_assigning_to_someone_outside_it_changes_nothing(client, bot, it_channel, agent_oid, employee, tree):
    ticket = new_ticket(employee, tree)

    body = press_in_channel(client, bot, agent_oid, cards.VERB_ASSIGN, ticket, assignee=str(employee.pk))

    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert "Please choose someone from IT." in str(body["value"])


def test_an_employee_in_the_channel_cannot_act_on_the_card(
    client, bot, microsoft, it_channel, employee, other_employee, tree
):
    oid = connect_microsoft(other_employee, microsoft)
    ticket = new_ticket(employee, tree)

    body = press_in_channel(client, bot, oid, cards.VERB_TAKE, ticket)

    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert "does not exist or you may not see it" in str(body["value"])


def test_a_status_change_from_a_stale_channel_card_does_nothing(
    client, bot, it_channel, agent_oid, employee, agent, tree
):
    ticket = new_ticket(employee, tree)
    stale = {"ticket": ticket.pk, "v": cards.version_of(ticket), "status": Ticket.Status.WAITING}
    services.ticket_take(ticket=ticket, agent=agent)

    activity = in_channel(bot.card_action(user_oid=agent_oid, verb=cards.VERB_STATUS, data=stale))
    body = post_activity(client, bot, activity).json()

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_PROGRESS
    assert "changed meanwhile" in str(body["value"])


def test_an_internal_note_updates_the_channel_card_without_showing_it(bot, it_channel, employee, agent, tree):
    ticket = new_ticket(employee, tree)
    delivery.deliver(channel_row(ticket).pk)
    bot.reset()

    services.ticket_comment(ticket=ticket, author=agent, body="secret: toner fraud", is_internal=True)
    delivery.deliver(channel_row(ticket).pk)

    [put] = bot.sent
    assert put.method == "PUT"
    assert "toner fraud" not in str(put.body)
    ticket.refresh_from_db()
    assert cards.version_of(ticket) in str(put.body)  # the buttons carry the new version: no stale refusal


def test_user_text_on_the_channel_card_is_plain_text_never_markdown(bot, it_channel, employee, tree):
    ticket = new_ticket(employee, tree, title="[click](https://evil.example) **now**")
    delivery.deliver(channel_row(ticket).pk)

    card = bot.sent[0].body["attachments"][0]["content"]
    text_blocks = [element["text"] for element in card["body"] if element["type"] == "TextBlock"]
    assert not any("evil.example" in text for text in text_blocks)
    runs = [
        inline["text"]
        for element in card["body"]
        if element["type"] == "RichTextBlock"
        for inline in element["inlines"]
    ]
    assert any("evil.example" in text for text in runs)  # shown, as a TextRun: plain text


def test_the_setup_page_says_when_the_bot_is_in_no_team_yet_or_off(client, settings, bot, admin):
    client.force_login(admin)
    assert "The bot has not been added to any team yet." in client.get(reverse("teams_app:setup")).text

    settings.TEAMS_BOT_ENABLED = False
    page = client.get(reverse("teams_app:setup")).text
    assert "The bot is off (TEAMS_BOT_ENABLED)." in page
    assert reverse("teams_app:setup_it_channel") not in page
