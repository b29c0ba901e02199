"""What the demo installation contains: the bilingual problem-source tree, the accounts and the
tickets with their scripted histories. Pure data; :mod:`devtools.demo_data` loads it."""

from dataclasses import dataclass, field

from tickets.models import Ticket

PATH_SEPARATOR = " › "

Priority = Ticket.Priority
Status = Ticket.Status

# --- The problem-source tree ----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoNode:
    name_en: str
    name_de: str
    help_text_en: str
    help_text_de: str
    icon: str
    children: tuple["DemoNode", ...] = ()
    is_selectable: bool = False
    is_active: bool = True


def _node(name_en, name_de, help_en, help_de, icon, *children, selectable=False, active=True) -> DemoNode:
    return DemoNode(name_en, name_de, help_en, help_de, icon, children, is_selectable=selectable, is_active=active)


DEMO_TREE: tuple[DemoNode, ...] = (
    _node(
        "Hardware", "Hardware",
        "Devices at your desk or in the office.", "Geräte an Ihrem Arbeitsplatz oder im Büro.", "pc-display",
        _node(
            "Printer", "Drucker",
            "Printing, scanning and copying on the office printers.",
            "Drucken, Scannen und Kopieren an den Bürodruckern.", "printer",
            _node("Paper jam", "Papierstau",
                  "The printer reports a jam or pulls the paper in crookedly.",
                  "Der Drucker meldet einen Stau oder zieht das Papier schief ein.", "exclamation-triangle"),
            _node("Toner or ink empty", "Toner oder Tinte leer",
                  "Prints are pale or the printer asks for a new cartridge.",
                  "Ausdrucke sind blass oder der Drucker verlangt eine neue Kartusche.", "droplet-half"),
            _node("Scan to e-mail", "Scan an E-Mail",
                  "Scans do not arrive in your mailbox or folder.",
                  "Scans kommen nicht im Postfach oder im Ordner an.", "upc-scan"),
            _node("Printer not found", "Drucker nicht gefunden",
                  "Your computer cannot see the printer or jobs stay in the queue.",
                  "Ihr Rechner findet den Drucker nicht oder Aufträge bleiben in der Warteschlange.", "wifi-off"),
            selectable=True,
        ),
        _node(
            "Laptop or PC", "Laptop oder PC",
            "Your own computer: starting, speed, battery, damage.",
            "Ihr eigener Rechner: Start, Geschwindigkeit, Akku, Schäden.", "laptop",
            _node("Does not start", "Startet nicht",
                  "Black screen, no power or stuck while starting.",
                  "Schwarzer Bildschirm, kein Strom oder hängt beim Hochfahren.", "power"),
            _node("Slow or freezing", "Langsam oder hängt",
                  "Programs take ages to open or the computer freezes.",
                  "Programme öffnen sich sehr langsam oder der Rechner friert ein.", "hourglass-split"),
            _node("Battery or charger", "Akku oder Netzteil",
                  "The battery drains quickly or the laptop does not charge.",
                  "Der Akku ist schnell leer oder der Laptop lädt nicht.", "battery-half"),
            _node("Damaged device", "Gerät beschädigt",
                  "Broken screen, spilled coffee, missing keys.",
                  "Displaybruch, verschütteter Kaffee, fehlende Tasten.", "tools"),
            selectable=True,
        ),
        _node("Monitor", "Bildschirm",
              "External screens at your desk: no picture, flickering, a second screen.",
              "Externe Bildschirme am Platz: kein Bild, Flackern, ein zweiter Bildschirm.", "display"),
        _node(
            "Peripherals", "Zubehör",
            "Keyboard, mouse, headset, webcam and docking station.",
            "Tastatur, Maus, Headset, Webcam und Dockingstation.", "usb-c",
            _node("Keyboard or mouse", "Tastatur oder Maus",
                  "Keys stick, the mouse jumps or stops now and then.",
                  "Tasten klemmen, die Maus springt oder setzt aus.", "mouse"),
            _node("Headset or webcam", "Headset oder Webcam",
                  "Others cannot hear or see you in calls.",
                  "Andere hören oder sehen Sie in Besprechungen nicht.", "headset"),
            selectable=True,
        ),
        _node("Fax machine", "Faxgerät",
              "The fax machines were retired in 2024.", "Die Faxgeräte wurden 2024 abgeschafft.", "printer-fill",
              active=False),
    ),
    _node(
        "Software", "Software",
        "Programs and apps you work with.", "Programme und Apps, mit denen Sie arbeiten.", "window",
        _node(
            "Microsoft 365", "Microsoft 365",
            "Outlook, Teams, Word, Excel, PowerPoint, OneDrive.",
            "Outlook, Teams, Word, Excel, PowerPoint, OneDrive.", "microsoft",
            _node("Outlook and e-mail", "Outlook und E-Mail",
                  "Mail does not arrive, the mailbox is full, calendar trouble.",
                  "Mails kommen nicht an, das Postfach ist voll, Ärger mit dem Kalender.", "envelope"),
            _node("Teams", "Teams",
                  "Calls, meetings, chats and channels.", "Anrufe, Besprechungen, Chats und Kanäle.",
                  "microsoft-teams"),
            _node("Word, Excel, PowerPoint", "Word, Excel, PowerPoint",
                  "Documents do not open, crash or look wrong.",
                  "Dokumente öffnen nicht, stürzen ab oder sehen falsch aus.", "file-earmark-word"),
            selectable=True,
        ),
        _node(
            "ERP system", "ERP-System",
            "Orders, invoices, stock and reports in the ERP.",
            "Aufträge, Rechnungen, Lager und Auswertungen im ERP.", "database",
            _node("Cannot sign in", "Anmeldung nicht möglich",
                  "The ERP rejects your sign-in or has no free licence.",
                  "Das ERP lehnt die Anmeldung ab oder hat keine freie Lizenz.", "box-arrow-in-right"),
            _node("Error message", "Fehlermeldung",
                  "Please copy the exact message or attach a screenshot.",
                  "Bitte die genaue Meldung kopieren oder einen Screenshot anhängen.", "exclamation-octagon"),
            selectable=True,
        ),
        _node(
            "Install software", "Software installieren",
            "Ask for a program that is not on your computer yet.",
            "Fordern Sie ein Programm an, das noch nicht auf Ihrem Rechner ist.", "download",
            _node("Standard software", "Standardsoftware",
                  "From the company catalogue, installed within a day.",
                  "Aus dem Firmenkatalog, Installation innerhalb eines Tages.", "box-seam"),
            _node("New licence", "Neue Lizenz",
                  "Paid software that your manager has to approve.",
                  "Kostenpflichtige Software, die Ihre Führungskraft freigeben muss.", "cart"),
        ),
    ),
    _node(
        "Accounts & access", "Konten & Zugriff",
        "Sign-in, passwords and permissions.", "Anmeldung, Passwörter und Berechtigungen.", "person-lock",
        _node("Password reset", "Passwort zurücksetzen",
              "You forgot your password or your account is locked.",
              "Sie haben Ihr Passwort vergessen oder Ihr Konto ist gesperrt.", "key"),
        _node("New employee", "Neue Mitarbeiterin / neuer Mitarbeiter",
              "Account, devices and access for someone who starts soon.",
              "Konto, Geräte und Zugänge für jemanden, der bald anfängt.", "person-plus"),
        _node("Permissions", "Berechtigungen",
              "Access to a shared folder, a team or an application.",
              "Zugriff auf einen freigegebenen Ordner, ein Team oder eine Anwendung.", "folder2-open"),
        _node("Multi-factor authentication", "Mehrstufige Anmeldung (MFA)",
              "New phone, authenticator app, unexpected sign-in prompts.",
              "Neues Handy, Authenticator-App, unerwartete Anmeldeanfragen.", "shield-lock"),
    ),
    _node(
        "Network", "Netzwerk",
        "Wi-Fi, VPN and network sockets.", "WLAN, VPN und Netzwerkdosen.", "hdd-network",
        _node("Wi-Fi", "WLAN",
              "No connection or frequent drop-outs on the wireless network.",
              "Keine Verbindung oder häufige Abbrüche im Funknetz.", "wifi"),
        _node("VPN", "VPN",
              "Working from home: the VPN does not connect or keeps dropping.",
              "Homeoffice: Das VPN verbindet nicht oder bricht ständig ab.", "house-lock"),
        _node("LAN / network socket", "LAN / Netzwerkdose",
              "A cable connection or a wall socket does not work.",
              "Eine Kabelverbindung oder eine Wanddose funktioniert nicht.", "ethernet"),
    ),
    _node(
        "Phones", "Telefonie",
        "Company mobile phones and desk phones.", "Diensthandys und Tischtelefone.", "telephone",
        _node(
            "Mobile phone", "Diensthandy",
            "Your company smartphone.", "Ihr dienstliches Smartphone.", "phone",
            _node("Lost or stolen", "Verloren oder gestohlen",
                  "Tell us at once: we lock the phone and its data remotely.",
                  "Melden Sie es sofort: Wir sperren das Gerät und seine Daten aus der Ferne.",
                  "exclamation-diamond"),
            _node("New or replacement phone", "Neues Handy oder Ersatzgerät",
                  "Broken display, a new contract or a replacement.",
                  "Displaybruch, neuer Vertrag oder ein Ersatzgerät.", "phone-vibrate"),
        ),
        _node("Desk phone", "Tischtelefon",
              "No dial tone, call forwarding, voicemail.", "Kein Freizeichen, Rufumleitung, Mailbox.",
              "telephone-forward"),
    ),
    _node("Other / not sure", "Sonstiges / weiß nicht",
          "Nothing else fits? Pick this and describe the problem; we will sort it.",
          "Nichts passt? Wählen Sie dies und beschreiben Sie das Problem; wir ordnen es zu.",
          "question-circle", selectable=True),
)  # fmt: skip


