"""The app's URLs plus ``/bench/floor/``, the minimal view the benchmark compares every page with."""

from django.urls import path

from core import bench
from core.urls import urlpatterns as app_urlpatterns

urlpatterns = [path("bench/floor/", bench.floor, name="bench-floor"), *app_urlpatterns]
