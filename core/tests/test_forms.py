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
