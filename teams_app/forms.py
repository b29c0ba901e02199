from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from teams_app.models import KIND_CHOICES, NotificationPreference
from teams_app.notifications import default_ways, kinds_for, teams_user_ids


class NotificationSettingsForm(forms.Form):
    """One group of check boxes per kind of notification this person can receive: Teams chat, Teams
    activity feed, e-mail; any combination, or none (nothing ticked)."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.has_teams = bool(teams_user_ids([user.pk]))
        saved = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "channel"))
        labels = dict(KIND_CHOICES)
        ways = [
            (NotificationPreference.CHAT, _("Teams chat")),
            (NotificationPreference.FEED, _("Teams activity feed")),
            (NotificationPreference.EMAIL, _("E-mail")),
        ]
        self.offers_chat = settings.TEAMS_BOT_ENABLED
        if not self.offers_chat:
            ways = ways[1:]  # no bot, no chat
        for kind in kinds_for(user):
            choice = saved.get(kind, default_ways(has_teams=self.has_teams))
            self.fields[kind] = forms.MultipleChoiceField(
                label=labels[kind],
                choices=ways,
                required=False,
                widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
                initial=sorted(NotificationPreference.split(choice)),
                error_messages={"invalid_choice": _("Choose among the options shown.")},
            )

    def save(self) -> None:
        for kind, ways in self.cleaned_data.items():
            NotificationPreference.objects.update_or_create(
                user=self.user, kind=kind, defaults={"channel": NotificationPreference.join(ways)}
            )


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
