"""``manage.py quickstart``: migrate, demo accounts, demo tree and demo tickets, then runserver."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Max
from django.utils import timezone

from accounts.roles import it_staff_group
from devtools import demo_content, demo_data
from devtools.management.commands import quickstart
from tickets.models import Comment, ProblemSource, Ticket, TicketEvent
from tickets.problem_sources import pickable_error, tree_errors

User = get_user_model()
Kind = TicketEvent.Kind

BOOTSTRAP_ICONS_CSS = settings.BASE_DIR / "static/vendor/bootstrap-icons-1.13.2/bootstrap-icons.min.css"


def run_quickstart(*args) -> str:
    out = StringIO()
    call_command("quickstart", "--no-serve", "--verbosity", "0", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@pytest.fixture
def quickstarted(db, debug) -> str:
    return run_quickstart()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "nodes": ProblemSource.objects.count(),
        "tickets": Ticket.objects.count(),
        "events": TicketEvent.objects.count(),
        "comments": Comment.objects.count(),
    }


def all_demo_nodes(nodes=demo_content.DEMO_TREE):
    for node in nodes:
        yield node
        yield from all_demo_nodes(node.children)


# --- The DEBUG guard ------------------------------------------------------------------------------


def test_quickstart_refuses_without_debug_and_creates_nothing(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        run_quickstart()

    assert counts() == {"users": 0, "nodes": 0, "tickets": 0, "events": 0, "comments": 0}


# --- Accounts -------------------------------------------------------------------------------------


def test_quickstart_creates_the_demo_accounts_and_prints_the_logins(quickstarted):
    admin = User.objects.get(username="admin")
    agent = User.objects.get(username="agent")
    employee = User.objects.get(username="employee")

    assert admin.is_superuser and admin.is_staff and admin.check_password("admin")
    assert agent.check_password("agent") and not agent.is_superuser
    assert agent.groups.filter(pk=it_staff_group().pk).exists()
    assert agent.is_agent
    assert employee.check_password("employee") and not employee.is_agent
    for line in ("admin / admin", "agent / agent", "employee / employee"):
        assert line in quickstarted


def test_further_demo_agents_and_employees_cannot_sign_in_with_a_password(quickstarted):
    others = User.objects.exclude(username__in=["admin", "agent", "employee"])

    assert others.count() >= 4
    assert not any(user.has_usable_password() for user in others)
    assert sum(user.is_agent for user in others) >= 1
    assert sum(not user.is_agent for user in others) >= 2


# --- The problem-source tree ----------------------------------------------------------------------


def test_quickstart_builds_a_sound_bilingual_tree_three_levels_deep(quickstarted):
    nodes = list(ProblemSource.objects.all())

    assert 35 <= len(nodes) <= 50
    assert tree_errors() == []
    assert ProblemSource.objects.aggregate(depth=Max("level"))["depth"] >= 2
    assert all(node.name_en and node.name_de and node.help_text_en and node.help_text_de for node in nodes)
    assert all(node.icon for node in nodes)
    roots = [node.name_en for node in ProblemSource.objects.root_nodes()]
    assert {"Hardware", "Software", "Accounts & access", "Network", "Phones", "Other / not sure"} <= set(roots)


def test_demo_tree_has_selectable_inner_nodes_and_a_pickable_other(quickstarted):
    selectable_inner = [node for node in ProblemSource.objects.filter(is_selectable=True) if not node.is_leaf_node()]
    other = ProblemSource.objects.get(name_en="Other / not sure", parent=None)

    assert len(selectable_inner) >= 2
    assert all(pickable_error(node) is None for node in selectable_inner)
    assert pickable_error(other) is None
    printer = ProblemSource.objects.get(name_en="Printer")
    paper_jam = printer.get_children().get(name_en="Paper jam")
    assert pickable_error(paper_jam) is None


def test_demo_tree_icons_exist_in_the_vendored_bootstrap_icons():
    css = BOOTSTRAP_ICONS_CSS.read_text()

    missing = [node.icon for node in all_demo_nodes() if f".bi-{node.icon}::before" not in css]

    assert missing == []


# --- Tickets and their history --------------------------------------------------------------------


def test_quickstart_creates_about_thirty_tickets_with_events(quickstarted):
    tickets = Ticket.objects.all()

    assert 25 <= tickets.count() <= 35
    assert not tickets.filter(events__isnull=True).exists()
    assert {ticket.status for ticket in tickets} == set(Ticket.Status.values)
    assert set(TicketEvent.objects.values_list("kind", flat=True)) >= {
        Kind.CREATED,
        Kind.STATUS,
        Kind.ASSIGNMENT,
        Kind.COMMENT,
        Kind.INTERNAL_NOTE,
        Kind.DUE_DATE,
        Kind.PROBLEM_SOURCE,
    }
    assert Comment.objects.filter(is_internal=True).exists()
    assert Comment.objects.filter(is_internal=False).exists()
    assert TicketEvent.objects.filter(kind=Kind.CREATED).count() == tickets.count()
    assert tickets.filter(assignee__isnull=False).count() >= 20


def test_demo_tickets_are_spread_over_the_last_weeks(quickstarted):
    now = timezone.now()
    created = sorted(Ticket.objects.values_list("created_at", flat=True))

    assert now - created[0] > timedelta(days=35)
    assert now - created[-1] < timedelta(days=4)  # "today" falls back to Friday at the weekend
    assert len({timezone.localdate(moment) for moment in created}) >= 15
    assert TicketEvent.objects.filter(created_at__gt=now).count() == 0


def test_demo_ticket_histories_are_chronological(quickstarted):
    for ticket in Ticket.objects.all():
        events = list(ticket.events.order_by("pk"))
        times = [event.created_at for event in events]

        assert events[0].kind == Kind.CREATED
        assert times[0] == ticket.created_at
        assert times == sorted(times), ticket.title
        assert ticket.updated_at == times[-1]
        for event in events:
            if event.comment_id:
                assert event.comment.created_at == event.created_at
        status_events = [event for event in events if event.kind == Kind.STATUS]
        if ticket.status == Ticket.Status.CLOSED:
            assert ticket.closed_at == status_events[-1].created_at
        if ticket.resolved_at:
            assert ticket.created_at < ticket.resolved_at <= times[-1]


def test_demo_due_dates_follow_the_backdated_history(quickstarted):
    # The script sets due dates a week or so after the step; one waiting ticket is left overdue.
    for event in TicketEvent.objects.filter(kind=Kind.DUE_DATE):
        days = (date.fromisoformat(event.new_value) - timezone.localdate(event.created_at)).days
        assert 1 <= days <= 14
    assert Ticket.objects.overdue().exists()


# --- Idempotence ----------------------------------------------------------------------------------


def test_quickstart_twice_creates_nothing_the_second_time(quickstarted):
    first = counts()
    admin = User.objects.get(username="admin")
    admin.set_password("changed-by-the-user")
    admin.save()

    output = run_quickstart()

    assert counts() == first
    assert "existing account, password unchanged" in output
    admin.refresh_from_db()
    assert admin.check_password("changed-by-the-user")
    assert tree_errors() == []


def test_demo_data_leaves_an_existing_tree_alone(debug, tree):
    before = list(ProblemSource.objects.values_list("pk", "parent_id", "lft", "rght"))

    report = demo_data.load_demo_data()

    assert report.nodes_created == 0
    assert list(ProblemSource.objects.values_list("pk", "parent_id", "lft", "rght")) == before
    # Only the demo tickets whose problem source exists in this tree: "Hardware › Printer › Paper jam".
    assert report.tickets_created == Ticket.objects.count() >= 1
    assert set(Ticket.objects.values_list("problem_source", flat=True)) <= {tree["paper_jam"].pk, tree["printer"].pk}


def test_demo_tickets_are_not_loaded_again_after_some_were_deleted(quickstarted):
    Ticket.objects.filter(status=Ticket.Status.CLOSED).delete()
    remaining = Ticket.objects.count()

    assert demo_data.load_demo_data().tickets_created == 0
    assert Ticket.objects.count() == remaining


# --- Serving --------------------------------------------------------------------------------------


def test_quickstart_hands_over_to_runserver_on_the_given_address(db, debug, monkeypatch):
    executed = []
    monkeypatch.setattr(quickstart.os, "execv", lambda path, argv: executed.append(argv[2:]))

    call_command("quickstart", "--addrport", "127.0.0.1:8123", "--verbosity", "0", stdout=StringIO())
    call_command("quickstart", "--no-serve", "--verbosity", "0", stdout=StringIO())

    assert executed == [["runserver", "127.0.0.1:8123"]]
    assert User.objects.filter(username="admin").exists()


def test_demo_data_shows_the_bots_it_channel_and_combined_notification_choices(quickstarted):
    from teams_app.models import BotChannel, NotificationPreference

    assert str(BotChannel.objects.get(is_it_channel=True)) == "IT › Support"
    assert BotChannel.objects.get(channel_id=demo_data.DEMO_TEAM).display_channel_name == "General"
    assert NotificationPreference.objects.get(user__username="agent", kind="ticketCreated").channel == "chat+email"
    demo_data.load_demo_data()
    assert BotChannel.objects.count() == 2  # loaded once


def test_demo_teams_own_the_top_level_nodes_and_route_the_demo_tickets(quickstarted):
    from tickets.models import Team

    teams = {team.name: team for team in Team.objects.prefetch_related("members")}
    assert set(teams) == {"Workplace", "Network & Access", "Applications"}
    assert all(member.is_agent for team in teams.values() for member in team.members.all())
    routed = Ticket.objects.filter(team__isnull=False)
    assert routed.filter(team=teams["Workplace"]).exists()
    assert routed.filter(team=teams["Network & Access"]).exists()
    # Every top-level node of the demo tree has a team.
    assert routed.count() == Ticket.objects.count()
