"""The operators' home in the admin: revenue (coupon sales and parking fees) today and over 7 and
30 days with a 30-day chart, the live flash sales (sold, left, pending intake), open alerts and
occupancy per lot, for the operator's organization. It reads every app's selectors, so it lives at
the top of the stack; the page and its live JSON are thin views over `dashboard_figures` and
`live_figures`."""

from __future__ import annotations

from datetime import date

from django.contrib import admin
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.scoping import organization_of
from config.money import format_money
from coupons.selectors import open_alerts, open_alerts_count
from orders.selectors import sales_by_day
from seckill.selectors import live_sales

from .selectors import lots_occupancy, parking_revenue_by_day

DAYS = 30


def scope_of(user) -> int | None:
    """The organization whose figures a user sees: their own; every one for a superuser."""
    if user.is_superuser:
        return None
    org = organization_of(user)
    return org.pk if org else -1  # a staff user without an organization sees nothing


def revenue(*, organization_id: int | None, today: date | None = None) -> dict:
    """Per day (oldest first) and summed over today, 7 and 30 days: coupon sales, parking fees and
    their total, in minor units."""
    sales = sales_by_day(organization_id=organization_id, days=DAYS, today=today)
    parking = parking_revenue_by_day(organization_id=organization_id, days=DAYS, today=today)
    days = [
        {"day": s["day"], "sales": s["amount"], "parking": p["revenue"], "total": s["amount"] + p["revenue"]}
        for s, p in zip(sales, parking, strict=True)
    ]

    def span(n: int) -> dict:
        window = days[-n:]
        return {key: sum(d[key] for d in window) for key in ("sales", "parking", "total")}

    return {"days": days, "today": span(1), "7d": span(7), "30d": span(DAYS)}


def chart(days: list[dict], *, width: int = 600, height: int = 160) -> dict:
    """Geometry of a stacked bar chart (parking fees under coupon sales) drawn as inline SVG."""
    peak = max((d["total"] for d in days), default=0) or 1
    slot = width / max(1, len(days))
    bars = []
    for i, d in enumerate(days):
        h_parking = round(height * d["parking"] / peak, 1)
        h_sales = round(height * d["sales"] / peak, 1)
        bars.append(
            {
                "x": round(i * slot + 1, 1),
                "w": round(max(1.0, slot - 2), 1),
                "parking_y": round(height - h_parking, 1),
                "parking_h": h_parking,
                "sales_y": round(height - h_parking - h_sales, 1),
                "sales_h": h_sales,
                "label": f"{d['day']:%m-%d}: {format_money(d['total'])}",
                "tick": d["day"].day == 1 or i in (0, len(days) - 1),
                "day": f"{d['day']:%m-%d}",
            }
        )
    return {"width": width, "height": height, "bars": bars, "peak": format_money(peak)}


def _sale_row(row: dict) -> dict:
    voucher = row["voucher"]
    taken = row["sold"] + row["left"]
    return {
        "id": voucher.pk,
        "title": voucher.title,
        "lot": voucher.lot.name if voucher.lot else "",
        "status": row["status"],
        "sold": row["sold"],
        "left": row["left"],
        "pending": row["pending"],
        "claimed_pct": round(100 * row["sold"] / taken) if taken else 0,
        "ends_ms": int(voucher.ends_at.timestamp() * 1000) if voucher.ends_at else None,
        "begins_ms": int(voucher.begins_at.timestamp() * 1000) if voucher.begins_at else None,
    }


def live_figures(*, organization_id: int | None) -> dict:
    """What the dashboard polls: the live sales, the open alerts count and the lots' occupancy."""
    return {
        "sales": [_sale_row(r) for r in live_sales(organization_id=organization_id)],
        "alerts": open_alerts_count(organization_id=organization_id),
        "lots": [
            {"id": lot.pk, "occupancy": lot.occupancy, "capacity": lot.capacity}
            for lot in lots_occupancy(organization_id=organization_id)
        ],
    }


def dashboard_figures(*, organization_id: int | None) -> dict:
    money = revenue(organization_id=organization_id)
    return {
        "revenue": money,
        "chart": chart(money["days"]),
        "alerts": open_alerts(organization_id=organization_id),
        "lots": lots_occupancy(organization_id=organization_id),
        "sales": live_figures(organization_id=organization_id)["sales"],
    }


def sale_status_labels() -> dict[str, str]:
    return {
        "upcoming": _("Not started yet"),
        "on_sale": _("On sale"),
        "sold_out": _("Sold out"),
        "ended": _("Sale ended"),
    }


def dashboard_view(request):
    """The admin's home: the figures above the usual list of models."""
    figures = dashboard_figures(organization_id=scope_of(request.user))
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "subtitle": None,
        "app_list": admin.site.get_app_list(request),
        "now_ms": int(timezone.now().timestamp() * 1000),
        "live_texts": {"status": sale_status_labels()},
        **figures,
    }
    for sale in context["sales"]:
        sale["status"] = context["live_texts"]["status"].get(sale["status"], sale["status"])
    return TemplateResponse(request, "admin/dashboard.html", context)


@never_cache
def dashboard_live(request):
    return JsonResponse(
        {**live_figures(organization_id=scope_of(request.user)), "now_ms": int(timezone.now().timestamp() * 1000)}
    )
