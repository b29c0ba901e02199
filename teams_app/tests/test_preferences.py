"""The notification settings page: one choice per kind, saved per person."""

import pytest
from django.urls import reverse

from teams_app.models import NotificationPreference
from teams_app.tests.conftest import connect_microsoft

URL = reverse("teams_app:notification_settings")
EMPLOYEE_KINDS = {"ticketReply", "ticketStatusChanged"}
AGENT_KINDS = {
    "ticketCreated",
    "ticketAssigned",
    "ticketReply",
    "ticketComment",
    "ticketStatusChanged",
    "ticketServiceLevel",
}


def choices(user) -> dict[str, str]:
    return dict(NotificationPreference.objects.filter(user=user).values_list("kind", "channel"))


def test_the_page_is_at_teams_notifications_and_needs_a_sign_in(client):
    assert URL == "/teams/notifications/"
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(("persona", "kinds"), [("employee", EMPLOYEE_KINDS), ("agent", AGENT_KINDS)])
def test_each_person_sees_the_kinds_they_can_receive(client, request, persona, kinds):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(URL)
    assert response.status_code == 200
    assert set(response.context["form"].fields) == kinds
    for kind in kinds:
        for way in ("feed", "email"):
            assert f'name="{kind}" value="{way}"' in response.text
        assert f'name="{kind}" value="chat"' not in response.text  # without the bot there is no chat


def test_without_a_microsoft_account_email_is_preselected_and_explained(client, employee):
    client.force_login(employee)
    response = client.get(URL)
    assert response.context["form"]["ticketReply"].value() == ["email"]
    assert "notifications you choose to get in Teams reach you by e-mail" in response.text


def test_with_a_microsoft_account_chat_and_feed_are_preselected(client, settings, microsoft, employee):
    settings.TEAMS_BOT_ENABLED = True
    connect_microsoft(employee, microsoft)
    client.force_login(employee)
    response = client.get(URL)
    assert response.context["form"]["ticketReply"].value() == ["chat", "feed"]
    assert 'name="ticketReply" value="chat"' in response.text
    assert "reach you by e-mail" not in response.text


def test_saving_stores_one_combination_per_kind(client, settings, employee):
    settings.TEAMS_BOT_ENABLED = True
    client.force_login(employee)
    response = client.post(URL, {"ticketReply": ["email", "chat"]})  # nothing ticked for the status: none
    assert response.status_code == 302
    assert response["Location"] == URL
    assert choices(employee) == {"ticketReply": "chat+email", "ticketStatusChanged": "none"}

    client.post(URL, {"ticketReply": ["feed"], "ticketStatusChanged": ["chat", "feed", "email"]})
    assert choices(employee) == {"ticketReply": "feed", "ticketStatusChanged": "chat+feed+email"}
    assert client.get(URL).context["form"]["ticketStatusChanged"].value() == ["chat", "email", "feed"]


def test_invalid_or_foreign_fields_change_nothing(client, employee):
    client.force_login(employee)
    response = client.post(URL, {"ticketReply": ["pigeon"], "ticketStatusChanged": "email"})
    assert response.status_code == 400
    assert choices(employee) == {}
    # Without the bot, the chat is not on offer either.
    assert client.post(URL, {"ticketReply": ["chat"], "ticketStatusChanged": "email"}).status_code == 400
    assert choices(employee) == {}

    # An employee cannot sign up for agents' kinds by crafting a POST; unknown fields are ignored.
    client.post(URL, {"ticketReply": "email", "ticketStatusChanged": "email", "ticketCreated": "feed", "user": "1"})
    assert choices(employee) == {"ticketReply": "email", "ticketStatusChanged": "email"}


def test_the_user_menu_links_to_the_page(client, employee):
    client.force_login(employee)
    response = client.get(reverse("dashboard"))
    assert f'href="{URL}"' in response.text
