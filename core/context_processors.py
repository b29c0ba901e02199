from django.conf import settings


def ui(request):
    """What the layout needs on every page: the theme to render and the language switch."""
    user = getattr(request, "user", None)
    theme = user.theme if user is not None and user.is_authenticated else "auto"
    in_teams_app = request.path.startswith("/teams/app/")
    if in_teams_app:
        # Inside the Teams tab the page follows Teams' theme, which the tab stored at sign-in.
        theme = request.session.get("teams_theme", theme)
    return {
        "max_upload_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
        "max_upload_files": settings.ATTACHMENT_MAX_FILES,
        "ui_theme": theme,
        "entra_enabled": settings.ENTRA_ENABLED,
        "ui_in_teams": in_teams_app,
        "ui_languages": settings.LANGUAGES,
        "ui_is_agent": bool(user is not None and user.is_authenticated and user.is_agent),
    }
