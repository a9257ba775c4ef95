"""The admin reads as Chinese: a superuser with Chinese selected opens every registered model's
list, add page (where adding is allowed) and one object's page, and finds no English word beyond
the brand, usernames, codes and the English data people stored."""

import json
import re
from datetime import time, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from coupons.models import Alert
from coupons.services import alert_raise
from orders.compensation import voucher_compensate
from orders.models import Order, OrderEvent, PurchaseLimitRule
from orders.notes import event_reason
from orders.services import order_pay
from parking.models import Lot
from parking.services import merchants, partnerships, payments, stays, vehicles
from parking.tariffs import NightRate, TariffRule
from tests.factories import OperatorFactory, OrderFactory, SeckillVoucherFactory, UserFactory, VoucherFactory
from tests.orders.helpers import buy
from tests.parking.conftest import ago, fund
from wallet.models import MoneyReconciliationFinding
from wallet.reconciliation import money_reconcile
from wallet.services import topup_start

from .conftest import shot, use_language
from .test_admin_money_browser import admin_login
from .test_chinese_browser import english_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

USERNAMES = {"zhadmin", "zhboss", "zhpartner", "zhdriver", "teahouse", "teaclerk"}
# Proper nouns and names of formats and keys, as Django's own Chinese writes them too.
NAMES = {"ID", "API", "CSV", "LDAP", "Control", "Command", "Mac"}
# Codes, not words: order numbers (UUIDs), API tokens (hex), a payment provider's transaction ids
# ("sbx_9f0c..."), the rows a reconciliation finding names ("wallet.wallet:3"), ledger references
# and idempotency keys ("topup:sandbox:sbx_9f0c...", "parking_payment:1"), a password's hasher.
CODES = [
    re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    re.compile(r"\b[a-z]+_[0-9a-f]{16,}\b"),
    re.compile(r"\b[0-9a-f]{20,}\b"),
    re.compile(r"\b[a-z_]+\.[a-z_]+:\s*\d*"),
    re.compile(r"\b[a-z_]+(?::[a-z0-9_]+)+(?::|\b)"),
    re.compile(r"\b(?:md5|pbkdf2_sha256|argon2|bcrypt_sha256|scrypt)\b"),
    re.compile(r"\b\w+\*{4,}"),  # a password's salt and hash, masked
]


def _world():
    """One of everything the admin lists, named in Chinese, made through the services."""
    now = timezone.now()
    UserFactory(username="zhadmin", is_staff=True, is_superuser=True)
    Group.objects.create(name="值班运营")
    op = OperatorFactory(user__username="zhboss", organization__name="滨江停车")
    partner = OperatorFactory(user__username="zhpartner", organization__name="江南商场")
    night = NightRate(start=time(22, 0), end=time(7, 0), unit_price=100, cap=1000)
    lot = stays.lot_create(organization=op.organization, name="滨江一号", capacity=40, tariff=TariffRule(night=night))
    sale = SeckillVoucherFactory(
        organization=op.organization,
        lot=lot,
        title="午间秒杀一小时",
        stock=30,
        initial_stock=40,
        benefit_type="minutes",
        benefit_value=60,
    )
    driver = UserFactory(username="zhdriver")
    topup_start(user=driver, amount=20000)  # the sandbox: a top-up and its ledger entry
    order_pay(
        order_id=buy(driver, VoucherFactory(organization=op.organization, title="周末停车券", price=800)).pk,
        user=driver,
    )
    PurchaseLimitRule.objects.create(organization=op.organization, kind="min_account_age_days", value=3)
    alert_raise(organization_id=op.organization.pk, voucher_id=sale.pk, kind="low_stock", message="午间秒杀库存不足")
    withdrawn = VoucherFactory(organization=op.organization, title="停办的夜场券", price=500)
    order_pay(order_id=buy(driver, withdrawn).pk, user=driver)
    voucher_compensate(voucher_id=withdrawn.pk, amount=200, message="活动取消，深表歉意", actor=op.user)

    p = partnerships.partnership_offer(
        organization=op.organization,
        user=op.user,
        partner=partner.organization,
        lots=[lot],
        benefit_types=["amount", "free"],
        settlement_price=250,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=30),
        monthly_cap=10,
    )
    partnerships.partnership_accept(partnership_id=p.pk, organization=partner.organization)
    vehicles.vehicle_register(user=driver, plate="粤B12345")
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    coupon = OrderFactory(
        user=driver,
        voucher=VoucherFactory(organization=partner.organization, title="商场立减三元", benefit_value=300),
        status=Order.Status.PAID,
        paid_at=now,
    )
    payments.payment_pay(payment_id=payments.payment_refresh(session=session)[1].pk, user=driver, coupon_id=coupon.pk)
    stays.session_exit(lot=lot, plate="粤B12345", at=timezone.now())

    shop = merchants.merchant_register(
        organization=op.organization,
        name="茶馆",
        lots=[lot],
        username="teahouse",
        password="leaf-and-water-42",
        benefit_type="amount",
        benefit_value=500,
        unit_price=300,
    )
    merchants.merchant_member_add(merchant=shop, username="teaclerk", password="leaf-and-water-42", role="clerk")
    fund(shop.account, 2000)
    quota = merchants.quota_buy(
        merchant=shop, quantity=5, valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=30)
    )
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B12345", user=None)

    report = money_reconcile()
    MoneyReconciliationFinding.objects.create(
        report=report, check_name="wallet_balances", message="钱包余额与流水合计不符", rows=["wallet.wallet:1"]
    )


