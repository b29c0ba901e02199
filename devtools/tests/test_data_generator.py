"""generate_data: consistent histories, a sound tree, the same data for the same seed, and its refusals."""

from collections import defaultdict
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from devtools import data_generator
from tickets import problem_sources
from tickets.models import Comment, ProblemSource, Ticket, TicketEvent

NOW = datetime(2025, 7, 4, 12, 0, tzinfo=UTC)
SMALL = data_generator.Sizes(users=40, agents=5, nodes=60, depth=5, tickets=1200, comments_per_ticket=3, years=3)


def generate(sizes=SMALL, **options):
    return data_generator.generate(sizes, now=NOW, **options)


def snapshot() -> dict:
    """The generated rows with ids replaced by stable names, so two runs can be compared."""
    users = dict(User.objects.values_list("pk", "username"))
    nodes = {node.pk: (node.tree_id, node.lft, node.name_en) for node in ProblemSource.objects.all()}

    def value(kind, raw):
        if raw.isdigit() and kind == TicketEvent.Kind.ASSIGNMENT:
            return users[int(raw)]
        if raw.isdigit() and kind in (TicketEvent.Kind.CREATED, TicketEvent.Kind.PROBLEM_SOURCE):
            return nodes[int(raw)]
        return raw

    return {
        "users": sorted(User.objects.values_list("username", "first_name", "last_name", "is_active")),
        "nodes": sorted(nodes.values()),
        "tickets": [
            (
                t.title,
                t.description,
                users[t.requester_id],
                users.get(t.assignee_id),
                nodes[t.problem_source_id],
                t.status,
                t.priority,
                t.due_date,
                t.created_at,
                t.updated_at,
                t.resolved_at,
                t.closed_at,
            )
            for t in Ticket.objects.order_by("created_at", "pk")
        ],
        "comments": list(Comment.objects.order_by("pk").values_list("body", "is_internal", "created_at")),
        "events": [
            (e.kind, users.get(e.actor_id), value(e.kind, e.old_value), value(e.kind, e.new_value), e.created_at)
            for e in TicketEvent.objects.order_by("pk")
        ],
    }


def delete_everything():
    TicketEvent.objects.all().delete()
    Comment.objects.all().delete()
    Ticket.objects.all().delete()
    User.objects.all().delete()
    for level in range(10, -1, -1):  # children first: the parent link protects
        ProblemSource.objects.filter(level=level).delete()


@pytest.mark.django_db
def test_generated_histories_tell_each_tickets_story():
    report = generate()

    tickets = Ticket.objects.all()
    comments = Comment.objects.in_bulk()
    events = defaultdict(list)
    for event in TicketEvent.objects.order_by("created_at", "pk"):
        events[event.ticket_id].append(event)
    errors = [
        error for ticket in tickets for error in data_generator.history_errors(ticket, events[ticket.pk], comments)
    ]
    assert errors == []
    assert (report.tickets, report.comments, report.events) == (
        tickets.count(),
        len(comments),
        TicketEvent.objects.count(),
    )
    # Every comment has exactly one event; internal notes come from IT staff only.
    comment_events = TicketEvent.objects.filter(comment__isnull=False)
    assert sorted(comment_events.values_list("comment_id", flat=True)) == sorted(comments)
    agents = set(User.objects.filter(groups__name="IT staff").values_list("pk", flat=True))
    assert {comment.author_id for comment in comments.values() if comment.is_internal} <= agents
    assert not TicketEvent.objects.filter(created_at__gt=NOW).exists()
    assert not Ticket.objects.filter(assignee__isnull=False).exclude(assignee__in=agents).exists()
    # Realistic mixes: mostly closed, some of everything else, about ten events and three comments per ticket.
    statuses = report.status_counts
    assert set(statuses) == set(Ticket.Status.values)
    assert statuses[Ticket.Status.CLOSED] > report.tickets * 0.7
    assert 7 < report.events / report.tickets < 13
    assert 2 < report.comments / report.tickets < 4.5
    assert set(Ticket.objects.values_list("priority", flat=True)) == set(Ticket.Priority.values)
    # One ticket in a thousand has a long conversation: 50 comments and 40 other events.
    long = Ticket.objects.get(
        pk=min(tickets.values_list("pk", flat=True)) + data_generator.LONG_CONVERSATION_EVERY // 2
    )
    kinds = [event.kind for event in events[long.pk]]
    comment_kinds = (TicketEvent.Kind.COMMENT, TicketEvent.Kind.INTERNAL_NOTE)
    assert sum(kind in comment_kinds for kind in kinds) == data_generator.LONG_COMMENTS
    assert sum(kind not in comment_kinds for kind in kinds) == data_generator.LONG_OTHER_EVENTS


