"""The analysis page: tickets per problem source and period, with charts and drill-down.

The figures come from :mod:`tickets.analysis`; every figure links to the ticket list with the
filters that select exactly the tickets it counts. The same table as CSV is
``tickets.export_views.analysis_export``.
"""

from datetime import date, timedelta
from functools import partial
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tickets import analysis
from tickets.forms import AnalysisForm
from tickets.models import ProblemSource, Ticket
from tickets.satisfaction import satisfaction
from tickets.views import agent_required

# --- Links to the ticket list ---------------------------------------------------------------------


def _with_query(path: str, **params) -> str:
    return f"{path}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def _list_links():
    """A function that makes links to the ticket list: reverse() once, not for each of the hundreds
    of links of the page (it cost 15 ms per page)."""
    return partial(_with_query, reverse("tickets:list"))


def _days(first: date, last: date, *, created: bool = True) -> dict[str, str]:
    names = ("created_from", "created_to") if created else ("resolved_from", "resolved_to")
    return dict(zip(names, (first.isoformat(), last.isoformat()), strict=True))


def figure_links(node: ProblemSource | None, period: analysis.Period, *, exact: bool = False) -> dict[str, str]:
    """For each figure of a row, the ticket list that shows exactly the tickets behind it."""
    link = _list_links()
    base = {"source": node.pk if node else None, "filed_on": "exact" if exact else None}
    previous = period.previous()
    opened = _days(period.start, period.end)
    opened_before = _days(previous.start, previous.end)
    finished = _days(period.start, period.end, created=False)
    finished_before = _days(previous.start, previous.end, created=False)
    return {
        "opened": link(**base, **opened),
        "opened_previous": link(**base, **opened_before),
        "closed": link(**base, **finished),
        "closed_previous": link(**base, **finished_before),
        "backlog": link(**base, status="open"),
        "unassigned": link(**base, status="open", assignee="none"),
        "response": link(**base, **opened, responded="yes"),
        "response_previous": link(**base, **opened_before, responded="yes"),
        "without_response": link(**base, **opened, responded="no"),
        "resolution": link(**base, **finished),
        "resolution_previous": link(**base, **finished_before),
        "reopened": link(**base, **opened, reopened="yes"),
        "reopened_previous": link(**base, **opened_before, reopened="yes"),
        # Tickets directly on an inner node are all on a general topic: the exact filter says it.
        "general_topic": link(**{**base, **opened, "filed_on": "exact" if exact else "general"}),
    }


# --- The analysis page ----------------------------------------------------------------------------


def analysis_for(request) -> tuple[AnalysisForm, str, analysis.Analysis]:
    form = AnalysisForm(request.GET or None)
    if form.is_bound:
        form.is_valid()  # errors are shown; the default period stands in for an invalid one
    choice, period = form.get_period(timezone.localdate())
    node = form.cleaned_data.get("source") if form.is_bound and hasattr(form, "cleaned_data") else None
    result = analysis.analyse(tickets=Ticket.objects.visible_to(request.user), node=node, period=period)
    return form, choice, result


def worth_showing(row: analysis.Row) -> bool:
    """Retired children appear while they still have tickets to count."""
    if row.kind != "child" or row.node.is_active:
        return True
    figures = row.figures
    return bool(figures.opened or figures.closed or figures.backlog or figures.opened_previous)


def _period_params(choice: str, period: analysis.Period) -> dict[str, str]:
    if choice == "custom":
        return {"period": choice, "start": period.start.isoformat(), "end": period.end.isoformat()}
    return {"period": choice}


def _chart_data(result: analysis.Analysis, rows: list[analysis.Row], week_links, histogram_links) -> dict:
    """What static/js/analysis.js draws, handed over with json_script (CSP allows no inline script)."""
    opened_urls, closed_urls = week_links
    children = sorted((row for row in rows if row.kind != "total"), key=lambda row: -row.figures.opened)
    return {
        "weeks": {
            "labels": [formats.date_format(week.monday, "MONTH_DAY_FORMAT") for week in result.weeks],
            "opened": [week.opened for week in result.weeks],
            "closed": [week.closed for week in result.weeks],
            "openedUrls": opened_urls,
            "closedUrls": closed_urls,
        },
        "children": {
            "labels": [row.label for row in children],
            "values": [row.figures.opened for row in children],
            "urls": [row.links["opened"] for row in children],
        },
        "resolution": {
            "labels": [str(resolution_bin.label) for resolution_bin, _count, _url in histogram_links],
            "values": [count for _bin, count, _url in histogram_links],
            "urls": [url for _bin, _count, url in histogram_links],
        },
        "text": {"opened": _("Opened"), "closed": _("Resolved or closed"), "tickets": _("Tickets")},
    }


def row_label(row: analysis.Row) -> str:
    if row.kind == "direct":
        return _("Directly on “%(name)s”") % {"name": row.node.name}
    return row.node.name if row.node else _("All problem sources")


