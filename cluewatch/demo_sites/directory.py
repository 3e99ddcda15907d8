"""Routing shared by the directory-shaped sites (trade fair, market): a paginated list of sellers,
one page per seller listing its goods, one page per item. Subclasses render the pages."""
from __future__ import annotations

import abc

import math
import re

from cluewatch.demo_sites.html import Response, html_response
from cluewatch.demo_sites.site import DemoSite, page_number


class DirectorySite(DemoSite):
    section = ""        # URL segment of the seller list: exhibitors | stalls
    item_segment = ""   # URL segment of items under a seller: products | goods
    sellers_key = ""    # catalogue key: exhibitors | stalls
    seller_ref = ""     # listing key pointing at its seller: exhibitor | stall

    def __init__(self, catalogue: dict):
        super().__init__(catalogue)
        settings = catalogue[self.key]
        self.name = settings["name"]
        self.per_page = settings["per_page"]
        self.sellers = catalogue[self.sellers_key]
        self.seller_by_id = {s["id"]: s for s in self.sellers}
        self._paths = {
            "list": re.compile(rf"^/{self.section}/?$"),
            "seller": re.compile(rf"^/{self.section}/([A-Za-z0-9]+)/?$"),
            "item": re.compile(rf"^/{self.section}/([A-Za-z0-9]+)/{self.item_segment}/([A-Za-z0-9]+)$"),
        }

    def goods_of(self, seller: dict) -> list[dict]:
        return [item for item in self.listings if item[self.seller_ref] == seller["id"]]

    def route(self, path, query, base_url) -> Response | None:
        if path == "/":
            return html_response(self.render_home())
        if self._paths["list"].match(path):
            page_no = page_number(query)
            pages = max(1, math.ceil(len(self.sellers) / self.per_page))
            shown = self.sellers[(page_no - 1) * self.per_page: page_no * self.per_page]
            return html_response(self.render_list(shown, page_no, pages))
        match = self._paths["seller"].match(path)
        if match and match.group(1) in self.seller_by_id:
            seller = self.seller_by_id[match.group(1)]
            return html_response(self.render_seller(seller, self.goods_of(seller)))
        match = self._paths["item"].match(path)
        if match:
            seller, item = self.seller_by_id.get(match.group(1)), self.by_id.get(match.group(2))
            # An item is only reachable under its own seller, and inline-only items have no page.
            if seller and item and item[self.seller_ref] == seller["id"] and item["markup"] != "inline":
                return html_response(self.render_item(item, seller))
        return None

    @abc.abstractmethod
    def render_home(self) -> str:
        """HTML of this page in the site's own template."""

    @abc.abstractmethod
    def render_list(self, sellers: list[dict], page_no: int, pages: int) -> str:
        """HTML of this page in the site's own template."""

    @abc.abstractmethod
    def render_seller(self, seller: dict, goods: list[dict]) -> str:
        """HTML of this page in the site's own template."""

    @abc.abstractmethod
    def render_item(self, item: dict, seller: dict) -> str:
        """HTML of this page in the site's own template."""
