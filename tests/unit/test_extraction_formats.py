"""crawlers.extraction on what real shops throw at it: price formats, currencies inferred from the
site, Chinese encodings with missing or wrong charset labels, lazy images, broken HTML, missing data.
(The demo-site pages and the basic markup styles are in test_extraction.py.)"""
from __future__ import annotations

import pytest

from crawlers.extract_price import amount, decode_html, find_prices, infer_currency, parse_price, site_country
from crawlers.extraction import FIELDS, extract_listing

URL = "https://shop.example.com/item/42.html"


# ---------------------------------------------------------------------------------------- prices
@pytest.mark.parametrize("text, expected", [
    ("¥1,299.00", ("1299.00", "1299.00", "CNY")),
    ("1299元", ("1299", "1299", "CNY")),
    ("￥88-128", ("88", "128", "CNY")),
    ("¥ 88 ~ ¥ 128", ("88", "128", "CNY")),
    ("US $12.99", ("12.99", "12.99", "USD")),
    ("US$12.99", ("12.99", "12.99", "USD")),
    ("€ 12,99", ("12.99", "12.99", "EUR")),
    ("12,99 €", ("12.99", "12.99", "EUR")),
    ("1.299,00 €", ("1299.00", "1299.00", "EUR")),
    ("1 299,00 €", ("1299.00", "1299.00", "EUR")),
    ("$1,299", ("1299", "1299", "USD")),
    ("£34.99", ("34.99", "34.99", "GBP")),
    ("CHF 19.50", ("19.50", "19.50", "CHF")),
    ("19.50 CHF", ("19.50", "19.50", "CHF")),
    ("EUR110.00", ("110.00", "110.00", "EUR")),
    ("30,000원~", ("30000", "30000", "KRW")),
    ("34 990 руб.", ("34990", "34990", "RUB")),
    ("批发价：120.00-150.00元", ("120.00", "150.00", "CNY")),
    ("HK$ 1,050", ("1050", "1050", "HKD")),
    ("NT$ 2,320", ("2320", "2320", "TWD")),
])
def test_price_formats(text, expected):
    found = parse_price(text)
    assert (found["price_low"], found["price_high"], found["currency"]) == expected


@pytest.mark.parametrize("text", ["MOQ: 1000 pairs", "330ml×24", "Tootekood: 763127", "2021-03-04", ""])
def test_numbers_without_a_currency_are_not_prices(text):
    assert parse_price(text) == {}


def test_a_backwards_range_is_not_a_range():
    assert parse_price("€ 12-3")["price_high"] == "12"


@pytest.mark.parametrize("value, expected", [
    (49.99, "49.99"), (39, "39"), ("1,299.00", "1299.00"), ("12,99", "12.99"), (" 7 ", "7"),
    ("-5", None), ("abc", None), (None, None), (True, None), ("NaN", None),
])
def test_structured_amounts(value, expected):
    assert amount(value) == expected


def test_find_prices_lists_every_price_in_order():
    found = find_prices("was £20.00 now £15.50")
    assert [(f["price_low"], f["token"]) for f in found] == [("20.00", "£"), ("15.50", "£")]


# ------------------------------------------------------------------------------------ currencies
@pytest.mark.parametrize("token, url, lang, expected", [
    ("$", "https://www.example.ca/p/1", None, "CAD"),
    ("$", "https://shop.example.tw/p/1", None, "TWD"),
    ("$", "https://www.example.com/en-ca/p/1", None, "CAD"),
    ("$", "https://www.example.com/p/1", "zh-Hant-TW", "TWD"),
    ("$", "https://www.example.com/p/1", None, "USD"),
    ("¥", "https://www.example.jp/p/1", None, "JPY"),
    ("¥", "https://www.example.com/p/1", "zh-CN", "CNY"),
    ("元", "https://www.example.com.tw/p/1", None, "TWD"),
    ("kr", "https://www.example.no/p/1", None, "NOK"),
    ("£", "https://www.example.com/p/1", None, "GBP"),
    ("eur", None, None, "EUR"),
    ("RUR", None, None, "RUB"),
    (None, "https://www.example.de/p/1", None, "EUR"),
    (None, "https://www.example.co.uk/p/1", None, "GBP"),
    (None, "https://shop.example.com/ie/en/p/1", None, "EUR"),
    (None, "https://www.example.com/p/1", None, None),
])
def test_currency_inference(token, url, lang, expected):
    assert infer_currency(token, url=url, lang=lang) == expected


