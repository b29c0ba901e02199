"""Agents hand a ticket to another IT team (tickets.routing)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tickets import routing
from tickets.forms import TicketTeamForm
from tickets.sidebar import agent_sidebar
from tickets.views import _invalid, _visible_ticket, agent_required


def team_form(request, ticket, data=None) -> TicketTeamForm:
    return TicketTeamForm(data, teams=lambda: agent_sidebar(request).team_choices(), initial={"team": ticket.team_id})


@agent_required
@require_POST
def ticket_set_team(request, pk: int):
    ticket = _visible_ticket(request, pk)
    form = team_form(request, ticket, request.POST)
    if not form.is_valid():
        return _invalid(request, ticket, team_form=form)
    team = form.cleaned_data["team"]
    try:
        events = routing.ticket_set_team(ticket=ticket, actor=request.user, team=team)
    except ValidationError as error:  # the team was retired since the form was checked
        messages.error(request, " ".join(error.messages))
        return redirect(ticket)
    if events:
        if team is None:
            messages.success(request, _("The ticket no longer belongs to a team."))
        else:
            messages.success(request, _("The ticket went to the team %(team)s.") % {"team": team.name})
    else:
        messages.info(request, _("Nothing changed."))
    return redirect(ticket)
