"""Ticket search: every word must match somewhere, prefixes work, internal notes stay internal (C5, C9).

Runs on SQLite by default and on PostgreSQL (full-text search) when DATABASE_URL points there.
"""

import importlib

import pytest
from django.db import connection

from tickets import services
from tickets.models import Comment, Ticket
from tickets.search import MAX_TERMS, is_one_lexeme, search_fields, search_terms, search_tickets


@pytest.fixture
def corpus(employee, other_employee, agent, tree):
    create = services.ticket_create
    printer = create(
        requester=employee,
        problem_source=tree["paper_jam"],
        title="Printer on floor 2 jams",
        description="Every second page gets stuck in tray three.",
    )
    laptop = create(
        requester=employee,
        problem_source=tree["battery"],
        title="Laptop battery drains",
        description="Akku hält nur noch eine Stunde.",
    )
    excel = create(
        requester=other_employee,
        problem_source=tree["software"],
        title="Excel crashes",
        description="When I open the budget sheet.",
    )
    services.ticket_comment(ticket=printer, author=employee, body="The toner light is blinking orange.")
    services.ticket_comment(
        ticket=laptop, author=agent, body="Ordered replacement from vendor Zephyrcorp", is_internal=True
    )
    services.ticket_comment(ticket=excel, author=other_employee, body="Also happens with the forecast workbook.")
    return {"printer": printer, "laptop": laptop, "excel": excel}


def found(text: str, user, queryset=None) -> set[str]:
    tickets = (queryset if queryset is not None else Ticket.objects.all()).search(text, user=user)
    return {ticket.title for ticket in tickets}


PRINTER, LAPTOP, EXCEL = "Printer on floor 2 jams", "Laptop battery drains", "Excel crashes"


# --- What is found ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("printer", {PRINTER}),
        ("PRINTER", {PRINTER}),
        ("Excel", {EXCEL}),
        ("battery", {LAPTOP}),
    ],
)
def test_finds_by_title_word_case_insensitively(corpus, agent, text, expected):
    assert found(text, agent) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stuck", {PRINTER}),
        ("budget", {EXCEL}),
        ("Stunde", {LAPTOP}),
        ("hält", {LAPTOP}),
    ],
)
def test_finds_by_description_word(corpus, agent, text, expected):
    assert found(text, agent) == expected


@pytest.mark.parametrize(("text", "expected"), [("toner", {PRINTER}), ("forecast", {EXCEL}), ("BLINKING", {PRINTER})])
def test_finds_by_public_comment_word(corpus, employee, other_employee, agent, text, expected):
    assert found(text, agent) == expected
    # The requester sees words of public replies on their own ticket, too.
    requester = employee if expected == {PRINTER} else other_employee
    assert found(text, requester, Ticket.objects.visible_to(requester)) == expected


def test_prefix_finds_longer_words(corpus, agent):
    assert found("print", agent) == {PRINTER}
    assert found("bud", agent) == {EXCEL}
    assert found("batt drain", agent) == {LAPTOP}


def test_every_word_must_match_within_title_and_description(corpus, agent):
    assert found("printer stuck", agent) == {PRINTER}
    assert found("printer budget", agent) == set()
    assert found("excel crashes sheet", agent) == {EXCEL}


def test_every_word_must_match_but_words_may_come_from_different_fields(corpus, agent):
    # title + public comment, description + comment, all three
    assert found("printer toner", agent) == {PRINTER}
    assert found("budget forecast", agent) == {EXCEL}
    assert found("floor tray blinking", agent) == {PRINTER}
    assert found("excel toner", agent) == set()


def test_word_order_and_punctuation_between_words_do_not_matter(corpus, agent):
    assert found("jams, printer!", agent) == {PRINTER}
    assert found("crashes - Excel", agent) == {EXCEL}


def test_empty_or_word_less_input_leaves_the_queryset_unchanged(corpus, agent):
    everything = {PRINTER, LAPTOP, EXCEL}
    assert found("", agent) == everything
    assert found("   ", agent) == everything
    assert found("!!! ??? ---", agent) == everything


