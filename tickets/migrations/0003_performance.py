from django.db import migrations, models

# Full-text search indexes, PostgreSQL only. The expressions are exactly what tickets/search.py
# queries (Django's SearchVector with config "simple"); any other expression would not use them.
SEARCH_INDEXES = [
    (
        "ticket_search_document",
        "tickets_ticket",
        "to_tsvector('simple'::regconfig, COALESCE(title, '') || ' ' || COALESCE(description, ''))",
    ),
    ("comment_search_document", "tickets_comment", "to_tsvector('simple'::regconfig, COALESCE(body, ''))"),
]


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, expression in SEARCH_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}))")


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0002_analysis_and_saved_lists'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(fields=['-created_at', '-id'], name='ticket_created_id'),
        ),
        migrations.AddIndex(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', ['new', 'in_progress', 'waiting'])), fields=['assignee', 'due_date'], name='ticket_open_assignee_due'),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
