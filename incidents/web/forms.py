"""Forms of the public subscription pages."""

from django import forms

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
        label="Components",
        help_text="Choose none to hear of everything on the page, including components added later.",
    )


class SubscribeForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Email address")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["components"] = _components_field()


class ManageForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["components"] = _components_field()
