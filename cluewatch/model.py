"""Shared plain-data types: the vocabulary crawlers, detectors and sinks exchange.

Nothing here does I/O, so detectors can import it and stay pure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class ReferencePrice:
    product: str
    currency: str
    price: Decimal


@dataclass(frozen=True)
class Mark:
    """A registered trademark as the registry YAML declares it (see DESIGN.md, Contracts)."""

    id: str
    names: tuple[str, ...] = ()
    reg_no: str | None = None
    owner: str | None = None
    nice_classes: tuple[int, ...] = ()
    logos: tuple[str, ...] = ()  # absolute paths, resolved against the registry file
    # The owner's official product photos (absolute paths): a near-copy on an unauthorized seller's
    # listing is a "stolen official photo" signal (detectors/official_photo.py).
    reference_photos: tuple[str, ...] = ()
    authorized_sellers: tuple[str, ...] = ()
    reference_prices: tuple[ReferencePrice, ...] = ()


@dataclass(frozen=True)
class GeographicalIndication:
    id: str
    name: str
    region: str | None = None
    products: tuple[str, ...] = ()
    authorized_producers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Registry:
    marks: tuple[Mark, ...] = ()
    geographical_indications: tuple[GeographicalIndication, ...] = ()
    source_file: str | None = None
    sha256: str | None = None  # of the file bytes: identifies the registry version

    def mark(self, mark_id: str) -> Mark:
        for m in self.marks:
            if m.id == mark_id:
                return m
        raise KeyError(mark_id)


# Fields every Listing carries, whatever kind of source it came from. Crawlers fill them
# (None where unknown); sinks store them; detectors read them. One schema for all kinds.
LISTING_FIELDS = (
    "source",          # source id from sources.yaml
    "platform",        # marketplace / fair / market name
    "kind",            # ecommerce | tradefair | market
    "url",
    "external_id",     # the site's own id for the listing (stable across recrawls)
    "title",
    "description",
    "brand",
    "price_low",       # Decimal-compatible string; equals price_high for a single price
    "price_high",
    "currency",        # ISO 4217
    "seller_name",     # shop / exhibitor / stall
    "seller_id",
    "seller_url",
    "seller_location",
    "category",
    "image_urls",      # list of absolute URLs, main image first
    "captured_at",     # RFC 3339 UTC
    "content_sha256",  # hash of the content fields: a change makes a new listing version
)

# The fields whose change makes a new listing version (captured_at and the hash itself excluded).
CONTENT_FIELDS = tuple(f for f in LISTING_FIELDS if f not in ("captured_at", "content_sha256"))


@dataclass
class Finding:
    """One detector's signal about one listing version, with the evidence an officer reads."""

    detector: str
    detector_version: str
    mark_id: str | None
    score: float
    evidence: dict = field(default_factory=dict)
    reason: str = ""
    # Evidence files (e.g. the photo with the logo's box drawn): name -> (bytes, suffix). The detect
    # job stores each in the blob store and records its key as evidence[name].
    attachments: dict = field(default_factory=dict)


SOURCE_KINDS = ("ecommerce", "tradefair", "market")


@dataclass(frozen=True)
class SourceConfig:
    """One crawl source as sources.yaml declares it; one Airflow DAG `crawl_<id>` each."""

    id: str
    kind: str                                  # one of SOURCE_KINDS
    platform: str
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...] = ()
    schedule: str | None = "@daily"            # cron or Airflow preset; None = manual only
    concurrency: int = 2                       # per-domain concurrent requests
    download_delay: float = 0.5                # seconds between requests to one domain
    allow_private_addresses: bool = False      # loopback/private targets (test fixtures, demo)
    selectors: dict = field(default_factory=dict, hash=False, compare=False)
    render: bool = False                       # fetch through a headless browser (JS-built pages)
    obey_robots_txt: bool = True
    robots_txt_override_reason: str | None = None  # required, in writing, when obey_robots_txt is false
    search_url: str | None = None              # template with {query}, e.g. https://s.example/search?q={query}
    search_queries: tuple[str, ...] | str = ()  # queries for search_url, or "registry": every mark name
