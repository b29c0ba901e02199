"""A rating on the way out: asked once per resolution, on the page, in the e-mail and in Teams; the
e-mail link is signed, single-purpose, expiring, works without signing in for that rating only, once."""

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from tickets import ratings, services
from tickets.models import Comment, Ticket, TicketEvent, TicketRating
from tickets.tests.page_helpers import messages_of
from tickets.tests.service_helpers import age

Status = Ticket.Status


@pytest.fixture
def resolved(ticket, agent):
    services.ticket_take(ticket=ticket, agent=agent)
    services.ticket_comment(ticket=ticket, author=agent, body="Restarted the spooler.")
    services.ticket_update(ticket=ticket, actor=agent, status=Status.RESOLVED)
    ticket.refresh_from_db()
    return ticket


def link_path(ticket) -> str:
    return reverse("tickets:rate_link", args=[ratings.rating_token(ticket)])


# --- On the ticket page --------------------------------------------------------------------------


def test_the_requester_is_asked_on_the_page_of_a_resolved_ticket(client, employee, resolved):
    client.force_login(employee)
    html = client.get(resolved.get_absolute_url()).content.decode()
    assert "Did this solve your problem?" in html
    assert reverse("tickets:rate", args=[resolved.pk]) in html


@pytest.mark.parametrize("who", ["agent", "other_employee"])
def test_nobody_else_is_asked(client, resolved, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.get(resolved.get_absolute_url())
    assert response.status_code == (200 if who == "agent" else 404)
    assert "Did this solve your problem?" not in response.content.decode()


def test_an_open_ticket_is_not_rated(client, employee, ticket):
    client.force_login(employee)
    assert "Did this solve your problem?" not in client.get(ticket.get_absolute_url()).content.decode()
    client.post(reverse("tickets:rate", args=[ticket.pk]), {"answer": "up"})
    assert not TicketRating.objects.exists()


def test_a_ticket_closed_after_its_resolution_still_asks(client, employee, resolved):
    services.ticket_auto_close(ticket=resolved)
    client.force_login(employee)
    assert "Did this solve your problem?" in client.get(resolved.get_absolute_url()).content.decode()


def test_a_ticket_the_requester_closed_as_solved_asks_nothing(client, employee, ticket):
    services.ticket_close(ticket=ticket, user=employee)
    client.force_login(employee)
    assert "Did this solve your problem?" not in client.get(ticket.get_absolute_url()).content.decode()
    client.post(reverse("tickets:rate", args=[ticket.pk]), {"answer": "up"})
    assert not TicketRating.objects.exists()


def test_a_ticket_resolved_longer_ago_than_the_link_days_asks_nothing(client, employee, resolved, settings):
    age(resolved, days=settings.TICKET_RATING_LINK_DAYS + 1)
    client.force_login(employee)
    assert "Did this solve your problem?" not in client.get(resolved.get_absolute_url()).content.decode()


def test_a_thumbs_up_is_recorded_once_as_an_event_and_the_question_goes_away(client, employee, agent, resolved):
    client.force_login(employee)
    url = reverse("tickets:rate", args=[resolved.pk])

    response = client.post(url, {"answer": "up", "comment": "Quick, thanks!"})
    again = client.post(url, {"answer": "down"})

    assert response.status_code == 302 and again.status_code == 302
    rating = TicketRating.objects.get()
    assert (rating.is_positive, rating.comment, rating.rater, rating.agent, rating.round) == (
        True,
        "Quick, thanks!",
        employee,
        agent,
        0,
    )
    assert rating.problem_source_id == resolved.problem_source_id
    event = TicketEvent.objects.get(kind=TicketEvent.Kind.RATING)
    assert (event.new_value, event.actor, event.comment.body) == ("up", employee, "Quick, thanks!")
    assert "You have rated this ticket already." in messages_of(again)
    page = client.get(resolved.get_absolute_url()).content.decode()
    assert "Did this solve your problem?" not in page
    assert "rated the solution: <strong>solved</strong>" in page


def test_a_rating_without_an_answer_changes_nothing(client, employee, resolved):
    client.force_login(employee)
    response = client.post(reverse("tickets:rate", args=[resolved.pk]), {"comment": "hm"})
    assert response.status_code == 400
    assert "Please choose thumbs up or thumbs down." in response.content.decode()
    assert not TicketRating.objects.exists() and not Comment.objects.filter(body="hm").exists()


def test_a_thumbs_down_reopens_the_ticket_in_one_step(client, employee, agent, resolved):
    client.force_login(employee)
    client.post(reverse("tickets:rate", args=[resolved.pk]), {"answer": "down", "reopen": "on"})

    resolved.refresh_from_db()
    assert resolved.status == Status.IN_PROGRESS and resolved.reopened_count == 1
    assert TicketRating.objects.get().is_positive is False
    # Resolved again: a new resolution, asked again.
    services.ticket_update(ticket=resolved, actor=agent, status=Status.RESOLVED)
    assert "Did this solve your problem?" in client.get(resolved.get_absolute_url()).content.decode()


def test_a_thumbs_down_after_the_reopen_period_is_recorded_but_reopens_nothing(client, employee, resolved, settings):
    age(resolved, days=settings.TICKET_REOPEN_DAYS + 1)
    client.force_login(employee)
    response = client.post(reverse("tickets:rate", args=[resolved.pk]), {"answer": "down", "reopen": "on"})

    resolved.refresh_from_db()
    assert resolved.status == Status.RESOLVED
    assert TicketRating.objects.get().is_positive is False
    assert any("can no longer be reopened" in message for message in messages_of(response))


def test_only_the_requester_rates_through_the_service(resolved, agent, other_employee):
    for person in (agent, other_employee):
        with pytest.raises(PermissionDenied):
            ratings.ticket_rate(ticket=resolved, user=person, is_positive=True)
    assert not TicketRating.objects.exists()


# --- The signed link -----------------------------------------------------------------------------


def test_the_link_works_without_signing_in_and_only_for_that_rating(client, employee, resolved):
    path = link_path(resolved)

    form = client.get(path, {"answer": "down"})
    assert form.status_code == 200
    assert form.context["form"].initial["answer"] == "down"
    assert resolved.title in form.content.decode()
    assert not TicketRating.objects.exists()  # GET never writes

    done = client.post(path, {"answer": "down", "comment": "Still slow", "reopen": "on"})

    assert done.status_code == 200 and "The ticket was reopened" in done.content.decode()
    rating = TicketRating.objects.get()
    assert (rating.rater, rating.is_positive, rating.comment) == (employee, False, "Still slow")
    resolved.refresh_from_db()
    assert resolved.status == Status.IN_PROGRESS
    # It signed nobody in: the ticket itself still asks for a sign-in.
    assert "_auth_user_id" not in client.session
    assert client.get(resolved.get_absolute_url()).status_code == 302


def test_a_used_link_cannot_be_used_again(client, resolved):
    path = link_path(resolved)
    client.post(path, {"answer": "up"})

    again = client.post(path, {"answer": "down"})

    assert "rated already" in again.content.decode()
    assert TicketRating.objects.get().is_positive is True


def test_a_rating_on_the_page_uses_the_link_up(client, employee, resolved):
    path = link_path(resolved)
    client.force_login(employee)
    client.post(reverse("tickets:rate", args=[resolved.pk]), {"answer": "up"})
    client.logout()
    assert "rated already" in client.post(path, {"answer": "down"}).content.decode()
    assert TicketRating.objects.count() == 1


def test_a_tampered_link_is_refused(client, resolved):
    token = ratings.rating_token(resolved)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.post(reverse("tickets:rate_link", args=[tampered]), {"answer": "up"})
    assert response.status_code == 400 and "not valid" in response.content.decode()
    assert not TicketRating.objects.exists()


def test_a_link_signed_for_another_purpose_is_refused(client, resolved):
    claims = {"t": resolved.pk, "u": resolved.requester_id, "r": 0}
    other_salt = signing.dumps(claims, salt="something.else")
    response = client.post(reverse("tickets:rate_link", args=[other_salt]), {"answer": "up"})
    assert response.status_code == 400
    assert not TicketRating.objects.exists()


def test_an_expired_link_is_refused(client, resolved, settings):
    path = link_path(resolved)
    settings.TICKET_RATING_LINK_DAYS = 0  # max_age 0: any token is too old a second later
    import time

    time.sleep(1.1)
    response = client.post(path, {"answer": "up"})
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert not TicketRating.objects.exists()


def test_a_link_for_one_ticket_does_not_rate_another(client, employee, tree, resolved, agent):
    other = services.ticket_create(requester=employee, problem_source=tree["toner"], title="Toner", description="d")
    services.ticket_update(ticket=other, actor=agent, status=Status.RESOLVED)
    client.post(link_path(resolved), {"answer": "down"})
    assert list(TicketRating.objects.values_list("ticket_id", flat=True)) == [resolved.pk]


def test_a_link_naming_another_person_is_refused(client, resolved, other_employee):
    forged = signing.dumps({"t": resolved.pk, "u": other_employee.pk, "r": 0}, salt=ratings.SALT)
    response = client.post(reverse("tickets:rate_link", args=[forged]), {"answer": "up"})
    assert response.status_code == 400
    assert not TicketRating.objects.exists()


def test_a_link_of_an_earlier_resolution_is_refused(client, employee, agent, resolved):
    path = link_path(resolved)
    services.ticket_reopen(ticket=resolved, user=employee)
    services.ticket_update(ticket=resolved, actor=agent, status=Status.RESOLVED)

    response = client.post(path, {"answer": "up"})

    assert response.status_code == 400
    assert not TicketRating.objects.exists()


# --- In the notifications ------------------------------------------------------------------------


def test_the_resolved_e_mail_carries_the_signed_rating_link(resolved, employee, settings):
    from teams_app import payloads
    from teams_app.models import Notification

    notification = Notification.objects.filter(recipient=employee, event__new_value=Status.RESOLVED).first()
    assert notification is not None

    mail = payloads.email(notification)

    assert "Did this solve your problem?" in mail.text
    token_path = reverse("tickets:rate_link", args=["TOKEN"]).replace("TOKEN/", "")
    start = mail.text.index(f"{settings.SITE_URL}{token_path}")
    link = mail.text[start:].split()[0]
    assert link.endswith("?answer=up")
    assert "?answer=down" in mail.html
    target = ratings.ticket_for_token(link.removeprefix(f"{settings.SITE_URL}{token_path}").split("/")[0])
    assert target.ticket == resolved and target.rater == employee


def test_after_the_rating_notifications_carry_no_link(resolved, employee):
    from teams_app import payloads
    from teams_app.models import Notification

    ratings.ticket_rate(ticket=resolved, user=employee, is_positive=True)
    notification = Notification.objects.filter(recipient=employee, event__new_value=Status.RESOLVED).first()
    assert "Did this solve your problem?" not in payloads.email(notification).text.split("Open the ticket")[1]


def test_the_teams_card_of_the_requester_offers_the_rating_page(resolved, employee, agent):
    from teams_app import cards

    def open_urls(viewer):
        return [a for a in cards._ticket_actions(resolved, viewer, {}) if a["type"] == "Action.OpenUrl"]

    (action,) = open_urls(employee)
    assert action["title"] == "Did this solve your problem?"
    assert "/tickets/rate/" in action["url"]
    assert open_urls(agent) == []


def test_the_teams_activity_of_the_resolution_asks_the_question(resolved, employee):
    from teams_app import payloads
    from teams_app.models import Notification

    notification = Notification.objects.filter(recipient=employee, event__new_value=Status.RESOLVED).first()
    payload = payloads.activity_payload(notification)
    assert payload["previewText"]["content"] == "Did this solve your problem? Please tell us on the ticket."
    assert (
        f"ticket-{resolved.pk}" in payload["topic"]["webUrl"]
        or resolved.get_absolute_url() in payload["topic"]["webUrl"]
    )
