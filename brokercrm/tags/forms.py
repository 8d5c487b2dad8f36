"""The custom-tag form. The tag engine does the validation that matters (and says why): the
service's problems are put on the field they belong to."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from brokercrm.tags.choices import TagCategory
from brokercrm.tags.models import CODE_LENGTH
from brokercrm.tags.services import TagRefused, problem_field


class CustomTagForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=CODE_LENGTH,
        help_text=_("Lower-case letters, digits and _, starting with a letter; never changes."),
        widget=forms.TextInput(attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}),
    )
    name_zh = forms.CharField(label=_("Chinese name"), max_length=100)
    name_en = forms.CharField(label=_("English name"), max_length=100)
    category = forms.ChoiceField(label=_("Category"), choices=TagCategory.choices)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3, "cols": 70}))
    rule = forms.CharField(
        label=_("Rule"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70, "class": "mono", "spellcheck": "false", "data-testid": "tag-rule"}),
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            del self.fields["code"]

    def add_refusal(self, error: TagRefused) -> None:
        """The engine's problems, each on its field (the rule's with the pointer)."""
        for problem in error.problems:
            name = problem_field(problem)
            self.add_error(name if name in self.fields else None, problem.message)
