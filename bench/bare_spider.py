"""The baseline: a Scrapy spider that only fetches the fixture shop's list and item pages."""
import scrapy


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, base: str, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [f"{base}/list?page=1"]

    def parse(self, response):
        yield from response.follow_all(css="a.item", callback=self.parse_item)
        yield from response.follow_all(css='a[rel="next"]', callback=self.parse)

    def parse_item(self, response):
        pass