def test_site_country():
    assert site_country("https://www.example.co.kr/x") == "kr"
    assert site_country("https://www.example.com/gb/en/x") == "gb"
    assert site_country("https://www.example.com/x", "et") == "ee"


def test_unmarked_structured_price_takes_the_site_currency():
    html = '<script type="application/ld+json">{"@type": "Product", "name": "Lamp", "offers": {"price": "25"}}</script>'
    data = extract_listing(html, "https://www.example.de/lamp")
    assert (data["price_low"], data["currency"]) == ("25", "EUR")


def test_dollar_price_on_a_canadian_site_is_cad():
    data = extract_listing('<h1>Doorbell</h1><div class="price">$229.99</div>', "https://www.example.ca/en-ca/p/1")
    assert (data["price_low"], data["currency"]) == ("229.99", "CAD")


# ------------------------------------------------------------------------------------- encodings
ZH_CN = ("<html><body><h1>李宁 韦德之道 篮球鞋 男款 正品</h1><p class=\"price\">价格：￥220.00</p>"
         "<div>店铺：运动鞋清仓</div><p>这是一款专业的篮球鞋，采用轻质材料，适合日常训练和比赛使用。我们的商品都是正品，请放心购买。</p>"
         "</body></html>")
ZH_TW = ("<html><body><h1>李寧 韋德之道 籃球鞋 男款 正品</h1><p class=\"price\">價格：NT$220</p>"
         "<div>店鋪：運動鞋清倉</div><p>這是一款專業的籃球鞋，採用輕質材料，適合日常訓練和比賽使用。我們的商品都是正品，請放心購買。</p>"
         "</body></html>")


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "gb2312"])
@pytest.mark.parametrize("header", [None, "text/html", "text/html; charset=iso-8859-1", "text/html; charset=utf-8"])
def test_simplified_chinese_bytes_without_or_with_a_wrong_header(encoding, header):
    assert decode_html(ZH_CN.encode(encoding), content_type=header) == ZH_CN


@pytest.mark.parametrize("header", [None, "text/html; charset=iso-8859-1", "text/html; charset=utf-8",
                                    "text/html; charset=gbk", "text/html; charset=big5"])
def test_big5_bytes_without_or_with_a_wrong_header(header):
    assert decode_html(ZH_TW.encode("big5"), content_type=header) == ZH_TW


def test_gb18030_only_characters():
    text = "<h1>€ 𠀀 䶮 李宁</h1>"  # outside GBK: needs the four-byte GB18030 sequences
    assert decode_html(text.encode("gb18030"), content_type="text/html; charset=gbk") == text


def test_utf8_page_labelled_gbk_is_read_as_utf8():
    assert decode_html(ZH_CN.encode("utf-8"), content_type="text/html; charset=gbk") == ZH_CN


def test_utf8_bom_and_meta_charset():
    assert decode_html("\ufeff<h1>Olá</h1>".encode("utf-8")) == "<h1>Olá</h1>"
    latin = '<meta charset="windows-1252"><h1>Café 12,99 €</h1>'
    assert decode_html(latin.encode("cp1252")) == latin


def test_gbk_page_extracts_fields():
    data = extract_listing(ZH_CN.encode("gbk"), URL, content_type="text/html; charset=utf-8")
    assert data["title"] == "李宁 韦德之道 篮球鞋 男款 正品"
    assert (data["price_low"], data["currency"], data["seller_name"]) == ("220.00", "CNY", "运动鞋清仓")


