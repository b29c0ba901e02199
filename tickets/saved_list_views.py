"""Saved ticket lists: IT staff keep a filtered list under a name, privately or shared."""

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets.forms import SavedTicketFilterForm
from tickets.models import SavedTicketFilter
from tickets.views import agent_required


@agent_required
@require_GET
def saved_filter_list(request):
    saved = SavedTicketFilter.objects.visible_to(request.user).select_related("owner")
    return render(request, "tickets/saved_filters.html", {"saved_filters": saved})


@agent_required
@require_POST
def saved_filter_create(request):
    form = SavedTicketFilterForm(request.POST, owner=request.user)
    if form.is_valid() and (saved := form.save_unless_taken()):
        messages.success(request, _("The list “%(name)s” was saved.") % {"name": saved.name})
        return redirect(saved)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    # Back to the same list; the query is re-encoded, so nothing but a query string goes back.
    query = QueryDict(request.POST.get("query", "")[:2000]).urlencode()
    return redirect(f"{reverse('tickets:list')}?{query}" if query else reverse("tickets:list"))


@agent_required
@require_POST
def saved_filter_delete(request, pk: int):
    saved = get_object_or_404(SavedTicketFilter.objects.filter(owner=request.user), pk=pk)
    saved.delete()
    messages.success(request, _("The list “%(name)s” was deleted.") % {"name": saved.name})
    return redirect("tickets:saved")
