"""Strings Django's admin shows that its own Simplified Chinese catalogue lacks (added in Django
5.x): marked here so `make messages` extracts them into our catalogue, which Django reads before its
own. Those of the admin's scripts are served with its script catalogue (`AdminJavaScriptCatalog`)."""

from django.utils.translation import gettext, gettext_noop
from django.views.i18n import JavaScriptCatalog

PAGE_STRINGS = [
    # The app list's table headings, read by screen readers (admin/app_list.html).
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    # Under the add-user form (auth's UserAdmin).
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
]

SCRIPT_STRINGS = [
    # The two-box selector of groups and permissions (admin/js/SelectFilter2.js).
    gettext_noop("Choose all %s"),
    gettext_noop("Choose selected %s"),
    gettext_noop('Choose %s by selecting them and then select the "Choose" arrow button.'),
    gettext_noop("Remove all %s"),
    gettext_noop("Remove selected %s"),
    gettext_noop('Remove %s by selecting them and then select the "Remove" arrow button.'),
    gettext_noop("(click to clear)"),
]


class AdminJavaScriptCatalog(JavaScriptCatalog):
    """The admin's script catalogue, completed with SCRIPT_STRINGS from ours."""

    def __init__(self, **kwargs):
        kwargs.setdefault("packages", ["django.contrib.admin"])
        super().__init__(**kwargs)

    def get_catalog(self):
        catalog = super().get_catalog()
        for msgid in SCRIPT_STRINGS:
            translated = gettext(msgid)
            if translated != msgid:
                catalog[msgid] = translated
        return catalog