# ---------------------------------------------------------------------------------------- images
def test_lazy_images_are_resolved_to_absolute_urls():
    html = """<h1>Shoe</h1><div class="gallery">
      <img src="/static/placeholder.gif" data-src="/img/1.jpg">
      <img src="data:image/gif;base64,R0lGOD" data-original="//cdn.example.com/2.jpg">
      <img srcset="/img/3-320.jpg 320w, /img/3-1200.jpg 1200w">
      <img data-lazy-src="img/4.jpg"></div>"""
    assert extract_listing(html, URL)["images"] == [
        "https://shop.example.com/img/1.jpg", "https://cdn.example.com/2.jpg",
        "https://shop.example.com/img/3-1200.jpg", "https://shop.example.com/item/img/4.jpg"]


def test_structured_image_comes_first_and_logos_are_skipped():
    html = """<head><meta property="og:image" content="/favicon-192.png"></head>
      <script type="application/ld+json">{"@type": "Product", "name": "X", "image": "/p/main.jpg"}</script>
      <header><img src="/logo.png"></header><img src="/p/other.jpg">"""
    images = extract_listing(html, URL)["images"]
    assert images[0] == "https://shop.example.com/p/main.jpg"
    assert not any("logo" in u or "favicon" in u for u in images)


# ------------------------------------------------------------------------------ visible heuristics
def test_sale_price_beats_the_struck_through_price():
    html = """<h1>Kettle</h1><div class="price-box"><del class="price">€ 49,99</del>
      <span class="price special-price">€ 39,99</span></div><button class="add-to-cart">Add to cart</button>"""
    data = extract_listing(html, "https://shop.example.de/k")
    assert (data["price_low"], data["currency"]) == ("39.99", "EUR")


def test_structured_price_shown_struck_through_gives_way_to_the_sale_price():
    html = """<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Bag</h1>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
      <meta itemprop="price" content="219.99"><meta itemprop="priceCurrency" content="EUR"></div></div>
      <div class="prices"><span class="original-price">EUR219.99</span> <span>-50%</span>
      <div class="product-price"><span class="current-price">EUR110.00</span></div></div>
      <button class="buy">Buy</button>"""
    assert extract_listing(html, URL)["price_low"] == "110.00"


def test_related_products_and_instalments_do_not_win():
    html = """<h1>Camera</h1><p class="price">£34.99</p><p>or 3 payments of £11.66 per month</p>
      <button>Add to basket</button>
      <div class="related-products"><div class="tile"><span class="price">£9.99</span></div></div>"""
    assert extract_listing(html, "https://www.example.co.uk/p/1")["price_low"] == "34.99"


def test_labelled_brand_sku_gtin_and_mpn():
    html = """<h1>Robot mower Indego 400</h1><table><tr><th>Brand</th><td><a>Bosch</a></td></tr>
      <tr><th>SKU:</th><td>763127</td></tr><tr><th>EAN</th><td>4054278533728</td></tr>
      <tr><th>Model</th><td>06008B0000</td></tr></table><span class="price">978 €</span>"""
    data = extract_listing(html, "https://www.example.ee/p/1")
    assert (data["brand"], data["sku"], data["gtin"], data["mpn"]) == ("Bosch", "763127", "4054278533728", "06008B0000")


def test_brand_is_spelled_as_the_title_writes_it():
    html = """<title>Buy TP-Link Tapo C200 camera | Shop</title><h1>TP-Link Tapo C200 camera</h1>
      <script>dataLayer.push({"product": {"brand":"TP Link", "price": 34.99}})</script>"""
    assert extract_listing(html, URL)["brand"] == "TP-Link"


def test_structured_sku_gtin_availability():
    html = """<script type="application/ld+json">{"@context": "https://schema.org", "@type": "product",
      "name": "Pen", "sku": "1049084", "gtin13": "7610186303159", "mpn": "849.001",
      "brand": "CARAN D'ACHE", "offers": {"@type": "Offer", "price": 19.5, "priceCurrency": "CHF",
      "availability": "https://schema.org/OutOfStock"}}</script>"""
    data = extract_listing(html, URL)
    assert (data["sku"], data["gtin"], data["mpn"], data["brand"]) == ("1049084", "7610186303159", "849.001", "CARAN D'ACHE")
    assert (data["price_low"], data["currency"], data["availability"]) == ("19.5", "CHF", "OutOfStock")


