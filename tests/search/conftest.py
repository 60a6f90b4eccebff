"""The search tests use the domain tests' named people and context (tests/node/conftest.py)."""

from tests.node.conftest import (  # noqa: F401 - fixtures
    alice,
    bob,
    carol,
    ctx,
    make_account,
    pat_at_partner,
    sam_at_sales,
)
