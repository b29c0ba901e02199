"""Write the Teams app package that an admin uploads in the Teams admin center."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from teams_app import manifest


class Command(BaseCommand):
    help = (
        "Write the Teams app package (manifest.json, icons, English and German texts) to upload in the "
        "Teams admin center. It is built from SITE_URL, ENTRA_CLIENT_ID and the TEAMS_ settings."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", "-o", type=Path, default=Path("teams-app.zip"), help="Where to write the zip (teams-app.zip)."
        )

    def handle(self, *args, output: Path, **options):
        try:
            config = manifest.package_settings()
        except manifest.PackageSettingsError as error:
            raise CommandError(str(error)) from None
        output.write_bytes(manifest.build_package(config))
        self.stdout.write(
            f"Wrote {output}: Teams app {config.app_id}, version {config.app_version}, for {config.site_url}.\n"
            "Upload it in the Teams admin center under Teams apps > Manage apps > Upload new app."
        )
