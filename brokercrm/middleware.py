"""Chinese first: the UI speaks Simplified Chinese unless the user chose another language.

Django's ``LocaleMiddleware`` would follow the browser's Accept-Language; a brokerage's staff
work in Chinese whatever their browser says, so only the explicit choice (the language cookie
set by the switch) overrides the default.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
