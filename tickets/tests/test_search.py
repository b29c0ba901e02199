"""Ticket search: every word must match somewhere, prefixes work, internal notes stay internal (C5, C9).

Runs on SQLite by default and on PostgreSQL (full-text search) when DATABASE_URL points there.
"""

import pytest
from django.db import connection

from tickets import services
from tickets.models import Ticket
from tickets.search import MAX_TERMS, search_terms


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


def test_each_database_uses_its_own_matching(corpus, agent):
    sql = str(Ticket.objects.search("printer toner", user=agent).query).lower()
    if connection.vendor == "postgresql":
        assert "to_tsvector" in sql
        assert "like" not in sql
    else:
        assert "like" in sql
        assert "to_tsvector" not in sql
