"""Saved ticket lists: agents save the list's filters under a name, private or shared with IT staff."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import make_user
from tickets import services
from tickets.models import SavedTicketFilter, Ticket


def save(client, name: str, query: str, *, shared: bool = False):
    data = {"name": name, "query": query}
    if shared:
        data["is_shared"] = "on"
    return client.post(reverse("tickets:saved_create"), data)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def sidebar_names(client) -> list[str]:
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    section = html.split("Saved lists", 1)[1].split("</ul>", 1)[0]
    return [saved.name for saved in SavedTicketFilter.objects.all() if f"<p>{saved.name}</p>" in section]


def test_an_agent_saves_the_list_with_its_filters_normalised(client, agent, tree):
    client.force_login(agent)
    query = f"page=3&q=printer&status=new&status=open&status=new&sort=-created&per_page=25&source={tree['printer'].pk}"

    response = save(client, "  Printers   today ", query)

    saved = SavedTicketFilter.objects.get()
    assert (saved.owner, saved.name, saved.is_shared) == (agent, "Printers today", False)
    assert saved.query == f"q=printer&status=new&status=open&source={tree['printer'].pk}"
    assert response.status_code == 302
    assert response.url == f"{reverse('tickets:list')}?{saved.query}"


def test_saving_needs_post(client, agent):
    client.force_login(agent)

    response = client.get(reverse("tickets:saved_create"), {"name": "x", "query": "status=open"})

    assert response.status_code == 405
    assert not SavedTicketFilter.objects.exists()


@pytest.mark.parametrize(
    "query", ["created_from=yesterday", "sort=requester__password", "status=deleted", "resolution=forever"]
)
def test_invalid_filters_are_not_saved(client, agent, query):
    client.force_login(agent)

    response = save(client, "Broken", query)

    assert not SavedTicketFilter.objects.exists()
    assert response.status_code == 302
    assert "Some filters are invalid" in " ".join(messages_of(response))


def test_names_are_unique_per_agent(client, agent, second_agent):
    client.force_login(agent)
    save(client, "Mine", "status=open")

    response = save(client, "mine", "status=new")

    assert SavedTicketFilter.objects.count() == 1
    assert "already have a saved list" in " ".join(messages_of(response))
    client.force_login(second_agent)
    save(client, "Mine", "status=new")
    assert SavedTicketFilter.objects.count() == 2


def test_employees_cannot_save_or_see_saved_lists(client, employee, agent):
    SavedTicketFilter.objects.create(owner=agent, name="Team queue", query="status=open", is_shared=True)
    client.force_login(employee)

    assert save(client, "Sneaky", "status=open").status_code == 404
    assert client.get(reverse("tickets:saved")).status_code == 404
    assert SavedTicketFilter.objects.count() == 1
    html = client.get(reverse("dashboard")).content.decode()
    assert "Team queue" not in html
    assert "Saved lists" not in html
    assert "save-list" not in client.get(reverse("tickets:list")).content.decode()


def test_agents_see_their_own_and_shared_lists_only(client, agent, second_agent):
    SavedTicketFilter.objects.create(owner=agent, name="My private", query="status=new")
    SavedTicketFilter.objects.create(owner=second_agent, name="Bernd shared", query="status=open", is_shared=True)
    SavedTicketFilter.objects.create(owner=second_agent, name="Bernd private", query="status=waiting")
    client.force_login(agent)

    assert sidebar_names(client) == ["Bernd shared", "My private"]  # by name
    page = client.get(reverse("tickets:saved"))
    assert [saved.name for saved in page.context["saved_filters"]] == ["Bernd shared", "My private"]
    assert "Bernd private" not in page.content.decode()


def test_a_saved_list_opens_the_filtered_list_and_is_marked_in_the_sidebar(client, agent, employee, tree):
    mine = services.ticket_create(requester=employee, problem_source=tree["toner"], title="Mine", description=".")
    services.ticket_create(requester=employee, problem_source=tree["software"], title="Other", description=".")
    services.ticket_take(ticket=mine, agent=agent)
    saved = SavedTicketFilter.objects.create(owner=agent, name="Mine, open", query="status=open&assignee=me")
    client.force_login(agent)

    response = client.get(saved.get_absolute_url())

    assert [ticket.title for ticket in response.context["page"].object_list] == ["Mine"]
    assert f'href="{saved.get_absolute_url().replace("&", "&amp;")}" class="nav-link active"' in (
        response.content.decode()
    )


def test_a_shared_list_with_assignee_me_shows_each_agent_their_own(client, agent, second_agent, employee, tree):
    ticket = services.ticket_create(requester=employee, problem_source=tree["toner"], title="Anna's", description=".")
    services.ticket_take(ticket=ticket, agent=agent)
    saved = SavedTicketFilter.objects.create(owner=agent, name="Mine", query="assignee=me", is_shared=True)
    client.force_login(second_agent)

    response = client.get(saved.get_absolute_url())

    assert list(response.context["page"].object_list) == []


def test_only_the_owner_deletes_a_list(client, agent, second_agent):
    shared = SavedTicketFilter.objects.create(owner=agent, name="Shared", query="status=open", is_shared=True)
    client.force_login(second_agent)

    assert client.post(reverse("tickets:saved_delete", args=[shared.pk])).status_code == 404
    assert client.get(reverse("tickets:saved_delete", args=[shared.pk])).status_code == 405
    assert SavedTicketFilter.objects.filter(pk=shared.pk).exists()

    client.force_login(agent)
    response = client.post(reverse("tickets:saved_delete", args=[shared.pk]))
    assert response.status_code == 302
    assert not SavedTicketFilter.objects.filter(pk=shared.pk).exists()


def test_names_are_escaped(client, agent):
    SavedTicketFilter.objects.create(owner=agent, name="<script>alert(1)</script>", query="status=open")
    client.force_login(agent)

    for url in (reverse("dashboard"), reverse("tickets:saved")):
        html = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_sidebar_loads_saved_lists_with_one_query(client, agent, second_agent):
    client.force_login(agent)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("tickets:saved"))
        return len(captured)

    none = queries()
    for number in range(12):
        SavedTicketFilter.objects.create(owner=agent, name=f"Mine {number}", query=f"q=x{number}")
        SavedTicketFilter.objects.create(owner=second_agent, name=f"Bernd {number}", query="q=y", is_shared=True)
    assert queries() == none  # the page's own list and the sidebar's: one query each, whatever their size


def test_the_list_page_offers_saving_its_current_filters(client, agent):
    client.force_login(agent)

    html = client.get(reverse("tickets:list"), {"status": "open", "page": "1", "q": "printer"}).content.decode()

    assert 'action="/tickets/saved/new/"' in html
    assert 'name="query" value="status=open&amp;q=printer"' in html


def test_deleting_a_user_deletes_their_lists(agent):
    SavedTicketFilter.objects.create(owner=agent, name="Mine", query="")
    Ticket.objects.all().delete()
    make_user("temp").delete()

    agent.delete()

    assert not SavedTicketFilter.objects.exists()
