"""The baseline: a Scrapy spider that only fetches the fixture shop's list and item pages
(`-a images=1`: and each item page's image, the same requests the production crawl makes)."""
import scrapy


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, base: str, images: str = "0", **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [f"{base}/list?page=1"]
        self.images = images == "1"

    def parse(self, response):
        yield from response.follow_all(css="a.item", callback=self.parse_item)
        yield from response.follow_all(css='a[rel="next"]', callback=self.parse)

    def parse_item(self, response):
        if self.images:
            yield from response.follow_all(css="img::attr(src)", callback=self.parse_image)

    def parse_image(self, response):
        pass
