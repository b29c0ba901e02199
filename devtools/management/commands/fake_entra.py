"""Run the fake Entra ID + Graph ``/me`` (devtools/fake_entra.py) for offline development."""

import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from devtools.fake_entra import FakeEntraID

DEV_TENANT_ID = "11111111-2222-3333-4444-555555555555"
DEV_CLIENT_ID = "66666666-7777-8888-9999-000000000000"
DEV_CLIENT_SECRET = "fake-secret"


class Command(BaseCommand):
    help = "Serve a fake Microsoft Entra ID and Graph /me with three demo users until Ctrl-C."
    # A developer tool: it must start even while the app's own checks fail.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8400, help="Port to listen on (default 8400).")

    def handle(self, *args, host: str, port: int, **options):
        fake = FakeEntraID(
            tenant_id=getattr(settings, "ENTRA_TENANT_ID", "") or DEV_TENANT_ID,
            client_id=getattr(settings, "ENTRA_CLIENT_ID", "") or DEV_CLIENT_ID,
            client_secret=getattr(settings, "ENTRA_CLIENT_SECRET", "") or DEV_CLIENT_SECRET,
            host=host,
            port=port,
        )
        # Fixed object ids: the app keys accounts on `sub`, derived from the oid, so a restarted fake
        # must sign the same person in as the same account.
        domain = "contoso.example"
        fake.add_user(
            oid="00000000-0000-4000-8000-00000000a001",
            name="Mia Schmidt",
            upn=f"mia.schmidt@{domain}",
            email=f"mia.schmidt@{domain}",
            given_name="Mia",
            family_name="Schmidt",
            roles=("Tickets.Agent",),
            job_title="IT Support",
            department="IT",
            office_location="Berlin",
            preferred_language="de-DE",
        )
        fake.add_user(
            oid="00000000-0000-4000-8000-00000000a002",
            name="Leon Fischer",
            upn=f"leon.fischer@{domain}",
            email=f"leon.fischer@{domain}",
        )
        fake.add_user(
            oid="00000000-0000-4000-8000-00000000a003",
            name="Ava Admin",
            upn=f"ava.admin@{domain}",
            roles=("Tickets.Admin",),
            department="IT",
        )

        with fake:
            self.stdout.write(f"Fake Entra ID and Graph /me on {fake.url}; start the app with:\n")
            for name, value in [
                ("ENTRA_TENANT_ID", fake.tenant_id),
                ("ENTRA_CLIENT_ID", fake.client_id),
                ("ENTRA_CLIENT_SECRET", fake.client_secret),
                ("ENTRA_AUTHORITY_URL", fake.url),
                ("GRAPH_URL", fake.graph_url),
            ]:
                self.stdout.write(f"  export {name}={value}")
            self.stdout.write(
                "\nSigning in shows a page to pick Mia (agent), Leon (employee) or Ava (admin). Ctrl-C stops."
            )
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                self.stdout.write("Stopped.")
