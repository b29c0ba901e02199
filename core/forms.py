"""Bootstrap styling for every form: widget classes here, the markup in includes/_field.html."""

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


class BootstrapFormRenderer(TemplatesSetting):
    field_template_name = "includes/_field.html"

    def render(self, template_name, context, request=None):
        if template_name == forms.Select.template_name and "optgroups" in context.get("widget", {}):
            return render_select(context["widget"])
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
