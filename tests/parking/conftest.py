from datetime import timedelta

import pytest
from django.utils import timezone

from parking.services import stays
from parking.tariffs import TariffRule
from tests.conftest import auth_client
from tests.factories import OperatorFactory, UserFactory, WalletFactory


@pytest.fixture
def operator(db):
    return OperatorFactory()


@pytest.fixture
def op_client(operator):
    return auth_client(operator.user)


@pytest.fixture
def lot(operator):
    return stays.lot_create(organization=operator.organization, name="Central", capacity=10, tariff=TariffRule())


@pytest.fixture
def customer(db):
    user = UserFactory()
    WalletFactory(user=user, balance=0)
    return user


@pytest.fixture
def cust_client(customer):
    return auth_client(customer)


def ago(minutes: float):
    return timezone.now() - timedelta(minutes=minutes)


def fund(user, amount: int, key: str = "fund") -> None:
    from wallet.services import wallet_credit

    wallet_credit(user_id=user.pk, amount=amount, kind="topup", idempotency_key=key)


def balance(user) -> int:
    from wallet.models import Wallet

    return Wallet.objects.get(user=user).balance
