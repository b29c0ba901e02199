"""One search document per ticket for IT staff, PostgreSQL only (see ``tickets/search.py``).

``tickets_ticket.search_document`` holds the words of the title, the description and every comment,
internal notes included, as a stripped ``tsvector`` under one GIN index: a search word is then one
index condition instead of two id subqueries (ticket index OR comment index) per word. The column
is deliberately not a model field: the ORM never reads or writes it, SQLite has none, and triggers
keep it current on every write path (the workflows, the admin, bulk inserts of the data generator,
cascading deletes):

- tickets, BEFORE INSERT, and BEFORE UPDATE only when the title or the description changed (Django's
  ``save()`` writes every column; a status change must not rebuild the document);
- comments, AFTER INSERT per statement: the new comments' words are appended, once per ticket for a
  bulk insert;
- comments, AFTER UPDATE / DELETE per statement: the affected documents are rebuilt (rare: the app
  never edits comments, the admin and cascading deletes may).

``strip()`` drops word positions: prefix matching does not need them, and without them a ticket with
a long history stays far below PostgreSQL's 1 MB limit for a ``tsvector``. Far, not always: a ticket
whose comments hold hundreds of thousands of distinct tokens (pasted logs, GUIDs) would reach it, and
then every further comment would fail. So a rebuilt document reads at most COMMENT_CHARS characters of
the comments (the first ones), and an append that would pass the limit rebuilds instead: such a
ticket's later words are not in the document, and no comment is ever refused for it. The per-field indexes of
migration 0003 stay: employees must not match internal notes, so their searches do not use this column,
and neither do the rare terms a stripped document cannot match (``tickets.search.is_one_lexeme``).
"""

from django.db import migrations

COMMENT_CHARS = 200_000
"""Characters of a ticket's comments a rebuilt document reads: even distinct short tokens in 4-byte
characters stay under the 1 MB limit of a tsvector."""

INSTALL = """
-- A ticket's whole document, for the tickets trigger and the rebuilds after comment changes. The
-- comments part is looked up on INSERT too: with deferred foreign keys (loaddata) a ticket's comments
-- may be inserted before the ticket.
CREATE FUNCTION tickets_search_document(p_ticket bigint, p_title text, p_description text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT strip(to_tsvector('simple'::regconfig, coalesce(p_title, '') || ' ' || coalesce(p_description, '')))
        || coalesce(
            (SELECT strip(to_tsvector('simple'::regconfig, left(string_agg(c.body, ' ' ORDER BY c.id), %(chars)s)))
             FROM tickets_comment AS c WHERE c.ticket_id = p_ticket),
            ''::tsvector)
$$;

CREATE FUNCTION tickets_ticket_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_document := tickets_search_document(NEW.id, NEW.title, NEW.description);
    RETURN NEW;
END
$$;

CREATE TRIGGER tickets_search_document_insert BEFORE INSERT ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search_document();
CREATE TRIGGER tickets_search_document_update BEFORE UPDATE ON tickets_ticket
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION tickets_ticket_search_document();

CREATE FUNCTION tickets_comment_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only the transition tables this trigger's event has are referenced in each branch.
    IF TG_OP = 'INSERT' THEN
        -- New words only: the union of lexemes, so appending equals rebuilding, for a fraction of the cost.
        BEGIN
            UPDATE tickets_ticket AS t
                SET search_document = coalesce(t.search_document, ''::tsvector) || added.document
                FROM (
                    SELECT ticket_id, strip(to_tsvector('simple'::regconfig, string_agg(body, ' '))) AS document
                    FROM new_rows GROUP BY ticket_id
                ) AS added
                WHERE t.id = added.ticket_id;
        EXCEPTION WHEN program_limit_exceeded THEN
            -- Past the 1 MB limit of a tsvector: rebuild from the first COMMENT_CHARS characters.
            UPDATE tickets_ticket AS t
                SET search_document = tickets_search_document(t.id, t.title, t.description)
                WHERE t.id IN (SELECT ticket_id FROM new_rows);
        END;
    ELSIF TG_OP = 'DELETE' THEN
        -- Removing a comment's words could remove a word another comment still has: rebuild.
        UPDATE tickets_ticket AS t
            SET search_document = tickets_search_document(t.id, t.title, t.description)
            WHERE t.id IN (SELECT ticket_id FROM old_rows);
    ELSE
        UPDATE tickets_ticket AS t
            SET search_document = tickets_search_document(t.id, t.title, t.description)
            WHERE t.id IN (
                SELECT ticket FROM new_rows AS n JOIN old_rows AS o USING (id),
                    LATERAL (VALUES (n.ticket_id), (o.ticket_id)) AS affected (ticket)
                WHERE n.body IS DISTINCT FROM o.body OR n.ticket_id <> o.ticket_id
            );
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_search_document_comment_insert AFTER INSERT ON tickets_comment
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_document();
CREATE TRIGGER tickets_search_document_comment_update AFTER UPDATE ON tickets_comment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_document();
CREATE TRIGGER tickets_search_document_comment_delete AFTER DELETE ON tickets_comment
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_comment_search_document();
"""

