"""Known issues, "Affects me too", duplicates, merges (and undoing them) and similar tickets."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from conftest import make_user
from tickets import known_issues, services
from tickets.models import AffectedPerson, Attachment, Comment, KnownIssue, Ticket, TicketEvent, TicketMerge
from tickets.tests.page_helpers import checked_png, messages_of

Kind = TicketEvent.Kind
Status = Ticket.Status


@pytest.fixture
def known(ticket, tree, agent) -> Ticket:
    known_issues.known_issue_mark(
        ticket=ticket, actor=agent, problem_source=tree["printer"], status_text="Printer 2nd floor: technician at 14:00"
    )
    return Ticket.objects.get(pk=ticket.pk)


def file_ticket(requester, tree, title="Printer jams again", source="toner", description="x") -> Ticket:
    return services.ticket_create(
        requester=requester, problem_source=tree[source], title=title, description=description
    )


# --- Marking ----------------------------------------------------------------------------------------


def test_agent_marks_a_known_issue_with_a_public_event(known, agent):
    issue = KnownIssue.objects.get(ticket=known)
    event = TicketEvent.objects.get(ticket=known, kind=Kind.KNOWN_ISSUE)

    assert issue.status_text == "Printer 2nd floor: technician at 14:00"
    assert (event.actor, event.old_value, event.new_value, event.is_internal) == (agent, "", issue.status_text, False)


def test_marking_needs_an_agent_an_open_ticket_and_a_status(ticket, tree, employee, agent):
    with pytest.raises(PermissionDenied):
        known_issues.known_issue_mark(ticket=ticket, actor=employee, problem_source=tree["printer"], status_text="x")
    with pytest.raises(ValidationError):
        known_issues.known_issue_mark(ticket=ticket, actor=agent, problem_source=tree["printer"], status_text="  ")
    services.ticket_close(ticket=ticket, user=employee)
    with pytest.raises(ValidationError):
        known_issues.known_issue_mark(ticket=ticket, actor=agent, problem_source=tree["printer"], status_text="x")
    assert not KnownIssue.objects.exists()


def test_agent_marks_through_the_detail_page_for_an_ancestor_node(client, ticket, tree, agent):
    client.force_login(agent)
    url = reverse("tickets:known_issue", args=[ticket.pk])

    bad = client.post(url, {"known-problem_source": tree["software"].pk, "known-status_text": "Down"})
    good = client.post(
        url, {"known-problem_source": tree["hardware"].pk, "known-status_text": "Whole building without print"}
    )

    assert bad.status_code == 400  # not the ticket's node or above it
    assert good.status_code == 302
    assert KnownIssue.objects.get().problem_source == tree["hardware"]


# --- Banners and "Affects me too" ------------------------------------------------------------------


def test_banner_shows_in_the_picker_for_the_subtree_only(client, known, tree, other_employee):
    client.force_login(other_employee)

    inside = client.get(reverse("tickets:new"), {"source": tree["paper_jam"].pk}).content.decode()
    printer = client.get(reverse("tickets:new"), {"source": tree["printer"].pk}).content.decode()
    outside = client.get(reverse("tickets:new"), {"source": tree["laptop"].pk}).content.decode()

    assert "technician at 14:00" in inside and "technician at 14:00" in printer
    assert "technician at 14:00" not in outside
    assert "Printer on floor 2 jams" not in inside  # the ticket's own title stays private


def test_dashboard_banners_load_after_the_page_and_count_affected_people(client, known, other_employee):
    client.force_login(other_employee)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert reverse("tickets:known_issue_banners") in dashboard

    before = client.get(reverse("tickets:known_issue_banners")).content.decode()
    response = client.post(reverse("tickets:affects_me", args=[known.pk]))
    after = client.get(reverse("tickets:known_issue_banners")).content.decode()

    assert "technician at 14:00" in before and "0 people affected" in before and "Affects me too" in before
    assert response.status_code == 302 and response["Location"] == known.get_absolute_url()
    assert "1 person affected" in after and "Affects me too" not in after
    assert AffectedPerson.objects.get(ticket=known).user == other_employee
    assert client.get(known.get_absolute_url()).status_code == 200


def test_affects_me_twice_or_by_the_requester_adds_nobody(client, known, employee, other_employee):
    client.force_login(other_employee)
    client.post(reverse("tickets:affects_me", args=[known.pk]))
    client.post(reverse("tickets:affects_me", args=[known.pk]))
    client.force_login(employee)
    client.post(reverse("tickets:affects_me", args=[known.pk]))

    assert list(AffectedPerson.objects.values_list("user__username", flat=True)) == ["otto"]
    assert TicketEvent.objects.filter(ticket=known, kind=Kind.AFFECTED).count() == 1


def test_affects_me_on_a_resolved_or_unknown_ticket_is_404(client, known, ticket, agent, other_employee, tree):
    plain = file_ticket(agent, tree)
    known_issues.known_issue_resolve(ticket=known, actor=agent, status_text="Fixed")
    client.force_login(other_employee)

    assert client.post(reverse("tickets:affects_me", args=[known.pk])).status_code == 404
    assert client.post(reverse("tickets:affects_me", args=[plain.pk])).status_code == 404
    assert client.get(reverse("tickets:affects_me", args=[known.pk])).status_code == 405
    assert not AffectedPerson.objects.exists()


def test_resolving_ends_the_banner(client, known, agent, other_employee):
    known_issues.known_issue_resolve(ticket=known, actor=agent, status_text="Printer repaired")
    client.force_login(other_employee)

    assert "Printer repaired" not in client.get(reverse("tickets:known_issue_banners")).content.decode()
    assert Ticket.objects.get(pk=known.pk).status == Status.RESOLVED


def test_a_finished_known_issue_cannot_be_resolved_again(known, agent, employee):
    services.ticket_close(ticket=known, user=employee)
    closed = Ticket.objects.get(pk=known.pk)
    with pytest.raises(ValidationError):
        known_issues.known_issue_resolve(ticket=closed, actor=agent, status_text="Printer repaired")
    assert Ticket.objects.get(pk=known.pk).status == Status.CLOSED


def test_resolving_reads_the_affected_people_once_for_both_of_its_events(known, agent, other_employee):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    known_issues.affected_add(ticket=known, user=other_employee)
    with CaptureQueriesContext(connection) as captured:
        events = known_issues.known_issue_resolve(ticket=known, actor=agent, status_text="Printer repaired")
    assert {event.kind for event in events} == {Kind.KNOWN_ISSUE, Kind.STATUS}
    affected_reads = [q for q in captured.captured_queries if 'FROM "tickets_affectedperson"' in q["sql"]]
    assert len(affected_reads) == 1


def test_person_leaves_and_agent_removes(client, known, agent, other_employee):
    carla = make_user("carla")
    for person in (other_employee, carla):
        known_issues.affected_add(ticket=known, user=person)
    client.force_login(other_employee)
    client.post(reverse("tickets:affected_remove", args=[known.pk]), {"user": carla.pk})  # only their own
    client.force_login(agent)
    client.post(reverse("tickets:affected_remove", args=[known.pk]), {"user": carla.pk})

    assert not AffectedPerson.objects.exists()
    assert client.get(known.get_absolute_url()).status_code == 200


# --- Duplicates ---------------------------------------------------------------------------------------


def test_agent_attaches_a_duplicate_in_one_click(client, known, tree, agent, other_employee):
    duplicate = file_ticket(other_employee, tree)
    client.force_login(agent)

    panel = client.get(reverse("tickets:similar_panel", args=[duplicate.pk])).content.decode()
    response = client.post(reverse("tickets:duplicate", args=[duplicate.pk]), {"ticket": known.pk})

    assert "technician at 14:00" in panel and "Attach as duplicate" in panel
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.status == Status.CLOSED
    link = TicketEvent.objects.get(ticket=duplicate, kind=Kind.DUPLICATE)
    assert (link.new_value, link.is_internal) == (str(known.pk), False)
    assert AffectedPerson.objects.get(ticket=known).user == other_employee
    client.force_login(other_employee)
    page = client.get(duplicate.get_absolute_url()).content.decode()
    assert f"#{known.pk}" in page and "duplicate" in page


def test_a_duplicate_needs_an_open_known_issue(client, ticket, tree, agent, other_employee):
    duplicate = file_ticket(other_employee, tree)
    client.force_login(agent)

    response = client.post(reverse("tickets:duplicate", args=[duplicate.pk]), {"ticket": ticket.pk})
    missing = client.post(reverse("tickets:duplicate", args=[duplicate.pk]), {"ticket": "99999"})

    assert "no longer open" in " ".join(messages_of(response))
    assert missing.status_code == 302
    assert Ticket.objects.get(pk=duplicate.pk).status == Status.NEW


# --- Merging and undoing it ------------------------------------------------------------------------


@pytest.fixture
def pair(ticket, tree, employee, other_employee, agent):
    """Two tickets about the same printer, the second with a reply, a note, files and an affected person."""
    merged = file_ticket(other_employee, tree, title="Printer floor 2 jams")
    services.ticket_comment(ticket=merged, author=other_employee, body="Also here", files=[checked_png("b.png")])
    services.ticket_comment(ticket=merged, author=agent, body="Internal hint", is_internal=True)
    services.ticket_attach(ticket=merged, user=other_employee, files=[checked_png("c.png")])
    carla = make_user("carla")
    AffectedPerson.objects.create(ticket=merged, user=carla)
    return ticket, Ticket.objects.get(pk=merged.pk), carla


def test_agent_merges_similar_ticket_in_one_transaction(client, pair, agent, other_employee):
    kept, merged, _carla = pair
    client.force_login(agent)

    panel = client.get(reverse("tickets:similar_panel", args=[kept.pk])).content.decode()
    response = client.post(reverse("tickets:merge", args=[kept.pk]), {"ticket": merged.pk})

    assert "Printer floor 2 jams" in panel and "Merge into this" in panel
    assert response.status_code == 302
    assert set(Comment.objects.filter(ticket=kept).values_list("body", flat=True)) == {"Also here", "Internal hint"}
    assert set(Attachment.objects.filter(ticket=kept).values_list("original_name", flat=True)) == {"b.png", "c.png"}
    assert not Comment.objects.filter(ticket=merged).exists()
    assert set(AffectedPerson.objects.filter(ticket=kept).values_list("user__username", flat=True)) == {"otto", "carla"}
    assert Ticket.objects.get(pk=merged.pk).status == Status.CLOSED
    assert TicketEvent.objects.filter(ticket=kept, kind=Kind.MERGED, new_value=str(merged.pk)).exists()
    assert TicketEvent.objects.filter(ticket=merged, kind=Kind.DUPLICATE, new_value=str(kept.pk)).exists()
    # The merged ticket's requester follows the kept ticket, without its internal note.
    client.force_login(other_employee)
    html = client.get(kept.get_absolute_url()).content.decode()
    assert "Also here" in html and "Internal hint" not in html


def test_after_a_merge_neither_requester_sees_the_others_name(client, pair, agent, employee, other_employee):
    kept, merged, _carla = pair
    known_issues.ticket_merge(kept=kept, merged=merged, actor=agent)
    services.ticket_comment(ticket=kept, author=agent, body="On it")
    other_name = other_employee.display_name

    client.force_login(employee)  # the kept ticket's requester now reads the merged ticket's comment
    detail = client.get(kept.get_absolute_url()).content.decode()
    assert "Also here" in detail and "b.png" in detail
    assert other_name not in detail and "A colleague" in detail
    assert agent.display_name in detail  # IT staff stay named
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert other_name not in dashboard

    client.force_login(agent)  # IT staff see everybody
    assert other_name in client.get(kept.get_absolute_url()).content.decode()


def test_merge_refuses_itself_and_employees(pair, employee, agent):
    kept, merged, _carla = pair
    with pytest.raises(ValidationError):
        known_issues.ticket_merge(kept=kept, merged=kept, actor=agent)
    with pytest.raises(PermissionDenied):
        known_issues.ticket_merge(kept=kept, merged=merged, actor=employee)
    assert not TicketMerge.objects.exists()


def test_admin_undoes_a_merge_from_its_event(client, pair, admin, agent):
    kept, merged, carla = pair
    before = {
        "comments": set(Comment.objects.filter(ticket=merged).values_list("pk", flat=True)),
        "files": set(Attachment.objects.filter(ticket=merged).values_list("pk", flat=True)),
        "status": merged.status,
        "carla": AffectedPerson.objects.get(ticket=merged, user=carla),
    }
    AffectedPerson.objects.filter(pk=before["carla"].pk).update(how=AffectedPerson.How.DUPLICATE)
    before["carla"].refresh_from_db()
    known_issues.ticket_merge(kept=kept, merged=merged, actor=agent)
    event = TicketEvent.objects.get(ticket=kept, kind=Kind.MERGED)
    client.force_login(admin)

    response = client.post(
        reverse("admin:tickets_ticketevent_changelist"),
        {"action": "undo_merge", "_selected_action": [event.pk]},
    )

    assert response.status_code == 302
    assert set(Comment.objects.filter(ticket=merged).values_list("pk", flat=True)) == before["comments"]
    assert set(Attachment.objects.filter(ticket=merged).values_list("pk", flat=True)) == before["files"]
    assert Ticket.objects.get(pk=merged.pk).status == before["status"]
    assert not AffectedPerson.objects.filter(ticket=kept).exists()
    restored = AffectedPerson.objects.get(ticket=merged)
    assert (restored.user, restored.how, restored.added_at) == (carla, before["carla"].how, before["carla"].added_at)
    assert TicketMerge.objects.get().undone_at is not None
    with pytest.raises(ValidationError):
        known_issues.ticket_merge_undo(merge=TicketMerge.objects.get(), actor=admin)


# --- Similar tickets while typing -------------------------------------------------------------------


def test_employee_sees_known_issues_first_then_own_open_tickets_never_others(
    client, known, tree, employee, other_employee
):
    own = file_ticket(other_employee, tree, title="Printer makes noise")
    file_ticket(employee, tree, title="Printer smells burnt")  # another employee's
    client.force_login(other_employee)

    data = client.get(reverse("tickets:similar"), {"title": "printer jams", "format": "json"}).json()["matches"]

    assert [match["known_issue"] for match in data] == [True, False]
    assert data[0]["status_text"] == "Printer 2nd floor: technician at 14:00" and data[0]["title"] is None
    assert data[0]["url"] is None and data[0]["affects_me_url"] == reverse("tickets:affects_me", args=[known.pk])
    assert data[1]["title"] == own.title and data[1]["url"] == own.get_absolute_url()
    html = client.get(reverse("tickets:similar"), {"title": "printer"}).content.decode()
    assert "smells burnt" not in html and "Printer makes noise" in html and "Affects me too" in html


def test_similar_lookup_ignores_short_and_common_words_and_bad_input(client, known, other_employee):
    client.force_login(other_employee)
    for title in ("", "it is", "the and", "'; DROP TABLE --", "%\x00%", "x" * 5000):
        response = client.get(reverse("tickets:similar"), {"title": title, "format": "json"})
        assert response.status_code == 200
        assert response.json()["matches"] == []


def test_similar_lookup_needs_sign_in(client):
    response = client.get(reverse("tickets:similar"), {"title": "printer"})
    assert response.status_code == 302


# --- Bad input, escaping, constant queries ------------------------------------------------------------

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_status_text_is_escaped_everywhere(client, ticket, tree, agent, other_employee):
    known_issues.known_issue_mark(ticket=ticket, actor=agent, problem_source=tree["printer"], status_text=XSS)
    pages = []
    client.force_login(other_employee)
    pages.append(client.get(reverse("tickets:known_issue_banners")).content.decode())
    pages.append(client.get(reverse("tickets:new"), {"source": tree["paper_jam"].pk}).content.decode())
    pages.append(client.get(reverse("tickets:similar"), {"title": "printer jams"}).content.decode())
    client.force_login(agent)
    pages.append(client.get(ticket.get_absolute_url()).content.decode())

    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "data",
    [
        {"known-problem_source": "", "known-status_text": "Down"},
        {"known-problem_source": "abc", "known-status_text": "Down"},
        {"known-problem_source": "999999", "known-status_text": "Down"},
        {"known-status_text": "x" * 201},
        {"known-status_text": "   "},
    ],
)
def test_bad_known_issue_form_is_400_and_changes_nothing(client, ticket, tree, agent, data):
    data = {"known-problem_source": tree["printer"].pk, **data}
    client.force_login(agent)

    response = client.post(reverse("tickets:known_issue", args=[ticket.pk]), data)

    assert response.status_code == 400
    assert not KnownIssue.objects.exists()
    assert not TicketEvent.objects.filter(kind=Kind.KNOWN_ISSUE).exists()


@pytest.mark.parametrize("value", ["", "abc", "-1", "9" * 30, "1.5"])
def test_bad_ticket_numbers_for_merge_and_duplicate_change_nothing(client, pair, agent, value):
    kept, merged, _carla = pair
    client.force_login(agent)

    for name in ("merge", "duplicate"):
        response = client.post(reverse(f"tickets:{name}", args=[kept.pk]), {"ticket": value})
        assert response.status_code == 302
        assert "no such ticket" in " ".join(messages_of(response))
    assert not TicketMerge.objects.exists()
    assert Ticket.objects.get(pk=kept.pk).status == Ticket.objects.get(pk=merged.pk).status == Status.NEW


def test_agent_removing_a_stranger_is_404(client, known, agent, other_employee):
    client.force_login(agent)
    for value in (str(other_employee.pk), "abc", "9" * 30):
        response = client.post(reverse("tickets:affected_remove", args=[known.pk]), {"user": value})
        assert response.status_code == 404


@pytest.mark.parametrize("url_name", ["tickets:similar", "tickets:known_issue_banners"])
def test_similar_and_banner_fragments_have_constant_query_counts(
    client, known, tree, agent, other_employee, django_assert_max_num_queries, url_name
):
    from tickets.tests.test_query_counts import assert_flat

    client.force_login(other_employee)

    def grow():  # three more known issues (with the first, one short of the five): own tickets still count
        for number in range(3):
            extra = file_ticket(other_employee, tree, title=f"Printer jams {number}", source="paper_jam")
            known_issues.known_issue_mark(
                ticket=extra, actor=agent, problem_source=tree["printer"], status_text=f"Printer {number}"
            )
            known_issues.affected_add(ticket=extra, user=make_user(f"p{number}"))
        for number in range(6):
            file_ticket(other_employee, tree, title=f"My printer jams {number}")

    assert_flat(client, reverse(url_name), grow, 5, django_assert_max_num_queries, {"title": "printer jams"})


def test_admin_lists_known_issues_affected_people_and_merges(client, known, admin, agent, tree, other_employee):
    known_issues.affected_add(ticket=known, user=other_employee)
    merged = file_ticket(make_user("carla"), tree, title="Printer jams as well")
    known_issues.ticket_merge(kept=known, merged=merged, actor=agent)
    client.force_login(admin)

    pages = {
        name: client.get(reverse(f"admin:tickets_{name}_changelist")).content.decode()
        for name in ("knownissue", "affectedperson", "ticketmerge")
    }

    assert "technician at 14:00" in pages["knownissue"]
    assert "Otto" in pages["affectedperson"] and "Carla" in pages["affectedperson"]
    assert f"#{merged.pk} → #{known.pk}" in pages["ticketmerge"]


def test_a_known_issue_matches_by_its_public_status_text(client, known, other_employee):
    client.force_login(other_employee)

    data = client.get(reverse("tickets:similar"), {"title": "technician", "format": "json"}).json()["matches"]

    assert [match["status_text"] for match in data] == ["Printer 2nd floor: technician at 14:00"]


def test_on_a_known_issue_agents_attach_similar_tickets_to_it(client, known, tree, agent, other_employee):
    duplicate = file_ticket(other_employee, tree, title="Printer on floor 2 jams too")
    client.force_login(agent)

    panel = client.get(reverse("tickets:similar_panel", args=[known.pk])).content.decode()

    assert "Attach here as duplicate" in panel and "Merge into this" not in panel
    assert f'action="{reverse("tickets:duplicate", args=[duplicate.pk])}"' in panel
    client.post(reverse("tickets:duplicate", args=[duplicate.pk]), {"ticket": known.pk})
    assert Ticket.objects.get(pk=duplicate.pk).status == Status.CLOSED
    assert AffectedPerson.objects.get(ticket=known).user == other_employee


def test_me_too_counts_per_problem_source_for_the_analysis(known, tree, agent, other_employee):
    from datetime import timedelta

    from django.utils import timezone

    known_issues.affected_add(ticket=known, user=other_employee)
    duplicate = file_ticket(make_user("carla"), tree)
    known_issues.duplicate_attach(duplicate=duplicate, known=known, actor=agent)
    now = timezone.now()

    assert known_issues.me_too_counts() == {tree["paper_jam"].pk: 2}
    assert known_issues.me_too_counts(start=now + timedelta(minutes=1)) == {}
