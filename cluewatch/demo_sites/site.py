"""What every demo site serves besides its own pages: robots.txt, product photos, its header logo, 404s."""
from __future__ import annotations

import abc

import re

from cluewatch.demo_sites.artwork import product_photo_jpeg, site_logo_png
from cluewatch.demo_sites.html import Response, not_found

_IMAGE = re.compile(r"^/img/([A-Za-z0-9_-]+)\.jpg$")
ROBOTS_TXT = b"User-agent: *\nAllow: /\n"
# 1x1 transparent GIF: the placeholder lazy-loading pages show until JavaScript swaps in data-src.
PLACEHOLDER_GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
                   b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


class DemoSite(abc.ABC):
    """One fixture site: subclasses render their pages in `route`; this class serves the rest."""

    key = ""           # shop | fair | market
    name = ""
    logo_text = "DEMO"
    logo_colour = "#555555"

    def __init__(self, catalogue: dict):
        self.catalogue = catalogue
        self.listings = [item for item in catalogue["listings"] if item["site"] == self.key]
        self.by_id = {item["id"]: item for item in self.listings}

    def handle(self, path: str, query: dict[str, str], base_url: str) -> Response:
        if path == "/robots.txt":
            return Response(200, ROBOTS_TXT, "text/plain; charset=utf-8")
        if path == "/static/site-logo.png":
            return Response(200, site_logo_png(self.logo_text, self.logo_colour), "image/png")
        if path == "/static/placeholder.gif":
            return Response(200, PLACEHOLDER_GIF, "image/gif")
        match = _IMAGE.match(path)
        if match:
            listing = self.by_id.get(match.group(1))
            if listing is None:
                return not_found(self.name)
            return Response(200, product_photo_jpeg(listing["id"], listing.get("image") or {}), "image/jpeg")
        response = self.route(path, query, base_url)
        return response if response is not None else not_found(self.name)

    @abc.abstractmethod
    def route(self, path: str, query: dict[str, str], base_url: str) -> Response | None:
        """The response for a site-specific path, or None for a 404."""


def page_number(query: dict[str, str]) -> int:
    """The `page` query parameter; junk or out-of-range values fall back to page 1."""
    try:
        return max(1, int(query.get("page", "1")))
    except ValueError:
        return 1
