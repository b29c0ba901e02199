"""Timeline labels: machine values shown in the reader's language, with a constant number of queries."""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.utils import translation

from accounts.models import User
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.timeline import label_events

Kind = TicketEvent.Kind
Status = Ticket.Status


def make_agent(username: str, **fields) -> User:
    fields.setdefault("first_name", username.capitalize())
    fields.setdefault("last_name", "Tester")
    user = User.objects.create_user(username=username, password=f"{username}-pass-123", **fields)
    user.groups.add(Group.objects.get_or_create(name="IT staff")[0])
    return user


def event(ticket: Ticket, kind: str, old="", new="") -> TicketEvent:
    return TicketEvent(ticket=ticket, kind=kind, old_value=str(old), new_value=str(new))


def labels(*events: TicketEvent) -> list[tuple[str, str]]:
    return [(e.old_label, e.new_label) for e in label_events(list(events))]


def german_catalog_loaded() -> bool:
    with translation.override("de"):
        return translation.gettext("In progress") != "In progress"


# --- English ------------------------------------------------------------------------------------


def test_status_and_priority_are_labelled_in_english(ticket):
    assert labels(
        event(ticket, Kind.STATUS, "new", "in_progress"),
        event(ticket, Kind.STATUS, "waiting", "resolved"),
        event(ticket, Kind.STATUS, "resolved", "closed"),
        event(ticket, Kind.PRIORITY, Ticket.Priority.NORMAL.value, Ticket.Priority.HIGH.value),
        event(ticket, Kind.PRIORITY, "3", "1"),
    ) == [
        ("New", "In progress"),
        ("Waiting for requester", "Resolved"),
        ("Resolved", "Closed"),
        ("Normal", "High"),
        ("High", "Low"),
    ]


def test_unknown_machine_values_are_shown_as_they_are(ticket):
    assert labels(event(ticket, Kind.STATUS, "archived", ""), event(ticket, Kind.PRIORITY, "9", "")) == [
        ("archived", ""),
        ("9", ""),
    ]


def test_assignment_is_labelled_by_display_name_and_nobody(ticket, agent, second_agent):
    nameless = make_agent("cnoname", first_name="", last_name="")

    assert labels(
        event(ticket, Kind.ASSIGNMENT, "", agent.pk),
        event(ticket, Kind.ASSIGNMENT, agent.pk, second_agent.pk),
        event(ticket, Kind.ASSIGNMENT, second_agent.pk, ""),
        event(ticket, Kind.ASSIGNMENT, "", nameless.pk),
    ) == [
        ("nobody", "Anna Tester"),
        ("Anna Tester", "Bernd Tester"),
        ("Bernd Tester", "nobody"),
        ("nobody", "cnoname"),
    ]


def test_assignment_to_a_deleted_user_says_so(ticket):
    assert labels(event(ticket, Kind.ASSIGNMENT, "", 987654)) == [("nobody", "a deleted user")]


def test_problem_source_is_labelled_by_name(ticket, tree):
    assert labels(
        event(ticket, Kind.PROBLEM_SOURCE, tree["paper_jam"].pk, tree["toner"].pk),
        event(ticket, Kind.CREATED, "", tree["battery"].pk),
    ) == [("Paper jam", "Toner empty"), ("", "Battery")]


def test_unknown_problem_source_gets_an_empty_label(ticket):
    assert labels(event(ticket, Kind.PROBLEM_SOURCE, "987654", "")) == [("", "")]


def test_due_date_is_formatted_and_missing_due_date_says_none(ticket):
    assert labels(
        event(ticket, Kind.DUE_DATE, "", "2030-01-31"),
        event(ticket, Kind.DUE_DATE, "2030-01-31", ""),
    ) == [("none", "01/31/2030"), ("01/31/2030", "none")]


def test_other_kinds_keep_their_stored_values(ticket):
    assert labels(
        event(ticket, Kind.ATTACHMENT, "", "Bildschirm.png"),
        event(ticket, Kind.COMMENT),
        event(ticket, Kind.INTERNAL_NOTE),
    ) == [("", "Bildschirm.png"), ("", ""), ("", "")]


