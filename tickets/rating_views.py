"""Rating a resolved ticket: on its page (signed in) or through the signed link of a notification."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tickets import ratings
from tickets.forms import RatingForm
from tickets.views import _invalid, _visible_ticket


def _record(ticket, rater, form: RatingForm) -> tuple[str, str]:
    """Record the rating; returns the message level and the thanks to show."""
    result = ratings.ticket_rate(
        ticket=ticket,
        user=rater,
        is_positive=form.cleaned_data["answer"] == ratings.UP,
        comment=form.cleaned_data["comment"],
        reopen=form.cleaned_data["reopen"],
    )
    if result.reopened:
        return "success", _("Thank you. The ticket was reopened; IT will look at it again.")
    if result.reopen_refused:
        return "warning", _("Thank you. The ticket can no longer be reopened; please file a new one if you need help.")
    return "success", _("Thank you for your rating.")


@login_required
@require_POST
def ticket_rate(request, pk: int):
    ticket = _visible_ticket(request, pk)
    if ticket.requester_id != request.user.pk:
        raise Http404  # only the requester rates; for everyone else there is nothing here
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _invalid(request, ticket, rating_form=form)
    try:
        level, thanks = _record(ticket, request.user, form)
        messages.add_message(request, messages.WARNING if level == "warning" else messages.SUCCESS, thanks)
    except ratings.AlreadyRated:
        messages.info(request, _("You have rated this ticket already."))
    except PermissionDenied:
        messages.error(request, _("This ticket cannot be rated now."))
    return redirect(ticket)


@require_http_methods(["GET", "POST"])
def rate_by_link(request, token: str):
    """The one page a rating link opens, signed in or not; it shows nothing but the ticket's title."""
    try:
        target = ratings.ticket_for_token(token)
    except ratings.AlreadyRated:
        return render(request, "tickets/rating_link.html", {"done": True, "already": True})
    except ratings.RatingLinkError as error:
        return render(request, "tickets/rating_link.html", {"error": str(error)}, status=400)
    ticket = target.ticket
    if request.method == "POST":
        form = RatingForm(request.POST)
        if form.is_valid():
            try:
                level, thanks = _record(ticket, target.rater, form)
            except ratings.AlreadyRated:
                return render(request, "tickets/rating_link.html", {"done": True, "already": True})
            context = {"done": True, "ticket": ticket, "level": level, "thanks": thanks}
            return render(request, "tickets/rating_link.html", context)
        status = 400
    else:
        answer = request.GET.get("answer")
        form = RatingForm(initial={"answer": answer if answer in (ratings.UP, ratings.DOWN) else None})
        status = 200
    context = {
        "ticket": ticket,
        "form": form,
        "can_reopen": ticket.can_be_reopened_by(target.rater),
        "reopen_days": settings.TICKET_REOPEN_DAYS,
    }
    return render(request, "tickets/rating_link.html", context, status=status)
