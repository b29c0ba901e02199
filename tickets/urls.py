from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="new"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/comment/", views.ticket_comment, name="comment"),
    path("<int:pk>/attachments/", views.ticket_attach, name="attach"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment_download, name="attachment"),
    path("<int:pk>/take/", views.ticket_take, name="take"),
    path("<int:pk>/update/", views.ticket_update, name="update"),
    path("<int:pk>/close/", views.ticket_close, name="close"),
    path("<int:pk>/reopen/", views.ticket_reopen, name="reopen"),
]
