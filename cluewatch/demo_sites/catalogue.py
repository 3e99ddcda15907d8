"""The demo catalogue and registry files, and the naive detector their labels are defined against."""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CATALOGUE_FILE = HERE / "catalogue.yaml"
REGISTRY_FILE = HERE / "registry.yaml"
SITES = ("shop", "fair", "market")
LABELS = ("counterfeit", "legit", "lookalike")


@lru_cache(maxsize=1)
def _load() -> dict:
    with CATALOGUE_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_catalogue_data() -> dict:
    """The whole catalogue file: site settings, exhibitors, stalls and listings (a private copy).

    Every listing has `marks` (list, empty unless a counterfeit infringes a mark) and `gi` (None
    unless a geographical indication is involved), so readers need no `.get` for them.
    """
    data = copy.deepcopy(_load())
    for listing in data["listings"]:
        listing.setdefault("marks", [])
        listing.setdefault("gi", None)
    return data


def load_catalogue() -> list[dict]:
    """Every listing the demo sites serve, with its ground-truth labels (a private copy)."""
    return load_catalogue_data()["listings"]


def price_range(listing: dict) -> tuple[str, str]:
    """("6.50", "8.20") for a "6.50-8.20" price, ("12.50", "12.50") for a single one."""
    low, _, high = str(listing["price"]).partition("-")
    return low.strip(), (high or low).strip()


def minimal_flags(title: str, seller: str | None, marks: list[dict]) -> list[str]:
    """Mark ids the naive baseline flags: a registered name (marks' `names` only) is a
    case-insensitive substring of the title and the seller is not authorized for that mark.

    It defines the catalogue's `caught_by_minimal` label and is the baseline a real detector beats.

    >>> minimal_flags("Nike 高仿", "x", [{"id": "nike", "names": ["Nike"]}])
    ['nike']
    """
    lowered = title.lower()
    flagged = []
    for mark in marks:
        if seller in (mark.get("authorized_sellers") or ()):
            continue
        if any(name.lower() in lowered for name in mark.get("names") or ()):
            flagged.append(mark["id"])
    return flagged
