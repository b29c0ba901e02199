"""Pages and actions of known issues, affected people, duplicates, merges and similar tickets."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets import known_issues
from tickets.known_issue_forms import KnownIssueForm, ResolveKnownIssueForm, TicketIdForm
from tickets.known_issues import BANNER_LIMIT, is_affected_only, known_issue_of
from tickets.models import AffectedPerson, KnownIssue, Ticket
from tickets.similar import similar_for_agent, similar_for_employee
from tickets.views import _invalid, _visible_ticket, agent_required


def detail_context(request, ticket: Ticket, forms: dict, path: list) -> dict:
    """What the detail page shows of known issues: for agents the forms and the affected people
    (similar tickets and known issues it may duplicate come with ``similar_panel``, after the page);
    for affected people their view."""
    user = request.user
    known = known_issue_of(ticket)
    affected_view = is_affected_only(ticket, user)
    context = {
        "known_issue": known,
        "affected_view": affected_view,
        # An affected person learns nothing about who filed the ticket.
        "requester_name": known_issues.A_COLLEAGUE if affected_view else ticket.requester.display_name,
    }
    if not user.is_agent:
        return context
    initial = {"problem_source": (known.problem_source_id if known else ticket.problem_source_id)}
    if known:
        initial["status_text"] = known.status_text
    context.update(
        known_issue_form=forms.get("known_issue_form") or KnownIssueForm(nodes=path, initial=initial),
        resolve_form=forms.get("resolve_form") or ResolveKnownIssueForm(initial=initial),
        affected_people=list(AffectedPerson.objects.filter(ticket=ticket).select_related("user")) if known else [],
    )
    return context


@agent_required
@require_GET
def similar_panel(request, pk: int):
    """For IT staff, loaded by the detail page after it is shown: open known issues this ticket may
    duplicate (one click attaches it) and similar open tickets of anybody (one click merges)."""
    ticket = _visible_ticket(request, pk)
    is_known = known_issue_of(ticket) is not None
    context = {"ticket": ticket, "duplicate_of": [], "similar": [], "is_known": is_known}
    if ticket.is_open:
        # A known issue lists similar tickets to attach to it as duplicates instead.
        context["similar"] = similar_for_agent(ticket)
    if ticket.is_open and not is_known:
        context["duplicate_of"] = list(
            KnownIssue.objects.current()
            .covering(ticket.problem_source)
            .exclude(ticket=ticket)
            .order_by("-updated_at")[:BANNER_LIMIT]
        )
    return render(request, "tickets/_similar_panel.html", context)


def _refused(request, ticket, error: ValidationError):
    messages.error(request, " ".join(error.messages))
    return redirect(ticket)


@agent_required
@require_POST
def known_issue_mark(request, pk: int):
    ticket = _visible_ticket(request, pk)
    form = KnownIssueForm(request.POST, nodes=list(ticket.problem_source.get_ancestors(include_self=True)))
    if not form.is_valid():
        return _invalid(request, ticket, known_issue_form=form)
    try:
        known_issues.known_issue_mark(ticket=ticket, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        return _refused(request, ticket, error)
    messages.success(request, _("Known issue saved. Everyone affected was told of a new status."))
    return redirect(ticket)


@agent_required
@require_POST
def known_issue_resolve(request, pk: int):
    ticket = _visible_ticket(request, pk)
    form = ResolveKnownIssueForm(request.POST)
    if not form.is_valid():
        return _invalid(request, ticket, resolve_form=form)
    try:
        known_issues.known_issue_resolve(ticket=ticket, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        return _refused(request, ticket, error)
    messages.success(request, _("Known issue resolved. Everyone affected is told once."))
    return redirect(ticket)


@login_required
@require_POST
def affects_me(request, pk: int):
    """ "Affects me too" on a banner: ``pk`` is the known issue's ticket, which the person may not see yet."""
    known = get_object_or_404(KnownIssue.objects.current().select_related("ticket"), ticket_id=pk)
    try:
        added = known_issues.affected_add(ticket=known.ticket, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dashboard")
    if added:
        messages.success(request, _("Thank you. IT knows it affects you too and will tell you when it is fixed."))
    return redirect(known.ticket)


@login_required
@require_POST
def affected_remove(request, pk: int):
    """Someone leaves the affected people (themselves), or an agent removes a person (``user``)."""
    ticket = _visible_ticket(request, pk)
    person = request.user
    if request.POST.get("user") and request.user.is_agent:
        person = get_object_or_404(
            AffectedPerson.objects.select_related("user"), ticket=ticket, user_id=_int(request.POST["user"])
        ).user
    known_issues.affected_remove(ticket=ticket, user=person, actor=request.user)
    if person == request.user:
        messages.success(request, _("You are no longer affected by this ticket."))
        return redirect("dashboard")
    messages.success(request, _("%(name)s is no longer affected.") % {"name": person.display_name})
    return redirect(ticket)


def _int(value: str) -> int:
    if not value.isdecimal() or len(value) > 18:
        raise Http404
    return int(value)


def _other_ticket(request, ticket: Ticket) -> Ticket | None:
    form = TicketIdForm(request.POST)
    if not form.is_valid():
        return None
    return (
        Ticket.objects.visible_to(request.user)
        .select_related("requester")
        .filter(pk=form.cleaned_data["ticket"])
        .first()
    )


@agent_required
@require_POST
def duplicate_attach(request, pk: int):
    """Close this ticket as a duplicate of an open known issue (``ticket``); its requester becomes affected."""
    ticket = _visible_ticket(request, pk)
    known = _other_ticket(request, ticket)
    if known is None:
        messages.error(request, _("There is no such ticket. Nothing was changed."))
        return redirect(ticket)
    try:
        known_issues.duplicate_attach(duplicate=ticket, known=known, actor=request.user)
    except ValidationError as error:
        return _refused(request, ticket, error)
    text = _("Closed as a duplicate of #%(number)s; the requester is now affected by it.")
    messages.success(request, text % {"number": known.pk})
    return redirect(known)


@agent_required
@require_POST
def ticket_merge(request, pk: int):
    """Merge the ticket ``ticket`` into this one."""
    kept = _visible_ticket(request, pk)
    merged = _other_ticket(request, kept)
    if merged is None:
        messages.error(request, _("There is no such ticket. Nothing was changed."))
        return redirect(kept)
    try:
        known_issues.ticket_merge(kept=kept, merged=merged, actor=request.user)
    except ValidationError as error:
        return _refused(request, kept, error)
    messages.success(request, _("Ticket #%(number)s was merged into this one.") % {"number": merged.pk})
    return redirect(kept)


@login_required
@require_GET
def known_issue_banners(request):
    """The open known issues' banners, loaded by the dashboard (and so the Teams tab) after it is shown."""
    return render(request, "tickets/_known_issue_banners.html", {"known_issues": known_issues.banners(request.user)})


@login_required
@require_GET
def similar_tickets(request):
    """Matches for a title being typed: an HTML fragment (the form's list) or JSON (``format=json``)."""
    title = request.GET.get("title", "")[:200]
    matches = similar_for_employee(title, user=request.user)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "matches": [
                    {
                        "known_issue": match.known_issue is not None,
                        "status_text": match.known_issue.status_text if match.known_issue else None,
                        "problem_source": match.known_issue.problem_source.name if match.known_issue else None,
                        "affected": match.affected,
                        # A known issue someone else filed is named by its status only.
                        "title": match.ticket.title if match.known_issue is None else None,
                        "created_at": match.ticket.created_at.isoformat() if match.known_issue is None else None,
                        "url": match.ticket.get_absolute_url() if match.can_open(request.user) else None,
                        "affects_me_url": reverse("tickets:affects_me", args=[match.ticket.pk])
                        if match.known_issue and not match.can_open(request.user)
                        else None,
                    }
                    for match in matches
                ]
            }
        )
    return render(request, "tickets/_similar.html", {"matches": matches})
