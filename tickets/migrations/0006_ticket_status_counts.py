"""Ticket counts per status, kept by triggers on tickets_ticket (see ``TicketStatusCount``).

PostgreSQL: statement-level triggers with transition tables, so a bulk insert of thousands of tickets
updates each status row once, and an update that changes no status writes nothing (no lock taken on
the counter rows). SQLite (development): row-level triggers. Both add missing rows by upsert, so
the counts survive a flush that emptied both tables; a decrement never adds a row (a flush may delete
the counts before the tickets, and must not leave negative counts behind).

A migration that rebuilds tickets_ticket on SQLite (Django does so to add a NOT NULL column, for
example) drops its triggers: it must call ``restore_sqlite_triggers`` afterwards, as 0008 does. The
tests of ``TicketStatusCount`` fail on SQLite if one forgets.
"""

from django.db import migrations, models

POSTGRESQL_INSTALL = """
CREATE OR REPLACE FUNCTION tickets_status_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only the transition tables this trigger's event has are referenced in each branch.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tickets_ticketstatuscount AS c (status, count)
            SELECT status, count(*) FROM new_rows GROUP BY status
            ON CONFLICT (status) DO UPDATE SET count = c.count + EXCLUDED.count;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE tickets_ticketstatuscount AS c SET count = c.count - gone.n
            FROM (SELECT status, count(*) AS n FROM old_rows GROUP BY status) AS gone
            WHERE c.status = gone.status;
    ELSE
        -- Lock the rows this change touches in one order (by status) first: two transactions moving
        -- tickets in opposite directions (waiting -> in progress, in progress -> waiting) would
        -- otherwise lock the same two rows in opposite orders and deadlock.
        PERFORM 1 FROM tickets_ticketstatuscount
            WHERE status IN (
                SELECT status FROM (
                    SELECT status, 1 AS delta FROM new_rows
                    UNION ALL
                    SELECT status, -1 AS delta FROM old_rows
                ) AS moved
                GROUP BY status HAVING sum(delta) <> 0
            )
            ORDER BY status FOR UPDATE;
        -- Statuses that lost tickets are decremented, those that gained are upserted: disjoint rows.
        WITH changes AS (
            SELECT status, sum(delta) AS delta FROM (
                SELECT status, 1 AS delta FROM new_rows
                UNION ALL
                SELECT status, -1 AS delta FROM old_rows
            ) AS moved
            GROUP BY status HAVING sum(delta) <> 0
        ), decremented AS (
            UPDATE tickets_ticketstatuscount AS c SET count = c.count + changes.delta
                FROM changes WHERE c.status = changes.status AND changes.delta < 0
        )
        INSERT INTO tickets_ticketstatuscount AS c (status, count)
            SELECT status, delta FROM changes WHERE delta > 0
            ON CONFLICT (status) DO UPDATE SET count = c.count + EXCLUDED.count;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_status_count_insert AFTER INSERT ON tickets_ticket
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_status_count_change();
CREATE TRIGGER tickets_status_count_update AFTER UPDATE ON tickets_ticket
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_status_count_change();
CREATE TRIGGER tickets_status_count_delete AFTER DELETE ON tickets_ticket
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_status_count_change();
"""

POSTGRESQL_UNINSTALL = """
DROP TRIGGER IF EXISTS tickets_status_count_insert ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_status_count_update ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_status_count_delete ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_status_count_change();
"""

SQLITE_INSTALL = [
    """
    CREATE TRIGGER IF NOT EXISTS tickets_status_count_insert AFTER INSERT ON tickets_ticket BEGIN
        INSERT INTO tickets_ticketstatuscount (status, count) VALUES (NEW.status, 1)
            ON CONFLICT (status) DO UPDATE SET count = count + 1;
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS tickets_status_count_update AFTER UPDATE OF status ON tickets_ticket
    WHEN OLD.status <> NEW.status BEGIN
        UPDATE tickets_ticketstatuscount SET count = count - 1 WHERE status = OLD.status;
        INSERT INTO tickets_ticketstatuscount (status, count) VALUES (NEW.status, 1)
            ON CONFLICT (status) DO UPDATE SET count = count + 1;
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS tickets_status_count_delete AFTER DELETE ON tickets_ticket BEGIN
        UPDATE tickets_ticketstatuscount SET count = count - 1 WHERE status = OLD.status;
    END
    """,
]

SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS tickets_status_count_insert",
    "DROP TRIGGER IF EXISTS tickets_status_count_update",
    "DROP TRIGGER IF EXISTS tickets_status_count_delete",
]


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_INSTALL)
    elif vendor == "sqlite":
        for statement in SQLITE_INSTALL:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"Ticket status counts need triggers for {vendor}.")
    # Count what is there now; the triggers keep it from here (the migration runs in one transaction).
    schema_editor.execute(
        "INSERT INTO tickets_ticketstatuscount (status, count) "
        "SELECT status, count(*) FROM tickets_ticket GROUP BY status"
    )


def restore_sqlite_triggers(apps, schema_editor):
    """After SQLite rebuilt tickets_ticket: the triggers again, and the counts anew (nothing was
    counted while the table had none)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in SQLITE_INSTALL:
        schema_editor.execute(statement)
    schema_editor.execute("DELETE FROM tickets_ticketstatuscount")
    schema_editor.execute(
        "INSERT INTO tickets_ticketstatuscount (status, count) "
        "SELECT status, count(*) FROM tickets_ticket GROUP BY status"
    )


def uninstall_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_UNINSTALL)
    else:
        for statement in SQLITE_UNINSTALL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_ticket_first_response_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="TicketStatusCount",
            fields=[
                ("status", models.CharField(max_length=20, primary_key=True, serialize=False, verbose_name="status")),
                ("count", models.BigIntegerField(default=0, verbose_name="tickets")),
            ],
            options={
                "verbose_name": "ticket count by status",
                "verbose_name_plural": "ticket counts by status",
            },
        ),
        migrations.RunPython(install_triggers, uninstall_triggers, elidable=False),
    ]