def _stored_english() -> set[str]:
    """What the product stores in English as written, as audit records: alert messages,
    reconciliation findings and their details, and what an order event's reason quotes of an
    operator's words (the reasons themselves are shown translated). Data, not interface."""
    with override("zh-hans"):
        reasons = [event_reason(r) for r in OrderEvent.objects.values_list("reason", flat=True)]
    stored = [
        *reasons,
        *Alert.objects.values_list("message", flat=True),
        *MoneyReconciliationFinding.objects.values_list("message", flat=True),
        *(json.dumps(d) for d in MoneyReconciliationFinding.objects.values_list("details", flat=True)),
    ]
    return set(re.findall(r"[A-Za-z]{2,}", " ".join(stored)))


def _pages(superuser):
    """(screenshot name, path) of every registered model's list, add page and first object, and of
    the admin's own pages."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        opts = model._meta
        name = f"zh-admin-{opts.app_label}-{opts.model_name}"
        yield f"{name}-list", reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        if model_admin.has_add_permission(request):
            yield f"{name}-add", reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"no {opts.label} to open"
        yield f"{name}-change", reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    # The admin's own pages beyond the models': the home page, the refunds and a lot's report.
    yield "zh-admin-home", reverse("admin:index")
    yield "zh-admin-orders-order-refunds", reverse("admin:orders_order_refunds")
    yield "zh-admin-parking-lot-report", reverse("admin:parking_lot_report", args=[Lot.objects.first().pk])


def test_the_admin_in_chinese_has_no_english_left(browser, live_server):
    from django.contrib.auth import get_user_model

    _world()
    superuser = get_user_model().objects.get(username="zhadmin")
    # Usernames read in capitals where the theme writes them so ("欢迎，ZHADMIN").
    allowed = USERNAMES | {u.upper() for u in USERNAMES} | NAMES | _stored_english()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.base_url = live_server.url
    blocked = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    use_language(page, "zh-hans")
    admin_login(page, "zhadmin")

    found, seen = {}, []
    for name, path in _pages(superuser):
        response = page.goto(page.base_url + path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        text = page.inner_text("body")
        for code in CODES:
            text = code.sub(" ", text)
        left = english_in(text, also_allowed=allowed)
        if left:
            found[name] = left
        shot(page, name)
        seen.append(name)
    context.close()

    assert found == {}, f"English left in the Chinese admin: {found}"
    assert len(seen) >= 2 * len(admin.site._registry)  # every list and object, and the add pages allowed
    assert blocked == [], "the Content-Security-Policy blocked: " + "; ".join(blocked)
