"""Operator API of partnerships: offer one to another organization, accept, decline or end it, and
read one's own side of its monthly statements (JSON or CSV). Either side sees the partnership; each
sees only its own settlement entries. Another organization's partnership is 404."""

from datetime import date

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization
from accounts.scoping import operator_required
from config.api import AwareDateTimeField, StrictIntegerField, StrictMoneyField, iso_time
from config.errors import DomainError
from config.schema import ErrorSerializer
from coupons.models import Voucher

from .. import selectors
from ..models import Partnership
from ..services import partnerships as services
from ..statements import CSV_HEADER, month_label, statement_csv, statement_filename

# --- answers --------------------------------------------------------------------------------------


def errors(*codes: int, conflict: str = "") -> dict:
    text = {
        400: "`validation_error`: a field is missing or wrong; `details` names it.",
        401: "`not_authenticated`.",
        403: "`permission_denied`: not an operator, or a role that may only read (cashier).",
        404: "`not_found`: no such partnership of your organization.",
        409: conflict or "`invalid_state`.",
    }
    if conflict:
        codes = (*codes, 409)
    return {c: OpenApiResponse(ErrorSerializer, description=text[c]) for c in codes}


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class LotRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PartnershipSerializer(serializers.Serializer):
    """A partnership, as either side sees it. `status`: `offered` (waiting for the partner),
    `accepted` (coupons honoured), `declined`, `ended` (coupons paid before `ended_at` are still
    honoured until `valid_until`)."""

    id = serializers.IntegerField()
    side = serializers.ChoiceField(
        choices=["offering", "partner"],
        help_text="Your side: `offering` (your lots honour the partner's coupons, the partner owes you) "
        "or `partner` (your coupons are honoured at the offering organization's lots, you owe it).",
    )
    offering = OrganizationRefSerializer()
    partner = OrganizationRefSerializer()
    lots = LotRefSerializer(many=True, help_text="The offering organization's lots where the coupons are honoured.")
    benefit_types = serializers.ListField(child=serializers.ChoiceField(choices=Voucher.BenefitType.choices))
    settlement_price = serializers.IntegerField(help_text="What the partner owes per redemption, in fen.")
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    monthly_cap = serializers.IntegerField(help_text="Redemptions honoured per calendar month (Asia/Shanghai).")
    status = serializers.ChoiceField(choices=Partnership.Status.values)
    responded_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    ended_by = serializers.IntegerField(allow_null=True, help_text="The organization that ended it.")
    created_at = serializers.DateTimeField()


def partnership_body(p: Partnership, organization: Organization) -> dict:
    return {
        "id": p.pk,
        "side": "offering" if p.offering_id == organization.pk else "partner",
        "offering": {"id": p.offering_id, "name": p.offering.name},
        "partner": {"id": p.partner_id, "name": p.partner.name},
        "lots": [{"id": lot.pk, "name": lot.name} for lot in sorted(p.lots.all(), key=lambda lot: lot.pk)],
        "benefit_types": list(p.benefit_types),
        "settlement_price": p.settlement_price,
        "valid_from": iso_time(p.valid_from),
        "valid_until": iso_time(p.valid_until),
        "monthly_cap": p.monthly_cap,
        "status": p.status,
        "responded_at": iso_time(p.responded_at),
        "ended_at": iso_time(p.ended_at),
        "ended_by": p.ended_by_id,
        "created_at": iso_time(p.created_at),
    }


class StatementMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    redemptions = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="Net fen from your side: positive is owed to you, negative by you.")


class StatementEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    payment = serializers.IntegerField(help_text="The parking payment the coupon was applied to.")
    coupon = serializers.UUIDField(help_text="The coupon order.")
    lot = LotRefSerializer()
    plate = serializers.CharField()
    amount = serializers.IntegerField(help_text="Fen, from your side.")
    created_at = serializers.DateTimeField()


class StatementSerializer(StatementMonthSerializer):
    """One month of your side of a partnership: `amount` is the sum of the entries' amounts."""

    partnership = serializers.IntegerField()
    side = serializers.ChoiceField(choices=["offering", "partner"])
    counterparty = OrganizationRefSerializer()
    entries = StatementEntrySerializer(many=True)


# --- input ----------------------------------------------------------------------------------------


