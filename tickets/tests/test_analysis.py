"""The analysis page: every figure against values computed by hand on a small fixed data set.

The data set (times in UTC; Europe/Berlin is UTC+1 until 30 March 2025, UTC+2 after) is built so
that time zones matter: a ticket opened at 00:30 Berlin time on 1 March is 23:30 UTC on 28 February,
one opened at 23:30 on 31 March Berlin time (summer time by then) is still in March, and one at
00:30 on 1 April Berlin time is not. The period is March 2025; the previous one is 29 January to
28 February (31 days each).

| ticket | source (tree fixture) | opened (UTC)     | first agent reply       | finished (UTC)       | now         |
|--------|-----------------------|------------------|-------------------------|----------------------|-------------|
| T1     | Paper jam             | 03-03 09:00      | +2 h                    | resolved 03-04 09:00 | resolved    |
| T2     | Toner empty           | 02-28 23:30      | +1 h (a note at +10 min) | —                   | in progress |
| T3     | Paper jam             | 02-28 22:30      | +4 h                    | resolved 03-02 22:30 | resolved    |
| T4     | Battery               | 03-10 08:00      | none (requester only)   | —                    | new         |
| T5     | Laptop (general)      | 03-15 10:00      | +30 min                 | resolved, reopened   | in progress |
| T6     | Software              | 03-16 23:30      | +3 h by a superuser     | closed 03-21 23:30   | closed      |
| T7     | Printer (general)     | 03-31 21:30      | +6 h                    | —                    | waiting     |
| T8     | Toner empty           | 03-31 22:30      | none                    | —                    | new         |
| T9     | Paper jam, by an agent | 02-10 10:00     | +5 h (not their own +1 h) | resolved 02-11 10:00 | resolved  |
| T10    | Fax paper (retired)   | 03-05 10:00      | +10 min                 | resolved 03-05 10:30 | resolved    |
| T11    | Software              | 2024-12-01 10:00 | none                    | —                    | waiting     |

Internal notes and the requester's own comments are no agent response.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tickets import analysis, services
from tickets.analysis import Period
from tickets.models import Comment, Ticket, TicketEvent

Status = Ticket.Status
MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
HOUR, MINUTE, DAY = 3600, 60, 86400


def utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_ticket(name, *, source, requester, opened, status=Status.NEW, resolved=None, closed=None, assignee=None):
    ticket = services.ticket_create(requester=requester, problem_source=source, title=name, description="text")
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=opened,
        updated_at=opened,
        status=status,
        resolved_at=resolved,
        closed_at=closed,
        assignee=assignee,
    )
    ticket.refresh_from_db()
    return ticket


def reply(ticket, author, after: timedelta, *, internal: bool = False):
    """A comment at a scripted time; the ticket's stored first response follows from the comments,
    as ``services.ticket_comment`` would have kept it had the comment been written then."""
    comment = Comment.objects.create(
        ticket=ticket, author=author, body="reply", is_internal=internal, created_at=ticket.created_at + after
    )
    Ticket.objects.filter(pk=ticket.pk).update(first_response_at=analysis.first_agent_response_at())
    return comment


def status_change(ticket, actor, old: str, new: str, *, at: datetime):
    """A status event at a scripted time; the ticket's stored reopen count follows from the events,
    as the services would have kept it had the change been made then."""
    TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=TicketEvent.Kind.STATUS, old_value=old, new_value=new, created_at=at
    )
    Ticket.objects.filter(pk=ticket.pk).update(reopened_count=analysis.reopens_from_events())


@pytest.fixture
def march(tree, employee, other_employee, agent, second_agent, admin):
    """The fixed data set of the module docstring; returns the tickets by name."""
    t = {}
    t["T1"] = make_ticket(
        "T1", source=tree["paper_jam"], requester=employee, opened=utc(3, 3, 9), status=Status.RESOLVED,
        resolved=utc(3, 4, 9), assignee=agent,
    )  # fmt: skip
    reply(t["T1"], agent, timedelta(hours=2))
    reply(t["T1"], employee, timedelta(hours=1))  # the requester's own comment is no response

    t["T2"] = make_ticket(
        "T2", source=tree["toner"], requester=other_employee, opened=utc(2, 28, 23, 30), status=Status.IN_PROGRESS,
        assignee=agent,
    )  # fmt: skip
    reply(t["T2"], agent, timedelta(minutes=10), internal=True)
    reply(t["T2"], agent, timedelta(hours=1))
    reply(t["T2"], second_agent, timedelta(hours=3))

    t["T3"] = make_ticket(
        "T3", source=tree["paper_jam"], requester=employee, opened=utc(2, 28, 22, 30), status=Status.RESOLVED,
        resolved=utc(3, 2, 22, 30), assignee=second_agent,
    )  # fmt: skip
    reply(t["T3"], second_agent, timedelta(hours=4))

    t["T4"] = make_ticket("T4", source=tree["battery"], requester=employee, opened=utc(3, 10, 8))
    reply(t["T4"], employee, timedelta(hours=1))

    t["T5"] = make_ticket(
        "T5", source=tree["laptop"], requester=other_employee, opened=utc(3, 15, 10), status=Status.IN_PROGRESS,
        assignee=agent,
    )  # fmt: skip
    reply(t["T5"], agent, timedelta(minutes=30))
    status_change(t["T5"], agent, Status.IN_PROGRESS, Status.RESOLVED, at=utc(3, 15, 10, 45))
    status_change(t["T5"], other_employee, Status.RESOLVED, Status.IN_PROGRESS, at=utc(3, 16, 9))

    t["T6"] = make_ticket(
        "T6", source=tree["software"], requester=employee, opened=utc(3, 16, 23, 30), status=Status.CLOSED,
        closed=utc(3, 21, 23, 30),
    )  # fmt: skip
    reply(t["T6"], admin, timedelta(hours=3))

    t["T7"] = make_ticket("T7", source=tree["printer"], requester=employee, opened=utc(3, 31, 21, 30))
    Ticket.objects.filter(pk=t["T7"].pk).update(status=Status.WAITING)
    reply(t["T7"], agent, timedelta(hours=6))

    t["T8"] = make_ticket("T8", source=tree["toner"], requester=employee, opened=utc(3, 31, 22, 30))

    t["T9"] = make_ticket(
        "T9", source=tree["paper_jam"], requester=agent, opened=utc(2, 10, 10), status=Status.RESOLVED,
        resolved=utc(2, 11, 10), assignee=second_agent,
    )  # fmt: skip
    reply(t["T9"], agent, timedelta(hours=1))  # an agent's comment on their own ticket is no response
    reply(t["T9"], second_agent, timedelta(hours=5))

    t["T10"] = make_ticket(
        "T10", source=tree["retired_child"], requester=other_employee, opened=utc(3, 5, 10),
        status=Status.RESOLVED, resolved=utc(3, 5, 10, 30), assignee=agent,
    )  # fmt: skip
    reply(t["T10"], agent, timedelta(minutes=10))

    t["T11"] = make_ticket(
        "T11", source=tree["software"], requester=employee, opened=utc(12, 1, 10, year=2024), status=Status.WAITING
    )
    return t


def analyse(node=None, period=MARCH):
    return analysis.analyse(tickets=Ticket.objects.all(), node=node, period=period)


def row(result, name):
    return next(r for r in result.rows if r.node is not None and r.node.name_en == name and r.kind == "child")


# --- The figures ----------------------------------------------------------------------------------


def test_period_bounds_are_local_midnights_across_summer_time():
    start, end = MARCH.bounds()

    assert start.astimezone(UTC) == utc(2, 28, 23)  # CET, UTC+1
    assert end.astimezone(UTC) == utc(3, 31, 22)  # CEST, UTC+2
    assert MARCH.previous() == Period(date(2025, 1, 29), date(2025, 2, 28))
    assert MARCH.days == 31


def test_percentile_cont_interpolates_like_postgresql():
    assert analysis.percentile_cont([], 0.5) is None
    assert analysis.percentile_cont([7.0], 0.9) == 7.0
    assert analysis.percentile_cont([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert analysis.percentile_cont([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)


def test_totals_for_all_problem_sources(march):
    total = analyse().total

    assert total.opened == 7  # T1 T2 T4 T5 T6 T7 T10; not T3 (28 Feb, 23:30 Berlin) nor T8 (1 April, 00:30)
    assert total.closed == 4  # T1 T3 T6 (closed without resolved_at) T10; T5 was reopened
    assert total.backlog == 6  # T2 T4 T5 T7 T8 T11, whatever the period
    assert total.unassigned == 4  # T4 T7 T8 T11
    assert total.without_response == 1  # T4
    assert total.reopened == 1  # T5
    assert total.reopen_rate == pytest.approx(1 / 7)
    assert total.on_general_topic == 2  # T5 on Laptop, T7 on Printer
    assert total.general_topic_share == pytest.approx(2 / 7)


def test_response_and_resolution_percentiles(march):
    total = analyse().total

    # Responses (s): T10 600, T5 1800, T2 3600, T1 7200, T6 10800, T7 21600 (T4 has none).
    assert total.response_median == pytest.approx(5400)  # between 3600 and 7200
    assert total.response_p90 == pytest.approx(16200)  # 10800 + 0.5 × 10800
    # Resolutions (s): T10 1800, T1 86400, T3 172800, T6 432000.
    assert total.resolution_median == pytest.approx(129600)
    assert total.resolution_p90 == pytest.approx(354240)  # 172800 + 0.7 × 259200


def test_previous_period_and_trend(march):
    result = analyse()

    assert result.previous.opened == 2  # T3, T9
    assert result.previous.closed == 1  # T9
    assert result.previous.response_median == pytest.approx(16200)  # T3 14400, T9 18000
    assert result.previous.resolution_median == pytest.approx(DAY)
    assert result.total.opened_previous == 2
    assert result.total.opened_trend == pytest.approx(2.5)  # 7 against 2: +250 %


def test_children_of_the_root_are_the_top_level_sources(march):
    result = analyse()
    hardware, software = row(result, "Hardware").figures, row(result, "Software").figures

    assert [r.kind for r in result.rows] == ["total", "child", "child"]
    assert (hardware.opened, hardware.closed, hardware.backlog, hardware.opened_previous) == (6, 3, 5, 2)
    assert (software.opened, software.closed, software.backlog, software.opened_previous) == (1, 1, 1, 0)
    assert hardware.response_median == pytest.approx(3600)  # 600 1800 3600 7200 21600
    assert hardware.response_p90 == pytest.approx(15840)  # 7200 + 0.6 × 14400
    assert hardware.resolution_median == pytest.approx(DAY)  # 1800 86400 172800
    assert hardware.resolution_p90 == pytest.approx(155520)
    assert software.response_median == software.response_p90 == pytest.approx(3 * HOUR)
    assert software.resolution_median == pytest.approx(5 * DAY)


def test_drilling_into_a_subtree_by_its_mptt_range(march, tree):
    result = analyse(tree["hardware"])

    assert [node.name_en for node in result.path] == ["Hardware"]
    assert result.total.opened == 6
    printer, laptop, fax = (row(result, name).figures for name in ("Printer", "Laptop", "Fax"))
    assert (printer.opened, printer.closed, printer.backlog) == (3, 2, 3)  # T1 T2 T7; T1 T3; T2 T7 T8
    assert (laptop.opened, laptop.reopened, laptop.on_general_topic, laptop.without_response) == (2, 1, 1, 1)
    assert (fax.opened, fax.closed, fax.resolution_median) == (1, 1, pytest.approx(30 * MINUTE))
    assert not [r for r in result.rows if r.kind == "direct"]  # nothing is filed on Hardware itself


def test_tickets_on_an_inner_node_itself_get_their_own_row(march, tree):
    result = analyse(tree["printer"])

    direct = next(r for r in result.rows if r.kind == "direct")
    assert direct.node == tree["printer"]
    assert (direct.figures.opened, direct.figures.backlog, direct.figures.on_general_topic) == (1, 1, 1)  # T7
    assert row(result, "Paper jam").figures.closed == 2  # T1, T3
    assert row(result, "Toner empty").figures.backlog == 2  # T2, T8


def test_weeks_start_on_monday_in_the_site_time_zone(march):
    weeks = {week.monday: (week.opened, week.closed) for week in analyse().weeks}

    assert weeks == {
        date(2025, 2, 24): (1, 1),  # T2 opened Sat 1 March 00:30; T3 resolved Sun 2 March 23:30
        date(2025, 3, 3): (2, 2),  # T1 T10
        date(2025, 3, 10): (2, 0),  # T4 T5
        # T6: Sunday 23:30 UTC is Monday 00:30 in Berlin, so its week is 17 March, not 10 March.
        date(2025, 3, 17): (1, 1),
        date(2025, 3, 24): (0, 0),
        date(2025, 3, 31): (1, 0),  # T7
    }


def test_resolution_time_histogram(march):
    histogram = {resolution_bin.key: count for resolution_bin, count in analyse().histogram}

    assert histogram == {"1h": 1, "4h": 0, "1d": 0, "3d": 2, "1w": 1, "4w": 0, "more": 0}


def test_an_empty_period_has_zeros_and_no_percentiles(march):
    result = analyse(period=Period(date(2020, 1, 1), date(2020, 1, 7)))

    assert (result.total.opened, result.total.closed, result.total.backlog) == (0, 0, 6)
    assert result.total.response_median is None
    assert result.total.reopen_rate is None
    assert result.total.opened_trend is None
    assert len(result.weeks) == 2


# --- The page -------------------------------------------------------------------------------------

MARCH_QUERY = {"period": "custom", "start": "2025-03-01", "end": "2025-03-31"}


def analysis_page(client, **params):
    return client.get(reverse("tickets:analysis"), {**MARCH_QUERY, **params})


def list_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    assert not response.context["form"].errors, (url, response.context["form"].errors)
    return response.context["page"].paginator.count


@pytest.mark.parametrize("persona", ["employee", "other_employee"])
def test_employees_get_404_on_the_analysis_and_its_export(client, march, persona, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("tickets:analysis")).status_code == 404
    assert analysis_page(client).status_code == 404
    assert client.get(reverse("tickets:analysis_export"), MARCH_QUERY).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("tickets:analysis"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_the_page_shows_the_figures_of_the_chosen_node(client, march, agent, tree):
    client.force_login(agent)

    response = analysis_page(client, source=tree["hardware"].pk)

    assert response.status_code == 200
    context = response.context
    assert context["result"].node == tree["hardware"]
    assert context["total"].opened == 6
    assert [row.label for row in context["rows"]] == ["Hardware", "Printer", "Laptop", "Fax"]
    html = response.content.decode()
    assert "retired" in html  # Fax is inactive but still has tickets
    assert f"source={tree['printer'].pk}" in html  # drill down
    assert 'id="analysis-data"' in html
    assert "All problem sources" in html  # the breadcrumb back up


def test_the_page_has_no_inline_script(client, march, agent):
    client.force_login(agent)

    html = analysis_page(client).content.decode()

    scripts = html.split("<script")[1:]
    assert scripts
    for tag in scripts:
        head = tag.split(">", 1)[0]
        assert 'src="' in head or 'type="application/json"' in head, head


def test_retired_children_without_tickets_are_left_out(client, march, agent, tree):
    client.force_login(agent)

    rows = analysis_page(client, period="7", source=tree["hardware"].pk).context["rows"]

    assert "Fax" not in [row.label for row in rows]


@pytest.mark.parametrize("node", [None, "hardware", "printer"])
def test_every_figure_links_to_a_list_with_exactly_its_tickets(client, march, agent, tree, node):
    client.force_login(agent)
    params = {"source": tree[node].pk} if node else {}

    response = analysis_page(client, **params)

    rows = response.context["rows"]
    assert len(rows) > 1
    for row in rows:
        figures, links = row.figures, row.links
        expected = {
            "opened": figures.opened,
            "opened_previous": figures.opened_previous,
            "closed": figures.closed,
            "backlog": figures.backlog,
            "unassigned": figures.unassigned,
            "response": figures.opened - figures.without_response,
            "without_response": figures.without_response,
            "resolution": figures.closed,
            "reopened": figures.reopened,
            "general_topic": figures.on_general_topic,
        }
        for figure, count in expected.items():
            assert list_count(client, links[figure]) == count, (row.label, figure, links[figure])
    if node is not None:
        return  # the charts' links are the same for every node; checked once, for all sources
    for week, opened_url, closed_url in response.context["weeks"]:
        assert list_count(client, opened_url) == week.opened
        assert list_count(client, closed_url) == week.closed
    for _bin, count, url in response.context["histogram"]:
        assert list_count(client, url) == count
    chart = response.context["chart_data"]
    assert chart["weeks"]["opened"] == [week.opened for week, _o, _c in response.context["weeks"]]


def test_the_links_reproduce_the_hand_computed_figures(client, march, agent):
    client.force_login(agent)

    links = analysis_page(client).context["links"]

    assert list_count(client, links["opened"]) == 7
    assert list_count(client, links["closed"]) == 4
    assert list_count(client, links["without_response"]) == 1
    assert list_count(client, links["reopened"]) == 1
    assert list_count(client, links["general_topic"]) == 2


def test_the_links_of_the_tickets_on_a_node_itself_use_the_exact_filter(client, march, agent, tree):
    client.force_login(agent)

    rows = analysis_page(client, source=tree["printer"].pk).context["rows"]

    direct = next(row for row in rows if row.kind == "direct")
    assert "filed_on=exact" in direct.links["opened"]
    response = client.get(direct.links["backlog"])
    assert [ticket.title for ticket in response.context["page"].object_list] == ["T7"]


@pytest.mark.parametrize(
    "params",
    [
        {"period": "custom", "start": "2025-03-31", "end": "2025-03-01"},
        {"period": "custom", "start": "0001-01-01", "end": "0001-01-02"},
        {"period": "custom", "start": "9999-12-31", "end": "9999-12-31"},
        {"period": "custom", "start": "2019-01-01", "end": "2025-03-01"},
        {"period": "custom", "start": "not-a-date"},
        {"period": "decade"},
        {"source": "999999"},
        {"source": "1 OR 1=1"},
    ],
)
def test_invalid_parameters_fall_back_to_the_default_period(client, agent, tree, params):
    client.force_login(agent)

    response = client.get(reverse("tickets:analysis"), params)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["result"].period.days == 30
    assert response.context["result"].node is None


@pytest.mark.parametrize(
    ("choice", "start"),
    [("7", date(2025, 3, 25)), ("30", date(2025, 3, 2)), ("90", date(2025, 1, 1)), ("year", date(2025, 1, 1))],
)
def test_period_presets_end_today(choice, start):
    from tickets.forms import AnalysisForm

    form = AnalysisForm({"period": choice})
    assert form.is_valid()

    assert form.get_period(date(2025, 3, 31)) == (choice, Period(start, date(2025, 3, 31)))


def test_query_count_does_not_grow_with_data(client, march, agent, tree, employee, django_assert_max_num_queries):
    client.force_login(agent)
    url = reverse("tickets:analysis")

    def count() -> int:
        caches["default"].clear()  # nothing cached: the worst case
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, {**MARCH_QUERY, "source": tree["hardware"].pk}).status_code == 200
        return len(captured)

    few = count()
    for number in range(30):
        ticket = make_ticket(
            f"More {number}", source=(tree["paper_jam"], tree["battery"], tree["laptop"])[number % 3],
            requester=employee, opened=utc(3, 1 + number % 28, 10), status=Status.RESOLVED,
            resolved=utc(3, 1 + number % 28, 12),
        )  # fmt: skip
        reply(ticket, agent, timedelta(minutes=5 + number))
    services.ticket_update(ticket=ticket, actor=agent, status=Status.IN_PROGRESS)

    with django_assert_max_num_queries(16):
        many = count()
    assert many == few


def test_the_table_export_has_the_figures_of_the_page(client, march, agent, tree):
    client.force_login(agent)

    response = client.get(reverse("tickets:analysis_export"), {**MARCH_QUERY, "source": tree["hardware"].pk})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="analysis-hardware-2025-03-01-2025-03-31.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    lines = [line.split(",") for line in text.lstrip("\ufeff").splitlines()]
    assert lines[0][:4] == ["From", "Until", "Problem source", "Opened"]
    assert [line[2] for line in lines[1:]] == ["Hardware", "Printer", "Laptop", "Fax"]
    hardware = dict(zip(lines[0], lines[1], strict=True))
    assert hardware["From"] == "2025-03-01"
    assert (hardware["Opened"], hardware["Resolved or closed"], hardware["Open now"]) == ("6", "3", "5")
    assert hardware["Median first response (hours)"] == "1.0"  # 3600 s
    assert hardware["Reopen rate (%)"] == "16.7"  # 1 of 6


# --- In the browser -------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_charts_draw_and_follow_the_colour_mode(page, live_server, march, agent):
    from playwright.sync_api import expect

    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill("anna-pass-123")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}{reverse('tickets:analysis')}?period=custom&start=2025-03-01&end=2025-03-31")
    page.evaluate("document.documentElement.setAttribute('data-bs-theme', 'light')")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Analysis")
    tick_colour = "() => Chart.getChart('chart-weeks').options.scales.y.ticks.color"
    counts = page.evaluate("() => Chart.getChart('chart-weeks').data.datasets.map(d => d.data.reduce((a, b) => a + b))")
    assert counts == [7, 4]
    light = page.evaluate(tick_colour)
    page.evaluate("document.documentElement.setAttribute('data-bs-theme', 'dark')")
    page.wait_for_function(f"({tick_colour})() !== {light!r}")
    dark = page.evaluate(tick_colour)
    assert dark != light
    for chart in ("chart-weeks", "chart-resolution", "chart-children"):
        assert page.evaluate(f"() => Chart.getChart('{chart}').canvas.height") > 100
    assert not problems
