"""Per-kind notification preferences as combinations of Teams chat, Teams activity feed and e-mail
(or none), what each resolves to for one person, and the migration that kept the old choices."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from teams_app.models import Notification, NotificationPreference
from teams_app.notifications import channels
from teams_app.tests.conftest import reachable_in_chat
from tickets import services

CREATED = "ticketCreated"


@pytest.mark.parametrize(
    ("ways", "has_teams", "has_email", "in_chat", "expected"),
    [
        ("chat+feed", True, True, True, ["chat", "teams"]),
        ("chat", True, True, True, ["chat"]),
        ("chat", True, True, False, ["teams"]),  # no chat with the app yet: the feed
        ("chat", False, True, False, ["email"]),  # nor a Microsoft account: e-mail
        ("feed+email", True, True, True, ["teams", "email"]),
        ("chat+email", True, True, True, ["chat", "email"]),
        ("chat+feed+email", True, False, True, ["chat", "teams"]),  # e-mail needs an address
        ("email", True, True, True, ["email"]),
        ("none", True, True, True, []),
        ("teams", True, True, True, ["chat", "teams"]),  # the old spelling still reads right
        ("both", True, True, False, ["teams", "email"]),
    ],
)
def test_ways_resolve_to_the_channels_that_reach_the_person(ways, has_teams, has_email, in_chat, expected):
    assert channels(ways, has_teams=has_teams, has_email=has_email, in_chat=in_chat) == expected


def heard_by(person, ticket) -> set[str]:
    return set(Notification.objects.filter(recipient=person, ticket=ticket).values_list("channel", flat=True))


def test_microsoft_accounts_get_chat_and_feed_by_default(bot, microsoft, employee, agent, tree):
    reachable_in_chat(agent, bot, microsoft)
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="t", description="d")
    assert heard_by(agent, ticket) == {"chat", "teams"}


def test_the_chat_alone_means_no_activity_feed(bot, microsoft, employee, agent, tree):
    reachable_in_chat(agent, bot, microsoft)
    NotificationPreference.objects.create(user=agent, kind=CREATED, channel="chat")
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="t", description="d")
    assert heard_by(agent, ticket) == {"chat"}


def test_the_feed_and_email_without_the_chat(bot, microsoft, employee, agent, tree):
    reachable_in_chat(agent, bot, microsoft)
    NotificationPreference.objects.create(user=agent, kind=CREATED, channel="feed+email")
    ticket = services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title="t", description="d")
    assert heard_by(agent, ticket) == {"teams", "email"}


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_old_choice(employee, agent, second_agent):
    """0003 turns Teams into chat + feed and both into chat + feed + e-mail; back again on the way down."""
    before = ("teams_app", "0002_bot")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("teams_app")
    try:
        executor.migrate([before])
        executor.loader.build_graph()
        old = executor.loader.project_state(before).apps.get_model("teams_app", "NotificationPreference")
        old.objects.create(user_id=employee.pk, kind="ticketReply", channel="teams")
        old.objects.create(user_id=employee.pk, kind="ticketStatusChanged", channel="none")
        old.objects.create(user_id=agent.pk, kind=CREATED, channel="both")
        old.objects.create(user_id=second_agent.pk, kind=CREATED, channel="email")

        executor.migrate(latest)
        stored = {(row.user_id, row.kind): row.channel for row in NotificationPreference.objects.all()}
        assert stored == {
            (employee.pk, "ticketReply"): "chat+feed",
            (employee.pk, "ticketStatusChanged"): "none",
            (agent.pk, CREATED): "chat+feed+email",
            (second_agent.pk, CREATED): "email",
        }

        executor.loader.build_graph()
        executor.migrate([before])
        executor.loader.build_graph()
        old = executor.loader.project_state(before).apps.get_model("teams_app", "NotificationPreference")
        assert dict(old.objects.values_list("user_id", "channel").filter(kind=CREATED)) == {
            agent.pk: "both",
            second_agent.pk: "email",
        }
    finally:
        MigrationExecutor(connection).migrate(latest)
