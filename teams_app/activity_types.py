"""The Teams activity-feed notifications this app sends: one place for the manifest and the sender.

Teams refuses an activity type that the app manifest does not declare, and every template parameter
must be filled, so the manifest builder and the notification sender both read this list.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_noop as _  # marked for makemessages; translated when used


@dataclass(frozen=True)
class ActivityType:
    type: str  # the activityType sent to Graph and declared in the manifest
    description: str  # shown to admins in Teams' notification settings
    template_text: str  # the feed line; {placeholders} are filled from templateParameters


TICKET_CREATED = ActivityType("ticketCreated", _("A new ticket was filed"), _("{actor} filed ticket {ticket}"))
TICKET_ASSIGNED = ActivityType(
    "ticketAssigned", _("A ticket was assigned to you"), _("{actor} assigned ticket {ticket} to you")
)
TICKET_REPLY = ActivityType("ticketReply", _("IT replied to your ticket"), _("{actor} replied to your ticket {ticket}"))
TICKET_COMMENT = ActivityType(
    "ticketComment", _("The requester commented on a ticket you work on"), _("{actor} commented on ticket {ticket}")
)
TICKET_STATUS = ActivityType(
    "ticketStatusChanged", _("The status of your ticket changed"), _("Ticket {ticket} is now {status}")
)

TICKET_SLA = ActivityType(
    "ticketServiceLevel",
    _("A ticket's service level is at risk or breached"),
    _("Ticket {ticket}: {status}"),
)

ALL = (TICKET_CREATED, TICKET_ASSIGNED, TICKET_REPLY, TICKET_COMMENT, TICKET_STATUS, TICKET_SLA)
BY_TYPE = {activity.type: activity for activity in ALL}