# The documents of the tickets there are now: one pass over each table instead of a lookup per ticket.
# The BEFORE UPDATE trigger does not fire: this changes neither title nor description.
BACK_FILL = """
UPDATE tickets_ticket AS t
    SET search_document =
        strip(to_tsvector('simple'::regconfig, coalesce(t.title, '') || ' ' || coalesce(t.description, '')))
        || coalesce(c.document, ''::tsvector)
    FROM tickets_ticket AS t2
    LEFT JOIN (
        SELECT ticket_id,
            strip(to_tsvector('simple'::regconfig, left(string_agg(body, ' ' ORDER BY id), %(chars)s))) AS document
        FROM tickets_comment GROUP BY ticket_id
    ) AS c ON c.ticket_id = t2.id
    WHERE t.id = t2.id
"""

UNINSTALL = """
DROP TRIGGER IF EXISTS tickets_search_document_insert ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_search_document_update ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_search_document_comment_insert ON tickets_comment;
DROP TRIGGER IF EXISTS tickets_search_document_comment_update ON tickets_comment;
DROP TRIGGER IF EXISTS tickets_search_document_comment_delete ON tickets_comment;
DROP FUNCTION IF EXISTS tickets_comment_search_document();
DROP FUNCTION IF EXISTS tickets_ticket_search_document();
DROP FUNCTION IF EXISTS tickets_search_document(bigint, text, text);
DROP INDEX IF EXISTS ticket_agent_search;
ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_document;
"""


INSTALL = INSTALL.replace("%(chars)s", str(COMMENT_CHARS))
BACK_FILL = BACK_FILL.replace("%(chars)s", str(COMMENT_CHARS))


def back_fill(schema_editor) -> None:
    """Fill every ticket's document from what is stored now (the tests call this, too)."""
    schema_editor.execute(BACK_FILL)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (development) searches by substring and needs no document
    schema_editor.execute("ALTER TABLE tickets_ticket ADD COLUMN search_document tsvector")
    # Comments written while this runs must not be missed: one inserted before the trigger existed but
    # committed after the back-fill read the table would be in no document. SHARE waits for running
    # comment writers and holds off new ones until the migration commits. Taken after the ticket
    # table's lock (ALTER TABLE above), in the order the workflows lock: the ticket, then its comments.
    schema_editor.execute("LOCK TABLE tickets_comment IN SHARE MODE")
    schema_editor.execute(INSTALL)
    back_fill(schema_editor)
    # After the back-fill: building the index once is much cheaper than updating it per row.
    schema_editor.execute("CREATE INDEX ticket_agent_search ON tickets_ticket USING gin (search_document)")
    # The planner's estimates for "@@" come from the column's statistics; without them it guesses.
    schema_editor.execute("ANALYZE tickets_ticket")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_ticket_status_counts"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