@agent_required
@require_GET
def analysis_page(request):
    form, choice, result = analysis_for(request)
    rows = [row for row in result.rows if worth_showing(row)]
    for row in rows:
        row.label = row_label(row)
        row.links = figure_links(row.node, result.period, exact=row.kind == "direct")
    total_links = rows[0].links
    node_query = {"source": result.node.pk} if result.node else {}
    period_params = _period_params(choice, result.period)
    previous = result.previous
    histogram_links = [
        (resolution_bin, count, f"{total_links['closed']}&{urlencode({'resolution': resolution_bin.key})}")
        for resolution_bin, count in result.histogram
    ]
    week_links = _week_links(result)
    sla_rows = _sla_rows(request, result, rows)
    team_breaches = _team_breaches(request, result) if sla_rows else []
    context = {
        "sla_rows": sla_rows,
        "team_breaches": team_breaches,
        "form": form,
        "choice": choice,
        "periods": [
            (value, label, urlencode({"period": value, **node_query}))
            for value, label in AnalysisForm.PERIODS
            if value != "custom"
        ],
        "period_query": urlencode(period_params),
        "export_query": urlencode({**period_params, **node_query}),
        "result": result,
        "total": result.total,
        "previous": previous,
        "links": total_links,
        "rows": rows,
        "trends": {
            "opened": analysis.trend(result.total.opened, previous.opened),
            "closed": analysis.trend(result.total.closed, previous.closed),
            "response": analysis.trend(result.total.response_median, previous.response_median),
            "resolution": analysis.trend(result.total.resolution_median, previous.resolution_median),
            "reopen": analysis.trend(result.total.reopen_rate, previous.reopen_rate),
        },
        "histogram": histogram_links,
        "weeks": list(zip(result.weeks, *week_links, strict=True)),
        "chart_data": _chart_data(result, rows, week_links, histogram_links),
    }
    return render(request, "tickets/analysis.html", context)


def _week_links(result: analysis.Analysis) -> tuple[list[str], list[str]]:
    source = {"source": result.node.pk} if result.node else {}
    link = _list_links()
    opened, closed = [], []
    for week in result.weeks:
        first = max(week.monday, result.period.start)
        last = min(week.monday + timedelta(days=6), result.period.end)
        opened.append(link(**source, **_days(first, last)))
        closed.append(link(**source, **_days(first, last, created=False)))
    return opened, closed


# --- Satisfaction and self-help (tickets.satisfaction) --------------------------------------------


@agent_required
@require_GET
def satisfaction_page(request):
    form = AnalysisForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    choice, period = form.get_period(timezone.localdate())
    result = satisfaction(period)
    link = _list_links()
    finished = _days(period.start, period.end, created=False)
    for row in result.by_node:
        row.url = link(source=row.key, filed_on="exact", **finished)
    for row in result.by_agent:
        row.url = link(assignee=row.key if row.key is not None else "none", **finished)
    for row in result.by_team:
        row.url = link(team=row.key if row.key is not None else "none", **finished)
    for row in result.me_too:
        row.url = link(source=row.key, filed_on="exact")
    context = {
        "form": form,
        "choice": choice,
        "period": period,
        "periods": [
            (value, label, urlencode({"period": value})) for value, label in AnalysisForm.PERIODS if value != "custom"
        ],
        "result": result,
    }
    return render(request, "tickets/satisfaction.html", context)


def _team_breaches(request, result: analysis.Analysis) -> list:
    """Breaches of the node's subtree per IT team, each count linking to its tickets."""
    from tickets import sla_analysis

    link = _list_links()
    opened = _days(result.period.start, result.period.end)
    finished = _days(result.period.start, result.period.end, created=False)
    rows = sla_analysis.breaches_by_team(
        tickets=Ticket.objects.visible_to(request.user), node=result.node, period=result.period
    )
    for row in rows:
        base = {"source": result.node.pk if result.node else None, "team": row.team_id or "none"}
        row.response_url = link(**base, **opened, sla_result="response_missed")
        row.resolution_url = link(**base, **finished, sla_result="resolution_missed")
    return rows


def _sla_rows(request, result: analysis.Analysis, rows: list[analysis.Row]) -> list:
    """The service-level figures of the page's rows, each with its list links; [] when no ticket of
    the period is under a service level."""
    from tickets import sla, sla_analysis

    children = [row.node for row in result.rows if row.kind == "child"]
    total, per_child = sla_analysis.sla_figures(
        tickets=Ticket.objects.visible_to(request.user), node=result.node, children=children, period=result.period
    )
    if not (total.responses or total.resolutions):
        return []
    link = _list_links()
    opened = _days(result.period.start, result.period.end)
    finished = _days(result.period.start, result.period.end, created=False)
    sla_rows = []
    for row in rows:
        figures = total if row.kind == "total" else per_child.get(row.node.pk, sla_analysis.SlaFigures())
        base = {"source": row.node.pk if row.node else None, "filed_on": "exact" if row.kind == "direct" else None}
        left = figures.median_left
        sla_rows.append(
            {
                "row": row,
                "figures": figures,
                "median_left": "" if left is None else ("−" if left < timedelta(0) else "") + sla.duration_text(left),
                "late": left is not None and left < timedelta(0),
                "links": {
                    "response_met": link(**base, **opened, sla_result="response_met"),
                    "response_missed": link(**base, **opened, sla_result="response_missed"),
                    "resolution_met": link(**base, **finished, sla_result="resolution_met"),
                    "resolution_missed": link(**base, **finished, sla_result="resolution_missed"),
                },
            }
        )
    return sla_rows
