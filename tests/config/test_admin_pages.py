"""Every admin page of the project renders for a superuser and for an operator (no 500), with data."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Operator

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"parking", "coupons", "orders", "wallet", "seckill"}


def _admin_urls():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in PROJECT_APPS:
            yield model, model_admin


@pytest.fixture
def demo():
    call_command("seed_demo")


@pytest.mark.parametrize("who", ["superuser", "operator"])
def test_every_changelist_and_change_page_renders(client, demo, who):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="admin" if who == "superuser" else "operator")
    client.force_login(user)
    seen = 0
    for model, model_admin in _admin_urls():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        info = prefix
        res = client.get(reverse(f"{prefix}_changelist"))
        assert res.status_code in (200, 403), (info, res.status_code)
        if res.status_code == 403:
            continue
        seen += 1
        obj = model_admin.get_queryset(res.wsgi_request).first()
        if obj is not None:
            page = client.get(reverse(f"{prefix}_change", args=[obj.pk]))
            assert page.status_code == 200, (info, page.status_code)
        if model_admin.has_add_permission(res.wsgi_request):
            assert client.get(reverse(f"{prefix}_add")).status_code == 200, info
    assert seen >= 8
    assert client.get(reverse("admin:index")).status_code == 200
    if who == "operator":
        assert Operator.objects.get(user=user).organization.name == "Demo Parking Co."
