"""The web shop: /search?q=&page= result pages and /item/<id>.html product pages.

Product pages come in the markup styles real shops use (catalogue `markup`): JSON-LD, microdata,
OpenGraph only, or plain HTML — one of them GBK-encoded — each with a "满99元包邮" promo banner whose
price a naive extractor would grab instead of the product's.
"""
from __future__ import annotations

import math
import re
from urllib.parse import quote

from cluewatch.demo_sites.catalogue import price_range
from cluewatch.demo_sites.html import (Response, esc, html_response, json_ld, offer_json,
                                       offer_microdata, page, pager)
from cluewatch.demo_sites.site import DemoSite, page_number

_ITEM = re.compile(r"^/item/([0-9]+)\.html$")
_SYMBOL = {"CNY": "¥", "USD": "US$ "}


def visible_price(listing: dict) -> str:
    low, high = price_range(listing)
    symbol = _SYMBOL.get(listing["currency"], listing["currency"] + " ")
    return f"{symbol}{low}" if low == high else f"{symbol}{low} - {high}"


class ShopSite(DemoSite):
    key = "shop"
    logo_text = "XiaoShangPin"
    logo_colour = "#e4393c"

    def __init__(self, catalogue: dict):
        super().__init__(catalogue)
        self.name = catalogue["shop"]["name"]
        self.per_page = catalogue["shop"]["per_page"]

    def route(self, path, query, base_url):
        if path == "/":
            return self.home()
        if path == "/search":
            return self.search(query.get("q", ""), page_number(query))
        match = _ITEM.match(path)
        if match and match.group(1) in self.by_id:
            return self.item(self.by_id[match.group(1)], base_url)
        return None

    # ------------------------------------------------------------------------------------ chrome
    def _header(self) -> str:
        return (
            '<div class="promo">新人专享：满99元包邮，全场低至¥9.90起！</div>\n'
            f'<header><a href="/"><img class="site-logo" src="/static/site-logo.png" alt="{esc(self.name)}"></a>'
            '<form action="/search" method="get"><input name="q" placeholder="搜索商品"><button>搜索</button></form>'
            "</header>"
        )

    def _footer(self) -> str:
        return f'<footer><p>© 2025 {esc(self.name)} · 客服热线 400-000-0000 · 假一赔十</p></footer>'

    def _page(self, title: str, body: str, *, head: str = "", charset: str = "utf-8") -> str:
        return page(title, f"{self._header()}\n{body}\n{self._footer()}", head=head, charset=charset)

    def home(self) -> Response:
        categories = sorted({item["category"] for item in self.listings})
        links = " ".join(f'<a href="/search?q={esc(quote(c))}">{esc(c)}</a>' for c in categories)
        body = f'<main><h1>{esc(self.name)}</h1><p><a href="/search?q=">全部商品</a></p><nav class="categories">{links}</nav></main>'
        return html_response(self._page(self.name, body))

    # ------------------------------------------------------------------------------------ search
    def search(self, q: str, page_no: int) -> Response:
        needle = q.strip().lower()
        hits = [item for item in self.listings
                if needle in item["title"].lower() or needle in item["description"].lower()]
        pages = max(1, math.ceil(len(hits) / self.per_page))
        shown = hits[(page_no - 1) * self.per_page: page_no * self.per_page]
        rows = "\n".join(
            f'<li class="result" data-id="{esc(item["id"])}">'
            f'<a class="item-link" href="/item/{esc(item["id"])}.html"><img src="/img/{esc(item["id"])}.jpg" alt="">'
            f'<span class="title">{esc(item["title"])}</span></a>'
            f'<span class="price">{esc(visible_price(item))}</span>'
            f'<span class="shop-name">{esc(item["seller"])}</span></li>'
            for item in shown
        ) or '<li class="empty">没有找到相关商品</li>'
        params = f"q={quote(q)}"
        head = ""
        if page_no < pages:
            head = f'<link rel="next" href="{esc(f"/search?{params}&page={page_no + 1}")}">'
        body = (
            f'<main><h1>搜索“{esc(q)}”的结果</h1><p class="count">共 {len(hits)} 件商品</p>'
            f'<ul class="results">\n{rows}\n</ul>{pager("/search", params, page_no, pages)}</main>'
        )
        return html_response(self._page(f"{q} - 搜索 - {self.name}", body, head=head))

    # ------------------------------------------------------------------------------- product pages
    def item(self, listing: dict, base_url: str) -> Response:
        charset = listing.get("encoding", "utf-8")
        render = {"jsonld": self._jsonld, "microdata": self._microdata,
                  "opengraph": self._opengraph, "plain": self._plain}[listing["markup"]]
        head, main = render(listing, base_url)
        head = f'<meta name="description" content="{esc(listing["description"])}">\n{head}'
        crumbs = (f'<nav class="breadcrumb"><a href="/">首页</a> &gt; '
                  f'<a href="/search?q={esc(quote(listing["category"]))}">{esc(listing["category"])}</a></nav>')
        text = self._page(f'{listing["title"]} - {self.name}', f"{crumbs}\n<main>{main}</main>",
                          head=head, charset=charset)
        return html_response(text, charset=charset)

    def _image_src(self, listing: dict, base_url: str, relative: bool) -> str:
        path = f'/img/{listing["id"]}.jpg'
        return path if relative else base_url + path

    def _jsonld(self, listing, base_url):
        # Half the pages give a relative image URL: the extractor must make it absolute.
        relative = int(listing["id"]) % 2 == 0
        product = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": listing["title"],
            "description": listing["description"],
            "sku": listing["id"],
            "image": [self._image_src(listing, base_url, relative)],
            "category": listing["category"],
            "offers": offer_json(listing, {"@type": "Organization", "name": listing["seller"]}),
        }
        if listing.get("brand"):
            product["brand"] = {"@type": "Brand", "name": listing["brand"]}
        main = (
            f'<h1>{esc(listing["title"])}</h1>'
            f'<div class="gallery"><img src="/img/{esc(listing["id"])}.jpg" alt="{esc(listing["title"])}"></div>'
            f'<p class="price">{esc(visible_price(listing))}</p>'
            f'<div class="shop">店铺：<span class="shop-name">{esc(listing["seller"])}</span></div>'
            f'<div class="description">{esc(listing["description"])}</div>'
        )
        return json_ld(product), main

    def _microdata(self, listing, base_url):
        brand = ""
        if listing.get("brand"):
            brand = (f'<div itemprop="brand" itemscope itemtype="https://schema.org/Brand">品牌：'
                     f'<span itemprop="name">{esc(listing["brand"])}</span></div>')
        seller = (f'<div class="shop" itemprop="seller" itemscope itemtype="https://schema.org/Organization">'
                  f'店铺：<span class="shop-name" itemprop="name">{esc(listing["seller"])}</span></div>')
        main = (
            '<div class="product" itemscope itemtype="https://schema.org/Product">'
            f'<h1 itemprop="name">{esc(listing["title"])}</h1>'
            f'<img itemprop="image" src="/img/{esc(listing["id"])}.jpg" alt="">'
            f"{brand}{offer_microdata(listing, visible_price(listing), seller)}"
            f'<meta itemprop="category" content="{esc(listing["category"])}">'
            f'<div class="description" itemprop="description">{esc(listing["description"])}</div>'
            "</div>"
        )
        return "", main

    def _opengraph(self, listing, base_url):
        low, _ = price_range(listing)
        head = "\n".join([
            '<meta property="og:type" content="product">',
            f'<meta property="og:title" content="{esc(listing["title"])}">',
            f'<meta property="og:description" content="{esc(listing["description"])}">',
            f'<meta property="og:image" content="{esc(self._image_src(listing, base_url, False))}">',
            f'<meta property="og:url" content="{esc(base_url)}/item/{esc(listing["id"])}.html">',
            f'<meta property="product:price:amount" content="{esc(low)}">',
            f'<meta property="product:price:currency" content="{esc(listing["currency"])}">',
        ])
        main = (
            f'<h1>{esc(listing["title"])}</h1>'
            f'<img class="main-image" src="/img/{esc(listing["id"])}.jpg" alt="">'
            f'<p class="price">{esc(visible_price(listing))}</p>'
            f'<div class="shop">店铺：<span class="shop-name">{esc(listing["seller"])}</span></div>'
        )
        return head, main

    def _plain(self, listing, base_url):
        # No structured data and no helpful class names on the seller: only text conventions.
        src = f'/img/{esc(listing["id"])}.jpg'
        image = (f'<img class="lazy" src="/static/placeholder.gif" data-src="{src}" alt="">'
                 if listing.get("lazy_image") else f'<img src="{src}" alt="">')
        label = "Sold by: " if listing["currency"] == "USD" else "店铺："
        main = (
            f'<div class="detail"><h1>{esc(listing["title"])}</h1>{image}'
            # Small Chinese shops write the full-width ￥ (also the only yen sign GBK can encode).
            f'<div class="price-box">价格 <span class="price">{esc(visible_price(listing).replace("¥", "￥"))}</span></div>'
            f'<div class="seller-info">{label}{esc(listing["seller"])}</div>'
            f'<div class="description">{esc(listing["description"])}</div></div>'
        )
        return "", main
