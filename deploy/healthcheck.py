"""Docker HEALTHCHECK for the ``web`` container: GET http://127.0.0.1:8000/healthz, exit 0 on 200.

No curl in the slim image, so Python. The request carries a Host header that ALLOWED_HOSTS accepts
(its first entry; "*" and ".example.com" forms are handled) and ``X-Forwarded-Proto: https``, which
Django trusts with BEHIND_PROXY=1, so that SECURE_SSL_REDIRECT does not answer with a redirect.
"""

import os
import sys
import urllib.error
import urllib.request

URL = os.environ.get("HEALTHCHECK_URL", "http://127.0.0.1:8000/healthz")


def host_header() -> str:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0].lstrip(".") if hosts else "localhost"
    return "localhost" if host == "*" else host


def main() -> int:
    if not URL.startswith(("http://", "https://")):
        print(f"HEALTHCHECK_URL must be http(s): {URL!r}")
        return 1
    headers = {"Host": host_header(), "X-Forwarded-Proto": "https"}
    request = urllib.request.Request(URL, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=8) as response:  # noqa: S310 (scheme checked above)
            status = response.status
            body = response.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(2000).decode(errors="replace")
    except OSError as error:
        print(f"healthz unreachable: {error}")
        return 1
    print(status, body)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
