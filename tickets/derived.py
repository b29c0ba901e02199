"""Data the database keeps by triggers, and how to check and rebuild it (``manage.py check_derived_data``).

Two things are derived from the tickets and kept by triggers, because the pages that read them
would otherwise count or parse every ticket per request:

- ``status counts``: tickets per status (``TicketStatusCount``, migration 0006), read by the agents'
  ticket list for its status tabs. PostgreSQL and SQLite.
- ``search documents``: one ``tsvector`` per ticket (``tickets_ticket.search_document``, migration
  0007), read by the agents' search. PostgreSQL only.

A check names every trigger that is missing (SQLite drops a table's triggers when a migration
rebuilds it) and every stored value that disagrees with the data; a rebuild installs the triggers
again and recomputes the values. Both are safe to run at any time: a rebuild locks the tables it
recomputes, so no write slips between the recount and the triggers.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

# The SQL lives with the migrations that installed it; a rebuild installs exactly that again.
_status_counts = importlib.import_module("tickets.migrations.0006_ticket_status_counts")
_search_documents = importlib.import_module("tickets.migrations.0007_ticket_search_document")

STATUS_COUNT_TRIGGERS = ("tickets_status_count_insert", "tickets_status_count_update", "tickets_status_count_delete")
# The migration's uninstall without its last steps: the column and its index stay.
_SEARCH_TRIGGERS_UNINSTALL = "\n".join(
    line for line in _search_documents.UNINSTALL.splitlines() if "INDEX" not in line and "COLUMN" not in line
)
SEARCH_DOCUMENT_TRIGGERS = (
    "tickets_search_document_insert",
    "tickets_search_document_update",
    "tickets_search_document_comment_insert",
    "tickets_search_document_comment_update",
    "tickets_search_document_comment_delete",
)


@dataclass(frozen=True)
class Derived:
    name: str
    vendors: tuple[str, ...]
    check: Callable[[], list[str]]
    rebuild: Callable[[], None]


def trigger_names() -> set[str]:
    """The names of the triggers in this database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()}


def _missing_triggers(expected: tuple[str, ...]) -> list[str]:
    present = trigger_names()
    return [f"trigger {name} is missing" for name in expected if name not in present]


def _status_count_problems() -> list[str]:
    problems = _missing_triggers(STATUS_COUNT_TRIGGERS)
    with connection.cursor() as cursor:
        # Every status that either side knows, with a kept count of 0 equal to no row at all.
        cursor.execute(
            """
            SELECT status, coalesce(sum(kept), 0), coalesce(sum(counted), 0) FROM (
                SELECT status, count AS kept, 0 AS counted FROM tickets_ticketstatuscount
                UNION ALL
                SELECT status, 0, count(*) FROM tickets_ticket GROUP BY status
            ) AS both_sides
            GROUP BY status HAVING coalesce(sum(kept), 0) <> coalesce(sum(counted), 0)
            ORDER BY status
            """
        )
        for status, kept, counted in cursor.fetchall():
            problems.append(f"status {status}: {kept} kept, {counted} tickets")
    return problems


def _execute(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@transaction.atomic
def _status_counts_rebuild() -> None:
    if connection.vendor == "postgresql":
        # No ticket may change status between the recount and the end of this transaction.
        _execute(
            "LOCK TABLE tickets_ticket IN SHARE MODE",
            _status_counts.POSTGRESQL_UNINSTALL,
            _status_counts.POSTGRESQL_INSTALL,
        )
    else:  # SQLite: one writer at a time anyway
        _execute(*_status_counts.SQLITE_INSTALL)
    _execute(
        "DELETE FROM tickets_ticketstatuscount",
        "INSERT INTO tickets_ticketstatuscount (status, count) "
        "SELECT status, count(*) FROM tickets_ticket GROUP BY status",
    )


def _search_document_problems() -> list[str]:
    problems = _missing_triggers(SEARCH_DOCUMENT_TRIGGERS)
    if problems:
        return problems  # without the functions the comparison below cannot run
    with connection.cursor() as cursor:
        # A ticket with more comment text than a rebuild reads may rightly hold more words: skipped.
        cursor.execute(
            """
            SELECT count(*) FROM tickets_ticket AS t
            WHERE t.search_document IS DISTINCT FROM tickets_search_document(t.id, t.title, t.description)
            AND coalesce((SELECT sum(length(c.body)) FROM tickets_comment AS c WHERE c.ticket_id = t.id), 0) <= %s
            """,
            [_search_documents.COMMENT_CHARS],
        )
        stale = cursor.fetchone()[0]
    if stale:
        problems.append(f"{stale} tickets have a search document that does not match their text")
    return problems


@transaction.atomic
def _search_documents_rebuild() -> None:
    # Tickets and comments written meanwhile wait, so the back-fill misses none.
    _execute(
        "LOCK TABLE tickets_ticket IN SHARE MODE",
        "LOCK TABLE tickets_comment IN SHARE MODE",
        _SEARCH_TRIGGERS_UNINSTALL,
        _search_documents.INSTALL,
        _search_documents.BACK_FILL,
    )


DERIVED = (
    Derived("status counts", ("postgresql", "sqlite"), _status_count_problems, _status_counts_rebuild),
    Derived("search documents", ("postgresql",), _search_document_problems, _search_documents_rebuild),
)


def derived_here() -> tuple[Derived, ...]:
    """What this database keeps (SQLite has no search documents)."""
    return tuple(item for item in DERIVED if connection.vendor in item.vendors)
