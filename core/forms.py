"""Bootstrap styling for every form: widget classes here, the markup of a field in includes/_field.html.

The project's form renderer draws the markup that pages repeat most (a field with its label, help
text and errors; text, date and checkbox inputs; textareas; selects) in Python instead of through a
template per field and widget: the list's filters and an agent's update form have a dozen fields each,
and their templates cost more than the rest of those pages. The output is exactly the templates'
(includes/_field.html and Django's widget templates, stripped as the renderer strips them);
``core.tests.test_forms`` compares them.
"""

from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

_WIDGET_CLASSES = {
    forms.CheckboxInput: "form-check-input",
    forms.RadioSelect: "form-check-input",
    forms.CheckboxSelectMultiple: "form-check-input",
    forms.Select: "form-select",
    forms.SelectMultiple: "form-select",
}


def _attrs(attrs: dict) -> str:
    """Django's widgets/attrs.html, escaped: False leaves an attribute out, True writes its name alone."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def render_select(widget: dict) -> SafeString:
    """Django's widgets/select.html and select_option.html, character for character, in Python.

    Rendering a template per <option> made a list of a hundred agents cost milliseconds per page;
    ``core.tests.test_forms`` compares the output with Django's own templates.
    """
    # conditional_escape and f-strings rather than format_html: a hundred options add up.
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        for option in group_choices:
            value, label = conditional_escape(str(option["value"])), conditional_escape(option["label"])
            parts.append(f'\n  <option value="{value}"{_attrs(option["attrs"])}>{label}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def render_input(widget: dict) -> SafeString:
    """Django's widgets/input.html (text, date, search, hidden, checkbox …) in Python."""
    value = widget["value"]
    shown = "" if value is None else f' value="{conditional_escape(str(value))}"'
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def render_textarea(widget: dict) -> SafeString:
    """Django's widgets/textarea.html in Python."""
    value = widget["value"]
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{conditional_escape(value) if value else ''}</textarea>"
    )


def render_field(field: forms.BoundField) -> SafeString:
    """includes/_field.html in Python: the field's label, control, help text and errors."""
    errors = "".join(
        f'<div class="invalid-feedback d-block">{conditional_escape(error)}</div>' for error in field.errors
    )
    help_text = field.help_text
    label = conditional_escape(field.label)
    for_id = conditional_escape(field.id_for_label)
    if field.widget_type == "checkbox":
        help_html = f'<div class="form-text">{conditional_escape(help_text)}</div>' if help_text else ""
        html = (
            f'<div class="form-check mb-3">\n  {field}\n'
            f'  <label class="form-check-label" for="{for_id}">{label}</label>\n'
            f"  {help_html}\n  {errors}\n</div>"
        )
    else:
        required = ' <span class="text-danger" aria-hidden="true">*</span>' if field.field.required else ""
        help_id = f"{conditional_escape(field.auto_id)}_helptext"
        help_html = f'<div class="form-text" id="{help_id}">{conditional_escape(help_text)}</div>' if help_text else ""
        html = (
            f'<div class="mb-3">\n  <label class="form-label fw-semibold" for="{for_id}">{label}{required}</label>\n'
            f"  {field}\n  {help_html}\n  {errors}\n</div>"
        )
    return mark_safe(html)  # noqa: S308 - every value is escaped; the control is the widget's own HTML


INPUT_TEMPLATES = {
    f"django/forms/widgets/{name}.html"
    for name in ("text", "number", "email", "url", "password", "hidden", "date", "datetime", "time", "search", "tel")
} | {forms.CheckboxInput.template_name}


class BootstrapFormRenderer(TemplatesSetting):
    field_template_name = "includes/_field.html"

    def render(self, template_name, context, request=None):
        if template_name == self.field_template_name and "field" in context:
            return render_field(context["field"])
        widget = context.get("widget", {})
        if template_name in INPUT_TEMPLATES and "type" in widget:
            return render_input(widget)
        if template_name == forms.Textarea.template_name:
            return render_textarea(widget)
        if template_name == forms.Select.template_name and "optgroups" in widget:
            return render_select(widget)
        return super().render(template_name, context, request)


class StyledFormMixin:
    """Give each widget its Bootstrap class, and mark invalid fields for assistive technology."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = next((css for kind, css in _WIDGET_CLASSES.items() if isinstance(widget, kind)), "form-control")
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"
