"""Everything Teams checks in an app package that we can check offline, as a list of problems.

Schema validation uses Microsoft's own JSON schemas (``schema/v<manifestVersion>/``). They declare
draft-04 but use ``const`` from draft-06, which a plain draft-04 validator would silently skip (and
with it the ``manifestVersion`` check), so the validator is draft-04 plus ``const``, and it also
applies keywords written beside a ``$ref``, as Microsoft's limits there intend. Some of their
patterns use ``\\p{L}`` (any letter), which JavaScript understands and Python's ``re`` cannot compile:
``pattern`` and the ``regex`` format (used when the schema itself is checked) go through the
``regex`` module instead, which implements ``\\p{...}`` exactly. Translating ``\\p{L}`` into an ``re``
class by hand would only approximate it.

The schemas leave some rules to Teams' own validation, which is where a package would otherwise
first fail: their ``httpsUrl`` pattern also accepts ``http://``, and nothing ties the icons' file
names to files or sizes. Those rules are checked here directly.
"""

import io
import json
import zipfile
from functools import cache
from operator import methodcaller
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import referencing.jsonschema
import regex
from jsonschema import Draft4Validator, Draft7Validator, FormatChecker, validators
from PIL import Image

from teams_app import activity_types

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
MANIFEST_SCHEMA = "MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA = "MicrosoftTeams.Localization.schema.json"
COLOR_ICON_SIZE = (192, 192)
OUTLINE_ICON_SIZE = (32, 32)

APP_ID = "6f1c2a4e-0d55-4f7b-9d8e-2b1a7c3e9f10"
CLIENT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
# A complete configuration, as the tests set it.
TEAMS_SETTINGS = {
    "SITE_URL": "https://tickets.example.com",
    "ENTRA_TENANT_ID": "11111111-2222-4333-8444-555555555555",
    "ENTRA_CLIENT_ID": CLIENT_ID,
    "ENTRA_CLIENT_SECRET": "client-secret-not-to-be-shown",
    "ENTRA_APP_ID_URI": f"api://tickets.example.com/{CLIENT_ID}",
    "TEAMS_APP_ID": APP_ID,
    "TEAMS_APP_VERSION": "1.2.3",
    "TEAMS_DEVELOPER_NAME": "Example Ltd IT",
    "TEAMS_DEVELOPER_URL": "https://tickets.example.com/",
    "TEAMS_PRIVACY_URL": "https://www.example.com/privacy",
    "TEAMS_TERMS_URL": "https://www.example.com/terms",
}


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


TeamsSchemaValidator = validators.create(
    meta_schema=Draft4Validator.META_SCHEMA,
    validators={**Draft4Validator.VALIDATORS, "const": Draft7Validator.VALIDATORS["const"], "pattern": _pattern},
    type_checker=Draft4Validator.TYPE_CHECKER,
    format_checker=Draft4Validator.FORMAT_CHECKER,
    id_of=referencing.jsonschema.DRAFT4.id_of,
    # Keywords beside "$ref" apply too (draft-04 would ignore them): Microsoft writes limits such as
    # the localised short name's 30 characters next to a $ref, and Teams enforces them.
    applicable_validators=methodcaller("items"),
)

FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checks("regex", raises=regex.error)(regex.compile)


@cache
def schema_validator(manifest_version: str, name: str) -> jsonschema.protocols.Validator:
    """A validator for Microsoft's schema ``name`` of that manifest version (the schema checked first)."""
    path = SCHEMA_DIR / f"v{manifest_version}" / name
    schema = json.loads(path.read_text(encoding="utf-8"))
    TeamsSchemaValidator.check_schema(schema, format_checker=FORMAT_CHECKER)
    return TeamsSchemaValidator(schema, format_checker=FORMAT_CHECKER)


def schema_errors(document: dict, manifest_version: str, name: str) -> list[str]:
    errors = sorted(schema_validator(manifest_version, name).iter_errors(document), key=lambda e: list(e.path))
    return [f"{name}: {'/'.join(map(str, error.path)) or '(top)'}: {error.message}" for error in errors]