def test_search_narrows_a_queryset_it_is_given(corpus, employee, agent):
    mine = Ticket.objects.visible_to(employee)
    assert found("excel", employee, mine) == set()
    assert found("printer", employee, mine) == {PRINTER}
    assert found("excel", agent, Ticket.objects.open()) == {EXCEL}


def test_a_ticket_matching_in_several_comments_is_listed_once(corpus, employee, agent):
    printer = corpus["printer"]
    services.ticket_comment(ticket=printer, author=employee, body="toner again")
    services.ticket_comment(ticket=printer, author=agent, body="new toner ordered", is_internal=True)

    results = list(Ticket.objects.search("toner", user=agent))
    assert [ticket.pk for ticket in results] == [printer.pk]


# --- Internal notes are searchable by agents only (C5) ------------------------------------------


def test_internal_note_words_are_found_for_agents(corpus, agent, admin):
    assert found("Zephyrcorp", agent) == {LAPTOP}
    assert found("zephyr", agent) == {LAPTOP}
    assert found("laptop zephyrcorp", agent) == {LAPTOP}
    assert found("Zephyrcorp", admin) == {LAPTOP}


def test_internal_note_words_are_not_found_for_employees(corpus, employee):
    # The laptop ticket is the employee's own, and still the internal note must not leak.
    assert found("Zephyrcorp", employee) == set()
    assert found("zephyr", employee, Ticket.objects.visible_to(employee)) == set()
    assert found("laptop zephyrcorp", employee) == set()
    assert found("replacement vendor", employee) == set()
    # ... while the ticket itself is still found by its own words.
    assert found("laptop", employee, Ticket.objects.visible_to(employee)) == {LAPTOP}


def test_internal_notes_do_not_leak_through_a_matching_public_comment(corpus, employee, agent):
    laptop = corpus["laptop"]
    services.ticket_comment(ticket=laptop, author=employee, body="Is there news from the vendor?")

    assert found("vendor", employee) == {LAPTOP}
    assert found("vendor zephyrcorp", employee) == set()
    assert found("vendor zephyrcorp", agent) == {LAPTOP}


# --- Hostile input never raises (C9) ------------------------------------------------------------


