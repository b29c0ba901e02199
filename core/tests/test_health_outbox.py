"""/healthz reports notifications stuck in the outbox: due, or "sending", for longer than
HEALTH_OUTBOX_MAX_AGE."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.tests.test_health import beat_at
from teams_app.models import Notification

Status = Notification.Status


@pytest.fixture
def ticket(agent, second_agent, ticket):
    """The ticket of the shared fixture, filed after two agents exist: it queues two notifications."""
    return ticket


@pytest.fixture
def healthy_workers(db, settings):
    settings.HEALTH_REQUIRE_WORKERS = True
    settings.HEALTH_OUTBOX_MAX_AGE = 900
    beat_at("worker", 5)
    beat_at("scheduler", 5)


def age(row: Notification, *, seconds: int, status: str) -> None:
    moment = timezone.now() - timedelta(seconds=seconds)
    Notification.objects.filter(pk=row.pk).update(status=status, next_attempt_at=moment, claimed_at=moment)


def test_a_fresh_outbox_is_healthy(client, healthy_workers, ticket):
    assert Notification.objects.exists()  # the new ticket's notifications, just queued

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["outbox_stuck"] == 0


@pytest.mark.parametrize("status", [Status.PENDING, Status.FAILED, Status.SENDING])
def test_a_notification_stuck_beyond_the_limit_is_reported_and_fails_the_check(client, healthy_workers, ticket, status):
    row = Notification.objects.first()
    age(row, seconds=899, status=status)
    assert client.get("/healthz").json()["outbox_stuck"] == 0

    age(row, seconds=901, status=status)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["outbox_stuck"] == 1


def test_waiting_for_a_later_retry_or_being_done_is_not_stuck(client, healthy_workers, ticket):
    rows = list(Notification.objects.all())
    Notification.objects.filter(pk=rows[0].pk).update(
        status=Status.FAILED,
        next_attempt_at=timezone.now() + timedelta(hours=1),
        created_at=timezone.now() - timedelta(days=1),
    )
    for row in rows[1:]:
        age(row, seconds=5000, status=Status.SENT)

    assert client.get("/healthz").json()["outbox_stuck"] == 0


def test_without_required_workers_a_stuck_outbox_is_reported_only(client, db, settings, ticket):
    settings.HEALTH_REQUIRE_WORKERS = False
    age(Notification.objects.first(), seconds=5000, status=Status.PENDING)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["outbox_stuck"] == 1
