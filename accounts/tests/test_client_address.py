"""Sign-in throttling counts each client, not the proxy (C16): failed passwords are counted against the
address nginx saw, which a client cannot choose by sending its own X-Forwarded-For; one person's
success forgives nobody else's failures; Microsoft sign-in is never locked out by wrong passwords.

The tests marked with ``nginx_proxy`` go through the repo's nginx config; clients A and B connect
from 127.0.0.2 and 127.0.0.3.
"""

import re

import pytest
import requests
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse

from accounts.tests.entra_fixtures import BEGIN, TIMEOUT
from accounts.throttling import client_address

LOGIN = reverse("accounts:login")
A, B = "127.0.0.2", "127.0.0.3"


# --- Which address counts -------------------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().post(LOGIN, REMOTE_ADDR=remote, **headers)


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("198.51.100.7", "198.51.100.7"),  # as our nginx sends it
        ("203.0.113.9, 198.51.100.7", "198.51.100.7"),  # a client's own claim, appended to by nginx
        ("203.0.113.9,198.51.100.7", "198.51.100.7"),
        ("2001:db8::1", "2001:db8::1"),
        (None, "10.0.0.5"),  # not through nginx: the connection's address
        ("", "10.0.0.5"),
        ("198.51.100.7, not-an-address", "10.0.0.5"),
    ],
)
def test_behind_the_proxy_the_right_most_forwarded_address_counts(settings, forwarded, expected):
    settings.BEHIND_PROXY = True

    assert client_address(request_from("10.0.0.5", forwarded)) == expected


def test_without_the_proxy_forwarded_for_is_ignored(settings):
    settings.BEHIND_PROXY = False

    assert client_address(request_from("10.0.0.5", "198.51.100.7")) == "10.0.0.5"


# --- Through nginx --------------------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("transactional_db")
LIMIT = settings.AXES_FAILURE_LIMIT


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def sign_in(session: requests.Session, base: str, username: str, password: str, **headers) -> int:
    """The login form as a browser submits it; the answer's status (302 signed in, 200 wrong, 429 locked)."""
    page = session.get(base + LOGIN, timeout=TIMEOUT)
    answer = session.post(
        base + LOGIN,
        data={"csrfmiddlewaretoken": csrf_token(page.text), "username": username, "password": password},
        headers=headers,
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    return answer.status_code


def fail(session, base, times: int, *, username: str | None = None, **headers) -> list[int]:
    return [sign_in(session, base, username or f"guess{n}", "wrong-password", **headers) for n in range(times)]


def test_wrong_passwords_lock_out_that_client_only(nginx_proxy, other_employee):
    a, b = nginx_proxy.client(A), nginx_proxy.client(B)

    statuses = [
        # A new made-up forwarded address for every guess must not make a new client.
        sign_in(a, nginx_proxy.url, f"guess{n}", "wrong-password", **{"X-Forwarded-For": f"203.0.113.{n}"})
        for n in range(LIMIT)
    ]

    assert statuses == [200] * (LIMIT - 1) + [429]
    assert sign_in(a, nginx_proxy.url, "otto", "otto-pass-123") == 429
    assert sign_in(b, nginx_proxy.url, "otto", "otto-pass-123") == 302


def test_a_forged_forwarded_for_cannot_put_the_failures_on_another_client(nginx_proxy, other_employee):
    a, b = nginx_proxy.client(A), nginx_proxy.client(B)

    fail(a, nginx_proxy.url, LIMIT, **{"X-Forwarded-For": B})

    assert sign_in(b, nginx_proxy.url, "otto", "otto-pass-123") == 302
    assert sign_in(a, nginx_proxy.url, "otto", "otto-pass-123") == 429


def test_another_clients_success_does_not_reset_the_count(nginx_proxy, other_employee):
    a, b = nginx_proxy.client(A), nginx_proxy.client(B)
    assert fail(a, nginx_proxy.url, LIMIT - 1) == [200] * (LIMIT - 1)

    assert sign_in(b, nginx_proxy.url, "otto", "otto-pass-123") == 302

    assert fail(a, nginx_proxy.url, 1, username="guess-last") == [429]


def test_the_guessers_own_success_does_not_reset_the_count_of_guesses_at_others(nginx_proxy, employee, other_employee):
    a = nginx_proxy.client(A)
    assert fail(a, nginx_proxy.url, LIMIT - 1, username="otto") == [200] * (LIMIT - 1)

    assert sign_in(a, nginx_proxy.url, "erika", "erika-pass-123") == 302  # A's own account
    a.cookies.clear()

    assert fail(a, nginx_proxy.url, 1, username="otto") == [429]


def test_a_success_forgives_the_own_typos(nginx_proxy, employee):
    a = nginx_proxy.client(A)
    fail(a, nginx_proxy.url, LIMIT - 1, username="erika")

    assert sign_in(a, nginx_proxy.url, "erika", "erika-pass-123") == 302
    a.cookies.clear()

    assert fail(a, nginx_proxy.url, LIMIT - 1, username="erika") == [200] * (LIMIT - 1)


# --- Microsoft sign-in ----------------------------------------------------------------------------


def microsoft_sign_in(session: requests.Session, base: str) -> requests.Response:
    """The "Log in with Microsoft" round trip through nginx; the fake signs in whoever it was told."""
    page = session.get(base + LOGIN, timeout=TIMEOUT)
    begin = session.post(
        base + BEGIN, data={"csrfmiddlewaretoken": csrf_token(page.text)}, allow_redirects=False, timeout=TIMEOUT
    )
    assert begin.status_code == 302, begin.text[:300]
    authorized = requests.get(begin.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert authorized.status_code == 302, authorized.text[:300]
    callback = authorized.headers["Location"]
    assert callback.startswith(base + "/"), callback  # back through nginx, at the address the browser used
    return session.get(callback, allow_redirects=False, timeout=TIMEOUT)


@pytest.mark.parametrize("address", [B, A], ids=["another-client", "the-same-address"])
def test_microsoft_sign_in_is_not_locked_out_by_wrong_passwords(nginx_proxy, entra, mia, address):
    fail(nginx_proxy.client(A), nginx_proxy.url, LIMIT)  # A is locked out now, for passwords
    entra.sign_in_as(mia)
    browser = nginx_proxy.client(address)

    answer = microsoft_sign_in(browser, nginx_proxy.url)

    assert answer.status_code == 302, answer.text[:300]
    assert answer.headers["Location"] == "/"
    dashboard = browser.get(nginx_proxy.url + "/", allow_redirects=False, timeout=TIMEOUT)
    assert dashboard.status_code == 200 and "Mia" in dashboard.text  # signed in (greeted in German)