HOSTILE = [
    "'",
    '"',
    "''; DROP TABLE tickets_ticket; --",
    "' OR '1'='1",
    "%",
    "100%",
    "_",
    "print_er",
    "\\",
    "C:\\Users\\erika\\",
    "printer & !toner",
    "a | b",
    "!",
    "()",
    "(printer",
    "printer:*",
    ":*",
    "*",
    "<->",
    "printer <-> toner",
    "a & | ! ( ) : * <",
    "&|!():*",
    "\x00",
    "print\x00er",
    "😀 printer 😀",
    "Ä Ö Ü ß",
    "½ ² ٣ ⅷ",
    "\u200b",
    "e\u0301",
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("persona", ["employee", "agent"])
def test_hostile_input_never_raises(request, corpus, text, persona):
    user = request.getfixturevalue(persona)
    results = list(Ticket.objects.visible_to(user).search(text, user=user))
    assert all(isinstance(ticket, Ticket) for ticket in results)


@pytest.mark.parametrize(
    "text",
    [
        "printer " * 5000,
        "x" * 10000,
        "a" * 3000 + " printer",
        " ".join(f"w{index}" for index in range(2000)),
        "&" * 10000,
        "(" * 5000 + "printer" + ")" * 5000,
    ],
)
def test_very_long_input_never_raises(corpus, agent, text):
    list(Ticket.objects.search(text, user=agent))


def test_operators_in_the_input_are_treated_as_word_separators(corpus, agent):
    assert found("printer & !toner", agent) == {PRINTER}
    assert found("(printer) | (excel)", agent) == set()
    assert found("print:* jams", agent) == {PRINTER}


def test_quotes_and_wildcards_are_not_wildcards(corpus, agent):
    assert found("%", agent) == {PRINTER, LAPTOP, EXCEL}  # no words at all: nothing narrowed
    assert found("% printer", agent) == {PRINTER}
    assert found("'printer'", agent) == {PRINTER}
    assert found('"excel"', agent) == {EXCEL}


def test_search_terms_are_word_characters_only_and_capped():
    assert search_terms("printer & !toner:* 'x'") == ["printer", "toner", "x"]
    assert search_terms("Drucker hält") == ["Drucker", "hält"]
    words = [f"w{index}" for index in range(MAX_TERMS + 5)]
    assert search_terms(" ".join(words)) == words[:MAX_TERMS]


def test_each_database_uses_its_own_matching(corpus, employee, agent):
    for_agent = str(Ticket.objects.search("printer toner", user=agent).query).lower()
    for_employee = str(Ticket.objects.search("printer toner", user=employee).query).lower()
    if connection.vendor == "postgresql":
        # IT staff: the search document of migration 0007; employees: the per-field indexes of 0003.
        assert "search_document" in for_agent
        assert "to_tsvector" not in for_agent
        assert "to_tsvector" in for_employee
        assert "search_document" not in for_employee
        assert "like" not in for_agent + for_employee
    else:
        for sql in (for_agent, for_employee):
            assert "like" in sql
            assert "to_tsvector" not in sql
            assert "search_document" not in sql


# --- The search document of IT staff (PostgreSQL, migration 0007) -------------------------------


@pytest.mark.django_db
def test_the_search_document_column_exists_on_postgresql_only():
    with connection.cursor() as cursor:
        columns = {column.name for column in connection.introspection.get_table_description(cursor, "tickets_ticket")}
    assert ("search_document" in columns) == (connection.vendor == "postgresql")
    assert "search_document" not in {field.column for field in Ticket._meta.get_fields() if field.concrete}


def pg(test):
    """Marked ``postgresql`` and skipped elsewhere: the search document exists on PostgreSQL only."""
    needs_postgresql = pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL"
    )
    return pytest.mark.postgresql(needs_postgresql(test))


migration = importlib.import_module("tickets.migrations.0007_ticket_search_document")


