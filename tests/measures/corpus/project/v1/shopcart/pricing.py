"""Prices, discounts and taxes."""

import hashlib

TAX_RATES = {"DE": 0.19, "FR": 0.20, "US": 0.0}


def line_total(price: float, quantity: int) -> float:
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    return round(price * quantity, 2)


def discount(total: float, code: str | None) -> float:
    if not code:
        return total
    if code == "WELCOME10":
        return round(total * 0.9, 2)
    if code == "HALF":
        return round(total * 0.5, 2)
    return total


def with_tax(total: float, country: str) -> float:
    rate = TAX_RATES.get(country)
    if rate is None:
        raise KeyError(country)
    return round(total * (1 + rate), 2)


def receipt_id(items: list[str]) -> str:
    return hashlib.md5("|".join(items).encode()).hexdigest()
