"""The demo data shows self-help and ratings: two articles, deflections and a few ratings."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devtools import demo_data
from tickets.models import SelfHelpArticle, SelfHelpDeflection, TicketEvent, TicketRating


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    demo_data.load_demo_data()


def test_the_demo_has_two_articles_deflections_and_ratings(demo):
    titles = set(SelfHelpArticle.objects.values_list("title_en", flat=True))
    assert titles == {"VPN says “certificate invalid”", "Clearing a paper jam"}
    assert SelfHelpDeflection.objects.count() == 5
    assert TicketRating.objects.count() == 5
    assert TicketRating.objects.filter(is_positive=False).count() == 1
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.RATING).count() == 5
    # Rated after the backdated histories, not "now".
    for rating in TicketRating.objects.select_related("ticket"):
        assert rating.ticket.resolved_at < rating.created_at < timezone.now() - timedelta(days=1)


def test_loading_the_demo_again_adds_nothing(demo):
    demo_data.load_demo_data()
    assert (SelfHelpArticle.objects.count(), SelfHelpDeflection.objects.count(), TicketRating.objects.count()) == (
        2,
        5,
        5,
    )


def test_the_demo_picker_shows_the_vpn_article_first(demo, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="employee"))
    vpn = SelfHelpArticle.objects.get(title_en__startswith="VPN").problem_source
    html = client.get(reverse("tickets:new"), {"source": vpn.pk}).content.decode()
    assert "Company Portal" in html and "That solved it" in html
