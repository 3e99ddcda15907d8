"""Trade-fair exhibitor catalogues: exhibitors → exhibitor (company, hall/booth) → its products."""
from crawlers.spiders.directory import DirectorySpider


class TradeFairSpider(DirectorySpider):
    name = "tradefair"
    kind = "tradefair"
    default_selectors = {
        # "/exhibitors/<id>", not "/exhibitors?page=2": a pager link taken for an exhibitor would be
        # parsed as one, and its real visit then dropped as a duplicate request.
        "seller_links": 'a[href*="/exhibitors/"], a[href*="/exhibitor/"]',
        "next_page": 'a[rel~="next"], link[rel~="next"]',
        # Products shown only on the seller page, as schema.org microdata with an id attribute.
        "inline_items": '[itemscope][itemtype$="/Product"]',
        "item_links": 'a[href*="/product"]',
        "seller_location": '.booth, .stand, [class*="booth"]',
    }