class OfferSerializer(serializers.Serializer):
    """An offer: the partner's coupons (those valid at all of its lots, of a listed benefit type)
    pay parking at the listed lots of yours, from `valid_from` to `valid_until`, at most
    `monthly_cap` times a calendar month. Each redemption writes a settlement pair: +settlement_price
    on your side, -settlement_price on the partner's. Terms never change once offered: end the
    partnership and offer again. The partner accepts or declines."""

    partner = serializers.CharField(
        max_length=120, help_text="The name of the organization whose coupons your lots will honour."
    )
    lots = serializers.ListField(
        child=StrictIntegerField(min_value=1), min_length=1, max_length=500, help_text="Ids of your lots."
    )
    benefit_types = serializers.ListField(
        child=serializers.ChoiceField(choices=Voucher.BenefitType.choices), min_length=1, max_length=4
    )
    settlement_price = StrictMoneyField(min_value=0, help_text="What the partner owes you per redemption, in fen.")
    valid_from = AwareDateTimeField()
    valid_until = AwareDateTimeField()
    monthly_cap = StrictIntegerField(min_value=1, max_value=10_000_000)

    def validate_partner(self, value):
        partner = Organization.objects.filter(name=value).first()
        if partner is None:
            raise serializers.ValidationError("No organization of that name.")
        return partner

    def validate_lots(self, value):
        lots = list(selectors.lots_for_operator(self.context["user"]).filter(pk__in=value))
        missing = sorted(set(value) - {lot.pk for lot in lots})
        if missing:
            raise serializers.ValidationError(f"No such lots in your organization: {', '.join(map(str, missing))}.")
        return lots


def _writer(request):
    op = operator_required(request.user)
    if not op.can_write:
        raise DomainError("permission_denied", "Your role can read but not change partnerships.", status=403)
    return op


def _month(value: str) -> date:
    try:
        year, month = value.split("-")
        if len(year) != 4 or len(month) != 2 or not (year + month).isascii():
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError:
        raise DomainError("validation_error", details={"month": ["Give the month as YYYY-MM."]}) from None


# --- views ----------------------------------------------------------------------------------------


