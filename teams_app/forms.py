from django import forms
from django.utils.translation import gettext_lazy as _

from teams_app.models import KIND_CHOICES, NotificationPreference
from teams_app.notifications import default_choice, kinds_for, teams_user_ids


class NotificationSettingsForm(forms.Form):
    """One radio group per kind of notification this person can receive: Teams, e-mail, both, none."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.has_teams = bool(teams_user_ids([user.pk]))
        saved = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "channel"))
        labels = dict(KIND_CHOICES)
        for kind in kinds_for(user):
            self.fields[kind] = forms.ChoiceField(
                label=labels[kind],
                choices=NotificationPreference.Choice.choices,
                widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                initial=saved.get(kind, default_choice(has_teams=self.has_teams)),
                error_messages={"required": _("Choose one."), "invalid_choice": _("Choose one of the options.")},
            )

    def save(self) -> None:
        for kind, channel in self.cleaned_data.items():
            NotificationPreference.objects.update_or_create(user=self.user, kind=kind, defaults={"channel": channel})


class ITChannelForm(forms.Form):
    """The admin's pick of the Teams channel where every new ticket is posted as a card."""

    channel = forms.ModelChoiceField(
        label=_("IT channel"),
        queryset=None,
        required=False,
        empty_label=_("No IT channel"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, **kwargs):
        from teams_app.models import BotChannel

        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = BotChannel.objects.filter(is_available=True)
        self.fields["channel"].initial = BotChannel.objects.filter(is_it_channel=True, is_available=True).first()
