"""Demo data, loaded once (`make run` calls it on every start; a second run changes nothing)."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.services import customer_register, operator_create, superuser_ensure
from coupons.models import Voucher
from coupons.services import voucher_create
from parking.models import Tariff
from parking.services.stays import lot_create, session_enter, session_exit
from parking.services.vehicles import vehicle_register
from parking.tariffs import TariffRule
from wallet.services import wallet_credit

DEMO_ORG = "Demo Parking Co."
OPERATOR = ("operator", "operator-pass-2024")
CUSTOMER = ("driver", "driver-pass-2024")
ADMIN = ("admin", "admin-pass-2024")
MERCHANT = ("teahouse", "teahouse-pass-2024")


class Command(BaseCommand):
    help = "Load the demo organization, lots, vouchers and customer, once."

    def handle(self, *args, **options):
        if Organization.objects.filter(name=DEMO_ORG).exists():
            self.stdout.write("Demo data already loaded.")
            return
        with transaction.atomic():
            self._seed()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))

    def _seed(self):
        superuser_ensure(username=ADMIN[0], email="admin@example.com", password=ADMIN[1])
        op = operator_create(organization_name=DEMO_ORG, username=OPERATOR[0], password=OPERATOR[1])
        org = op.organization
        downtown = lot_create(
            organization=org,
            name="Downtown Plaza",
            capacity=120,
            tariff=TariffRule(),
            tariffs={Tariff.VehicleType.LARGE: TariffRule(first_price=1000, unit_price=400, cap_per_24h=6000)},
        )
        airport = lot_create(
            organization=org,
            name="Airport P2",
            capacity=400,
            tariff=TariffRule(free_minutes=10, first_price=800, unit_minutes=60, unit_price=500, cap_per_24h=6000),
        )

        customer, _ = customer_register(username=CUSTOMER[0], password=CUSTOMER[1])
        wallet_credit(
            user_id=customer.id,
            amount=50_000,
            kind="adjustment",  # not a provider's top-up: the money reconciliation would ask for one
            idempotency_key="demo-opening",
            memo="Demo opening balance",
        )

        now = timezone.now()
        # Through the publishing service, so the flash sale's Redis gate is prepared (when on).
        voucher_create(
            organization=org,
            data={
                "lot": None,
                "title": "¥10 off any stay",
                "kind": Voucher.Kind.NORMAL,
                "price": 800,
                "benefit_type": Voucher.BenefitType.AMOUNT,
                "benefit_value": 1000,
                "stock": None,
                "per_user_limit": 5,
            },
        )
        voucher_create(
            organization=org,
            data={
                "lot": downtown,
                "title": "Flash sale: 2 hours free at Downtown",
                "kind": Voucher.Kind.SECKILL,
                "price": 100,
                "benefit_type": Voucher.BenefitType.MINUTES,
                "benefit_value": 120,
                "stock": 50,
                "begins_at": now + timedelta(minutes=3),
                "ends_at": now + timedelta(hours=2),
                "per_user_limit": 1,
                "low_stock_threshold": 10,
            },
        )
        _seed_parking(customer=customer, downtown=downtown, airport=airport)
        _seed_merchant(organization=op.organization, downtown=downtown)


def _seed_merchant(*, organization, downtown):
    """A shop at Downtown Plaza giving two hours of parking, with ¥200 and a quota of 10 coupons."""
    from parking.services.merchants import merchant_register, quota_buy

    shop = merchant_register(
        organization=organization,
        name="Downtown Tea House",
        lots=[downtown],
        username=MERCHANT[0],
        password=MERCHANT[1],
        benefit_type="minutes",
        benefit_value=120,
        unit_price=300,
    )
    wallet_credit(
        user_id=shop.account_id, amount=20000, kind="topup", idempotency_key="demo-opening", memo="Demo opening balance"
    )
    now = timezone.now()
    quota_buy(merchant=shop, quantity=10, valid_from=now, valid_until=now + timedelta(days=30))


def _seed_parking(*, customer, downtown, airport):
    """The demo driver's car with auto-pay: one stay that left (auto-debited), one still parked."""
    now = timezone.now()
    vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    session_enter(lot=downtown, plate="粤B12345", at=now - timedelta(days=2, hours=3))
    session_exit(lot=downtown, plate="粤B12345", at=now - timedelta(days=2, hours=1, minutes=10))
    session_enter(lot=airport, plate="粤B12345", at=now - timedelta(minutes=95))
