"""The partnership's monthly cap under parallel redemptions, on real PostgreSQL: threads released
together by a barrier, each paying a different stay with a partner's coupon."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from config.errors import DomainError
from orders.models import Order
from parking.models import ParkingPayment, PartnershipMonth, SettlementEntry
from parking.services import partnerships, payments, stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, OrderFactory, UserFactory, VoucherFactory, WalletFactory

from .conftest import ago, fund
from .test_concurrency import _ledger_matches_balances, race

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_monthly_cap_holds_under_parallel_redemptions():
    cap, drivers = 3, 6
    a_org, b_org = OperatorFactory().organization, OperatorFactory().organization
    lot = stays.lot_create(organization=a_org, name="Race", capacity=50, tariff=TariffRule())
    p = partnerships.partnership_offer(
        organization=a_org,
        user=None,
        partner=b_org,
        lots=[lot],
        benefit_types=["amount"],
        settlement_price=200,
        valid_from=timezone.now() - timedelta(days=1),
        valid_until=timezone.now() + timedelta(days=1),
        monthly_cap=cap,
    )
    partnerships.partnership_accept(partnership_id=p.pk, organization=b_org)
    voucher = VoucherFactory(organization=b_org, benefit_type="amount", benefit_value=300, stock=None)
    calls = []
    for i in range(drivers):
        user = UserFactory()
        WalletFactory(user=user)
        fund(user, 5000, key=f"fund{i}")
        plate = f"粤B{i:05d}"
        vehicles.vehicle_register(user=user, plate=plate)
        session = stays.session_enter(lot=lot, plate=plate, at=ago(100))
        payment = payments.payment_refresh(session=session)[1]
        order = OrderFactory(user=user, voucher=voucher, status=Order.Status.PAID, paid_at=timezone.now())
        calls.append(
            lambda pid=payment.pk, u=user, oid=order.pk: payments.payment_pay(payment_id=pid, user=u, coupon_id=oid)
        )

    results = race(*calls)

    paid = [r for r in results if isinstance(r, ParkingPayment)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(paid) == cap and len(refused) == drivers - cap, results
    assert all(r.code == "invalid_state" and r.details == {"coupon": "partner_cap_reached"} for r in refused)
    month = PartnershipMonth.objects.get(partnership=p)
    assert (month.redemptions, month.amount) == (cap, cap * 200)
    assert SettlementEntry.objects.count() == 2 * cap
    assert SettlementEntry.objects.aggregate(s=Sum("amount"))["s"] == 0
    assert SettlementEntry.objects.filter(organization=a_org).aggregate(s=Sum("amount"))["s"] == cap * 200
    assert Order.objects.filter(voucher=voucher, status=Order.Status.USED).count() == cap
    assert ParkingPayment.objects.filter(status="paid").count() == cap
    _ledger_matches_balances()
