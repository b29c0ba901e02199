"""A structural check of Adaptive Cards against version 1.5 of the format, as a list of problems.

Microsoft's Adaptive Card JSON schema is not shipped in any package of the registries we use (the
npm package ``adaptivecards`` carries the renderer and its TypeScript model, not
``schemas/adaptive-card.json``; ``@microsoft/adaptivecards-tools`` neither; ``adaptivecards-designer``
2.4.4 embeds only the 1.0-era schema, without ``Action.Execute``, ``RichTextBlock`` or ``refresh``,
as a TypeScript constant; PyPI has only third-party builders), so the cards are checked
here against the rules of the 1.5 schema that they rely on, written out by hand: which element,
inline and action types exist in 1.5 (nothing newer, which Teams would drop or render as the
fallback text), which properties each may carry (an unknown or misspelt one is a problem), the
required ones, the enumerations, unique input ids, and the Universal Action rules Teams applies
(``refresh.action`` is an ``Action.Execute``, at most 60 ``userIds``).
"""

from typing import Any

MAX_VERSION = (1, 5)

_COMMON_ELEMENT = {"type", "id", "spacing", "separator", "isVisible", "height", "requires", "fallback"}
_INPUT = _COMMON_ELEMENT | {"label", "isRequired", "errorMessage", "value"}
_COMMON_ACTION = {"type", "id", "title", "iconUrl", "style", "fallback", "tooltip", "isEnabled", "mode", "requires"}
_TEXT_STYLE = {"color", "fontType", "isSubtle", "size", "weight"}

ELEMENTS: dict[str, tuple[set[str], set[str]]] = {
    # type: (allowed properties, required properties)
    "TextBlock": (
        _COMMON_ELEMENT | _TEXT_STYLE | {"text", "horizontalAlignment", "maxLines", "wrap", "style"},
        {"text"},
    ),
    "RichTextBlock": (_COMMON_ELEMENT | {"inlines", "horizontalAlignment"}, {"inlines"}),
    "Container": (
        _COMMON_ELEMENT
        | {
            "items",
            "selectAction",
            "style",
            "verticalContentAlignment",
            "bleed",
            "backgroundImage",
            "minHeight",
            "rtl",
        },
        {"items"},
    ),
    "ColumnSet": (
        _COMMON_ELEMENT | {"columns", "selectAction", "style", "bleed", "minHeight", "horizontalAlignment"},
        set(),
    ),
    "FactSet": (_COMMON_ELEMENT | {"facts"}, {"facts"}),
    "ActionSet": (_COMMON_ELEMENT | {"actions"}, {"actions"}),
    "Image": (
        _COMMON_ELEMENT
        | {"url", "altText", "backgroundColor", "horizontalAlignment", "selectAction", "size", "style", "width"},
        {"url"},
    ),
    "Input.Text": (
        _INPUT | {"isMultiline", "maxLength", "placeholder", "style", "inlineAction", "regex"},
        {"id"},
    ),
    "Input.ChoiceSet": (_INPUT | {"choices", "isMultiSelect", "style", "placeholder", "wrap"}, {"id", "choices"}),
    "Input.Toggle": (_INPUT | {"title", "valueOn", "valueOff", "wrap"}, {"id", "title"}),
    "Input.Date": (_INPUT | {"max", "min", "placeholder"}, {"id"}),
    "Input.Number": (_INPUT | {"max", "min", "placeholder"}, {"id"}),
    "Input.Time": (_INPUT | {"max", "min", "placeholder"}, {"id"}),
}
COLUMN = (
    {"type", "id", "items", "width", "style", "selectAction", "separator", "spacing", "verticalContentAlignment"}
    | {"bleed", "backgroundImage", "minHeight", "rtl", "isVisible", "requires", "fallback"},
    {"type"},
)
INLINES = {
    "TextRun": (
        {"type", "text", "color", "fontType", "highlight", "isSubtle", "italic", "selectAction", "size"}
        | {"strikethrough", "underline", "weight"},
        {"text"},
    )
}
ACTIONS: dict[str, tuple[set[str], set[str]]] = {
    "Action.OpenUrl": (_COMMON_ACTION | {"url"}, {"url"}),
    "Action.Submit": (_COMMON_ACTION | {"data", "associatedInputs"}, set()),
    "Action.Execute": (_COMMON_ACTION | {"verb", "data", "associatedInputs"}, set()),
    "Action.ShowCard": (_COMMON_ACTION | {"card"}, set()),
    "Action.ToggleVisibility": (_COMMON_ACTION | {"targetElements"}, {"targetElements"}),
}
CARD = {
    "type",
    "$schema",
    "version",
    "body",
    "actions",
    "refresh",
    "authentication",
    "fallbackText",
    "backgroundImage",
    "minHeight",
    "rtl",
    "speak",
    "lang",
    "verticalContentAlignment",
    "selectAction",
    "metadata",
    "msteams",
}
ENUMS = {
    "spacing": {"None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"},
    "weight": {"Default", "Lighter", "Bolder"},
    "size": {"Default", "Small", "Medium", "Large", "ExtraLarge"},
    "color": {"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"},
    "horizontalAlignment": {"Left", "Center", "Right"},
}
STRING_PROPERTIES = {"text", "title", "verb", "label", "placeholder", "errorMessage", "url", "id"}
BOOLEAN_PROPERTIES = {"wrap", "isSubtle", "separator", "isRequired", "isMultiline", "isVisible"}
MAX_REFRESH_USER_IDS = 60


