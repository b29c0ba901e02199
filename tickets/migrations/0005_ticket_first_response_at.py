from django.conf import settings
from django.db import migrations, models
from django.db.models import Min, OuterRef, Q, Subquery

BATCH_SIZE = 5000
"""Tickets per UPDATE: short statements on a large table, and no list of ids that outgrows SQLite's
parameter limit."""


def fill_first_response_at(apps, schema_editor):
    """Set ``first_response_at`` of every ticket as tickets/analysis.py defined it until now: the
    earliest public comment by a member of the IT staff group or a superuser (as they are now) who
    is not the ticket's requester. Batched by primary-key range; works on SQLite and PostgreSQL."""
    db = schema_editor.connection.alias
    Ticket = apps.get_model("tickets", "Ticket")
    Comment = apps.get_model("tickets", "Comment")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    agent_ids = list(
        User.objects.using(db)
        .filter(Q(is_superuser=True) | Q(groups__name=settings.IT_STAFF_GROUP))
        .values_list("pk", flat=True)
        .distinct()
    )
    if not agent_ids:
        return
    first = (
        Comment.objects.using(db)
        .filter(ticket=OuterRef("pk"), is_internal=False, author__in=agent_ids)
        .exclude(author=OuterRef("requester"))
        .order_by()
        .values("ticket")
        .annotate(first=Min("created_at"))
        .values("first")
    )
    tickets = Ticket.objects.using(db)
    last = tickets.aggregate(last=models.Max("pk"))["last"] or 0
    for start in range(0, last + 1, BATCH_SIZE):
        tickets.filter(pk__gte=start, pk__lt=start + BATCH_SIZE).update(first_response_at=Subquery(first))


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0004_scheduled_jobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="first_response_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="first response"),
        ),
        migrations.RunPython(fill_first_response_at, migrations.RunPython.noop, elidable=True),
    ]
