"""Bootstrap styling for every form: widget classes here, the markup in includes/_field.html."""

from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

_WIDGET_CLASSES = {
    forms.CheckboxInput: "form-check-input",
    forms.RadioSelect: "form-check-input",
    forms.CheckboxSelectMultiple: "form-check-input",
    forms.Select: "form-select",
    forms.SelectMultiple: "form-select",
}


def _attrs(attrs: dict) -> SafeString:
    """Django's widgets/attrs.html: False leaves an attribute out, True writes its name alone."""
    html = "".join(
        format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
        for name, value in attrs.items()
        if value is not False
    )
    return mark_safe(html)  # noqa: S308 - joined from format_html results


def render_select(widget: dict) -> SafeString:
    """Django's widgets/select.html and select_option.html, character for character, in Python.

    Rendering a template per <option> made a list of a hundred agents cost milliseconds per page;
    ``core.tests.test_forms`` compares the output with Django's own templates.
    """
    parts = [format_html('<select name="{}"', widget["name"]), _attrs(widget["attrs"]), ">"]
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        for option in group_choices:
            parts.append(
                format_html(
                    '\n  <option value="{}"{}>{}</option>\n',
                    str(option["value"]),
                    _attrs(option["attrs"]),
                    option["label"],
                )
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above went through format_html


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