@pytest.mark.django_db
def test_generated_tree_is_sound_and_as_deep_as_asked():
    report = generate(data_generator.Sizes(users=10, agents=2, nodes=500, depth=5, tickets=10))

    assert problem_sources.tree_errors() == []
    assert report.nodes == ProblemSource.objects.count() == 500
    assert sorted(set(ProblemSource.objects.values_list("level", flat=True))) == [0, 1, 2, 3, 4]
    # The tree works with mptt's own queries afterwards.
    leaf = ProblemSource.objects.filter(level=4).first()
    assert [node.level for node in leaf.get_ancestors(include_self=True)] == [0, 1, 2, 3, 4]


@pytest.mark.django_db
def test_generated_tree_goes_next_to_an_existing_tree(tree):
    generate(data_generator.Sizes(users=10, agents=2, nodes=50, depth=3, tickets=10))

    assert problem_sources.tree_errors() == []
    assert ProblemSource.objects.count() == 50 + len(tree)


@pytest.mark.django_db
def test_same_seed_gives_the_same_data_and_another_seed_other_data():
    generate()
    first = snapshot()
    delete_everything()
    generate()
    second = snapshot()
    delete_everything()
    generate(seed=7)
    other = snapshot()

    assert first == second
    assert first["tickets"] != other["tickets"]


@pytest.mark.django_db
def test_refuses_a_database_with_real_tickets_unless_forced(ticket):
    with pytest.raises(CommandError, match="real tickets"):
        call_command("generate_data", "--tickets", "20", "--users", "10", "--agents", "2", "--nodes", "10")
    assert Ticket.objects.count() == 1
    assert not User.objects.filter(username__startswith=data_generator.GENERATED_PREFIX).exists()

    call_command(
        "generate_data",
        "--tickets",
        "20",
        "--users",
        "10",
        "--agents",
        "2",
        "--nodes",
        "10",
        "--force",
        stdout=StringIO(),
    )

    assert Ticket.objects.count() == 21
    assert Ticket.objects.filter(pk=ticket.pk, title=ticket.title).exists()


@pytest.mark.django_db
def test_refuses_to_generate_twice():
    generate(data_generator.Sizes(users=10, agents=2, nodes=10, tickets=10))

    with pytest.raises(CommandError, match="already has generated data"):
        call_command("generate_data", "--tickets", "10", "--users", "10", "--agents", "2", "--nodes", "10", "--force")


@pytest.mark.django_db
def test_command_reports_progress_and_totals_and_sets_the_password():
    out = StringIO()

    call_command(
        "generate_data",
        "--tickets",
        "200",
        "--users",
        "30",
        "--agents",
        "3",
        "--nodes",
        "40",
        "--password",
        "bench-pass-1",
        stdout=out,
    )

    text = out.getvalue()
    assert "tickets          [##############################] 100%  200/200" in text
    assert "Generated 30 users (3 IT staff), 40 problem sources, 200 tickets" in text
    agent = User.objects.get(username="gen-00001")
    assert agent.is_agent
    assert agent.check_password("bench-pass-1")
    assert not User.objects.get(username="gen-00030").is_agent
    # New tickets after the generated ones get fresh numbers (the sequence moved past the explicit ids).
    assert Ticket.objects.create(
        requester=agent, problem_source=ProblemSource.objects.first(), title="t", description="d"
    ).pk == max(Ticket.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_generated_accounts_cannot_sign_in_without_a_password():
    generate(data_generator.Sizes(users=10, agents=2, nodes=10, tickets=10))

    assert not User.objects.get(username="gen-00001").has_usable_password()
