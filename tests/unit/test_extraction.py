"""crawlers.extraction on each markup style: hand-written pages for the edge cases, and every page
the demo sites render (called directly, no sockets) against the catalogue's ground truth."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cluewatch.demo_sites import load_catalogue, load_catalogue_data, price_range
from cluewatch.demo_sites.fair import FairSite
from cluewatch.demo_sites.market import MarketSite
from cluewatch.demo_sites.shop import ShopSite
from crawlers.extraction import FIELDS, decode_html, extract_listing, parse_price

URL = "https://shop.example.com/item/42.html"


def test_json_ld_product_with_offer():
    html = """<html><head><script type="application/ld+json">
    {"@context": "https://schema.org", "@type": "Product", "name": "雪碧 Sprite 330ml &amp; more",
     "description": "  清爽\\n柠檬味  ", "brand": {"@type": "Brand", "name": "雪碧"},
     "image": ["/img/a.jpg", {"@type": "ImageObject", "url": "https://cdn.example.com/b.jpg"}],
     "category": "饮料",
     "offers": {"@type": "Offer", "price": "1,299.00", "priceCurrency": "RMB",
                "seller": {"@type": "Organization", "name": "可口可乐官方旗舰店"}}}
    </script></head><body><h1>ignored when JSON-LD has a name</h1><p class="price">¥1.00</p></body></html>"""
    data = extract_listing(html, URL)
    assert data == {
        "title": "雪碧 Sprite 330ml & more", "description": "清爽 柠檬味", "brand": "雪碧",
        "price_low": "1299.00", "price_high": "1299.00", "currency": "CNY",
        "seller_name": "可口可乐官方旗舰店", "category": "饮料",
        "images": ["https://shop.example.com/img/a.jpg", "https://cdn.example.com/b.jpg"],
        "sku": None, "gtin": None, "mpn": None, "availability": None,
    }


def test_json_ld_graph_aggregate_offer_and_several_offers():
    graph = """<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
      {"@type": "BreadcrumbList", "itemListElement": []},
      {"@type": "ItemPage", "mainEntity": {"@type": "Product", "name": "T恤",
        "offers": {"@type": "AggregateOffer", "lowPrice": 39, "highPrice": 49.5, "priceCurrency": "cny"}}}]}
    </script>"""
    data = extract_listing(graph, URL)
    assert (data["title"], data["price_low"], data["price_high"], data["currency"]) == ("T恤", "39", "49.5", "CNY")
    offers = """<script type="application/ld+json">{"@type": ["Product"], "name": "Shoe",
      "offers": [{"@type": "Offer", "price": "12.00", "priceCurrency": "USD"},
                 {"@type": "Offer", "price": "9.50", "priceCurrency": "USD"}]}</script>"""
    data = extract_listing(offers, URL)
    assert (data["price_low"], data["price_high"], data["currency"]) == ("9.50", "12.00", "USD")


def test_broken_json_ld_falls_back_to_the_page():
    html = '<script type="application/ld+json">{"@type": "Product", "name": </script><h1>Teapot</h1><span class="price">$5</span>'
    data = extract_listing(html, URL)
    assert (data["title"], data["price_low"], data["currency"]) == ("Teapot", "5", "USD")


def test_microdata_product():
    html = """<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Apple Juice 1L</h1>
      <img itemprop="image" src="/img/j.jpg"><div itemprop="brand" itemscope itemtype="https://schema.org/Brand">
      <span itemprop="name">果汁工坊</span></div>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
        <span itemprop="price" content="59.00">¥59.00</span><meta itemprop="priceCurrency" content="CNY">
        <div itemprop="seller" itemscope itemtype="https://schema.org/Organization"><span itemprop="name">果汁工坊</span></div>
      </div><p itemprop="description">100% 果汁</p></div>"""
    data = extract_listing(html, URL)
    assert data["title"] == "Apple Juice 1L" and data["brand"] == "果汁工坊" and data["description"] == "100% 果汁"
    assert (data["price_low"], data["currency"], data["seller_name"]) == ("59.00", "CNY", "果汁工坊")
    assert data["images"] == ["https://shop.example.com/img/j.jpg"]


def test_opengraph_product():
    html = """<head><meta property="og:type" content="product"><meta property="og:title" content="LED 台灯">
      <meta property="og:image" content="https://cdn.example.com/lamp.jpg">
      <meta property="product:price:amount" content="79.00"><meta property="product:price:currency" content="CNY">
      </head><body><span class="shop-name">居家好物馆</span></body>"""
    data = extract_listing(html, URL)
    assert (data["title"], data["price_low"], data["currency"], data["seller_name"]) == \
        ("LED 台灯", "79.00", "CNY", "居家好物馆")
    assert data["images"] == ["https://cdn.example.com/lamp.jpg"]


def test_plain_html_prefers_the_price_element_over_a_promo_banner():
    html = """<div class="promo">满99元包邮</div><header><img src="/static/site-logo.png"></header>
      <h1>  瑜伽垫   加厚10mm </h1><img class="lazy" src="/static/placeholder.gif" data-src="/img/mat.jpg">
      <div class="price-box">价格 <span class="price">￥59.00</span></div>
      <div class="seller-info">店铺：运动服饰折扣店</div><footer>停车 5元/小时</footer>"""
    data = extract_listing(html, URL)
    assert data["title"] == "瑜伽垫 加厚10mm"
    assert (data["price_low"], data["price_high"], data["currency"]) == ("59.00", "59.00", "CNY")
    assert data["seller_name"] == "运动服饰折扣店"
    assert data["images"] == ["https://shop.example.com/img/mat.jpg"]


def test_plain_html_title_from_title_tag_and_seller_label_in_its_own_node():
    html = "<title>Running Shoes - Example Shop</title><p>Sold by: <b>Sunrise Footwear</b></p><p>US$ 25.99</p>"
    data = extract_listing(html, URL)
    assert (data["title"], data["seller_name"]) == ("Running Shoes", "Sunrise Footwear")
    assert (data["price_low"], data["currency"]) == ("25.99", "USD")


def test_nothing_found_is_none_not_a_crash():
    data = extract_listing(b"", URL)
    assert set(data) == set(FIELDS)
    assert data["images"] == [] and all(data[f] is None for f in FIELDS if f != "images")


def test_per_source_selectors_win():
    html = '<h1>Generic heading</h1><div id="t">Real title</div><em class="p">RMB 8.80</em><h1 class="s">X</h1>'
    data = extract_listing(html, URL, selectors={"title": "#t", "price": ".p", "seller_name": "h1.s"})
    assert (data["title"], data["price_low"], data["currency"], data["seller_name"]) == ("Real title", "8.80", "CNY", "X")


def test_base_href_makes_images_absolute():
    html = '<base href="https://img.example.com/p/"><h1>x</h1><div class="gallery"><img src="a.jpg"></div>'
    assert extract_listing(html, URL)["images"] == ["https://img.example.com/p/a.jpg"]


@pytest.mark.parametrize("text, expected", [
    ("FOB US$ 6.50 - 8.20 / pair", ("6.50", "8.20", "USD")),
    ("批发价：120.00-150.00元", ("120.00", "150.00", "CNY")),
    ("¥1,299.00", ("1299.00", "1299.00", "CNY")),
    ("价格 ￥ 59", ("59", "59", "CNY")),
    ("RMB 12.5 起", ("12.5", "12.5", "CNY")),
    ("HK$ 30", ("30", "30", "HKD")),
    ("€ 3.50", ("3.50", "3.50", "EUR")),
    ("45 元/箱", ("45", "45", "CNY")),
    ("US$2.50~3.80", ("2.50", "3.80", "USD")),
])
def test_parse_price(text, expected):
    found = parse_price(text)
    assert (found["price_low"], found["price_high"], found["currency"]) == expected


def test_parse_price_ignores_numbers_without_currency():
    assert parse_price("MOQ: 1000 pairs, 330ml×24") == {}


# ------------------------------------------------------------------------------------- encodings
GBK_PAGE = '<html><head><meta charset="gbk"><title>t</title></head><body><h1>李宁 韦德之道 篮球鞋</h1>' \
           '<p class="price">￥220.00</p><div>店铺：运动鞋清仓</div></body></html>'


def test_gbk_bytes_decoded_from_meta_charset():
    data = extract_listing(GBK_PAGE.encode("gbk"), URL)
    assert data["title"] == "李宁 韦德之道 篮球鞋" and data["seller_name"] == "运动鞋清仓"
    assert (data["price_low"], data["currency"]) == ("220.00", "CNY")


def test_gbk_bytes_decoded_from_http_header_without_meta():
    page = GBK_PAGE.replace('<meta charset="gbk">', "").encode("gbk")
    assert extract_listing(page, URL, content_type="text/html; charset=GBK")["title"] == "李宁 韦德之道 篮球鞋"
    assert extract_listing(page, URL, encoding="gb2312")["title"] == "李宁 韦德之道 篮球鞋"


def test_utf8_bytes_and_str_agree():
    page = GBK_PAGE.replace("gbk", "utf-8")
    assert decode_html(page.encode("utf-8")) == page
    assert extract_listing(page.encode("utf-8"), URL) == extract_listing(page, URL)


# --------------------------------------------------------------------------- every demo-site page
BASE = "http://127.0.0.1:8000"
_DATA = load_catalogue_data()
_SITES = {"shop": ShopSite(_DATA), "fair": FairSite(_DATA), "market": MarketSite(_DATA)}


def _page_of(item):
    if item["site"] == "shop":
        return f"/item/{item['id']}.html"
    if item["site"] == "fair":
        return f"/exhibitors/{item['exhibitor']}/products/{item['id']}"
    return f"/stalls/{item['stall']}/goods/{item['id']}"


@pytest.mark.parametrize("item", [i for i in load_catalogue() if i.get("markup") != "inline"],
                         ids=lambda i: f"{i['site']}-{i['id']}-{i['markup']}")
def test_demo_page_extracts_to_its_catalogue_entry(item):
    response = _SITES[item["site"]].handle(_page_of(item), {}, BASE)
    assert response.status == 200
    # Bytes plus the HTTP header, as a crawler sees them (the GBK page has its charset there too).
    data = extract_listing(response.body, BASE + _page_of(item), content_type=response.content_type)
    low, high = price_range(item)
    assert data["title"] == item["title"]
    assert data["description"] == " ".join(item["description"].split())
    assert (Decimal(data["price_low"]), Decimal(data["price_high"])) == (Decimal(low), Decimal(high))
    assert data["currency"] == item["currency"]
    assert data["images"][0] == f"{BASE}/img/{item['id']}.jpg"
    if item["site"] == "shop":  # fair/market pages leave the seller to the directory spider
        assert data["seller_name"] == item["seller"]
    if item.get("brand") and item["markup"] in ("jsonld", "microdata"):
        assert data["brand"] == item["brand"]


def test_visible_text_entities_are_decoded_once():
    # "&amp;amp;" in the HTML is the literal text "&amp;" on screen; only JSON-LD gets the extra decode.
    assert extract_listing("<h1>A &amp;amp; B</h1>", URL)["title"] == "A &amp; B"


def test_old_price_prefilter_covers_every_old_text_branch():
    # may_show_old_price skips the regex unless one of these words is on the page: a branch of
    # _OLD_TEXT with no word in the list would silently lose struck-through prices.
    from crawlers import extract_visible as vis

    for branch in vis._OLD_TEXT.pattern.split("|"):
        literal = branch.replace("\\b", "").replace("\\.", ".").casefold()
        assert any(word in literal for word in vis._OLD_TEXT_WORDS), branch


def test_structured_price_gives_way_to_visible_sale_price_only_when_old_price_shown():
    from crawlers.extraction import extract_listing

    ld = ('<script type="application/ld+json">{"@type": "Product", "name": "Kettle", '
          '"offers": {"price": "99.00", "priceCurrency": "EUR"}}</script>')
    struck = extract_listing(f'<html><head>{ld}</head><body><h1>Kettle</h1><del>€99.00</del> '
                             f'<span class="price">€79.00</span><button>Add to cart</button></body></html>',
                             "https://shop.example.de/p/1")
    assert (struck["price_low"], struck["currency"]) == ("79.00", "EUR")
    plain = extract_listing(f'<html><head>{ld}</head><body><h1>Kettle</h1>'
                            f'<span class="price">€79.00</span></body></html>', "https://shop.example.de/p/1")
    assert plain["price_low"] == "99.00"


def test_out_of_stock_prefilter_covers_every_branch():
    from crawlers import extract_visible as vis

    # Expand the pattern's two groups so that splitting on "|" yields plain phrases.
    pattern = vis._OUT_OF_STOCK.pattern.replace("(?:mehr )?", "").replace("(?:laos|saadaval)", "laos")
    assert "(" not in pattern, "a new group in _OUT_OF_STOCK: expand it here"
    for branch in pattern.split("|"):
        assert any(word in branch.casefold() for word in vis._OUT_OF_STOCK_WORDS), branch


def test_out_of_stock_split_across_lines_and_nodes_is_still_found():
    from crawlers.extraction import extract_listing

    page = '<h1>Kettle</h1><div><span class="price">¥88</span><p>Sold\n   <b>out</b></p></div>'
    assert extract_listing(page, "https://shop.example.cn/i/1")["availability"] == "OutOfStock"
    assert extract_listing(page.replace("Sold", "Sole"), "https://shop.example.cn/i/1")["availability"] is None
