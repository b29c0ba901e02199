from collections import Counter, defaultdict
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, F, Q, QuerySet, Value
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from teams_app import dialogs
from tickets import drafts, known_issues, problem_sources, ratings, self_help, services, sla
from tickets.forms import (
    AttachmentForm,
    CommentForm,
    RatingForm,
    SavedTicketFilterForm,
    TicketCreateForm,
    TicketFilterForm,
    TicketUpdateForm,
)
from tickets.models import Attachment, ProblemSource, Ticket, TicketEvent, TicketStatusCount
from tickets.rows import history_rows, ticket_rows, ticket_rows_by_id, timeline_rows
from tickets.sidebar import agent_sidebar
from tickets.timeline import label_events
from tickets.widgets import ProblemSourceSearchInput, node_path

HISTORY_PAGE_SIZE = 25
MAX_PAGE_NUMBER = 100_000


def agent_required(view):
    """IT staff only; everyone else gets the same 404 as for a ticket they may not see."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_agent:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _visible_ticket(request, pk: int) -> Ticket:
    tickets = Ticket.objects.visible_to(request.user).select_related(
        "requester", "assignee", "problem_source", "team", "sla_policy__calendar", "known_issue"
    )
    return get_object_or_404(tickets, pk=pk)


def _page_number(request) -> int:
    try:
        return min(max(int(request.GET.get("page", 1)), 1), MAX_PAGE_NUMBER)
    except (TypeError, ValueError):
        return 1


def _history_page(request, events):
    """A page of newest-first events without counting them all: one query, one extra row."""
    number = _page_number(request)
    offset = (number - 1) * HISTORY_PAGE_SIZE
    rows = history_rows(events[offset : offset + HISTORY_PAGE_SIZE + 1], viewer=request.user)
    return {
        "events": label_events(rows[:HISTORY_PAGE_SIZE]),
        "number": number,
        "has_previous": number > 1,
        "has_next": len(rows) > HISTORY_PAGE_SIZE,
    }


# --- Dashboard ------------------------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request):
    user = request.user
    events = TicketEvent.objects.visible_to(user)
    source = None
    if user.is_agent:
        path = node_path(request.GET.get("source"))  # the chosen node and its ancestors, one query
        source = path[-1] if path else None
        if source is not None:
            events = events.filter(source.subtree_filter("ticket__problem_source__"))
    events = events.order_by("-created_at", "-pk")
    context = {"history": _history_page(request, events)}
    if user.is_agent:
        # The service level's next due time first: tickets about to breach lead the queue.
        queue = ticket_rows(
            Ticket.objects.open()
            .filter(assignee=user)
            .order_by(
                F("sla_due_at").asc(nulls_last=True), "-priority", F("due_date").asc(nulls_last=True), "created_at"
            )[:10]
        )
        context.update(
            counters=_agent_counters(user),
            queue=queue,
            at_risk=[row for row in queue if row.sla_state in ("breached", "soon")],
            source=source,
            source_widget=ProblemSourceSearchInput(known_path=path).render(
                "source", source.pk if source else None, attrs={"id": "history-source"}
            ),
        )
    else:
        context["my_open"] = ticket_rows(Ticket.objects.visible_to(user).open().order_by("-updated_at")[:10])
    return render(request, "tickets/dashboard.html", context)


def _agent_counters(user) -> dict[str, int]:
    """Open, unassigned, mine and overdue tickets.

    Open tickets only: a partial index holds just them (migration 0003, ticket_open_assignee_due), so
    this reads their index entries alone (an index-only scan), however many closed tickets pile up.
    """
    # COUNT(1), not COUNT(id): the index holds no id, and counting ids would read every open ticket's row.
    one = Value(1)
    return Ticket.objects.open().aggregate(
        open=Count(one),
        unassigned=Count(one, filter=Q(assignee__isnull=True)),
        mine=Count(one, filter=Q(assignee=user)),
        overdue=Count(one, filter=Q(due_date__lt=timezone.localdate())),
    )


# --- Ticket list ----------------------------------------------------------------------------------


def filtered_tickets(request) -> tuple[TicketFilterForm, QuerySet]:
    """The list's filter form and the tickets it selects, in the list's order, from those the user
    may see. The list and its CSV export both use this, so they always agree (SECURITY.md C5)."""
    teams = (lambda: agent_sidebar(request).team_choices()) if request.user.is_agent else None
    form = TicketFilterForm(request.GET or None, user=request.user, teams=teams)
    if form.is_bound:
        form.is_valid()  # errors are shown; valid fields still filter
    tickets = form.filter(Ticket.objects.visible_to(request.user)).with_status_rank().order_by(*form.ordering())
    return form, tickets


class DeferredJoinPaginator(Paginator):
    """Picks a page's ids first, then loads those rows with their joins (``load(ids)``).

    The id query walks the sort index alone, so page 2,000 costs little more than page 1, instead of
    joining requesters, assignees and problem sources for the 50,000 rows an OFFSET skips. The total
    may be given (the list knows it from the status counts) to save a COUNT over the same rows.
    """

    def __init__(self, object_list, per_page, *, load, count=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.load = load
        if count is not None:
            self.count = count  # replaces the cached_property's COUNT query

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        return self._get_page(self.load(ids), number, self)


SEARCH_COUNT_LIMIT = 1000
"""A search counts its matches up to this many: common words match tens of thousands of tickets,
and counting them all cost more than the rest of the page. Beyond it the list says "more than"."""


def _status_counts(user, form: TicketFilterForm) -> dict[str, int] | None:
    """Tickets per status with every filter but the status itself, for the status tabs; None when a
    search matches more than SEARCH_COUNT_LIMIT tickets."""
    if user.is_agent and not form.narrows(besides_status=True):
        return TicketStatusCount.counts()  # all tickets: kept by triggers, not counted per request
    tickets = form.filter(Ticket.objects.visible_to(user), with_status=False).order_by()
    if form.search_words():
        # The statuses of the first matches, counted here: no second visit to each matching row.
        statuses = list(tickets.values_list("status", flat=True)[: SEARCH_COUNT_LIMIT + 1])
        return None if len(statuses) > SEARCH_COUNT_LIMIT else dict(Counter(statuses))
    return dict(tickets.values_list("status").annotate(n=Count("*")))  # "*": counted from an index alone


def _list_total(form: TicketFilterForm, tickets: QuerySet, counts: dict[str, int] | None) -> int:
    """How many tickets the list shows: the chosen statuses' counts, or for a search with more
    matches than SEARCH_COUNT_LIMIT, at most one more than the limit."""
    chosen = form.valid.get("status")
    if counts is None:
        if not chosen:
            return SEARCH_COUNT_LIMIT + 1  # too many matches, whatever their status
        return tickets.order_by().values("pk")[: SEARCH_COUNT_LIMIT + 1].count()
    statuses = set(chosen or Ticket.Status.values)
    if "open" in statuses:
        statuses = (statuses - {"open"}) | set(Ticket.Status.open_values())
    return sum(counts.get(status, 0) for status in statuses)


@login_required
@require_GET
def ticket_list(request):
    form, tickets = filtered_tickets(request)

    counts = _status_counts(request.user, form)
    total = _list_total(form, tickets, counts)
    total_capped = counts is None and total > SEARCH_COUNT_LIMIT  # only a search is counted so far

    paginator = DeferredJoinPaginator(
        tickets,
        form.page_size(),
        load=ticket_rows_by_id,
        count=SEARCH_COUNT_LIMIT if total_capped else total,
    )
    requested = request.GET.get("page") or "1"
    try:
        page = paginator.page(requested)
    except (EmptyPage, PageNotAnInteger):
        page = paginator.page(paginator.num_pages)
        if requested != "1":
            messages.warning(request, _("There is no page %(page)s; this is the last page.") % {"page": requested[:12]})

    query = request.GET.copy()
    query.pop("page", None)
    status_query = request.GET.copy()
    for key in ("page", "status"):
        status_query.pop(key, None)
    context = {
        "form": form,
        "page": page,
        # None for each count when a search matched too many tickets to count them.
        "status_counts": [
            (value, label, None if counts is None else counts.get(value, 0)) for value, label in Ticket.Status.choices
        ],
        "open_count": None if counts is None else sum(counts.get(value, 0) for value in Ticket.Status.open_values()),
        "total_capped": total_capped,
        "count_limit": SEARCH_COUNT_LIMIT,
        "query": query.urlencode(),
        "status_query": status_query.urlencode(),
        "selected_statuses": form.valid.get("status", []),
        "save_form": SavedTicketFilterForm(owner=request.user, initial={"query": query.urlencode()})
        if request.user.is_agent
        else None,
    }
    return render(request, "tickets/ticket_list.html", context)


# --- Filing a ticket ------------------------------------------------------------------------------


@login_required
def ticket_new(request):
    if request.method == "POST":
        form = TicketCreateForm(request.POST, request.FILES)
        if form.is_valid():
            article = self_help.article_read(
                form.cleaned_data.get("self_help_article"), form.cleaned_data["problem_source"]
            )
            ticket = services.ticket_create(
                # An agent filing a Teams message for its author (tickets.drafts); else themselves.
                requester=drafts.requester(request) or request.user,
                problem_source=form.cleaned_data["problem_source"],
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                priority=form.cleaned_data["priority"],
                files=form.cleaned_data["attachments"],
                self_help_article=article,
            )
            close_dialog = dialogs.ticket_filed(request, ticket)  # filed in a Teams dialog: close it
            drafts.discard(request)  # a draft from a Teams message is used up
            text = _("Ticket #%(number)s was created. IT staff will look at it.") % {"number": ticket.pk}
            messages.success(request, f"{text} {sla.promise(ticket)}".strip())
            return redirect(close_dialog or ticket)
        node = form.cleaned_data.get("problem_source")
        path = list(node.get_ancestors(include_self=True)) if node else []
        return render(request, "tickets/ticket_form.html", {"form": form, "node": node, "path": path}, status=400)

    node = None
    source_id = request.GET.get("source", "")
    if source_id:
        node = (
            # With its self-help article (a reverse one-to-one): the same one query.
            ProblemSource.objects.select_related("self_help").filter(pk=source_id).first()
            if source_id.isdecimal()
            else None
        )
        if node is None or not problem_sources.reachable_in_picker(node):
            messages.error(request, _("That problem source is not available. Please choose again."))
            return redirect("tickets:new")

    level = problem_sources.picker_level(node)
    file_here = request.GET.get("here") == "1" and node is not None and node.is_selectable
    article = self_help.article_for(node)
    if node is not None and (not level.choices or file_here):
        if article is not None and request.GET.get("help") != str(article.pk):  # read the help first
            from tickets.self_help_views import article_page  # it imports this module

            return article_page(request, node, article, level.path, file_here=file_here)
        initial = {"problem_source": node.pk, "self_help_article": article.pk if article else None}
        form = TicketCreateForm(initial={**initial, **drafts.initial(request)})
        context = {"form": form, "node": node, "path": level.path, "draft_requester": drafts.requester(request)}
        context["known_issues"] = known_issues.banners(request.user, node)
        return render(request, "tickets/ticket_form.html", context)
    context = {"level": level, "article": article, "known_issues": known_issues.banners(request.user, node)}
    if article is not None:
        context["article_html"] = self_help.render_article(article)
    return render(request, "tickets/ticket_picker.html", context)


# --- One ticket -----------------------------------------------------------------------------------


def _timeline(ticket: Ticket, user, attachments: list[Attachment]) -> list:
    """The ticket's events as the timeline shows them, each comment with its files."""
    events = TicketEvent.objects.filter(ticket=ticket).visible_to(user).order_by("created_at", "pk")
    rows = timeline_rows(events, viewer=user)  # names only IT staff and the viewer to employees
    by_comment = defaultdict(list)
    by_pk = {}
    for attachment in attachments:
        by_pk[attachment.pk] = attachment
        if attachment.comment_id:
            by_comment[attachment.comment_id].append(attachment)
    timeline = []
    for event in label_events(rows):
        event.attachment = by_pk.get(event.attachment_id)
        if event.kind == TicketEvent.Kind.ATTACHMENT and event.attachment and event.attachment.comment_id:
            continue  # shown with its comment
        if event.comment_id:
            event.files = by_comment.get(event.comment_id, [])
        timeline.append(event)
    return timeline


