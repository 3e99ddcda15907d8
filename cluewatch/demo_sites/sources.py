"""sources.yaml text pointing the three crawlers at running demo sites."""
from __future__ import annotations

from urllib.parse import quote

import copy

import yaml

from cluewatch.demo_sites.catalogue import REGISTRY_FILE

_COMMON = {
    "allowed_domains": ["127.0.0.1"],
    "schedule": "@daily",
    "concurrency": 4,
    "download_delay": 0,
    "allow_private_addresses": True,   # the demo sites live on loopback
}


def _search_terms(count: int = 2) -> list[str]:
    """Names of the first registry marks: what an analyst would search a shop for."""
    with REGISTRY_FILE.open(encoding="utf-8") as fh:
        marks = yaml.safe_load(fh)["marks"]
    return [name for mark in marks[:count] for name in mark["names"]]


def demo_sources_yaml(sites) -> str:
    """A sources.yaml (see cluewatch.sources) with demo-shop, demo-fair and demo-market."""
    searches = [f"{sites.shop}/search?q={quote(term)}" for term in _search_terms()]
    sources = [
        {"id": "demo-shop", "kind": "ecommerce", "platform": "小商品网 (demo)",
         "start_urls": searches + [f"{sites.shop}/search?q="], **copy.deepcopy(_COMMON),
         "selectors": {"item_links": "a.item-link", "next_page": "a[rel~=next]"}},
        {"id": "demo-fair", "kind": "tradefair", "platform": "华南国际消费品博览会 (demo)",
         "start_urls": [f"{sites.fair}/exhibitors"], **copy.deepcopy(_COMMON),
         "selectors": {"seller_links": "a.exhibitor-link", "next_page": "a[rel~=next]",
                       "item_links": "a.product-link", "inline_items": "[itemscope][data-product-id]",
                       "seller_name": "h1.exhibitor-name", "seller_location": ".stand .hall, .stand .booth"}},
        {"id": "demo-market", "kind": "market", "platform": "临沂商城 (demo)",
         "start_urls": [f"{sites.market}/stalls"], **copy.deepcopy(_COMMON),
         "selectors": {"seller_links": "a.stall-link", "next_page": "a[rel~=next]",
                       "item_links": "a.goods-link", "seller_name": "h1.vendor",
                       "seller_location": "dd.location"}},
    ]
    header = "# Demo sources: the fixture sites served by cluewatch.demo_sites on loopback.\n"
    return header + yaml.safe_dump({"sources": sources}, allow_unicode=True, sort_keys=False)
