"""The benchmark's instruments (devtools/bench.py): they must count truly, since bench/run reports them."""

from django.http import HttpResponse
from django.test import RequestFactory

from accounts.models import User
from devtools.bench import QueryCountMiddleware, floor


def test_query_count_header_counts_every_query_of_the_request(db):
    def view(request):
        User.objects.count()
        list(User.objects.all())
        User.objects.filter(username="nobody").exists()
        return HttpResponse("done")

    response = QueryCountMiddleware(view)(RequestFactory().get("/"))

    assert response["X-Query-Count"] == "3"


def test_floor_view_answers_without_queries(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = QueryCountMiddleware(floor)(RequestFactory().get("/bench/floor/"))

    assert (response.status_code, response.content, response["X-Query-Count"]) == (200, b"ok", "0")