def _detail_context(request, ticket: Ticket, **forms) -> dict:
    user = request.user
    attachments = list(Attachment.objects.filter(ticket=ticket).visible_to(user))
    path = list(ticket.problem_source.get_ancestors(include_self=True))
    timeline = _timeline(ticket, user, attachments)
    if user.is_agent:
        self_help.offer_replies_as_help(ticket, timeline)
    context = {
        "ticket": ticket,
        "path": path,
        "timeline": timeline,
        "rating_form": ratings.may_rate(ticket, user, timeline) and (forms.get("rating_form") or RatingForm()),
        "attachments": attachments,
        "comment_form": forms.get("comment_form") or CommentForm(user=user),
        "attachment_form": forms.get("attachment_form") or AttachmentForm(),
        "can_close": ticket.can_be_closed_by(user),
        "can_reopen": ticket.can_be_reopened_by(user),
        "sla_clock": sla.clock(ticket) if user.is_agent else None,
        "sla_promise": sla.promise(ticket),
    }
    if user.is_agent:
        context["update_form"] = forms.get("update_form") or TicketUpdateForm(ticket=ticket, source_path=path)
        chosen = request.GET.get("problem_source", "")
        if "update_form" not in forms and chosen.isdecimal():  # sent back by the tree browser (no JS)
            context["update_form"].initial["problem_source"] = int(chosen)
        from tickets.team_views import team_form

        context["team_form"] = forms.get("team_form") or team_form(request, ticket)
    from tickets.known_issue_views import detail_context

    context.update(detail_context(request, ticket, forms, path))
    return context


