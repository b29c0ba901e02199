from django.urls import path

from teams_app import bot_views, notification_views, setup_views, tab_views

app_name = "teams_app"

urlpatterns = [
    # Each person's choice of channel per kind of notification.
    path("notifications/", notification_views.notification_settings, name="notification_settings"),
    # The static tabs of the Teams app (see teams_app.manifest) and their sign-in.
    path("", tab_views.tab, {"entity": "myTickets"}, name="tab"),
    path("new/", tab_views.tab, {"entity": "newTicket"}, name="tab_new"),
    path("sso/", tab_views.sso, name="sso"),
    path("dialog/done/<int:pk>/", tab_views.dialog_done, name="dialog_done"),
    path("theme/", tab_views.theme, name="theme"),
    path("auth/start/", tab_views.auth_start, name="auth_start"),
    path("auth/end/", tab_views.auth_end, name="auth_end"),
    # For admins: the Entra registration checklist and the package to upload in the Teams admin center.
    path("setup/", setup_views.setup, name="setup"),
    path("setup/package.zip", setup_views.setup_package, name="setup_package"),
    path("setup/it-channel/", setup_views.setup_it_channel, name="setup_it_channel"),
    # The bot's messaging endpoint (Azure Bot registration); no trailing slash, as Microsoft's docs write it.
    path("bot/messages", bot_views.messages, name="bot_messages"),
]
