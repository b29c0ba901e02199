from django.utils import translation


class UserPreferencesMiddleware:
    """Apply a signed-in user's saved language over the browser's choice.

    Runs after LocaleMiddleware (which picked the cookie or Accept-Language language) and after
    authentication, so an explicit choice stored on the account wins on every device.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)