# --- Accounts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str  # "admin", "agent" or "employee"
    password: str | None = None  # None: an unusable password (the account cannot sign in locally)
    language: str = ""


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "Petra", "Schulz", "admin", password="admin", language="de"),
    DemoUser("agent", "Jonas", "Becker", "agent", password="agent"),
    DemoUser("lena", "Lena", "Hoffmann", "agent", language="de"),
    DemoUser("mehmet", "Mehmet", "Yılmaz", "agent"),
    DemoUser("employee", "Sophie", "Wagner", "employee", password="employee"),
    DemoUser("max", "Max", "Müller", "employee", language="de"),
    DemoUser("julia", "Julia", "Schneider", "employee", language="de"),
    DemoUser("thomas", "Thomas", "Weber", "employee", language="de"),
    DemoUser("david", "David", "Okafor", "employee", language="en"),
    DemoUser("claire", "Claire", "Dubois", "employee", language="en"),
)

ROLE_LABELS = {"admin": "administrator", "agent": "IT staff", "employee": "employee"}


# --- Tickets --------------------------------------------------------------------------------------

# A step is (verb, username of the actor, argument); see _run_step for the verbs.
Step = tuple[str, str, object]


def take(agent):
    return ("take", agent, None)


def assign(actor, agent):
    return ("assign", actor, agent)