def test_visible_out_of_stock():
    html = "<h1>Chair</h1><div><span class='price'>£25</span><p>Currently out of stock online</p></div>"
    assert extract_listing(html, URL)["availability"] == "OutOfStock"


def test_og_price_with_a_currency_sign():
    html = '<meta property="og:title" content="Deal"><meta property="og:price" content="30,000원~">'
    data = extract_listing(html, "https://www.example.co.kr/deal/1")
    assert (data["price_low"], data["currency"]) == ("30000", "KRW")


# ------------------------------------------------------------------------------ broken and empty
@pytest.mark.parametrize("html", [
    "<h1>Unclosed <b>title<div class='price'>€ 5,00",
    "<html><body><table><tr><td>Lamp</td><p class=price>$ 7.5</table>",
    '<script type="application/ld+json">{"@type": "Product", "name": "Lamp",}</script><h1>Lamp</h1><b class="price">$ 7.5</b>',
    "\x00\x01<h1>Lamp</h1><span class='price'>$7.5</span>",
])
def test_broken_html_still_extracts(html):
    data = extract_listing(html, URL)
    assert data["price_low"] in ("5.00", "7.5")


def test_missing_price_is_none():
    data = extract_listing("<h1>Teapot</h1><p>Call us for a quote. 20 pieces in stock.</p>", URL)
    assert data["title"] == "Teapot"
    assert (data["price_low"], data["price_high"], data["currency"]) == (None, None, None)


@pytest.mark.parametrize("html", ["", b"", "   ", "<html></html>", b"\xff\xfe", "<<<>>>", "plain text only"])
def test_empty_or_garbage_pages(html):
    data = extract_listing(html, URL)
    assert set(data) == set(FIELDS)
    assert data["price_low"] is None and data["images"] == []


# ------------------------------------------------------------------------------------ ids from URL
@pytest.mark.parametrize("url, expected", [
    ("https://www.example.com/store/122725?pid=260591", "260591"),
    ("https://www.example.ch/de/filzstift-24718?sku=1049084", "1049084"),
    ("http://www.example.co.kr/deal/4548094738", "4548094738"),
    ("https://www.example.com.tw/shop/M67296549.htm?pc=promo", "M67296549"),
    ("https://shop.example.com/ie/en/cardigans/zipped-through-cardigan-12185160.html?cgid=x", "12185160"),
    ("https://www.example.com/about-us", None),
    ("https://www.example.com/p/2021", None),
])
def test_sku_from_url(url, expected):
    from crawlers.extraction import sku_from_url

    assert sku_from_url(url) == expected


def test_structured_sku_wins_over_the_url():
    html = '<script type="application/ld+json">{"@type": "Product", "name": "X", "sku": "A-1"}</script>'
    assert extract_listing(html, "https://www.example.com/p/?pid=99999")["sku"] == "A-1"


def test_text_after_comments_and_scripts_is_kept_in_order():
    html = "<h1>Lamp</h1><table><tr><td>Brand<!-- x --></td><td><!-- y -->Lumo</td></tr></table>" \
           "<p>Price<script>var p = '$1';</script>: <b>$ 9.99</b></p>"
    data = extract_listing(html, URL)
    assert (data["brand"], data["price_low"]) == ("Lumo", "9.99")


def test_pathological_json_ld_and_many_prices_stay_cheap():
    import time

    nested = '<script type="application/ld+json">' + "[" * 50000 + "]" * 50000 + "</script><h1>x</h1>"
    grid = "<h1>Grid</h1><span class='price'>€ 5,00</span>" + "<div><p>€ 3,50</p></div>" * 20000
    start = time.perf_counter()
    assert extract_listing(nested, URL)["title"] == "x"
    assert extract_listing(grid, URL)["price_low"] == "5.00"
    assert time.perf_counter() - start < 30
