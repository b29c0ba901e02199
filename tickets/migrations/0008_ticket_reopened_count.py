import importlib

from django.db import migrations, models
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

# SQLite adds the NOT NULL column by rebuilding tickets_ticket, which drops its triggers.
status_counts = importlib.import_module("tickets.migrations.0006_ticket_status_counts")

# As in tickets.models at the time of writing: a reopen is a status event from one of these ...
FINISHED = ["resolved", "closed"]
# ... to one of these.
OPEN = ["new", "in_progress", "waiting"]


def fill_reopened_count(apps, schema_editor):
    """Count each ticket's status events from resolved or closed to an open status (what
    ``services._set_status`` counts from now on). One UPDATE of the tickets that have such an event;
    every other ticket keeps the default 0. Works on SQLite and PostgreSQL."""
    db = schema_editor.connection.alias
    Ticket = apps.get_model("tickets", "Ticket")
    TicketEvent = apps.get_model("tickets", "TicketEvent")
    reopens = TicketEvent.objects.using(db).filter(
        ticket=OuterRef("pk"), kind="status", old_value__in=FINISHED, new_value__in=OPEN
    )
    count = reopens.order_by().values("ticket").annotate(n=Count("pk")).values("n")
    Ticket.objects.using(db).filter(Exists(reopens)).update(reopened_count=Subquery(count))


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0007_ticket_search_document"),
    ]

    operations = [
        # Backwards, removing the column rebuilds the table on SQLite: restore the triggers then.
        migrations.RunPython(migrations.RunPython.noop, status_counts.restore_sqlite_triggers, elidable=False),
        migrations.AddField(
            model_name="ticket",
            name="reopened_count",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="times reopened"),
        ),
        migrations.RunPython(status_counts.restore_sqlite_triggers, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(fill_reopened_count, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(Coalesce("resolved_at", "closed_at"), name="ticket_finished"),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                fields=["problem_source"],
                include=[
                    "created_at",
                    "resolved_at",
                    "closed_at",
                    "first_response_at",
                    "status",
                    "assignee",
                    "reopened_count",
                    "id",
                ],
                name="ticket_source_analysis",
            ),
        ),
    ]
