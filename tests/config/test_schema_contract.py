"""The schema tells the truth: schemathesis loads the OpenAPI schema from the WSGI app and runs
every operation with all its checks (status codes, content types, response bodies and headers
against the schema, positive data accepted, negative data refused, auth not ignored, ...) against
PostgreSQL and Redis, with a customer's token on customer endpoints and an operator's on operator
endpoints. Bounded and derandomized: the same cases on every run."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from config.wsgi import application
from tests.conftest import auth_client  # noqa: F401  (the same token mechanism as the API tests)

EXAMPLES_PER_OPERATION = 20

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture
def tokens(db):
    from rest_framework.authtoken.models import Token

    from coupons.services import voucher_create
    from parking.services.stays import lot_create
    from parking.services.vehicles import vehicle_register
    from parking.tariffs import TariffRule
    from tests.factories import OperatorFactory, UserFactory
    from wallet.services import wallet_credit

    operator = OperatorFactory()
    lot = lot_create(organization=operator.organization, name="Central", capacity=50, tariff=TariffRule())
    voucher_create(
        organization=operator.organization,
        data={
            "lot": None,
            "title": "¥10 off",
            "kind": "normal",
            "price": 800,
            "benefit_type": "amount",
            "benefit_value": 1000,
            "stock": None,
            "per_user_limit": 5,
        },
    )
    customer = UserFactory()
    wallet_credit(user_id=customer.pk, amount=100_000, kind="topup", idempotency_key="contract", memo="contract")
    vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    return {
        "customer": Token.objects.get_or_create(user=customer)[0].key,
        "operator": Token.objects.get_or_create(user=operator.user)[0].key,
        "lot": lot.pk,
    }


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_every_operation_keeps_the_schema(case, tokens):
    who = "operator" if case.path.startswith("/api/v1/operator/") else "customer"
    case.call_and_validate(headers={"Authorization": f"Token {tokens[who]}"})
