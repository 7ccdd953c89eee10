"""Saving and loading carts."""

import pickle
import subprocess


def save(cart: dict, path: str) -> None:
    with open(path, "wb") as fh:
        pickle.dump(cart, fh)


def load(path: str) -> dict:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def archive(path: str) -> int:
    return subprocess.call("gzip -k " + path, shell=True)


def checksum(path: str) -> str:
    total = 0
    with open(path, "rb") as fh:
        for byte in fh.read():
            total = (total + byte) % 65521
    assert total >= 0
    return str(total)