@login_required
@require_GET
def ticket_detail(request, pk: int):
    ticket = _visible_ticket(request, pk)
    return render(request, "tickets/ticket_detail.html", _detail_context(request, ticket))


def _invalid(request, ticket, **forms):
    messages.error(request, _("Nothing was changed. Please correct the errors below."))
    return render(request, "tickets/ticket_detail.html", _detail_context(request, ticket, **forms), status=400)


def _refuse_affected_only(ticket: Ticket, user) -> None:
    """People who only are affected by a ticket read its public timeline; they do not write on it."""
    if known_issues.is_affected_only(ticket, user):
        raise PermissionDenied


@login_required
@require_POST
def ticket_comment(request, pk: int):
    ticket = _visible_ticket(request, pk)
    _refuse_affected_only(ticket, request.user)
    form = CommentForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _invalid(request, ticket, comment_form=form)
    comment = services.ticket_comment(
        ticket=ticket,
        author=request.user,
        body=form.cleaned_data["body"],
        is_internal=form.cleaned_data["is_internal"],
        files=form.cleaned_data["attachments"],
    )
    messages.success(request, _("Internal note added.") if comment.is_internal else _("Reply added."))
    return redirect(ticket)


@login_required
@require_POST
def ticket_attach(request, pk: int):
    ticket = _visible_ticket(request, pk)
    _refuse_affected_only(ticket, request.user)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _invalid(request, ticket, attachment_form=form)
    services.ticket_attach(ticket=ticket, user=request.user, files=form.cleaned_data["attachments"])
    messages.success(request, _("Attachment added."))
    return redirect(ticket)


