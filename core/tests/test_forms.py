"""The project's form renderer draws <select> in Python; it must give exactly Django's markup."""

from unittest import mock

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from core import forms as core_forms
from core.forms import BootstrapFormRenderer, render_select

CHOICES = [
    ("", "Any"),
    ('a<b"&', "A & <B>"),
    ("Printers", [("p1", 'Printer "north"'), ("p2", "Plotter")]),
    (3, "Three"),
    ("x", "Last"),
]


def both(widget: forms.Widget, name: str, value) -> tuple[str, str]:
    ours = render_select(widget.get_context(name, value, None)["widget"])
    djangos = widget.render(name, value, renderer=DjangoTemplates())
    return str(ours), str(djangos)


@pytest.mark.parametrize(
    ("widget", "value"),
    [
        (forms.Select(choices=CHOICES), "p1"),
        (forms.Select(choices=CHOICES, attrs={"class": "form-select", "required": True, "data-x": "1>2"}), 3),
        (forms.Select(choices=CHOICES, attrs={"disabled": False, "aria-invalid": "true"}), 'a<b"&'),
        (forms.Select(choices=CHOICES), None),
        (forms.Select(choices=[]), None),
        (forms.SelectMultiple(choices=CHOICES), ["p2", "x"]),
        (forms.NullBooleanSelect(), True),
    ],
    ids=["optgroup", "attributes", "escaping", "nothing chosen", "no choices", "multiple", "null boolean"],
)
def test_select_markup_is_djangos(widget, value):
    ours, djangos = both(widget, "field", value)
    assert ours == djangos
    assert "<option" in ours or not widget.choices


@pytest.mark.django_db
def test_model_choices_render_as_djangos(employee, agent):
    from django.contrib.auth import get_user_model

    field = forms.ModelChoiceField(queryset=get_user_model().objects.order_by("pk"), empty_label="Nobody")
    ours, djangos = both(field.widget, "assignee", agent.pk)
    assert ours == djangos
    assert f'<option value="{agent.pk}" selected>' in ours


def test_the_project_renderer_draws_selects_in_python_and_other_widgets_with_templates():
    renderer = BootstrapFormRenderer()
    with mock.patch.object(core_forms, "render_select", wraps=render_select) as drawn:
        select = forms.Select(choices=CHOICES).render("field", "x", renderer=renderer)
        multiple = forms.SelectMultiple(choices=CHOICES).render("field", ["x"], renderer=renderer)
        text = forms.TextInput(attrs={"class": "form-control"}).render("title", "<b>", renderer=renderer)
    assert drawn.call_count == 2
    assert '<option value="x" selected>Last</option>' in select
    assert '<select name="field" multiple>' in multiple
    assert text == forms.TextInput(attrs={"class": "form-control"}).render("title", "<b>", renderer=DjangoTemplates())
    assert 'value="&lt;b&gt;"' in text


class EveryKindOfField(forms.Form):
    title = forms.CharField(label="Title <b>", max_length=20, help_text="Short & clear")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    when = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    search = forms.CharField(required=False, widget=forms.TextInput(attrs={"type": "search", "autofocus": True}))
    secret = forms.CharField(required=False, widget=forms.HiddenInput)
    count = forms.IntegerField(required=False)
    email = forms.EmailField(required=False, help_text="We write here")
    agree = forms.BooleanField(label="I agree", help_text="Read it first", required=True)
    optin = forms.BooleanField(required=False)
    kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B <")], required=False)
    password = forms.CharField(widget=forms.PasswordInput(render_value=True), required=False)


FILLED = {
    "title": 'Way too long a title "with" <tags> & more',
    "note": "<script>alert(1)</script>\nline two",
    "when": "2026-02-30",
    "search": "x' onmouseover='1",
    "secret": "<hidden>",
    "count": "7",
    "email": "not an address",
    "optin": "on",
    "kind": "b",
    "password": "p&ss",
}


class PlainRenderer(BootstrapFormRenderer):
    """The same templates, every one of them drawn by Django's template engine."""

    def render(self, template_name, context, request=None):
        return super(BootstrapFormRenderer, self).render(template_name, context, request)


@pytest.mark.parametrize("data", [None, {}, FILLED], ids=["unbound", "empty", "filled with errors"])
def test_fields_drawn_in_python_are_the_templates_markup(data):
    ours = EveryKindOfField(data, renderer=BootstrapFormRenderer())
    templates = EveryKindOfField(data, renderer=PlainRenderer())

    for name in ours.fields:
        assert ours[name].as_field_group() == templates[name].as_field_group(), name
        assert str(ours[name]) == str(templates[name]), name
    if data:
        assert ours.errors  # the error messages are part of what was compared


def test_the_project_renderer_draws_fields_without_templates():
    form = EveryKindOfField(FILLED)
    with mock.patch.object(BootstrapFormRenderer, "get_template", side_effect=AssertionError("a template")):
        html = "".join(str(form[name].as_field_group()) for name in form.fields)
    assert 'value="x&#x27; onmouseover=&#x27;1"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<div class="invalid-feedback d-block">Enter a valid date.</div>' in html
