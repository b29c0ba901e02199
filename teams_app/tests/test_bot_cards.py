"""The bot's Adaptive Cards: valid Adaptive Card 1.5 (teams_app/tests/adaptive_card_checks.py) in
English and German, user text only as plain TextRuns, and buttons by role."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from teams_app import cards
from teams_app.tests.adaptive_card_checks import card_problems
from tickets import services
from tickets.models import Ticket

XSS = "<script>alert(1)</script> [click](javascript:alert(1)) **bold**"


@pytest.fixture
def ticket(employee, tree, settings):
    settings.SITE_URL = "https://tickets.example.com"
    return services.ticket_create(requester=employee, problem_source=tree["paper_jam"], title=XSS, description="x")


def every_card(ticket, employee, agent):
    ticket.refresh_from_db()
    yield "welcome", cards.welcome_card(employee)
    yield "my tickets", cards.my_tickets_card(employee, [ticket])
    yield "no tickets", cards.my_tickets_card(employee, [])
    yield "requester", cards.ticket_card(ticket, employee, user_ids=["29:a"], note="Done")
    yield "agent", cards.ticket_card(ticket, agent, user_ids=["29:b"], note="Changed", warning=True)
    services.ticket_close(ticket=ticket, user=employee)
    ticket.refresh_from_db()
    yield "closed, requester", cards.ticket_card(ticket, employee)
    yield "closed, agent", cards.ticket_card(ticket, agent)


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_card_is_a_valid_adaptive_card_1_5(ticket, employee, agent, language):
    employee.language = agent.language = language
    for name, card in every_card(ticket, employee, agent):
        assert card["version"] == "1.5"
        assert card_problems(card) == [], name


def test_german_cards_are_in_german(ticket, employee):
    employee.language = "de"
    texts = json.dumps(cards.ticket_card(ticket, employee), ensure_ascii=False)
    assert "Antworten" in texts or "Antwort" in texts
    assert "Reply" not in texts


def test_user_text_goes_only_into_plain_text_runs(ticket, employee, agent):
    services.ticket_comment(ticket=ticket, author=agent, body=XSS)
    ticket.refresh_from_db()
    card = cards.ticket_card(ticket, employee)
    found = []

    def walk(node, parent_type=None):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and "<script>" in value:
                    found.append((node.get("type"), key))
                walk(value, node.get("type", parent_type))
        elif isinstance(node, list):
            for item in node:
                walk(item, parent_type)

    walk(card)
    assert found and all(place == ("TextRun", "text") for place in found)


def test_closed_ticket_offers_still_broken_only_within_the_reopen_days(ticket, employee, settings):
    services.ticket_close(ticket=ticket, user=employee)
    ticket.refresh_from_db()
    titles = [action["title"] for action in cards.ticket_card(ticket, employee)["actions"]]
    assert titles == ["Still broken", "Open in browser"]
    Ticket.objects.filter(pk=ticket.pk).update(
        closed_at=timezone.now() - timedelta(days=settings.TICKET_REOPEN_DAYS + 1)
    )
    ticket.refresh_from_db()
    assert [action["title"] for action in cards.ticket_card(ticket, employee)["actions"]] == ["Open in browser"]


def test_the_refresh_names_the_viewer(ticket, employee):
    card = cards.ticket_card(ticket, employee, user_ids=["29:viewer"])
    assert card["refresh"]["userIds"] == ["29:viewer"]
    assert card["refresh"]["action"]["verb"] == cards.VERB_REFRESH
    assert "refresh" not in cards.ticket_card(ticket, employee)


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ({"version": "1.6"}, "newer than 1.5"),
        ({"body": [{"type": "Table", "columns": []}]}, "no Adaptive Card 1.5 element"),
        ({"body": [{"type": "TextBlock", "text": "x", "colour": "Good"}]}, "unknown property 'colour'"),
        ({"body": [{"type": "TextBlock", "text": "x", "color": "Red"}]}, "is not one of"),
        ({"body": [{"type": "TextBlock"}]}, "missing 'text'"),
        ({"actions": [{"type": "Action.Http", "title": "x"}]}, "no Adaptive Card 1.5 action"),
        ({"body": [{"type": "Input.Text", "id": "a"}, {"type": "Input.Text", "id": "a"}]}, "used twice"),
        ({"refresh": {"action": {"type": "Action.Submit"}}}, "must be an Action.Execute"),
        ({"refresh": {"action": {"type": "Action.Execute"}, "userIds": ["x"] * 61}}, "at most 60"),
        ({"actions": [{"type": "Action.OpenUrl", "title": "x", "url": "http://a"}]}, "https"),
    ],
)
def test_the_card_check_catches_what_teams_would_refuse(broken, expected):
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [], **broken}
    assert any(expected in problem for problem in card_problems(card))
