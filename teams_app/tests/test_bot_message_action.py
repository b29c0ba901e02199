"""The "Create ticket" message action: the ticket form of the tab as a dialog, started with the
message's text and a link back to it, for the person who chose the action only."""

from urllib.parse import parse_qs, urlsplit

import pytest

from teams_app.tests.conftest import connect_microsoft, post_activity
from tickets import drafts
from tickets.models import Ticket

LINK = "https://teams.microsoft.com/l/message/19:abc@thread.v2/1700000000000"


def fetch_task(bot, oid, *, content="<p>The printer on floor 2</p><p>shows <b>error 42</b> &amp; beeps</p>", link=LINK):
    payload = {"id": "1700000000000", "body": {"contentType": "html", "content": content}, "linkToMessage": link}
    value = {"commandId": "createTicket", "commandContext": "message", "messagePayload": payload}
    return bot.activity("invoke", user_oid=oid, name="composeExtension/fetchTask", value=value)


@pytest.fixture
def oid(bot, microsoft, employee):
    return connect_microsoft(employee, microsoft)


def dialog_url(client, bot, activity) -> str:
    body = post_activity(client, bot, activity).json()
    assert body["task"]["type"] == "continue"
    return body["task"]["value"]["url"]


def open_form(client, url, tree) -> str:
    parts = urlsplit(url)
    assert parts.path == "/teams/new/"
    assert client.get(f"{parts.path}?{parts.query}").status_code == 200
    response = client.get(f"/tickets/new/?source={tree['paper_jam'].pk}&here=1")
    assert response.status_code == 200
    return response.content.decode()


def test_the_dialog_opens_the_form_with_the_message_text_and_link(client, bot, oid, employee, tree):
    url = dialog_url(client, bot, fetch_task(bot, oid))
    assert url.startswith("https://tickets.example.com/teams/new/?draft=")
    client.force_login(employee)
    page = open_form(client, url, tree)
    assert "The printer on floor 2" in page
    assert "shows error 42 &amp; beeps" in page  # tags gone, text escaped again by the template
    assert LINK in page


def test_filing_the_ticket_uses_the_draft_up(client, bot, oid, employee, tree):
    url = dialog_url(client, bot, fetch_task(bot, oid))
    client.force_login(employee)
    open_form(client, url, tree)
    response = client.post(
        "/tickets/new/",
        {"problem_source": tree["paper_jam"].pk, "title": "Printer", "description": "From Teams", "priority": 2},
    )
    assert response.status_code == 302
    assert Ticket.objects.get().requester == employee
    assert drafts.SESSION_KEY not in client.session


def test_someone_elses_draft_is_not_used(client, bot, oid, other_employee, tree):
    url = dialog_url(client, bot, fetch_task(bot, oid))
    client.force_login(other_employee)
    page = open_form(client, url, tree)
    assert "The printer on floor 2" not in page


def test_a_forged_draft_is_ignored(client, employee, tree):
    client.force_login(employee)
    forged = drafts.make_token(user_id=employee.pk, title="x", description="injected") + "tampered"
    page = open_form(client, f"https://tickets.example.com/teams/new/?draft={forged}", tree)
    assert "injected" not in page


def test_a_link_that_is_not_into_teams_is_left_out(client, bot, oid, employee, tree):
    url = dialog_url(client, bot, fetch_task(bot, oid, link="https://evil.example.com/phish"))
    token = parse_qs(urlsplit(url).query)["draft"][0]
    client.force_login(employee)
    page = open_form(client, f"https://tickets.example.com/teams/new/?draft={token}", tree)
    assert "evil.example.com" not in page
    assert "The printer on floor 2" in page


def test_someone_unknown_is_asked_to_sign_in(client, bot, db):
    activity = fetch_task(bot, "9f1b2c3d-0000-4000-8000-000000000009")
    body = post_activity(client, bot, activity).json()
    assert body["task"]["type"] == "message"
    assert "sign in" in body["task"]["value"]


def fetch_task_by(bot, oid, author_oid):
    activity = fetch_task(bot, oid)
    activity["value"]["messagePayload"]["from"] = {
        "user": {"id": author_oid, "displayName": "Author", "userIdentityType": "aadUser"}
    }
    return activity


def file_from_form(client, url, tree):
    open_form(client, url, tree)
    return client.post(
        "/tickets/new/",
        {"problem_source": tree["paper_jam"].pk, "title": "Printer", "description": "From Teams", "priority": 2},
    )


def test_an_agent_files_the_message_for_its_author(client, bot, microsoft, oid, agent, employee, tree):
    agent_oid = connect_microsoft(agent, microsoft)
    url = dialog_url(client, bot, fetch_task_by(bot, agent_oid, oid))
    client.force_login(agent)
    page = open_form(client, url, tree)
    assert "Filed for" in page and employee.display_name in page
    assert file_from_form(client, url, tree).status_code == 302
    assert Ticket.objects.get().requester == employee


def test_an_employee_files_a_colleagues_message_for_themselves(
    client, bot, microsoft, oid, employee, other_employee, tree
):
    colleague = connect_microsoft(other_employee, microsoft)
    url = dialog_url(client, bot, fetch_task_by(bot, oid, colleague))
    client.force_login(employee)
    assert "Filed for" not in open_form(client, url, tree)
    file_from_form(client, url, tree)
    assert Ticket.objects.get().requester == employee


def test_a_draft_naming_a_requester_counts_only_while_its_holder_is_an_agent(client, employee, other_employee, tree):
    token = drafts.make_token(user_id=employee.pk, title="x", description="y", requester_id=other_employee.pk)
    client.force_login(employee)
    file_from_form(client, f"https://tickets.example.com/teams/new/?draft={token}", tree)
    assert Ticket.objects.get().requester == employee
