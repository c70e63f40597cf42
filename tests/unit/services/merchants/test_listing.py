"""The merchants list names each merchant's program engine by its loyalty block."""

from models import Merchant
from services.merchants.listing import _row


def _merchant(**blocks) -> Merchant:
    return Merchant(slug="m", name="M", active=True, **blocks)


def test_a_merchant_without_a_loyalty_block_runs_on_the_built_in_ledger():
    assert _row(_merchant(), 0).provider == "punchcard"


def test_a_hang_merchant_is_listed_with_hang_as_its_engine():
    row = _row(_merchant(loyalty={"provider": "hang"}, toast={"x": 1}), 2)
    assert (row.provider, row.channels, row.api_keys) == ("hang", ["toast"], 2)
