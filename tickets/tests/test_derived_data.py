"""``manage.py check_derived_data``: the data kept by triggers is checked, and rebuilt when it is off."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tickets import services
from tickets.derived import SEARCH_DOCUMENT_TRIGGERS, STATUS_COUNT_TRIGGERS, trigger_names
from tickets.models import Ticket, TicketStatusCount

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL")
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite drops triggers when it rebuilds tables")


def check() -> str:
    """The command's output; raises CommandError when it finds problems."""
    out = StringIO()
    try:
        call_command("check_derived_data", stdout=out)
    except CommandError as error:
        raise CommandError(f"{error}\n{out.getvalue()}") from error
    return out.getvalue()


def rebuild() -> str:
    out = StringIO()
    call_command("check_derived_data", "--rebuild", stdout=out)
    return out.getvalue()


def file_tickets(employee, tree, count: int) -> list[Ticket]:
    return [
        services.ticket_create(
            requester=employee, problem_source=tree["software"], title=f"Crash {n}", description="Excel crashes"
        )
        for n in range(count)
    ]


def test_the_migrated_database_keeps_every_derived_value(employee, tree):
    """Every migration left its triggers in place (SQLite drops them when a migration rebuilds a table)."""
    file_tickets(employee, tree, 3)

    output = check()

    assert "Status counts OK" in output
    assert set(STATUS_COUNT_TRIGGERS) <= trigger_names()
    if connection.vendor == "postgresql":
        assert "Search documents OK" in output
        assert set(SEARCH_DOCUMENT_TRIGGERS) <= trigger_names()


def test_wrong_counts_are_reported_and_rebuilt(employee, tree, agent):
    tickets = file_tickets(employee, tree, 3)
    services.ticket_update(ticket=tickets[0], actor=agent, status=Ticket.Status.CLOSED)
    TicketStatusCount.objects.filter(status=Ticket.Status.NEW).update(count=40)
    TicketStatusCount.objects.filter(status=Ticket.Status.CLOSED).delete()

    with pytest.raises(CommandError, match="status new: 40 kept, 2 tickets") as failed:
        check()
    assert "status closed: 0 kept, 1 tickets" in str(failed.value)

    assert "Rebuilt the status counts." in rebuild()
    assert TicketStatusCount.counts() == {"new": 2, "closed": 1}
    assert "Status counts OK" in check()


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_migration_that_rebuilds_the_ticket_table_on_sqlite_keeps_the_triggers(employee, tree):
    """Migration 0008 adds a NOT NULL column, which SQLite does by rebuilding tickets_ticket: back
    and forth across it, the triggers must still be there and the counts right."""
    before = ("tickets", "0007_ticket_search_document")
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("tickets")
    try:
        executor.migrate([before])
        executor.loader.build_graph()
        old_ticket = executor.loader.project_state(before).apps.get_model("tickets", "Ticket")
        for number in range(2):  # counted by the triggers that 0008's backwards step restored
            old_ticket.objects.create(
                requester_id=employee.pk, problem_source_id=tree["software"].pk, title=f"Old {number}", description="d"
            )
        executor.migrate(latest)
        assert set(STATUS_COUNT_TRIGGERS) <= trigger_names()
        file_tickets(employee, tree, 1)
        assert "Status counts OK" in check()
        assert TicketStatusCount.counts()["new"] == 3
    finally:
        MigrationExecutor(connection).migrate(latest)


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_table_rebuilt_without_its_triggers_is_reported_and_repaired(employee, tree):
    """What a migration that forgets ``restore_sqlite_triggers`` leaves behind."""
    try:
        with connection.schema_editor() as editor:
            editor._remake_table(Ticket)  # what Django does for most column changes on SQLite
        assert not set(STATUS_COUNT_TRIGGERS) & trigger_names()
        file_tickets(employee, tree, 2)  # not counted

        with pytest.raises(CommandError, match="trigger tickets_status_count_insert is missing"):
            check()
    finally:
        rebuild()

    assert "Status counts OK" in check()
    file_tickets(employee, tree, 1)
    assert TicketStatusCount.counts()["new"] == 3


@postgresql_only
def test_a_stale_search_document_is_reported_and_rebuilt(employee, tree):
    tickets = file_tickets(employee, tree, 2)
    with connection.cursor() as cursor:  # the update trigger fires on title or description only
        cursor.execute("UPDATE tickets_ticket SET search_document = NULL WHERE id = %s", [tickets[0].pk])

    with pytest.raises(CommandError, match="1 tickets have a search document that does not match their text"):
        check()

    rebuild()
    assert "Search documents OK" in check()
    assert Ticket.objects.search("excel", user=tickets[0].requester).count() == 2


@postgresql_only
def test_a_dropped_search_trigger_is_reported_and_installed_again(employee, tree, agent):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER tickets_search_document_comment_insert ON tickets_comment")

    with pytest.raises(CommandError, match="trigger tickets_search_document_comment_insert is missing"):
        check()

    rebuild()
    ticket = file_tickets(employee, tree, 1)[0]
    services.ticket_comment(ticket=ticket, author=agent, body="Reinstalled the add-in", is_internal=True)
    assert list(Ticket.objects.search("reinstalled", user=agent)) == [ticket]
