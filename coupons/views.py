"""Voucher pages: the list (by organization and lot), one voucher with its countdown, live stock
and buy button, and the small JSON read the page polls."""

from django.core.cache import cache
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.models import Organization
from config.ids import is_id

from . import selectors
from .models import Voucher, lot_model


def _orders_url() -> str:
    try:
        return reverse("my-orders")
    except NoReverseMatch:  # the orders pages are another app's; the path is the contract
        return "/orders/"


def home(request):
    return render(request, "home.html", {"vouchers": selectors.vouchers_on_sale()[:12]})


def voucher_list(request):
    vouchers = selectors.vouchers_on_sale()
    org_id = request.GET.get("organization", "")
    lot_id = request.GET.get("lot", "")
    lot = None
    if is_id(org_id):
        vouchers = vouchers.filter(organization_id=int(org_id))
    if is_id(lot_id):
        lot = lot_model().objects.filter(pk=int(lot_id)).first()
        if lot is not None:
            vouchers = vouchers.filter(Q(lot=lot) | Q(lot__isnull=True, organization_id=lot.organization_id))
        else:
            vouchers = vouchers.none()
    rows = []
    for v in vouchers[:200]:
        sale = selectors.sale_state(v)
        left = sale["stock_remaining"]
        sale["claimed_pct"] = (
            round(100 * (v.initial_stock - left) / v.initial_stock) if v.initial_stock and left is not None else 0
        )
        rows.append((v, sale))
    return render(
        request,
        "coupons/voucher_list.html",
        {
            "rows": rows,
            "organizations": Organization.objects.filter(vouchers__status=Voucher.Status.LISTED).distinct(),
            "lots": selectors.lots_of_organization(int(org_id)) if is_id(org_id) else [],
            "org_id": org_id,
            "lot_id": lot_id,
            "lot": lot,
        },
    )


def _texts() -> dict:
    """Everything the page script says, translated on the server (no JS catalog needed)."""
    return {
        "status": {
            "upcoming": _("Not started yet"),
            "on_sale": _("On sale"),
            "sold_out": _("Sold out"),
            "ended": _("Sale ended"),
            "delisted": _("No longer on sale"),
        },
        "button": {"buy": _("Buy now"), "bought": _("Bought"), "sold_out": _("Sold out"), "closed": _("Buy now")},
        "starts_in": _("Starts in"),
        "ends_in": _("Ends in"),
        "ended": _("The sale has ended."),
        "buying": _("Buying…"),
        "bought": _("Done! Your order is placed. Pay for it within {minutes} minutes on your orders page."),
        "accepted": _("You got one! We are confirming your order…"),
        "confirmed": _("Confirmed! Pay for it within {minutes} minutes on your orders page."),
        "failed": _("Sorry, we could not confirm your order ({reason}). You were not charged."),
        "errors": {
            "sold_out": _("Sorry, it is sold out."),
            "already_purchased": _("You already have this voucher."),
            "purchase_limit_reached": _("You have reached the limit for this voucher."),
            "not_started": _("The sale has not started yet. Try again when the countdown ends."),
            "ended": _("The sale has ended."),
            "rate_limited": _("Too many tries. Wait a moment and try again."),
            "not_authenticated": _("Please log in to buy."),
            "not_found": _("This voucher is no longer on sale."),
            "network": _("We could not reach the shop. Check your connection and try again."),
            "other": _("Something went wrong on our side. Please try again."),
        },
    }


def voucher_detail(request, voucher_id: int):
    voucher = selectors.voucher_on_sale(voucher_id)
    texts = _texts()
    sale = selectors.sale_state(voucher)
    buy = selectors.buy_state(voucher, sale, request.user)
    return render(
        request,
        "coupons/voucher_detail.html",
        {
            "voucher": voucher,
            "sale": sale,
            "buy": buy,
            "buy_label": texts["button"][buy],
            "status_label": texts["status"].get(sale["status"], sale["status"]),
            "begins_ms": int(voucher.begins_at.timestamp() * 1000) if voucher.begins_at else "",
            "ends_ms": int(voucher.ends_at.timestamp() * 1000) if voucher.ends_at else "",
            "orders_url": _orders_url(),
            "texts": texts,
        },
    )


# Every viewer of a sale polls this once a second: the answer is shared for a second through the
# cache, so a crowd watching the countdown costs one database read per voucher and second.
LIVE_CACHE_SECONDS = 1


@never_cache
def voucher_live(request, voucher_id: int):
    """What the voucher page polls: remaining stock, sale status and the server's clock."""
    import time

    key = f"voucher-live:{voucher_id}"
    body = cache.get(key)
    if body is None:
        voucher = selectors.voucher_on_sale(voucher_id)
        sale = selectors.sale_state(voucher)
        body = {
            "id": voucher.pk,
            "stock_remaining": sale["stock_remaining"],
            "status": sale["status"],
            "begins_ms": int(voucher.begins_at.timestamp() * 1000) if voucher.begins_at else None,
            "ends_ms": int(voucher.ends_at.timestamp() * 1000) if voucher.ends_at else None,
        }
        cache.set(key, body, LIVE_CACHE_SECONDS)
    return JsonResponse({**body, "now_ms": int(time.time() * 1000)})
