"""factory-boy factories for every model tests build."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Operator, Organization
from coupons.models import Voucher
from orders.models import Order
from parking.models import Lot, Tariff
from wallet.models import Wallet


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "s3cure-pass-word")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Org {n}")


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    user = factory.SubFactory(UserFactory, is_staff=True)
    organization = factory.SubFactory(OrganizationFactory)
    role = Operator.Role.OWNER


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lot

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Lot {n}")
    capacity = 100


class TariffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tariff

    lot = factory.SubFactory(LotFactory)


class VoucherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Voucher

    organization = factory.SubFactory(OrganizationFactory)
    lot = None
    title = factory.Sequence(lambda n: f"Voucher {n}")
    kind = Voucher.Kind.NORMAL
    price = 500
    benefit_type = Voucher.BenefitType.AMOUNT
    benefit_value = 1000
    stock = 10
    initial_stock = factory.SelfAttribute("stock")
    per_user_limit = 1
    status = Voucher.Status.LISTED


class SeckillVoucherFactory(VoucherFactory):
    kind = Voucher.Kind.SECKILL
    stock = 50
    begins_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class WalletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wallet

    user = factory.SubFactory(UserFactory)
    balance = 0


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    voucher = factory.SubFactory(VoucherFactory)
    organization = factory.SelfAttribute("voucher.organization")
    amount = factory.SelfAttribute("voucher.price")
    status = Order.Status.PENDING_PAYMENT
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=15))