def document(ticket) -> set[str] | None:
    """The words stored in the ticket's search document."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(search_document) FROM tickets_ticket WHERE id = %s", [ticket.pk])
        (words,) = cursor.fetchone()
    return set(words) if words is not None else None


def words(text: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector('simple', %s))", [text])
        return set(cursor.fetchone()[0])


def expected_document(ticket) -> set[str]:
    """What the triggers should have stored, computed independently: field by field, comment by comment."""
    ticket.refresh_from_db()
    expected = words(f"{ticket.title} {ticket.description}")
    for body in Comment.objects.filter(ticket=ticket).values_list("body", flat=True):
        expected |= words(body)
    return expected


def set_document(ticket, value: str) -> None:
    # A raw UPDATE of the document alone: the tickets trigger fires only for title or description.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET search_document = %s::tsvector WHERE id = %s", [value, ticket.pk])


@pg
def test_a_new_ticket_gets_its_title_and_description_words(corpus):
    assert document(corpus["excel"]) == expected_document(corpus["excel"])
    assert {"excel", "crashes", "budget", "sheet"} <= document(corpus["excel"])


@pg
def test_the_document_follows_title_and_description_changes(corpus):
    printer = corpus["printer"]
    printer.title = "Plotter smears"
    printer.save()
    assert {"plotter", "smears", "toner", "tray"} <= document(printer)
    assert "printer" not in document(printer)

    Ticket.objects.filter(pk=printer.pk).update(description="Lines across every drawing.")
    assert {"plotter", "drawing", "toner"} <= document(printer)
    assert "tray" not in document(printer)
    assert document(printer) == expected_document(printer)


@pg
def test_a_save_that_keeps_title_and_description_does_not_rebuild_the_document(corpus, agent):
    # Django's save() writes every column; the trigger's WHEN clause must skip this row.
    printer = corpus["printer"]
    set_document(printer, "sentinel")
    printer.status = Ticket.Status.IN_PROGRESS
    printer.assignee = agent
    printer.save()
    services.ticket_update(ticket=printer, actor=agent, priority=Ticket.Priority.HIGH)
    assert document(printer) == {"sentinel"}

    printer.title = "Printer on floor 3 jams"
    printer.save(update_fields=["title"])
    assert document(printer) == expected_document(printer)


@pg
def test_a_new_comment_adds_its_words(corpus, employee):
    printer = corpus["printer"]
    services.ticket_comment(ticket=printer, author=employee, body="Now the fuser makes noise")
    assert {"fuser", "noise", "toner", "printer"} <= document(printer)
    assert document(printer) == expected_document(printer)


@pg
def test_a_bulk_insert_of_comments_adds_each_tickets_words_once(corpus, employee, agent):
    printer, excel = corpus["printer"], corpus["excel"]
    Comment.objects.bulk_create(
        [
            Comment(ticket=printer, author=employee, body="drum unit"),
            Comment(ticket=excel, author=agent, body="macro disabled", is_internal=True),
            Comment(ticket=printer, author=agent, body="drum replaced, duplex works"),
        ]
    )
    assert {"drum", "unit", "replaced", "duplex"} <= document(printer)
    assert "macro" not in document(printer)
    assert {"macro", "disabled", "forecast"} <= document(excel)
    for ticket in corpus.values():
        assert document(ticket) == expected_document(ticket)


@pg
def test_deleting_a_comment_removes_only_words_no_one_else_has(corpus, employee):
    printer = corpus["printer"]
    services.ticket_comment(ticket=printer, author=employee, body="toner cartridge empty")
    Comment.objects.filter(ticket=printer, body__startswith="The toner light").delete()
    assert {"toner", "cartridge"} <= document(printer)  # still in the other comment
    assert "blinking" not in document(printer)
    assert document(printer) == expected_document(printer)
    assert found("blinking", employee) == set()


@pg
def test_editing_or_moving_a_comment_rebuilds_both_documents(corpus, agent):
    printer, excel = corpus["printer"], corpus["excel"]
    Comment.objects.filter(ticket=printer).update(body="The toner light is solid green.")
    assert "green" in document(printer)
    assert "blinking" not in document(printer)

    Comment.objects.filter(ticket=printer).update(ticket=excel)
    assert "green" not in document(printer)
    assert "green" in document(excel)
    for ticket in corpus.values():
        assert document(ticket) == expected_document(ticket)
    assert found("excel green", agent) == {EXCEL}


@pg
def test_comments_stored_before_their_ticket_are_in_its_document(employee, tree):
    # Foreign keys are checked at commit, so loaddata may write a ticket's comments first.
    ticket_id = 987654
    Comment.objects.create(ticket_id=ticket_id, author=employee, body="written first")
    ticket = Ticket.objects.create(
        pk=ticket_id, requester=employee, problem_source=tree["paper_jam"], title="Late", description="ticket"
    )
    assert document(ticket) == {"late", "ticket", "written", "first"}


@pg
def test_internal_notes_are_in_the_document_but_found_only_by_it_staff(corpus, employee, agent):
    laptop = corpus["laptop"]  # the employee's own ticket, with an internal note
    assert "zephyrcorp" in document(laptop)
    mine = Ticket.objects.visible_to(employee)
    assert found("zephyrcorp", agent) == {LAPTOP}
    assert found("zephyrcorp", employee, mine) == set()
    assert found("laptop zephyr", employee, mine) == set()
    assert found("laptop akku", employee, mine) == {LAPTOP}


SAME_AS_PER_FIELD = [
    "printer",
    "print",
    "p",
    "printer toner",
    "floor tray blinking",
    "batt drain vendor",
    "zephyr laptop",
    "excel toner",
    "budget forecast workbook",
    "2",
    "hält stunde",
    "crash excel crash",
    "nothing matches this",
    # Terms PostgreSQL's parser splits or drops: matched field by field (see is_one_lexeme).
    "srv_files01",
    "srv_files01 printer",
    "srv_fil",
    "files01",
    "print_er",
    "½ printer",
    "a½b",
    "a" * 3000 + " printer",
    "x" * 2047,
]


@pg
@pytest.mark.parametrize("text", SAME_AS_PER_FIELD)
def test_the_document_finds_what_the_per_field_search_finds(corpus, employee, agent, text):
    services.ticket_comment(ticket=corpus["excel"], author=agent, body="Printer driver reinstalled", is_internal=True)
    services.ticket_comment(ticket=corpus["printer"], author=employee, body="Still jams on floor 2")
    services.ticket_comment(ticket=corpus["laptop"], author=agent, body="Backup on srv_files01", is_internal=True)
    by_document = search_tickets(Ticket.objects.all(), text, include_internal=True)
    by_field = search_fields(Ticket.objects.all(), search_terms(text), include_internal=True)
    assert set(by_document) == set(by_field)


@pg
def test_a_term_with_an_underscore_is_found_in_an_internal_note(corpus, agent):
    services.ticket_comment(ticket=corpus["laptop"], author=agent, body="Backup on srv_files01", is_internal=True)
    assert found("srv_files01", agent) == {LAPTOP}
    assert found("laptop srv_files01", agent) == {LAPTOP}
    assert found("srv_fi", agent) == {LAPTOP}
    assert found("files01_srv", agent) == set()  # a phrase: the order counts, as before


def test_only_plain_words_are_single_lexemes():
    assert is_one_lexeme("printer")
    assert is_one_lexeme("Drucker3OG")
    assert is_one_lexeme("hält")
    assert is_one_lexeme("2")
    assert not is_one_lexeme("srv_files01")
    assert not is_one_lexeme("½")
    assert not is_one_lexeme("a½b")
    assert is_one_lexeme("x" * 2047)
    assert not is_one_lexeme("x" * 2048)
    assert not is_one_lexeme("ä" * 1024)  # 2,048 bytes


@pg
def test_the_back_fill_builds_every_existing_document(corpus, employee, agent):
    services.ticket_comment(ticket=corpus["printer"], author=agent, body="Needs a new fuser", is_internal=True)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tickets_ticket SET search_document = NULL")
    assert document(corpus["printer"]) is None

    with connection.schema_editor() as editor:
        migration.back_fill(editor)

    for ticket in corpus.values():
        assert document(ticket) == expected_document(ticket)
    assert found("fuser toner", agent) == {PRINTER}


@pg
def test_agent_search_can_use_the_documents_gin_index(corpus, agent):
    tickets = Ticket.objects.search("printer toner", user=agent).order_by().values("pk")
    sql, params = tickets.query.sql_with_params()
    with connection.cursor() as cursor:
        # A few rows: a sequential scan would win; this asks whether the index is usable at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ticket_agent_search" in plan


@pg
def test_a_ticket_with_a_huge_history_still_takes_comments_and_stays_searchable(ticket, agent, employee):
    import secrets

    from tickets.models import Comment

    def log_paste() -> str:  # 20,000 characters of distinct tokens, as a pasted log of GUIDs would be
        return " ".join(secrets.token_hex(6) for _ in range(1538))[:20000]

    # 60 comments in one statement: about 1.2 million characters of distinct words, beyond 1 MB.
    Comment.objects.bulk_create(Comment(ticket=ticket, author=agent, body=log_paste()) for _ in range(60))
    services.ticket_comment(ticket=ticket, author=employee, body="Any news about the zeppelinfaktor?")

    assert Comment.objects.filter(ticket=ticket).count() == 61
    assert found("printer jams", agent) == {ticket.title}  # the title and description are always in it
    with connection.cursor() as cursor:
        cursor.execute("SELECT length(search_document) FROM tickets_ticket WHERE id = %s", [ticket.pk])
        assert cursor.fetchone()[0] > 10_000  # the first comments' words, up to COMMENT_CHARS
