"""Web shops: search-result pages (paginated) → product pages."""
from __future__ import annotations

from crawlers.spiders.base import ListingSpider


class EcommerceSpider(ListingSpider):
    name = "ecommerce"
    kind = "ecommerce"
    default_selectors = {
        "item_links": 'a[href*="/item/"], a[href*="/product/"], a[href*="/products/"], a[href*="/dp/"]',
        "next_page": 'a[rel~="next"], link[rel~="next"]',
    }

    async def start(self):
        for request in self.start_requests_for(self.parse_results):
            yield request

    def parse_results(self, response):
        yield from self.follow(response, "item_links", self.parse_item)
        yield from self.follow_next(response, self.parse_results)

    def parse_item(self, response):
        data = self.extract(response)
        if data is not None:
            yield self.make_listing(response.url, data, self.external_id(response.url))