class PartnershipsView(APIView):
    @extend_schema(
        operation_id="operator_partnerships_list",
        summary="Partnerships your organization offered or was offered, newest first",
        responses={200: PartnershipSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request):
        op = operator_required(request.user)
        return Response(
            [partnership_body(p, op.organization) for p in selectors.partnerships_for_operator(request.user)]
        )

    @extend_schema(
        operation_id="operator_partnerships_offer",
        summary="Offer another organization that its coupons are honoured at some of your lots",
        description="The invited organization accepts or declines. Terms never change once offered: "
        "end the partnership and offer again. A coupon of the partner (one valid at all its lots, of "
        "a listed benefit type) then pays parking at the listed lots; each redemption writes a "
        "settlement pair: +settlement_price to you, -settlement_price to the partner.",
        request=OfferSerializer,
        responses={
            201: PartnershipSerializer,
            **errors(
                400,
                401,
                403,
                conflict="`invalid_state`: a partnership with this organization is already offered or running.",
            ),
        },
    )
    def post(self, request):
        op = _writer(request)
        ser = OfferSerializer(data=request.data, context={"user": request.user})
        ser.is_valid(raise_exception=True)
        p = services.partnership_offer(organization=op.organization, user=request.user, **ser.validated_data)
        p = selectors.partnership_for_operator(request.user, p.pk)
        return Response(partnership_body(p, op.organization), status=status.HTTP_201_CREATED)


class PartnershipDetailView(APIView):
    @extend_schema(
        operation_id="operator_partnerships_detail",
        responses={200: PartnershipSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, partnership_id):
        op = operator_required(request.user)
        return Response(
            partnership_body(selectors.partnership_for_operator(request.user, partnership_id), op.organization)
        )


class _Transition(APIView):
    action = ""

    def post(self, request, partnership_id):
        op = _writer(request)
        selectors.partnership_for_operator(request.user, partnership_id)  # 404 before anything else
        service = getattr(services, f"partnership_{self.action}")
        service(partnership_id=int(partnership_id), organization=op.organization)
        return Response(
            partnership_body(selectors.partnership_for_operator(request.user, partnership_id), op.organization)
        )


class AcceptView(_Transition):
    action = "accept"

    @extend_schema(
        operation_id="operator_partnerships_accept",
        summary="Accept an offer made to your organization",
        request=None,
        responses={
            200: PartnershipSerializer,
            **errors(
                401, 403, 404, conflict="`invalid_state`: not an open offer, not made to you, or its validity passed."
            ),
        },
    )
    def post(self, request, partnership_id):
        return super().post(request, partnership_id)


class DeclineView(_Transition):
    action = "decline"

    @extend_schema(
        operation_id="operator_partnerships_decline",
        summary="Decline an offer made to your organization",
        request=None,
        responses={
            200: PartnershipSerializer,
            **errors(401, 403, 404, conflict="`invalid_state`: not an open offer, or not made to you."),
        },
    )
    def post(self, request, partnership_id):
        return super().post(request, partnership_id)


class EndView(_Transition):
    action = "end"

    @extend_schema(
        operation_id="operator_partnerships_end",
        summary="End an offered or accepted partnership (either side)",
        description="Coupons paid before the end keep being honoured until `valid_until`.",
        request=None,
        responses={200: PartnershipSerializer, **errors(401, 403, 404, conflict="`invalid_state`: already over.")},
    )
    def post(self, request, partnership_id):
        return super().post(request, partnership_id)


class StatementsView(APIView):
    @extend_schema(
        operation_id="operator_partnerships_statements",
        summary="Your side of a partnership, per month, newest first",
        responses={200: StatementMonthSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request, partnership_id):
        op = operator_required(request.user)
        p = selectors.partnership_for_operator(request.user, partnership_id)
        rows = selectors.statements(op.organization, p)
        return Response([{**r, "month": month_label(r["month"])} for r in rows])


def _statement(request, partnership_id, month):
    op = operator_required(request.user)
    p = selectors.partnership_for_operator(request.user, partnership_id)
    return op.organization, p, _month(month)


MONTH = OpenApiParameter("month", OpenApiTypes.STR, OpenApiParameter.PATH, description="YYYY-MM")


class StatementView(APIView):
    @extend_schema(
        operation_id="operator_partnerships_statement",
        summary="Your side of one month of a partnership, with one entry per redemption",
        parameters=[MONTH],
        responses={200: StatementSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request, partnership_id, month):
        org, p, first = _statement(request, partnership_id, month)
        entries = list(selectors.statement_entries(org, p, first))
        counterparty = p.partner if p.offering_id == org.pk else p.offering
        return Response(
            {
                "partnership": p.pk,
                "month": month_label(first),
                "side": "offering" if p.offering_id == org.pk else "partner",
                "counterparty": {"id": counterparty.pk, "name": counterparty.name},
                "redemptions": len(entries),
                "amount": sum(e.amount for e in entries),
                "entries": [
                    {
                        "id": e.pk,
                        "payment": e.payment_id,
                        "coupon": str(e.coupon_id),
                        "lot": {"id": e.payment.session.lot_id, "name": e.payment.session.lot.name},
                        "plate": e.payment.session.plate,
                        "amount": e.amount,
                        "created_at": iso_time(e.created_at),
                    }
                    for e in entries
                ],
            }
        )


class StatementCsvView(APIView):
    @extend_schema(
        operation_id="operator_partnerships_statement_csv",
        summary="The same month as CSV (one row per redemption, amounts in fen from your side)",
        parameters=[MONTH],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Columns: " + ", ".join(CSV_HEADER)),
            **errors(400, 401, 403, 404),
        },
    )
    def get(self, request, partnership_id, month):
        org, p, first = _statement(request, partnership_id, month)
        response = HttpResponse(
            statement_csv(list(selectors.statement_entries(org, p, first))), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{statement_filename(p, first)}"'
        return response


urlpatterns = [
    path("operator/partnerships", PartnershipsView.as_view(), name="api-operator-partnerships"),
    path(
        "operator/partnerships/<int:partnership_id>", PartnershipDetailView.as_view(), name="api-operator-partnership"
    ),
    path(
        "operator/partnerships/<int:partnership_id>/accept",
        AcceptView.as_view(),
        name="api-operator-partnership-accept",
    ),
    path(
        "operator/partnerships/<int:partnership_id>/decline",
        DeclineView.as_view(),
        name="api-operator-partnership-decline",
    ),
    path("operator/partnerships/<int:partnership_id>/end", EndView.as_view(), name="api-operator-partnership-end"),
    path(
        "operator/partnerships/<int:partnership_id>/statements",
        StatementsView.as_view(),
        name="api-operator-partnership-statements",
    ),
    path(
        "operator/partnerships/<int:partnership_id>/statements/<str:month>",
        StatementView.as_view(),
        name="api-operator-partnership-statement",
    ),
    path(
        "operator/partnerships/<int:partnership_id>/statements/<str:month>/csv",
        StatementCsvView.as_view(),
        name="api-operator-partnership-statement-csv",
    ),
]
