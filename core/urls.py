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
    path("admin/", admin.site.urls),
    path("healthz", core_views.health, name="health"),
]
