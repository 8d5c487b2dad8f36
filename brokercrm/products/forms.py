"""Forms of the product pages; the services do the validation that matters (and say why)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from brokercrm.products.models import Product
from brokercrm.products.services import COLUMNS, DOCUMENT_EXTENSIONS


class ProductForm(forms.ModelForm):
    """Create (with the code) or edit (without: the code is the product's identity)."""

    class Meta:
        model = Product
        fields = [*COLUMNS, "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4, "cols": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["product_code"]
        self.fields["min_amount"].min_value = 0

    def validate_unique(self) -> None:
        """The service checks the code is free (and says so on the code field)."""

    def add_service_errors(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    file = forms.FileField(
        label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ",".join(DOCUMENT_EXTENSIONS)})
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"})
    )
