"""What the README promises about the demo data is what `seed_demo` makes."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_demo_drivers_wallet_holds_what_the_readme_says():
    from wallet.models import Wallet

    call_command("seed_demo")
    said = re.search(r"`driver` / `driver-pass-2024` \(wallet ([^)]*)\)", README.read_text().replace("\n", " "))
    assert said, "the README no longer describes the demo driver's wallet"
    amounts = [int(a) * 100 for a in re.findall(r"¥(\d+)", said.group(1))]
    balance = Wallet.objects.get(user__username="driver").balance
    assert amounts and amounts[-1] == balance, (said.group(1), balance)
