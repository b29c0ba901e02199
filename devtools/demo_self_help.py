"""Demo self-help articles, deflections and ratings (tickets.self_help, tickets.ratings), so that
``make run`` shows the article before the form, the rating on the way out and their analysis.

Idempotent like the rest of the demo data: articles only for demo nodes without one, deflections
only when there are none, ratings only for demo tickets not rated yet.
"""

from datetime import timedelta

from django.utils import timezone

from tickets import ratings, self_help
from tickets.models import Comment, SelfHelpArticle, SelfHelpDeflection, Ticket, TicketEvent, TicketRating

# (English path of the node, title en, title de, body en, body de)
DEMO_ARTICLES = (
    (
        "Network › VPN",
        "VPN says “certificate invalid”",
        "VPN meldet „Zertifikat ungültig“",
        "Your laptop's VPN certificate is renewed every year. If the VPN says **certificate invalid**:\n\n"
        "1. Connect the laptop to the office network or any Wi-Fi **without** VPN.\n"
        "2. Open *Company Portal* and choose **Sync**.\n"
        "3. Wait five minutes, then restart the laptop and connect the VPN again.\n\n"
        "Still failing? Choose *I still need help* and tell us the time on the error message.",
        "Das VPN-Zertifikat des Laptops wird jedes Jahr erneuert. Meldet das VPN **Zertifikat ungültig**:\n\n"
        "1. Laptop mit dem Büronetz oder einem WLAN **ohne** VPN verbinden.\n"
        "2. *Unternehmensportal* öffnen und **Synchronisieren** wählen.\n"
        "3. Fünf Minuten warten, Laptop neu starten und das VPN wieder verbinden.\n\n"
        "Klappt es nicht? Wählen Sie *Ich brauche trotzdem Hilfe* und nennen Sie die Uhrzeit der Fehlermeldung.",
    ),
    (
        "Hardware › Printer › Paper jam",
        "Clearing a paper jam",
        "Papierstau beheben",
        "1. Open the **front flap** and pull the green lever down.\n"
        "2. Pull the sheet out slowly with both hands, in the direction the paper runs.\n"
        "3. Check tray 2: fan the paper and put it back with the **printed arrow** facing forward.\n"
        "4. Close everything; the printer continues by itself.\n\n"
        "If it jams again and again, the feed roller is worn: that needs IT.",
        "1. Die **vordere Klappe** öffnen und den grünen Hebel nach unten ziehen.\n"
        "2. Das Blatt mit beiden Händen langsam in Laufrichtung herausziehen.\n"
        "3. Fach 2 prüfen: Papier auffächern und mit dem **Pfeil** nach vorn wieder einlegen.\n"
        "4. Alles schließen; der Drucker macht von selbst weiter.\n\n"
        "Staut es immer wieder, ist die Einzugsrolle verschlissen: Das muss die IT machen.",
    ),
)

# (English path, days ago, times "That solved it")
DEMO_DEFLECTIONS = (
    ("Network › VPN", 1, 3),
    ("Network › VPN", 4, 2),
    ("Network › VPN", 9, 4),
    ("Hardware › Printer › Paper jam", 2, 2),
    ("Hardware › Printer › Paper jam", 12, 1),
)

# (title of a demo ticket resolved within TICKET_RATING_LINK_DAYS, thumbs up?, comment)
DEMO_RATINGS = (
    ("Farbdrucker druckt nur leere Seiten", True, "Super schnell, danke!"),
    ("Diensthandy im Zug liegen gelassen", True, ""),
    ("WLAN im Besprechungsraum „Alster“ sehr langsam", False, "Mittags ist es immer noch langsam."),
    ("ERP says 'licence limit reached'", True, "Thanks for the quick fix at month end."),
    ("Network socket in room 2.05 is dead", True, ""),
)


def articles_create(nodes: dict, author) -> int:
    created = 0
    for path, title_en, title_de, body_en, body_de in DEMO_ARTICLES:
        node = nodes.get(path)
        if node is None or SelfHelpArticle.objects.filter(problem_source=node).exists():
            continue
        self_help.article_save(
            node=node, author=author, title_en=title_en, title_de=title_de, body_en=body_en, body_de=body_de
        )
        created += 1
    return created


def deflections_create(nodes: dict) -> None:
    if SelfHelpDeflection.objects.exists():
        return
    today = timezone.localdate()
    for path, days_ago, times in DEMO_DEFLECTIONS:
        if path in nodes:
            SelfHelpDeflection.objects.create(
                problem_source=nodes[path], day=today - timedelta(days=days_ago), count=times
            )


def ratings_create() -> int:
    """Rate the demo tickets a few hours after they were resolved (the rating, its event and comment)."""
    created = 0
    for title, is_positive, comment in DEMO_RATINGS:
        ticket = Ticket.objects.filter(title=title).select_related("requester").first()
        if ticket is None or TicketRating.objects.filter(ticket=ticket).exists() or not ratings.was_resolved(ticket):
            continue
        last = TicketEvent.objects.filter(ticket=ticket).order_by("-created_at").values_list("created_at", flat=True)[0]
        at = min(last + timedelta(hours=2), timezone.now())
        result = ratings.ticket_rate(ticket=ticket, user=ticket.requester, is_positive=is_positive, comment=comment)
        TicketRating.objects.filter(pk=result.rating.pk).update(created_at=at)
        events = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.RATING)
        Comment.objects.filter(pk__in=events.exclude(comment=None).values("comment_id")).update(created_at=at)
        events.update(created_at=at)
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=at)
        created += 1
    return created
