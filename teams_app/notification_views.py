from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from teams_app.forms import NotificationSettingsForm


@login_required
def notification_settings(request):
    """Each person chooses how they hear of each kind of ticket news."""
    form = NotificationSettingsForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, _("Your notification settings were saved."))
            return redirect("teams_app:notification_settings")
        messages.error(request, _("Nothing was saved. Please correct the errors below."))
    return render(request, "teams_app/notification_settings.html", {"form": form}, status=400 if form.errors else 200)
