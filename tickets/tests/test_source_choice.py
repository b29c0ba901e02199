"""Choosing a problem source among hundreds: search-as-you-type, the tree browser without JavaScript,
and pages that never send a <select> of every node."""

import pytest
from django.urls import reverse

from devtools import data_generator
from tickets import services
from tickets.models import ProblemSource


def test_search_finds_nodes_by_english_or_german_name_with_their_path(client, agent, tree):
    client.force_login(agent)

    english = client.get(reverse("tickets:source_search"), {"q": "jam"}).json()["results"]
    german = client.get(reverse("tickets:source_search"), {"q": "papier"}).json()["results"]
    two_words = client.get(reverse("tickets:source_search"), {"q": "toner empty"}).json()["results"]

    assert english == [{"id": tree["paper_jam"].pk, "path": "Hardware › Printer › Paper jam", "active": True}]
    assert {result["path"] for result in german} == {"Hardware › Printer › Paper jam", "Hardware › Fax › Fax paper"}
    assert [result["id"] for result in two_words] == [tree["toner"].pk]
    assert client.get(reverse("tickets:source_search"), {"q": "  "}).json() == {"results": []}


def test_search_is_for_it_staff_only(client, employee, tree):
    client.force_login(employee)

    assert client.get(reverse("tickets:source_search"), {"q": "jam"}).status_code == 404


@pytest.mark.django_db
def test_search_runs_two_queries_in_a_big_tree(client, agent, django_assert_num_queries):
    data_generator.generate(data_generator.Sizes(users=5, agents=2, nodes=2000, depth=5, tickets=0))
    client.force_login(agent)
    client.get(reverse("tickets:source_search"), {"q": "floor"})  # session and role, once

    with django_assert_num_queries(4):  # session, user with role; matches, their ancestors
        results = client.get(reverse("tickets:source_search"), {"q": "floor"}).json()["results"]

    assert len(results) == 15
    assert all(result["path"].count(" › ") >= 1 and "Floor" in result["path"] for result in results)


def test_browser_walks_the_tree_and_sends_the_choice_back(client, agent, tree):
    client.force_login(agent)
    back = reverse("tickets:list") + "?status=open&source=1&page=3"

    top = client.get(reverse("tickets:source_browse"), {"field": "source", "next": back})
    hardware = client.get(
        reverse("tickets:source_browse"), {"field": "source", "next": back, "node": tree["hardware"].pk}
    )
    chosen = client.get(
        reverse("tickets:source_browse"), {"field": "source", "next": back, "choose": tree["printer"].pk}
    )
    cleared = client.get(reverse("tickets:source_browse"), {"field": "source", "next": back, "choose": "none"})

    assert [node.name_en for node in top.context["level"].choices] == ["Hardware", "Software"]
    assert [node.name_en for node in hardware.context["level"].choices] == ["Printer", "Laptop", "Fax"]
    assert "retired" in hardware.content.decode()  # agents may still filter by retired nodes
    assert chosen.status_code == 302
    assert chosen["Location"] == f"{reverse('tickets:list')}?status=open&source={tree['printer'].pk}"
    assert cleared["Location"] == f"{reverse('tickets:list')}?status=open"


@pytest.mark.parametrize("next_url", ["https://evil.example/steal", "//evil.example/", "javascript:alert(1)"])
def test_browser_never_sends_the_choice_to_another_site(client, agent, tree, next_url):
    client.force_login(agent)

    response = client.get(reverse("tickets:source_browse"), {"next": next_url, "choose": tree["printer"].pk})

    assert response["Location"] == f"{reverse('tickets:list')}?source={tree['printer'].pk}"


def test_detail_takes_the_browsed_problem_source_into_the_update_form(client, agent, ticket, tree):
    client.force_login(agent)

    response = client.get(ticket.get_absolute_url(), {"problem_source": tree["toner"].pk})

    html = response.content.decode()
    assert f'name="problem_source" value="{tree["toner"].pk}"' in html
    assert "Hardware › Printer › Toner empty" in html


@pytest.mark.django_db
def test_pages_with_a_problem_source_field_stay_small_with_a_big_tree(client, agent):
    data_generator.generate(data_generator.Sizes(users=120, agents=100, nodes=2000, depth=5, tickets=30))
    client.force_login(agent)
    ticket = services.ticket_create(
        requester=agent,
        problem_source=ProblemSource.objects.first(),
        title="t",
        description="d",
    )

    for url in (reverse("tickets:list"), reverse("dashboard"), ticket.get_absolute_url()):
        html = client.get(url).content.decode()
        assert html.count("<option") < 150, url  # the agents, the statuses and priorities: never the nodes
        assert len(html.encode()) < 150 * 1024, url