def _urls(value, path=""):
    """Every string in the manifest that is an address (any scheme), with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _urls(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _urls(item, f"{path}/{index}")
    elif isinstance(value, str) and "://" in value:
        yield path, value


def _icon_problems(name: str, data: bytes, *, size: tuple[int, int], outline: bool) -> list[str]:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except OSError as error:
        return [f"{name}: not an image ({error})"]
    problems = []
    if image.format != "PNG":
        problems.append(f"{name}: {image.format}, not PNG")
    if image.size != size:
        problems.append(f"{name}: {image.size[0]}×{image.size[1]}, not {size[0]}×{size[1]}")
    if outline:
        if image.mode != "RGBA":
            return [*problems, f"{name}: mode {image.mode}, needs an alpha channel (RGBA)"]
        alpha_low, alpha_high = image.getchannel("A").getextrema()
        if alpha_low != 0 or alpha_high != 255:
            problems.append(f"{name}: needs transparent and opaque pixels (alpha {alpha_low}..{alpha_high})")
        # Only the pixels that show count; Teams tints the white itself.
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        visible = Image.composite(image, white, image.getchannel("A").point(lambda a: 255 if a else 0))
        if visible.convert("RGB").getextrema() != ((255, 255), (255, 255), (255, 255)):
            problems.append(f"{name}: visible pixels must be white")
    return problems


def package_problems(package: bytes) -> list[str]:
    """What Teams would reject in this zip: an empty list for a good package."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile:
        return ["not a zip file"]
    files = {name: archive.read(name) for name in archive.namelist()}
    if "manifest.json" not in files:
        return ["manifest.json is missing at the top level of the zip"]
    manifest = json.loads(files["manifest.json"].decode("utf-8"))
    version = manifest.get("manifestVersion", "")
    if not (SCHEMA_DIR / f"v{version}").is_dir():
        return [f"no schema for manifestVersion {version!r} under {SCHEMA_DIR}"]
    problems = schema_errors(manifest, version, MANIFEST_SCHEMA)

    host = manifest.get("validDomains", [None])[0]
    for where, url in _urls(manifest):
        # The one address that is no web address: the Application ID URI, checked below.
        if where != "/webApplicationInfo/resource" and not url.startswith("https://"):
            problems.append(f"manifest.json {where}: {url} is not https")
    for tab in manifest.get("staticTabs", []):
        for key in ("contentUrl", "websiteUrl"):
            if key in tab and urlsplit(tab[key]).netloc not in manifest.get("validDomains", []):
                problems.append(f"manifest.json staticTabs {tab.get('entityId')}: {key} host is not in validDomains")
    resource = manifest.get("webApplicationInfo", {}).get("resource", "")
    if not resource.startswith(f"api://{host}/"):
        problems.append(f"manifest.json webApplicationInfo/resource {resource!r} is not api://{host}/...")

    declared = {activity["type"]: activity for activity in manifest.get("activities", {}).get("activityTypes", [])}
    for activity in activity_types.ALL:
        if activity.type not in declared:
            problems.append(f"manifest.json: activity type {activity.type} is sent but not declared")
    for name in set(declared) - set(activity_types.BY_TYPE):
        problems.append(f"manifest.json: activity type {name} is declared but never sent")

    icons = manifest.get("icons", {})
    for key, size in (("color", COLOR_ICON_SIZE), ("outline", OUTLINE_ICON_SIZE)):
        name = icons.get(key)
        if name not in files:
            problems.append(f"icon {key}: {name} is not in the zip")
        else:
            problems += _icon_problems(name, files[name], size=size, outline=key == "outline")

    localization = manifest.get("localizationInfo", {})
    languages = [{"file": localization["defaultLanguageFile"]}] if "defaultLanguageFile" in localization else []
    for language in languages + localization.get("additionalLanguages", []):
        name = language["file"]
        if name not in files:
            problems.append(f"localisation file {name} is not in the zip")
            continue
        strings = json.loads(files[name].decode("utf-8"))
        problems += schema_errors(strings, version, LOCALIZATION_SCHEMA)
    return problems