def reply(author, body):
    return ("reply", author, body)


def note(agent, body):
    return ("note", agent, body)


def status(agent, value):
    return ("status", agent, value)


def due(agent, days):
    return ("due", agent, days)


def recategorise(agent, path):
    return ("recategorise", agent, path)


def close(user):
    return ("close", user, None)


def reopen(user):
    return ("reopen", user, None)


@dataclass(frozen=True)
class DemoTicket:
    days_ago: int
    requester: str
    source: str  # English path, e.g. "Hardware › Printer › Paper jam"
    title: str
    description: str
    priority: int = Priority.NORMAL
    steps: tuple[Step, ...] = field(default=())

    def sources(self) -> set[str]:
        """Every problem-source path the ticket refers to."""
        return {self.source} | {argument for verb, _actor, argument in self.steps if verb == "recategorise"}


DEMO_TICKETS: tuple[DemoTicket, ...] = (
    DemoTicket(41, "max", "Hardware › Printer › Paper jam", "Drucker 2. OG: ständig Papierstau",
               "Der große Drucker im 2. OG (neben der Küche) zieht seit heute Morgen das Papier schief ein und "
               "meldet bei jedem dritten Blatt **Papierstau in Fach 2**.\n\nFach 2 habe ich schon geleert und neu "
               "befüllt, das hilft nicht.",
               steps=(take("agent"),
                      reply("agent", "Danke für die Meldung! Ich schaue mir den Drucker gleich an. Bitte bis dahin "
                                     "Fach 1 verwenden."),
                      note("agent", "Einzugsrolle Fach 2 verschlissen. Ersatzrolle liegt im Lager, Regal B3."),
                      reply("agent", "Die Einzugsrolle war abgenutzt, ich habe sie getauscht. Ein Testdruck mit "
                                     "50 Seiten lief ohne Stau."),
                      status("agent", Status.RESOLVED), close("max"))),
    DemoTicket(40, "david", "Software › Microsoft 365 › Outlook and e-mail",
               "Shared mailbox sales@ missing in Outlook",
               "Since Monday the shared mailbox **sales@** no longer shows up in my Outlook folder list. "
               "Colleagues still see it, and I need it for customer quotes.",
               steps=(take("lena"),
                      reply("lena", "Hi David, your permission was still there, but the auto-mapping got lost in "
                                    "the mailbox migration. I have added it again; please restart Outlook in about "
                                    "30 minutes."),
                      reply("david", "Restarted, it's back. Thanks!"), close("david"))),
    DemoTicket(38, "employee", "Accounts & access › Password reset", "Passwort abgelaufen, komme nicht mehr rein",
               "Nach dem Urlaub ist mein Passwort abgelaufen und ich kann mich am Laptop nicht mehr anmelden. "
               "Ich schreibe vom Empfangs-PC.", Priority.HIGH,
               steps=(take("agent"),
                      reply("agent", "Hallo Sophie, ich habe dir ein Einmal-Passwort per SMS geschickt. Bitte beim "
                                     "ersten Anmelden ein neues Passwort mit mindestens 12 Zeichen vergeben."),
                      reply("employee", "Hat geklappt, danke!"), close("employee"))),
    DemoTicket(37, "julia", "Accounts & access › New employee", "Neuer Kollege im Vertrieb ab dem 1.",
               "Am 1. fängt **Lukas Brandt** bei uns im Vertrieb an. Er braucht:\n\n- Laptop (Standard)\n"
               "- ERP-Zugang mit der Rolle *Vertrieb*\n- das Teams-Team „Vertrieb Süd“\n- ein Diensthandy\n\n"
               "Kostenstelle 4120.",
               steps=(assign("admin", "mehmet"), status("mehmet", Status.IN_PROGRESS), due("mehmet", 7),
                      note("mehmet", "Laptop LT-0457 vorbereitet, Handy bestellt (Lieferung Donnerstag)."),
                      reply("mehmet", "Hallo Julia, Konto und Laptop sind fertig, das Handy kommt am Donnerstag. "
                                      "Die Zugangsdaten gebe ich Lukas am ersten Tag persönlich."),
                      status("mehmet", Status.RESOLVED), close("julia"))),
    DemoTicket(35, "claire", "Network › VPN", "VPN disconnects every few minutes from home",
               "When I work from home the VPN drops every 5 to 10 minutes and Teams calls freeze. My home "
               "internet is fine otherwise.",
               steps=(take("agent"),
                      reply("agent", "Hi Claire, could you send me a screenshot of the VPN client's *Statistics* "
                                     "tab right after a drop?"),
                      status("agent", Status.WAITING),
                      reply("claire", "Here it is. It says `DPD timeout`."),
                      status("agent", Status.IN_PROGRESS),
                      note("agent", "Known issue of VPN client 5.2 with some home routers; client 5.3 fixes it."),
                      reply("agent", "I have pushed a newer VPN client to your laptop. Please restart and tell me "
                                     "whether it still drops."),
                      reply("claire", "Two days without a single drop now."),
                      status("agent", Status.RESOLVED), close("claire"))),
    DemoTicket(34, "thomas", "Software › ERP system › Error message",
               "ERP: „Buchungsperiode gesperrt“ bei Gutschrift",
               "Beim Erfassen einer Gutschrift für Kunde 10233 kommt diese Meldung:\n\n"
               "```\nFehler 4711: Buchungsperiode 03 ist gesperrt\n```\n\n"
               "Die Gutschrift gehört aber in den aktuellen Monat.", Priority.HIGH,
               steps=(take("lena"),
                      note("lena", "Periode 03 wurde für alle Belegarten gesperrt, nicht nur für Rechnungen. "
                                   "Mit der Buchhaltung geklärt."),
                      reply("lena", "Hallo Thomas, die Buchhaltung hat die Sperre für Gutschriften aufgehoben. "
                                    "Bitte noch einmal versuchen."),
                      reply("thomas", "Funktioniert wieder, vielen Dank!"), close("thomas"))),
    DemoTicket(32, "max", "Hardware › Laptop or PC › Battery or charger", "Laptop-Akku hält nur noch eine Stunde",
               "Mein Laptop (LT-0311) ist nach etwa einer Stunde leer, auch wenn ich nur Mails schreibe. "
               "Das Gerät ist knapp drei Jahre alt.", Priority.LOW,
               steps=(take("mehmet"),
                      reply("mehmet", "Der Akkubericht zeigt nur noch 41 % der ursprünglichen Kapazität. Ein "
                                      "Ersatzakku ist bestellt, Lieferung in etwa einer Woche."),
                      due("mehmet", 8),
                      reply("mehmet", "Der neue Akku ist da. Bring den Laptop gern morgen früh vorbei, der Tausch "
                                      "dauert 15 Minuten."),
                      status("mehmet", Status.RESOLVED), close("max"))),
    DemoTicket(30, "david", "Software › Install software › Standard software", "Please install a PDF editor",
               "I need to fill in and sign PDF forms from suppliers. Could you install the standard PDF editor "
               "on my laptop?", Priority.LOW,
               steps=(take("agent"),
                      reply("agent", "Installed through the Software Center; you find it in the start menu as "
                                     "*PDF Editor*."),
                      status("agent", Status.RESOLVED))),
    DemoTicket(29, "julia", "Software › Microsoft 365 › Teams", "Teams: kein Ton in Besprechungen",
               "In Teams-Besprechungen höre ich die anderen nicht, obwohl das Headset unter Windows funktioniert. "
               "Der Chat geht.",
               steps=(take("agent"),
                      reply("agent", "Hallo Julia, bitte in Teams unter *Einstellungen › Geräte* das Headset als "
                                     "Lautsprecher auswählen. Nach dem letzten Update stand dort oft wieder "
                                     "„Standardgerät“."),
                      reply("julia", "Das war's! Danke."), close("julia"))),
    DemoTicket(27, "employee", "Hardware › Monitor", "Zweiter Bildschirm flackert",
               "Der rechte Bildschirm an meinem Platz (Raum 1.14) flackert alle paar Sekunden und wird kurz schwarz.",
               steps=(take("mehmet"),
                      note("mehmet", "Kabel getauscht, ohne Erfolg. Netzteil des Monitors defekt, Baujahr 2017."),
                      reply("mehmet", "Hallo Sophie, der Monitor ist leider defekt. Ich bringe dir morgen einen "
                                      "neuen 27-Zoll-Bildschirm vorbei."),
                      status("mehmet", Status.RESOLVED), close("employee"))),
    DemoTicket(25, "claire", "Accounts & access › Multi-factor authentication",
               "New phone: the authenticator app lost my work account",
               "I moved the Authenticator app to my new phone, but the work account is gone. I can only sign in "
               "on my laptop, where I am still logged in.", Priority.HIGH,
               steps=(take("lena"),
                      reply("lena", "Hi Claire, I have reset your MFA methods. The next time you sign in you will "
                                    "be asked to set up the app again; it takes two minutes."),
                      reply("claire", "Done, it works on the new phone."), close("claire"))),
    DemoTicket(24, "thomas", "Network › Wi-Fi", "WLAN im Besprechungsraum „Alster“ sehr langsam",
               "Im Raum Alster bricht das WLAN bei Videocalls regelmäßig ein. Im Flur ist es in Ordnung.",
               steps=(take("agent"),
                      note("agent", "Access Point AP-2-07 hängt wegen eines Portfehlers nur mit 100 Mbit am Switch. "
                                    "Elektriker für eine neue Dose beauftragt."),
                      reply("agent", "Wir haben die Ursache gefunden: Der Access Point im Raum ist schlecht "
                                     "angebunden. Der Elektriker kommt nächste Woche."),
                      due("agent", 10),
                      reply("agent", "Die neue Netzwerkdose ist installiert, der Access Point läuft jetzt mit voller "
                                     "Geschwindigkeit."),
                      status("agent", Status.RESOLVED), close("thomas"))),
    DemoTicket(22, "max", "Phones › Mobile phone › Lost or stolen", "Diensthandy im Zug liegen gelassen",
               "Ich habe heute Morgen mein Diensthandy im ICE nach Hamburg liegen lassen. Das Fundbüro ist "
               "informiert, bisher ohne Ergebnis.", Priority.HIGH,
               steps=(take("lena"),
                      note("lena", "Gerät in Intune gesperrt und Löschung ausgelöst, SIM-Karte beim Provider "
                                   "gesperrt."),
                      reply("lena", "Hallo Max, das Handy ist gesperrt und wird gelöscht, sobald es online geht. "
                                    "Ein Ersatzgerät mit deiner alten Nummer liegt ab morgen bei mir bereit."),
                      status("lena", Status.RESOLVED), close("max"))),
    DemoTicket(20, "david", "Software › ERP system › Cannot sign in", "ERP says 'licence limit reached'",
               "Since this morning the ERP says *All licences are in use, please try again later*. It is month "
               "end and I need to post invoices.", Priority.HIGH,
               steps=(take("agent"),
                      note("agent", "22 of 22 concurrent licences in use, 6 sessions idle for more than 8 hours. "
                                    "Ended them; asking the vendor about more licences."),
                      reply("agent", "I have ended a few sessions that were left open overnight, so you should be "
                                     "able to sign in now. We are looking into more licences."),
                      reply("david", "I'm in, thanks."), status("agent", Status.RESOLVED))),
    DemoTicket(18, "julia", "Accounts & access › Permissions", "Zugriff auf den Ordner „Marketing/Messen 2025“",
               "Für die Messeplanung brauche ich Schreibrechte auf `\\\\fileserver\\marketing\\Messen 2025`. "
               "Frau Lehmann (Teamleitung) ist einverstanden.",
               steps=(take("mehmet"), status("mehmet", Status.WAITING),
                      reply("mehmet", "Hallo Julia, bitte lass Frau Lehmann das kurz hier bestätigen oder leite mir "
                                      "ihre Mail weiter."),
                      reply("julia", "Die Mail von Frau Lehmann habe ich dir weitergeleitet."),
                      status("mehmet", Status.IN_PROGRESS),
                      reply("mehmet", "Die Berechtigung ist eingerichtet. Bitte einmal ab- und wieder anmelden."),
                      status("mehmet", Status.RESOLVED), close("julia"))),
    DemoTicket(16, "employee", "Other / not sure", "Wie buche ich einen Besprechungsraum?",
               "Ich bin neu im Einkauf und weiß nicht, wie man die Besprechungsräume reserviert. Geht das über "
               "Outlook?", Priority.LOW,
               steps=(take("agent"),
                      reply("agent", "Hallo Sophie, ja: In Outlook einen Termin anlegen, auf *Raumsuche* klicken "
                                     "und den Raum hinzufügen. Eine Kurzanleitung steht im Intranet unter "
                                     "*IT › Anleitungen*."),
                      close("employee"))),
    DemoTicket(15, "claire", "Hardware › Peripherals › Headset or webcam", "Webcam image is upside down",
               "Since yesterday my webcam shows me upside down in every app. My colleagues find it amusing, "
               "I don't.", Priority.LOW,
               steps=(take("mehmet"),
                      reply("mehmet", "That is a known driver bug. I have rolled the camera driver back remotely; "
                                      "please restart."),
                      reply("claire", "Right side up again!"), close("claire"))),
    DemoTicket(13, "thomas", "Hardware › Laptop or PC › Slow or freezing", "Laptop extrem langsam seit dem Update",
               "Seit dem Windows-Update am Dienstag braucht mein Laptop zehn Minuten zum Hochfahren und Excel "
               "hängt ständig.",
               steps=(take("agent"),
                      reply("agent", "Hallo Thomas, ich war per Fernwartung drauf: Die Festplatte war zu 99 % voll "
                                     "(alte Outlook-Archive). Ich habe 40 GB freigeräumt."),
                      status("agent", Status.RESOLVED), reopen("thomas"),
                      reply("thomas", "Heute ist er leider wieder genauso langsam."),
                      note("agent", "Virenscanner hängt beim Vollscan an den PST-Archiven. Ausnahme gesetzt."),
                      reply("agent", "Der Virenscanner hat sich an den Archivdateien festgebissen. Das ist behoben, "
                                     "bitte einmal neu starten."),
                      reply("thomas", "Jetzt läuft er wie neu."), close("thomas"))),
    DemoTicket(12, "max", "Software › Install software › New licence", "Lizenz für einen CAD-Viewer",
               "Für Kundenzeichnungen brauche ich einen CAD-Viewer für DWG-Dateien. Die kostenlose Version reicht "
               "nicht, ich brauche die Messfunktionen.", Priority.LOW,
               steps=(assign("admin", "lena"),
                      note("lena", "Angebot liegt vor: 1 Lizenz etwa 240 € pro Jahr. Freigabe der "
                                   "Abteilungsleitung nötig."),
                      reply("lena", "Hallo Max, die Lizenz kostet etwa 240 € im Jahr. Bitte schick mir die "
                                    "Freigabe deiner Abteilungsleitung."),
                      status("lena", Status.WAITING), due("lena", 5))),
    DemoTicket(10, "david", "Network › LAN / network socket", "Network socket in room 2.05 is dead",
               "The network socket next to the window in room 2.05 does not work; my docking station shows no "
               "connection. The other socket works.", Priority.LOW,
               steps=(take("mehmet"),
                      note("mehmet", "Dose 2.05-3 war nicht gepatcht: Patchfeld B, Port 17 auf Switch 2, Port 33."),
                      reply("mehmet", "Patched it, it should work now."), status("mehmet", Status.RESOLVED))),
    DemoTicket(9, "julia", "Hardware › Printer", "Farbdrucker druckt nur leere Seiten",
               "Der Farbdrucker im Marketing gibt nur noch leere Seiten aus. Am Display steht keine Fehlermeldung.",
               steps=(take("agent"), recategorise("agent", "Hardware › Printer › Toner or ink empty"),
                      reply("agent", "An der neuen Tonerkartusche war noch die Transportsicherung dran. Ist "
                                     "entfernt, der Drucker druckt wieder."),
                      status("agent", Status.RESOLVED), close("julia"))),
    DemoTicket(7, "employee", "Software › Microsoft 365 › Word, Excel, PowerPoint",
               "Excel stürzt beim Öffnen der Budgetdatei ab",
               "Die Datei `Budget_2025_v7.xlsx` auf SharePoint lässt Excel abstürzen, sobald ich sie öffne. Andere "
               "Dateien gehen.\n\nKollegen haben das gleiche Problem.", Priority.HIGH,
               steps=(take("lena"),
                      note("lena", "Datei enthält über 300.000 bedingte Formatierungen; bereinigte Kopie erstellt."),
                      reply("lena", "Hallo Sophie, die Datei war durch unzählige kopierte Formatierungen kaputt. "
                                    "Die bereinigte Version `Budget_2025_v8.xlsx` liegt daneben; bitte prüfen."),
                      status("lena", Status.WAITING))),
    DemoTicket(6, "claire", "Accounts & access › New employee", "New starter in Finance: Marta Nowak",
               "Marta Nowak joins Finance on the 15th.\n\n| Item | Details |\n|---|---|\n| Laptop | standard |\n"
               "| ERP role | Accounting |\n| Mailbox | plus access to *invoices@* |\n\nCost centre 3100.",
               steps=(take("mehmet"), due("mehmet", 8),
                      note("mehmet", "Laptop LT-0502 wird vorbereitet, ERP-Rolle beantragt."))),
    DemoTicket(5, "thomas", "Phones › Desk phone", "Rufumleitung aufs Handy einrichten",
               "Ich möchte mein Tischtelefon auf mein Handy umleiten, wenn ich unterwegs bin. Im Menü finde ich "
               "das nicht.", Priority.LOW,
               steps=(take("agent"),
                      reply("agent", "Hallo Thomas, am Telefon: *Menü › Anrufe › Rufumleitung › Immer*, dann deine "
                                     "Handynummer mit führender 0. Klappt das?"),
                      status("agent", Status.WAITING))),
    DemoTicket(4, "max", "Network › VPN", "VPN: Zertifikat ungültig",
               "Beim Verbinden mit dem VPN kommt „Zertifikat ungültig“. Ich bin diese Woche im Homeoffice.",
               Priority.HIGH,
               steps=(take("lena"),
                      note("lena", "Gerätezertifikat von LT-0311 abgelaufen, die Intune-Synchronisierung hängt."),
                      reply("lena", "Hallo Max, bitte den Laptop einmal per LAN-Kabel an den Router anschließen und "
                                    "neu starten; dann holt er sich ein neues Zertifikat."))),
    DemoTicket(3, "david", "Hardware › Printer › Scan to e-mail", "Scans to e-mail never arrive",
               "When I scan on the first-floor printer and choose *Send to my e-mail*, nothing arrives, not even "
               "in the spam folder.",
               steps=(take("agent"),
                      reply("agent", "Hi David, which address does the printer show under *My e-mail* after you "
                                     "sign in there?"),
                      status("agent", Status.WAITING),
                      reply("david", "It shows david@example.com, which is right."),
                      status("agent", Status.IN_PROGRESS),
                      note("agent", "Mail relay rejects the printer since its address changed. Adding a DHCP "
                                    "reservation and allowing it on the relay."))),
    DemoTicket(2, "julia", "Hardware › Peripherals › Keyboard or mouse", "Maus setzt immer wieder aus",
               "Meine Funkmaus setzt immer wieder für ein paar Sekunden aus, auch mit neuen Batterien.",
               Priority.LOW,
               steps=(reply("julia", "Nachtrag: Mit der Kabelmaus meines Kollegen geht es problemlos."),)),
    DemoTicket(1, "claire", "Software › Microsoft 365 › Teams", "Cannot join external Teams meetings",
               "Meetings from our auditors (another organisation) say *You don't have access*. Internal meetings "
               "are fine.",
               steps=(assign("admin", "agent"),
                      note("admin", "Guest access policy was tightened last week; check the external access "
                                    "allow list first."))),
    DemoTicket(0, "employee", "Phones › Mobile phone › New or replacement phone",
               "Display vom Diensthandy gesprungen",
               "Mir ist heute das Diensthandy heruntergefallen. Das Display ist gesprungen und reagiert nur noch "
               "teilweise auf Berührungen."),
    DemoTicket(0, "thomas", "Hardware › Laptop or PC › Does not start",
               "Laptop startet nicht – Präsentation um 14 Uhr!",
               "Mein Laptop bleibt nach dem Einschalten schwarz, nur die Power-LED blinkt. Ich habe um 14 Uhr eine "
               "Kundenpräsentation, die Folien liegen auf OneDrive.", Priority.HIGH,
               steps=(take("agent"),
                      reply("agent", "Hallo Thomas, komm bitte direkt zu uns in Raum 0.12. Du bekommst ein "
                                     "Leihgerät und kannst die Folien von OneDrive öffnen."))),
    DemoTicket(0, "julia", "Network › Wi-Fi", "WLAN im 3. OG bricht ständig ab",
               "Seit heute Morgen fliegt mein Laptop im 3. OG alle paar Minuten aus dem WLAN. Bei den Kollegen "
               "am Fenster ist es genauso.", Priority.HIGH,
               steps=(take("lena"),
                      note("lena", "Access Point AP-3-02 meldet Hardwarefehler; Ersatzgerät ist bestellt."),
                      reply("lena", "Hallo Julia, der Access Point in deinem Flur ist defekt. Bis er getauscht ist, "
                                    "bitte im Besprechungsraum 3.10 arbeiten oder ein LAN-Kabel nutzen."))),
)  # fmt: skip

