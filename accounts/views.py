from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.forms import LanguageForm, PasswordChangeForm, PreferencesForm, ThemeForm
from accounts.tokens import authority


def _safe_next(request, fallback: str = "dashboard"):
    """``next`` when it is a path on this site ("/..."; not "//host" or "/\\host"), else the fallback."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return fallback


@login_required
def profile(request):
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, _("Your settings were saved."))
            response = redirect("accounts:profile")
            _remember_language(response, request.user.language)
            return response
        messages.error(request, _("Nothing was saved. Please correct the errors below."))
    return render(request, "accounts/profile.html", {"form": form}, status=400 if form.errors else 200)


def _remember_language(response, language: str) -> None:
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)


@require_POST
def set_language(request):
    """Switch the UI language: saved on the account when signed in, and in a cookie for everyone."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Unknown language."))
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    translation.activate(language)
    response = redirect(_safe_next(request))
    _remember_language(response, language)
    return response


@login_required
@require_POST
def set_theme(request):
    """Remember light, dark or system mode. Scripts get 204; forms without JavaScript a redirect."""
    form = ThemeForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Unknown colour mode."))
    request.user.theme = form.cleaned_data["theme"]
    request.user.save(update_fields=["theme"])
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect(_safe_next(request))


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")
    success_message = gettext_lazy("Your password was changed.")


class LogoutView(auth_views.LogoutView):
    """Sign out here; with ENTRA_SIGN_OUT_OF_MICROSOFT also end the Microsoft session."""

    def post(self, request, *args, **kwargs):
        used_microsoft = request.session.get(BACKEND_SESSION_KEY) == "accounts.entra.EntraIDBackend"
        response = super().post(request, *args, **kwargs)
        if used_microsoft and settings.ENTRA_SIGN_OUT_OF_MICROSOFT:
            back = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
            return redirect(f"{authority()}/oauth2/v2.0/logout?{urlencode({'post_logout_redirect_uri': back})}")
        return response
