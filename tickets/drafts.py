"""A ticket started somewhere else (a Teams message turned into a ticket) that the person finishes
in the ticket form: its title and description wait in their session until the form is shown.

The draft is handed over as a signed, expiring token (``django.core.signing``) naming the person it
was made for; only that person's form takes it, and filing the ticket uses it up. A draft made for an
agent may name another requester (the author of the message): it is filed for them, and only while
the person filing is still an agent.
"""

from django.core import signing

SESSION_KEY = "ticket_draft"
SALT = "tickets.drafts"
MAX_AGE_SECONDS = 3600
TITLE_MAX = 200
DESCRIPTION_MAX = 20000
LINK_MAX = 1000


def make_token(
    *,
    user_id: int,
    title: str,
    description: str,
    requester_id: int | None = None,
    link: str = "",
    images: list[str] = (),
    images_from: str = "",
) -> str:
    """``link``: the Teams message the draft was made from; ``images``: the addresses of its images,
    checked by the caller, to be fetched from ``images_from`` (teams_app.message_images) once filed."""
    data = {"u": user_id, "t": title[:TITLE_MAX], "d": description[:DESCRIPTION_MAX]}
    if link:
        data["l"] = link[:LINK_MAX]
    if images:
        data["i"], data["s"] = [str(url)[:LINK_MAX] for url in images], images_from
    if requester_id is not None:
        data["r"] = requester_id
    return signing.dumps(data, salt=SALT, compress=True)


def store(session, token: str) -> bool:
    """Keep the draft of a valid token in the session; False for a forged or expired one."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return False
    requester = data.get("r") if isinstance(data.get("r"), int) else None
    session[SESSION_KEY] = {
        "u": data["u"],
        "t": str(data.get("t", "")),
        "d": str(data.get("d", "")),
        "r": requester,
        "l": str(data.get("l", "")),
        "i": [str(url) for url in data.get("i", []) if isinstance(url, str)] if isinstance(data.get("i"), list) else [],
        "s": str(data.get("s", "")),
    }
    return True


def initial(request) -> dict[str, str]:
    """The form's initial title and description from the signed-in person's own draft, if any."""
    draft = request.session.get(SESSION_KEY)
    if not isinstance(draft, dict) or draft.get("u") != request.user.pk:
        return {}
    return {"title": draft.get("t", ""), "description": draft.get("d", "")}


def requester(request):
    """The person a signed-in agent's draft is for, if it names one who may file tickets; else None."""
    from django.contrib.auth import get_user_model

    draft = request.session.get(SESSION_KEY)
    if not isinstance(draft, dict) or draft.get("u") != request.user.pk or not request.user.is_agent:
        return None
    if not isinstance(draft.get("r"), int):
        return None
    return get_user_model().objects.filter(pk=draft["r"], is_active=True).first()


def message_link(request) -> str:
    """The link to the Teams message the signed-in person's draft was made from, or ''."""
    draft = request.session.get(SESSION_KEY)
    if not isinstance(draft, dict) or draft.get("u") != request.user.pk:
        return ""
    return str(draft.get("l") or "")


def images(request) -> tuple[list[str], str]:
    """The image addresses of the signed-in person's draft and where to fetch them from."""
    draft = request.session.get(SESSION_KEY)
    if not isinstance(draft, dict) or draft.get("u") != request.user.pk:
        return [], ""
    return list(draft.get("i") or []), str(draft.get("s") or "")


def discard(request) -> None:
    request.session.pop(SESSION_KEY, None)