@login_required
@require_GET
def attachment_download(request, pk: int, attachment_pk: int):
    attachment = get_object_or_404(Attachment.objects.visible_to(request.user).filter(ticket_id=pk), pk=attachment_pk)
    if settings.ATTACHMENT_X_ACCEL_PREFIX:
        # Permission checked: nginx sends the file from its internal location (a missing file is its 404).
        response = HttpResponse()
        response["X-Accel-Redirect"] = f"{settings.ATTACHMENT_X_ACCEL_PREFIX.rstrip('/')}/{attachment.file.name}"
        response["Content-Disposition"] = content_disposition_header(True, attachment.original_name)
    else:
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, as_attachment=True, filename=attachment.original_name)
    response["Content-Type"] = attachment.content_type
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@agent_required
@require_POST
def ticket_take(request, pk: int):
    ticket = _visible_ticket(request, pk)
    services.ticket_take(ticket=ticket, agent=request.user)
    messages.success(request, _("You are now responsible for this ticket."))
    return redirect(ticket)


@agent_required
@require_POST
def ticket_update(request, pk: int):
    ticket = _visible_ticket(request, pk)
    form = TicketUpdateForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return _invalid(request, ticket, update_form=form)
    events = services.ticket_update(ticket=ticket, actor=request.user, **form.cleaned_data)
    if events:
        messages.success(request, _("Ticket updated."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect(ticket)


@login_required
@require_POST
def ticket_close(request, pk: int):
    ticket = _visible_ticket(request, pk)
    if not ticket.can_be_closed_by(request.user):
        messages.error(request, _("This ticket is already closed."))
        return redirect(ticket)
    services.ticket_close(ticket=ticket, user=request.user)
    messages.success(request, _("Ticket closed. Thank you!"))
    return redirect(ticket)


@login_required
@require_POST
def ticket_reopen(request, pk: int):
    ticket = _visible_ticket(request, pk)
    if not ticket.can_be_reopened_by(request.user):
        messages.error(request, _("This ticket can no longer be reopened. Please file a new ticket."))
        return redirect(ticket)
    services.ticket_reopen(ticket=ticket, user=request.user)
    messages.success(request, _("Ticket reopened."))
    return redirect(ticket)
