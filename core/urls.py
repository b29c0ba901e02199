from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from core import views as core_views
from tickets import views as ticket_views

admin.site.site_header = _("TinyTeamsTicket administration")
admin.site.site_title = "TinyTeamsTicket"
admin.site.index_title = _("Administration")

urlpatterns = [
    path("", ticket_views.dashboard, name="dashboard"),
    path("tickets/", include("tickets.urls")),
    path("accounts/", include("accounts.urls")),
    # Microsoft sign-in: /auth/login/azuread-v2-tenant-oauth2/ (POST) and /auth/complete/.../
    path("auth/", include("social_django.urls", namespace="social")),
    # The Teams tab; the whole site is also served under /teams/app/ (teams_app.middleware).
    path("teams/", include("teams_app.urls")),
    path("admin/", admin.site.urls),
    path("healthz", core_views.health, name="health"),
]

# A request body too large to read gets a page that names the limit it hit (413).
handler400 = "core.views.bad_request"
