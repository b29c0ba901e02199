"""The bot's messaging endpoint, POST /teams/bot/messages, which the Azure Bot registration names.

No session and no CSRF token: the Bot Connector authenticates every request with its signed JWT
(teams_app.bot_auth), checked before anything is read or changed; a request that fails any check
gets 401 and changes nothing.
"""

import json
import logging

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from microsoft_agents.activity import Activity
from pydantic import ValidationError

from teams_app import bot
from teams_app.bot_auth import BotAuthError, check_activity, verify_token

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # Teams caps a message at about 100 KB; anything far larger is not Teams


@csrf_exempt
@require_POST
def messages(request):
    if not settings.TEAMS_BOT_ENABLED:
        raise Http404
    try:
        claims, endorsements = verify_token(request.headers.get("Authorization", ""))
    except BotAuthError as error:
        logger.warning("Bot request refused: %s", error)
        return HttpResponse(status=401)
    if len(request.body) > MAX_BODY_BYTES:
        return HttpResponse(status=413)
    try:
        activity = Activity.model_validate(json.loads(request.body))
    except (ValueError, ValidationError):
        return JsonResponse({"error": "The body is not a Bot Framework activity."}, status=400)
    try:
        check_activity(claims, endorsements, activity)
    except BotAuthError as error:
        logger.warning("Bot activity refused: %s", error)
        return HttpResponse(status=401)
    body = bot.handle(activity)
    if body is None:
        return HttpResponse(status=200)
    return JsonResponse(body)