def card_problems(card: dict[str, Any]) -> list[str]:
    """Everything wrong with ``card`` (a top-level card) as Adaptive Cards 1.5; empty when it is fine."""
    problems: list[str] = []
    input_ids: list[str] = []
    version = str(card.get("version", ""))
    try:
        if tuple(int(part) for part in version.split(".")) > MAX_VERSION:
            problems.append(f"version {version} is newer than 1.5")
    except ValueError:
        problems.append(f"version {version!r} is not a version number")
    _card(card, "card", problems, input_ids, top=True)
    duplicates = {value for value in input_ids if input_ids.count(value) > 1}
    if duplicates:
        problems.append(f"input ids used twice: {sorted(duplicates)}")
    return problems


def _properties(thing: dict, where: str, allowed: set[str], required: set[str], problems: list[str]) -> None:
    for name in sorted(set(thing) - allowed):
        problems.append(f"{where}: unknown property {name!r}")
    for name in sorted(required - set(thing)):
        problems.append(f"{where}: missing {name!r}")
    for name, values in ENUMS.items():
        if name in thing and thing[name] not in values:
            problems.append(f"{where}: {name}={thing[name]!r} is not one of {sorted(values)}")
    for name in STRING_PROPERTIES & set(thing):
        if not isinstance(thing[name], str):
            problems.append(f"{where}: {name} must be a string")
    for name in BOOLEAN_PROPERTIES & set(thing):
        if not isinstance(thing[name], bool):
            problems.append(f"{where}: {name} must be true or false")


def _card(card: Any, where: str, problems: list[str], input_ids: list[str], *, top: bool = False) -> None:
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        problems.append(f"{where}: not an AdaptiveCard")
        return
    _properties(card, where, CARD, {"type", "version"} if top else {"type"}, problems)
    for index, element in enumerate(card.get("body", [])):
        _element(element, f"{where}.body[{index}]", problems, input_ids)
    for index, action in enumerate(card.get("actions", [])):
        _action(action, f"{where}.actions[{index}]", problems, input_ids)
    refresh = card.get("refresh")
    if refresh is not None:
        _properties(refresh, f"{where}.refresh", {"action", "userIds", "expires"}, {"action"}, problems)
        if not isinstance(refresh.get("action"), dict) or refresh["action"].get("type") != "Action.Execute":
            problems.append(f"{where}.refresh.action must be an Action.Execute")
        else:
            _action(refresh["action"], f"{where}.refresh.action", problems, input_ids)
        user_ids = refresh.get("userIds", [])
        if not isinstance(user_ids, list) or not all(isinstance(value, str) for value in user_ids):
            problems.append(f"{where}.refresh.userIds must be a list of strings")
        elif len(user_ids) > MAX_REFRESH_USER_IDS:
            problems.append(f"{where}.refresh.userIds: Teams refreshes for at most {MAX_REFRESH_USER_IDS} people")


def _element(element: Any, where: str, problems: list[str], input_ids: list[str]) -> None:
    kind = element.get("type") if isinstance(element, dict) else None
    if kind not in ELEMENTS:
        problems.append(f"{where}: {kind!r} is no Adaptive Card 1.5 element")
        return
    allowed, required = ELEMENTS[kind]
    _properties(element, f"{where} ({kind})", allowed, required, problems)
    if kind.startswith("Input."):
        input_ids.append(element.get("id"))
    if kind == "Input.ChoiceSet":
        for index, choice in enumerate(element.get("choices", [])):
            _properties(choice, f"{where}.choices[{index}]", {"title", "value"}, {"title", "value"}, problems)
    if kind == "RichTextBlock":
        for index, inline in enumerate(element.get("inlines", [])):
            if isinstance(inline, str):
                continue
            inline_kind = inline.get("type") if isinstance(inline, dict) else None
            if inline_kind not in INLINES:
                problems.append(f"{where}.inlines[{index}]: {inline_kind!r} is no 1.5 inline")
                continue
            _properties(inline, f"{where}.inlines[{index}]", *INLINES[inline_kind], problems)
    if kind == "FactSet":
        for index, fact in enumerate(element.get("facts", [])):
            _properties(fact, f"{where}.facts[{index}]", {"title", "value"}, {"title", "value"}, problems)
    for index, item in enumerate(element.get("items", [])):
        _element(item, f"{where}.items[{index}]", problems, input_ids)
    for index, column in enumerate(element.get("columns", [])):
        _properties(column, f"{where}.columns[{index}]", *COLUMN, problems)
        if column.get("type") != "Column":
            problems.append(f"{where}.columns[{index}]: not a Column")
        for item_index, item in enumerate(column.get("items", [])):
            _element(item, f"{where}.columns[{index}].items[{item_index}]", problems, input_ids)
    for index, action in enumerate(element.get("actions", [])):
        _action(action, f"{where}.actions[{index}]", problems, input_ids)
    if "selectAction" in element:
        select = element["selectAction"]
        if isinstance(select, dict) and select.get("type") == "Action.ShowCard":
            problems.append(f"{where}.selectAction: Action.ShowCard is not allowed here")
        _action(select, f"{where}.selectAction", problems, input_ids)


def _action(action: Any, where: str, problems: list[str], input_ids: list[str]) -> None:
    kind = action.get("type") if isinstance(action, dict) else None
    if kind not in ACTIONS:
        problems.append(f"{where}: {kind!r} is no Adaptive Card 1.5 action")
        return
    _properties(action, f"{where} ({kind})", *ACTIONS[kind], problems)
    if kind == "Action.OpenUrl" and not str(action.get("url", "")).startswith("https://"):
        problems.append(f"{where}: Teams opens https links only")
    if kind == "Action.ShowCard":
        _card(action.get("card"), f"{where}.card", problems, input_ids)
    if "data" in action and not isinstance(action["data"], dict):
        problems.append(f"{where}: data must be an object")