# How long after the previous step each kind of step happens, in minutes (from, to).


@dataclass(frozen=True)
class DemoTeam:
    """An IT team of the demo: its members (usernames), the top-level nodes it owns (English paths)
    and their assignment rule (tickets.models.AssignmentRule values)."""

    name: str
    members: tuple[str, ...]
    owns: tuple[str, ...]
    rule: str


DEMO_TEAMS: tuple[DemoTeam, ...] = (
    DemoTeam("Workplace", ("agent", "lena"), ("Hardware", "Phones", "Other / not sure"), "round_robin"),
    DemoTeam("Network & Access", ("mehmet", "agent"), ("Network", "Accounts & access"), "fewest_open"),
    # No rule: Applications' tickets wait in the team queue until someone takes them.
    DemoTeam("Applications", ("lena", "mehmet"), ("Software",), "none"),
)


@dataclass(frozen=True)
class DemoKnownIssue:
    """A demo ticket (by title) marked as a known issue, and who pressed "Affects me too"."""

    title: str
    agent: str
    source: str
    status_text: str
    affected: tuple[str, ...]


DEMO_KNOWN_ISSUE = DemoKnownIssue(
    "WLAN im 3. OG bricht ständig ab",
    "lena",
    "Network › Wi-Fi",
    "Wi-Fi on the 3rd floor: the access point is being replaced, back by 15:00. Use room 3.10 or a cable meanwhile.",
    ("max", "claire", "thomas"),
)
