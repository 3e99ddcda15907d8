"""Specialised-market vendor directories: stalls → stall (vendor, location in the market) → goods."""
from crawlers.spiders.directory import DirectorySpider


class MarketSpider(DirectorySpider):
    name = "market"
    kind = "market"
    default_selectors = {
        # Seller pages by path ("/stalls/<id>"); pager links ("/stalls?page=2") must not match.
        "seller_links": 'a[href*="/stalls/"], a[href*="/stall/"], a[href*="/vendors/"], a[href*="/vendor/"], a[href*="/shop/"]',
        "next_page": 'a[rel~="next"], link[rel~="next"]',
        # Products shown only on the seller page, as schema.org microdata with an id attribute.
        "inline_items": '[itemscope][itemtype$="/Product"]',
        "item_links": 'a[href*="/goods/"], a[href*="/item"], a[href*="/product"]',
        "seller_location": '.location, [class*="location"], .address',
    }
