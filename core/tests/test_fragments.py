"""Cached fragments: served again while nothing they show has changed, never to the wrong reader."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core import fragments
from tickets import services
from tickets.attachments import check_upload
from tickets.models import SavedTicketFilter


def timeline_of(html: str) -> str:
    return html.split('<div class="timeline ticket-timeline">', 1)[1].split("bi-clock-history", 1)[0]


def timeline_queries(client, url) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        html = client.get(url).content.decode()
    return html, sum('"tickets_ticketevent"' in q["sql"] for q in captured)


def test_a_ticket_timeline_is_rendered_once_until_the_ticket_changes(client, ticket, agent):
    client.force_login(agent)
    url = ticket.get_absolute_url()

    first, first_reads = timeline_queries(client, url)
    again, again_reads = timeline_queries(client, url)
    assert (first_reads, again_reads) == (1, 0)
    assert timeline_of(again) == timeline_of(first)

    services.ticket_comment(ticket=ticket, author=agent, body="Swapped the fuser unit.")
    changed, changed_reads = timeline_queries(client, url)
    assert changed_reads == 1
    assert "Swapped the fuser unit." in changed


def test_an_agents_cached_timeline_never_reaches_the_requester(client, ticket, agent, employee):
    services.ticket_comment(ticket=ticket, author=agent, body="Vendor says firmware bug.", is_internal=True)
    client.force_login(agent)
    assert "Vendor says firmware bug." in client.get(ticket.get_absolute_url()).content.decode()

    client.force_login(employee)
    html = client.get(ticket.get_absolute_url()).content.decode()

    assert "Vendor says firmware bug." not in html
    assert "Every <strong>second</strong> page jams." in html


def test_each_language_and_the_teams_tab_get_their_own_copy(client, ticket, agent):
    log = check_upload(SimpleUploadedFile("log.txt", b"paper jam at tray 2\n", content_type="text/plain"))
    services.ticket_attach(ticket=ticket, user=agent, files=[log])
    client.force_login(agent)
    english = client.get(ticket.get_absolute_url()).content.decode()
    german = client.get(ticket.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    in_teams = client.get(f"/teams/app/tickets/{ticket.pk}/").content.decode()

    assert "filed the ticket under" in timeline_of(english)
    assert "hat das Ticket unter" in timeline_of(german)
    assert f'href="/teams/app/tickets/{ticket.pk}/attachments/' in timeline_of(in_teams)
    assert f'href="/tickets/{ticket.pk}/attachments/' in timeline_of(english)


def test_the_key_names_role_language_time_zone_prefix_and_code(agent, employee, settings):
    base = fragments.fragment_key("timeline", agent, 1, "2026-01-01")
    assert base == fragments.fragment_key("timeline", agent, 1, "2026-01-01")
    assert base != fragments.fragment_key("timeline", employee, 1, "2026-01-01")
    assert base != fragments.fragment_key("timeline", agent, 1, "2026-01-02")
    assert base != fragments.fragment_key("timeline", agent, 2, "2026-01-01")
    with translation.override("de"):
        assert base != fragments.fragment_key("timeline", agent, 1, "2026-01-01")
    with timezone.override("America/New_York"):
        assert base != fragments.fragment_key("timeline", agent, 1, "2026-01-01")


def test_the_code_version_changes_with_any_template(tmp_path, settings):
    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    page.write_text("<p>one</p>")
    settings.BASE_DIR = tmp_path
    fragments.code_version.cache_clear()
    try:
        before = fragments.code_version()
        page.write_text("<p>two</p>")
        fragments.code_version.cache_clear()
        assert fragments.code_version() != before
    finally:
        fragments.code_version.cache_clear()


def history_reads(client, **query) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        html = client.get(reverse("dashboard"), query).content.decode()
    return html, sum("LIMIT 26" in q["sql"] for q in captured)  # the page of events, one row extra


def test_the_dashboard_history_is_read_once_until_something_happens(client, ticket, agent):
    client.force_login(agent)
    assert history_reads(client)[1] == 1
    assert history_reads(client)[1] == 0

    services.ticket_take(ticket=ticket, agent=agent)

    html, reads = history_reads(client)
    assert reads == 1
    assert "made <strong>Anna Tester</strong> responsible" in html


def test_employees_never_see_each_others_cached_history(client, tree, employee, other_employee):
    services.ticket_create(requester=employee, problem_source=tree["toner"], title="Erikas toner", description="d")
    services.ticket_create(requester=other_employee, problem_source=tree["toner"], title="Ottos toner", description="d")
    client.force_login(employee)
    assert "Erikas toner" in history_reads(client)[0]

    client.force_login(other_employee)
    html = history_reads(client)[0]

    assert "Ottos toner" in html
    assert "Erikas toner" not in html


def test_zero_seconds_renders_every_time(client, ticket, agent, settings):
    settings.FRAGMENT_CACHE_SECONDS = 0
    client.force_login(agent)
    url = ticket.get_absolute_url()

    assert [timeline_queries(client, url)[1] for _ in range(2)] == [1, 1]


def test_the_list_filters_are_cached_per_query_but_never_the_save_forms_token(client, ticket, agent, second_agent):
    client.force_login(agent)
    url = reverse("tickets:list")

    def tokens(html: str) -> list[str]:
        return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html.split("save-list", 1)[1])

    first = client.get(url, {"assignee": second_agent.pk}).content.decode()
    again = client.get(url, {"assignee": second_agent.pk}).content.decode()
    other = client.get(url, {"assignee": "none"}).content.decode()

    assert f'<option value="{second_agent.pk}" selected>' in first
    assert f'<option value="{second_agent.pk}" selected>' in again
    assert '<option value="none" selected>' in other
    assert tokens(first) and tokens(again) and tokens(first) != tokens(again)


def test_the_agent_counters_follow_every_change_and_the_day(client, tree, employee, agent):
    def counters() -> dict:
        return client.get(reverse("dashboard")).context["counters"]

    berlin = ZoneInfo("Europe/Berlin")
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=berlin), tick=False):
        client.force_login(agent)
        ticket = services.ticket_create(requester=employee, problem_source=tree["toner"], title="t", description="d")
        services.ticket_update(ticket=ticket, actor=agent, due_date=date(2026, 3, 2))
        assert counters() == {"open": 1, "unassigned": 1, "mine": 0, "overdue": 0}
        assert counters() == {"open": 1, "unassigned": 1, "mine": 0, "overdue": 0}  # cached

        services.ticket_take(ticket=ticket, agent=agent)
        assert counters() == {"open": 1, "unassigned": 0, "mine": 1, "overdue": 0}

    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=berlin) + timedelta(days=1), tick=False):
        assert counters() == {"open": 1, "unassigned": 0, "mine": 1, "overdue": 1}


def test_the_update_form_shows_the_ticket_as_it_is_and_never_a_cached_copy_of_errors(client, ticket, agent, tree):
    client.force_login(agent)
    url = ticket.get_absolute_url()
    assert '<option value="new" selected>' in client.get(url).content.decode()

    services.ticket_update(ticket=ticket, actor=agent, status="waiting")
    assert '<option value="waiting" selected>' in client.get(url).content.decode()

    invalid = client.post(reverse("tickets:update", args=[ticket.pk]), {"status": "bogus", "priority": "2"})
    assert invalid.status_code == 400
    assert "is-invalid" in invalid.content.decode()
    assert "is-invalid" not in client.get(url).content.decode()

    chosen = client.get(url, {"problem_source": tree["toner"].pk}).content.decode()  # back from the tree browser
    assert f'name="problem_source" value="{tree["toner"].pk}"' in chosen
    assert f'name="problem_source" value="{tree["paper_jam"].pk}"' in client.get(url).content.decode()


def test_the_queue_and_my_open_tickets_follow_changes(client, ticket, tree, employee, agent):
    client.force_login(agent)
    assert "Nothing assigned to you right now." in client.get(reverse("dashboard")).content.decode()
    services.ticket_take(ticket=ticket, agent=agent)
    assert f"#{ticket.pk} Printer on floor 2 jams" in client.get(reverse("dashboard")).content.decode()
    filtered = client.get(reverse("dashboard"), {"source": tree["hardware"].pk}).content.decode()
    assert f"#{ticket.pk} Printer on floor 2 jams" in filtered  # counted, not cached, when filtered

    client.force_login(employee)
    assert "with Anna Tester" in client.get(reverse("dashboard")).content.decode()
    services.ticket_update(ticket=ticket, actor=agent, status="resolved")
    assert "You have no open tickets." in client.get(reverse("dashboard")).content.decode()


def test_the_sidebars_saved_lists_follow_every_save_and_delete(client, agent, second_agent):
    def sidebar() -> str:
        return client.get(reverse("dashboard")).content.decode().split("Saved lists", 1)[1].split("</nav>", 1)[0]

    client.force_login(agent)
    assert "Printers" not in sidebar()
    shared = SavedTicketFilter.objects.create(owner=second_agent, name="Printers", query="q=printer", is_shared=True)
    assert "Printers" in sidebar()  # another agent's list, shared
    shared.name = "Printers and scanners"
    shared.save()
    assert "Printers and scanners" in sidebar()
    shared.delete()
    assert "Printers" not in sidebar()


def test_the_facts_and_the_reply_fields_are_cached_but_errors_and_overdue_are_current(client, ticket, agent):
    client.force_login(agent)
    url = ticket.get_absolute_url()
    morning = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with time_machine.travel(morning, tick=False):
        services.ticket_update(ticket=ticket, actor=agent, due_date=date(2026, 3, 2))
        facts = client.get(url).content.decode().split("ticket-facts", 1)[1].split("</dl>", 1)[0]
        assert "text-danger" not in facts
        client.get(url)
    with time_machine.travel(morning + timedelta(days=1), tick=False):
        facts = client.get(url).content.decode().split("ticket-facts", 1)[1].split("</dl>", 1)[0]
        assert "text-danger" in facts  # overdue from today on

        invalid = client.post(reverse("tickets:comment", args=[ticket.pk]), {"body": ""})
        assert invalid.status_code == 400
        assert 'aria-invalid="true"' in invalid.content.decode().split('id="reply"', 1)[1]
        assert 'aria-invalid="true"' not in client.get(url).content.decode().split('id="reply"', 1)[1]


def test_pages_render_without_the_cache_when_it_fails(client, ticket, agent, monkeypatch):
    class DownError(Exception):
        pass

    def fail(*args, **kwargs):
        raise DownError("Redis is down")

    store = caches["default"]
    for operation in ("get", "set", "get_or_set"):
        monkeypatch.setattr(store, operation, fail)
    client.force_login(agent)

    for url in (ticket.get_absolute_url(), reverse("dashboard"), reverse("tickets:list")):
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Printer on floor 2 jams" in response.content.decode()


def test_sessions_from_before_the_role_backend_stay_signed_in(client, agent):
    client.force_login(agent, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    assert session[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"

    assert client.get(reverse("tickets:analysis")).status_code == 200


def test_a_generation_is_renewed_at_once_and_again_when_the_change_commits(db, django_capture_on_commit_callbacks):
    before = fragments.generation("tickets")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        fragments.bump("tickets")
    during = fragments.generation("tickets")
    for callback in callbacks:
        callback()  # the commit: a page read in between may have cached the old data under ``during``

    assert len({before, during, fragments.generation("tickets")}) == 3


def test_every_ticket_workflow_renews_the_tickets_generation(ticket, agent, employee):
    seen = {fragments.generation("tickets")}
    log = check_upload(SimpleUploadedFile("log.txt", b"jam\n", content_type="text/plain"))
    for change in (
        lambda: services.ticket_comment(ticket=ticket, author=employee, body="Still jams."),
        lambda: services.ticket_take(ticket=ticket, agent=agent),
        lambda: services.ticket_update(ticket=ticket, actor=agent, status="waiting"),
        lambda: services.ticket_attach(ticket=ticket, user=employee, files=[log]),
        lambda: services.ticket_close(ticket=ticket, user=employee),
    ):
        change()
        ticket.refresh_from_db()
        seen.add(fragments.generation("tickets"))

    assert len(seen) == 6