def test_events_written_by_the_services_are_labelled(ticket, agent, tree):
    services.ticket_update(
        ticket=ticket,
        actor=agent,
        status=Status.IN_PROGRESS,
        priority=Ticket.Priority.HIGH,
        problem_source=tree["toner"],
        due_date=date(2030, 2, 1),
        assignee=agent,
    )
    events = label_events(list(TicketEvent.objects.filter(ticket=ticket).for_timeline()))

    assert {e.kind: (e.old_label, e.new_label) for e in events} == {
        Kind.CREATED: ("", "Paper jam"),
        Kind.STATUS: ("New", "In progress"),
        Kind.PRIORITY: ("Normal", "High"),
        Kind.PROBLEM_SOURCE: ("Paper jam", "Toner empty"),
        Kind.DUE_DATE: ("none", "02/01/2030"),
        Kind.ASSIGNMENT: ("nobody", "Anna Tester"),
    }


def test_label_events_returns_the_same_list(ticket):
    events = [event(ticket, Kind.STATUS, "new", "closed")]
    assert label_events(events) is events


# --- German -------------------------------------------------------------------------------------


def test_german_reader_gets_german_source_names_and_dates(ticket, tree, agent):
    events = [
        event(ticket, Kind.STATUS, "new", "in_progress"),
        event(ticket, Kind.PRIORITY, "2", "3"),
        event(ticket, Kind.ASSIGNMENT, "", agent.pk),
        event(ticket, Kind.PROBLEM_SOURCE, tree["paper_jam"].pk, tree["toner"].pk),
        event(ticket, Kind.DUE_DATE, "", "2030-01-31"),
    ]
    with translation.override("de"):
        labelled = labels(*events)
        expected_status = (str(Status.NEW.label), str(Status.IN_PROGRESS.label))

    assert labelled[0] == expected_status  # follows the active language, whatever the catalog says
    assert labelled[2][1] == "Anna Tester"
    assert labelled[3] == ("Papierstau", "Toner leer")
    assert labelled[4][1] == "31.01.2030"


def test_language_is_read_when_labelling_not_when_importing(ticket, tree):
    events = [event(ticket, Kind.PROBLEM_SOURCE, "", tree["printer"].pk)]

    with translation.override("de"):
        assert labels(*events) == [("", "Drucker")]
    with translation.override("en"):
        assert labels(*events) == [("", "Printer")]


def test_german_labels_for_status_priority_and_nobody(ticket):
    if not german_catalog_loaded():
        pytest.skip("German catalog not compiled (locale/de/LC_MESSAGES/django.mo)")
    with translation.override("de"):
        assert labels(
            event(ticket, Kind.STATUS, "new", "in_progress"),
            event(ticket, Kind.PRIORITY, "2", "3"),
            event(ticket, Kind.ASSIGNMENT, "", ""),
        ) == [("Neu", "In Bearbeitung"), ("Normal", "Hoch"), ("niemand", "niemand")]


# --- Sentences and icons ---------------------------------------------------------------------------


def sentences(*events: TicketEvent) -> list[str]:
    return [str(e.sentence) for e in label_events(list(events))]


def test_each_kind_of_event_has_its_sentence_and_icon(ticket, agent, tree):
    events = [
        event(ticket, Kind.CREATED, "", tree["paper_jam"].pk),
        event(ticket, Kind.STATUS, "new", "in_progress"),
        event(ticket, Kind.ASSIGNMENT, "", agent.pk),
        event(ticket, Kind.ASSIGNMENT, agent.pk, ""),
        event(ticket, Kind.PRIORITY, "2", "3"),
        event(ticket, Kind.PROBLEM_SOURCE, tree["paper_jam"].pk, tree["toner"].pk),
        event(ticket, Kind.DUE_DATE, "", "2030-01-31"),
        event(ticket, Kind.DUE_DATE, "2030-01-31", ""),
        event(ticket, Kind.COMMENT),
        event(ticket, Kind.INTERNAL_NOTE),
        event(ticket, Kind.ATTACHMENT, "", "log.txt"),
    ]
    for item in events:
        item.actor = agent

    assert sentences(*events) == [
        "<strong>Anna Tester</strong> filed the ticket under <em>Paper jam</em>",
        "<strong>Anna Tester</strong> changed the status from New to <strong>In progress</strong>",
        "<strong>Anna Tester</strong> made <strong>Anna Tester</strong> responsible",
        "<strong>Anna Tester</strong> removed Anna Tester as responsible",
        "<strong>Anna Tester</strong> changed the priority from Normal to <strong>High</strong>",
        "<strong>Anna Tester</strong> moved the ticket from <em>Paper jam</em> to <em>Toner empty</em>",
        "<strong>Anna Tester</strong> set the due date to <strong>01/31/2030</strong>",
        "<strong>Anna Tester</strong> removed the due date",
        "<strong>Anna Tester</strong> replied",
        "<strong>Anna Tester</strong> wrote an internal note",
        "<strong>Anna Tester</strong> attached <em>log.txt</em>",
    ]
    assert [e.icon.split()[0] for e in events] == [
        "bi-flag", "bi-arrow-repeat", "bi-person-check", "bi-person-check", "bi-exclamation-diamond",
        "bi-diagram-3", "bi-calendar-event", "bi-calendar-event", "bi-chat-left-text", "bi-lock-fill",
        "bi-paperclip",
    ]  # fmt: skip


