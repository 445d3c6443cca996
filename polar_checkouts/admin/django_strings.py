"""Strings of Django's own admin that Django's catalogues lack in this app's languages.

This app's changelists show them. Django 6.0 renamed the actions button from "Go" to
"Run", and its German, Spanish and Japanese admin catalogues (last regenerated from 2023's
sources) have no "Run", so those operators saw an English button. Gettext looks a string up
in the catalogue of every installed app, so this app's catalogue fills the gap:
``gettext_noop`` keeps each string in it (``makemessages`` extracts them) and translates
nothing here. Drop a string once every supported Django ships it in these languages.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

DJANGO_ADMIN_STRINGS = (
    # django/contrib/admin/templates/admin/actions.html, Django 6.0+: the actions button.
    gettext_noop("Run"),
)
