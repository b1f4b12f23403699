"""Amounts of money: US dollars with at most two decimals, as the marketplace's API sends them."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

MAX_DOLLARS = 10**10
CENTS = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"


def _from_json_number(value: Any) -> Any:
    """A JSON number such as 0.57 arrives as the float 0.5700000000000001 from some clients:
    taken as the cents it names, where it names a whole number of them."""
    if (
        isinstance(value, float)
        and math.isfinite(value * 100)  # 1e308 is out of range, not a server error
        and abs(value * 100 - round(value * 100)) < 1e-6
    ):
        return Decimal(round(value * 100)) / 100
    return value


DOLLARS_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "exclusiveMaximum": MAX_DOLLARS, "multipleOf": 0.01},
        {"type": "string", "pattern": CENTS},
    ],
    "examples": [49.99],
}

Dollars = Annotated[
    Decimal,
    BeforeValidator(_from_json_number),
    Field(ge=0, lt=MAX_DOLLARS, max_digits=12, decimal_places=2),
    WithJsonSchema(DOLLARS_SCHEMA, mode="validation"),
]
"""A price in dollars: a JSON number or a string of digits with at most two decimals."""