def test_sentences_escape_what_people_typed_and_name_the_system(ticket, agent):
    agent.first_name = "<img src=x onerror=alert(1)>"
    attachment = event(ticket, Kind.ATTACHMENT, "", '"><script>alert(2)</script>.png')
    attachment.actor = agent
    resolved_by_the_system = event(ticket, Kind.STATUS, "waiting", "resolved")

    html = " ".join(sentences(attachment, resolved_by_the_system))

    assert "<img" not in html and "<script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;.png" in html
    assert "<strong>The system</strong> changed the status from Waiting for requester" in html


def test_german_sentences(ticket, agent):
    if not german_catalog_loaded():
        pytest.skip("German catalog not compiled (locale/de/LC_MESSAGES/django.mo)")
    reply = event(ticket, Kind.COMMENT)
    reply.actor = agent
    with translation.override("de"):
        assert sentences(reply, event(ticket, Kind.STATUS, "new", "closed")) == [
            "<strong>Anna Tester</strong> hat geantwortet",
            "<strong>Das System</strong> hat den Status von Neu auf <strong>Geschlossen</strong> geändert",
        ]


# --- Query count --------------------------------------------------------------------------------


@pytest.fixture
def many_assignees(db):
    return [make_agent(f"agent{index}") for index in range(6)]


def build_events(ticket: Ticket, tree: dict, assignees: list, count: int) -> list[TicketEvent]:
    """``count`` events cycling through every kind, mentioning many different users and nodes."""
    sources = list(tree.values())
    statuses = list(Status.values)
    rows = []
    for index in range(count):
        kind = [Kind.STATUS, Kind.ASSIGNMENT, Kind.PROBLEM_SOURCE, Kind.PRIORITY, Kind.DUE_DATE][index % 5]
        old, new = {
            Kind.STATUS: (statuses[index % 5], statuses[(index + 1) % 5]),
            Kind.ASSIGNMENT: (assignees[index % 6].pk, assignees[(index + 1) % 6].pk),
            Kind.PROBLEM_SOURCE: (sources[index % 9].pk, sources[(index + 1) % 9].pk),
            Kind.PRIORITY: (1 + index % 3, 1 + (index + 1) % 3),
            Kind.DUE_DATE: ("", f"2030-01-{1 + index % 28:02d}"),
        }[kind]
        rows.append(event(ticket, kind, old, new))
    TicketEvent.objects.bulk_create(rows)
    return rows


@pytest.mark.parametrize("count", [5, 50])
def test_labelling_takes_two_queries_however_many_events(
    ticket, tree, many_assignees, count, django_assert_num_queries
):
    events = build_events(ticket, tree, many_assignees, count)

    with django_assert_num_queries(2):  # the users, the problem sources
        label_events(events)

    assert all(e.new_label for e in events)
    assignment = next(e for e in events if e.kind == Kind.ASSIGNMENT)
    assert assignment.new_label == many_assignees[2].display_name


@pytest.mark.parametrize("count", [5, 50])
def test_timeline_page_query_count_does_not_grow_with_events(
    ticket, tree, many_assignees, count, django_assert_num_queries
):
    build_events(ticket, tree, many_assignees, count)

    with django_assert_num_queries(3):  # the events with actor/comment/attachment, users, sources
        events = label_events(list(TicketEvent.objects.filter(ticket=ticket).for_timeline()))
        rendered = [(e.actor.display_name if e.actor else "", e.old_label, e.new_label) for e in events]

    assert len(rendered) == count + 1  # plus the CREATED event


def test_events_without_user_or_node_ids_need_no_queries(ticket, django_assert_num_queries):
    events = [event(ticket, Kind.STATUS, "new", "closed"), event(ticket, Kind.DUE_DATE, "", "2030-01-01")]

    with django_assert_num_queries(0):
        label_events(events)
        label_events([])
