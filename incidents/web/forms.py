"""Forms of the public subscription pages."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..models import Component


class ComponentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Component) -> str:
        return str(obj)


def _components_field() -> ComponentChoiceField:
    return ComponentChoiceField(
        queryset=Component.objects.filter(is_hidden=False).select_related("group"),
        to_field_name="public_id",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Components"),
        help_text=_("Choose none to hear of everything on the page, including components added later."),
    )


def _language_field() -> forms.ChoiceField:
    """The language of the mail, by the languages' own names (简体中文, 繁體中文). Not
    required: a form without it (the status page's one-line form) means the page's language."""
    return forms.ChoiceField(choices=settings.LANGUAGES, required=False, label=_("Language of the emails"))


class SubscribeForm(forms.Form):
    email = forms.EmailField(max_length=254, label=_("Email address"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"] = _language_field()
        self.fields["components"] = _components_field()


class ChannelForm(forms.Form):
    """A Slack or Discord channel of the reader's: its incoming-webhook URL. Its fields
    are prefixed (`channel-…`): the email form shares the page."""

    prefix = "channel"

    webhook_url = forms.CharField(max_length=300, label=_("Slack or Discord incoming-webhook URL"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"] = _language_field()
        self.fields["language"].label = _("Language of the posts")
        self.fields["components"] = _components_field()


class ManageForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"] = _language_field()
        self.fields["components"] = _components_field()
