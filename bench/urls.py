"""The app's URLs plus ``/bench/floor/``, the minimal view the benchmark compares every page with."""

from django.urls import path

from core.urls import urlpatterns as app_urlpatterns
from devtools import bench

urlpatterns = [path("bench/floor/", bench.floor, name="bench-floor"), *app_urlpatterns]
