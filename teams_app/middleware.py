"""The app inside a Microsoft Teams tab.

Teams shows the tab in an iframe. Every page refuses to be framed (CSP ``frame-ancestors 'none'``)
except those under ``/teams/``, which Teams and Microsoft 365 hosts may frame. So that the whole app
works in the tab and every link stays inside it, the site is served a second time under
``/teams/app/``: the prefix middleware strips it before URL resolution and makes it the script
prefix, so ``reverse()``, ``{% url %}`` and redirects all produce ``/teams/app/...`` addresses.
"""

from django.http import HttpResponseRedirect
from django.urls import get_script_prefix, set_script_prefix

TEAMS_PREFIX = "/teams/"
# Teams opens these in a popup and waits for them to report back through window.opener; COOP
# same-origin (Django's default) would cut the popup off from its opener.
TEAMS_POPUP_PREFIX = "/teams/auth/"
TEAMS_APP_PREFIX = "/teams/app"
# Never served under the prefix, so never framed: the admin and the password pages (a framed form
# for passwords invites clickjacking). There they redirect to the site itself (core/urls.py,
# accounts/urls.py); links to them open a window of their own in the tab.
TEAMS_APP_EXCLUDED = ("/admin/", "/accounts/password/")
TEAMS_SDK_CDN = "https://res.cdn.office.net"
TEAMS_FRAME_ANCESTORS = [
    "https://teams.microsoft.com",
    "https://*.teams.microsoft.com",
    "https://*.cloud.microsoft",
    "https://*.office.com",
    "https://*.microsoft365.com",
]


def in_teams(request) -> bool:
    return request.path.startswith(TEAMS_PREFIX)


class TeamsPrefixMiddleware:
    """First in MIDDLEWARE: serve ``/teams/app/<path>`` as ``/<path>`` under a script prefix."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path != TEAMS_APP_PREFIX and not path.startswith(f"{TEAMS_APP_PREFIX}/"):
            return self.get_response(request)
        stripped = path[len(TEAMS_APP_PREFIX) :] or "/"
        if any(stripped == excluded.rstrip("/") or stripped.startswith(excluded) for excluded in TEAMS_APP_EXCLUDED):
            return HttpResponseRedirect(request.get_full_path().replace(TEAMS_APP_PREFIX, "", 1))
        previous = get_script_prefix()
        request.path_info = stripped
        set_script_prefix(f"{previous.rstrip('/')}{TEAMS_APP_PREFIX}/")
        try:
            return self.get_response(request)
        finally:
            # The prefix is thread-local; whatever runs next in this thread must not inherit it.
            set_script_prefix(previous)


class TeamsFramingMiddleware:
    """After django-csp's middleware in MIDDLEWARE (so it runs first on the way out): pages under
    ``/teams/`` may be framed by Teams and Microsoft 365, and by nothing else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if in_teams(request):
            response._csp_replace = {"frame-ancestors": TEAMS_FRAME_ANCESTORS}
            # The Teams SDK loads its list of valid host domains from Microsoft's CDN.
            response._csp_update = {"connect-src": [TEAMS_SDK_CDN]}
            response.xframe_options_exempt = True
        if keeps_the_opener(request, response):
            # Set before SecurityMiddleware sees the response, which then keeps it.
            response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        return response


def keeps_the_opener(request, response) -> bool:
    """The popup's pages, and the redirects of the Microsoft sign-in on its way (social-auth's begin
    and complete): browsers apply COOP to redirects too, and a same-origin one there would cut the
    popup off as well. A redirect shows no document, so it gives nothing away by leaving COOP open."""
    if request.path.startswith(TEAMS_POPUP_PREFIX):
        return True
    match = request.resolver_match
    return match is not None and match.namespace == "social" and 300 <= response.status_code < 400
