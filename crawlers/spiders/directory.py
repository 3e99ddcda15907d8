"""Directory-shaped sources (trade fairs, markets): a paginated list of sellers → one page per seller
(who, where) → its items, on their own pages or inline on the seller page.

The seller page, not the item page, says who sells and where: its name and location are carried to
every item found under it.
"""
from __future__ import annotations

from crawlers.extraction import extract_listing, node_texts as texts
from crawlers.spiders.base import ListingSpider

_INLINE_ID_ATTRS = ("data-product-id", "data-id", "id")


def _outermost(parts: list[str]) -> list[str]:
    """Drop texts already contained in another match: a broad selector list can hit both
    `.stand` ("Hall 5.1, Booth C23") and the `.booth` inside it ("Booth C23")."""
    kept = []
    for i, text in enumerate(parts):
        inside_other = any(text in other and (text != other or j < i) for j, other in enumerate(parts) if j != i)
        if not inside_other:
            kept.append(text)
    return kept


class DirectorySpider(ListingSpider):
    @property
    def extraction_selectors(self) -> dict[str, str]:
        # Here seller_name/seller_location select on the seller page, not on item pages.
        return {k: v for k, v in super().extraction_selectors.items() if not k.startswith("seller_")}

    async def start(self):
        for request in self.start_requests_for(self.parse_directory):
            yield request

    def parse_directory(self, response):
        yield from self.follow(response, "seller_links", self.parse_seller, page="seller")
        yield from self.follow_next(response, self.parse_directory)

    def seller_fields(self, response) -> dict:
        name = texts(response.css(self.selectors["seller_name"])) if self.selectors.get("seller_name") else []
        location = (_outermost(texts(response.css(self.selectors["seller_location"])))
                    if self.selectors.get("seller_location") else [])
        return {
            "seller_name": name[0] if name else (texts(response.css("h1")) or [None])[0],
            "seller_location": ", ".join(location) or None,
            "seller_id": self.external_id(response.url),
            "seller_url": response.url,
        }

    def parse_seller(self, response):
        seller = self.seller_fields(response)
        yield from self.follow(response, "item_links", self.parse_item, cb_kwargs={"seller": seller})
        yield from self.inline_items(response, seller)
        yield from self.follow_next(response, self.parse_seller)

    def inline_items(self, response, seller: dict):
        css = self.selectors.get("inline_items")
        item_links = self.selectors.get("item_links")
        for block in response.css(css) if css else []:
            if item_links and block.css(item_links):
                continue  # it links to its own page: that page is the listing
            pid = next((block.attrib[a] for a in _INLINE_ID_ATTRS if block.attrib.get(a)), None)
            if not pid:
                continue
            url = f"{response.url.split('#', 1)[0]}#{pid}"
            if not self.owns(url):
                continue  # another shard's (crawlers.run --shard)
            data = extract_listing(block.get(), response.url, selectors=self.extraction_selectors)
            # The seller page is the evidence for an inline product.
            yield self.make_listing(url, data, pid, page_body=response.body, **seller)

    def parse_item(self, response, seller: dict):
        data = self.extract(response)
        if data is not None:
            yield self.make_listing(response.url, data, self.external_id(response.url), **seller)
