from django.urls import path

from tickets import (
    analysis_views,
    export_views,
    known_issue_views,
    rating_views,
    saved_list_views,
    self_help_views,
    source_views,
    team_views,
    views,
)

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("export.csv", export_views.ticket_export, name="export"),
    path("analysis/", analysis_views.analysis_page, name="analysis"),
    path("analysis/export.csv", export_views.analysis_export, name="analysis_export"),
    path("saved/", saved_list_views.saved_filter_list, name="saved"),
    path("saved/new/", saved_list_views.saved_filter_create, name="saved_create"),
    path("saved/<int:pk>/delete/", saved_list_views.saved_filter_delete, name="saved_delete"),
    path("new/", views.ticket_new, name="new"),
    path("problem-sources/", source_views.source_browse, name="source_browse"),
    path("problem-sources/search/", source_views.source_search, name="source_search"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/comment/", views.ticket_comment, name="comment"),
    path("<int:pk>/attachments/", views.ticket_attach, name="attach"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment_download, name="attachment"),
    path("<int:pk>/take/", views.ticket_take, name="take"),
    path("<int:pk>/update/", views.ticket_update, name="update"),
    path("<int:pk>/close/", views.ticket_close, name="close"),
    path("<int:pk>/reopen/", views.ticket_reopen, name="reopen"),
    # Self-help and ratings (tickets.self_help, tickets.ratings)
    path("new/help/<int:pk>/solved/", self_help_views.self_help_solved, name="self_help_solved"),
    path("help/", self_help_views.self_help_list, name="self_help_list"),
    path("help/<int:node_pk>/", self_help_views.self_help_edit, name="self_help_edit"),
    path("help/images/<int:pk>/", self_help_views.self_help_image, name="self_help_image"),
    path("analysis/satisfaction/", analysis_views.satisfaction_page, name="satisfaction"),
    path("<int:pk>/rate/", rating_views.ticket_rate, name="rate"),
    path("rate/<str:token>/", rating_views.rate_by_link, name="rate_link"),
    path("<int:pk>/team/", team_views.ticket_set_team, name="set_team"),
    # Known issues, affected people, duplicates, merges (tickets.known_issue_views)
    path("similar/", known_issue_views.similar_tickets, name="similar"),
    path("known-issues/", known_issue_views.known_issue_banners, name="known_issue_banners"),
    path("<int:pk>/known-issue/", known_issue_views.known_issue_mark, name="known_issue"),
    path("<int:pk>/known-issue/resolve/", known_issue_views.known_issue_resolve, name="known_issue_resolve"),
    path("<int:pk>/affects-me/", known_issue_views.affects_me, name="affects_me"),
    path("<int:pk>/affected/remove/", known_issue_views.affected_remove, name="affected_remove"),
    path("<int:pk>/duplicate/", known_issue_views.duplicate_attach, name="duplicate"),
    path("<int:pk>/merge/", known_issue_views.ticket_merge, name="merge"),
    path("<int:pk>/similar/", known_issue_views.similar_panel, name="similar_panel"),
]
