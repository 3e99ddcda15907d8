"""The specialised-market vendor directory: /stalls → /stalls/<id> → /stalls/<id>/goods/<gid>.

Wholesale-market conventions: prices in 元 per unit (often a range), a stall number and a location
inside the market, and the vendor's home region (what a GI check compares against).
"""
from __future__ import annotations

from cluewatch.demo_sites.catalogue import price_range
from cluewatch.demo_sites.directory import DirectorySite
from cluewatch.demo_sites.html import esc, offer_microdata, page, pager


def wholesale_price(listing: dict) -> str:
    low, high = price_range(listing)
    return f"批发价：{low}元" if low == high else f"批发价：{low}-{high}元"


class MarketSite(DirectorySite):
    key = "market"
    section, item_segment = "stalls", "goods"
    sellers_key, seller_ref = "stalls", "stall"
    logo_text = "LINYI MALL"
    logo_colour = "#b9770e"

    def _page(self, title: str, body: str) -> str:
        header = (f'<header><img class="site-logo" src="/static/site-logo.png" alt="logo">'
                  f'<a href="/">{esc(self.name)}</a> · <a href="/stalls">商户名录</a></header>')
        footer = "<footer>停车场 5元/小时 · 营业时间 5:00-17:00</footer>"
        return page(title, f"{header}\n<main>{body}</main>\n{footer}")

    def render_home(self):
        return self._page(self.name, f'<h1>{esc(self.name)}</h1><p><a href="/stalls">商户名录</a></p>')

    def render_list(self, stalls, page_no, pages):
        rows = "\n".join(
            f'<li class="stall"><a class="stall-link" href="/stalls/{esc(s["id"])}">{esc(s["vendor"])}</a>'
            f' <span class="stall-no">{esc(s["stall_no"])}</span></li>'
            for s in stalls
        )
        body = f'<h1>商户名录</h1><ul class="stalls">\n{rows}\n</ul>{pager("/stalls", "", page_no, pages)}'
        return self._page(f"商户名录 第{page_no}页 - {self.name}", body)

    def render_seller(self, stall, goods):
        rows = "\n".join(
            f'<li class="goods"><a class="goods-link" href="/stalls/{esc(stall["id"])}/goods/{esc(g["id"])}">'
            f'{esc(g["title"])}</a> <span class="price">{esc(wholesale_price(g))}</span></li>'
            for g in goods
        )
        body = (
            f'<h1 class="vendor">{esc(stall["vendor"])}</h1>'
            '<dl class="stall-info">'
            f'<dt>摊位号</dt><dd class="stall-no">{esc(stall["stall_no"])}</dd>'
            f'<dt>位置</dt><dd class="location">{esc(stall["location"])}</dd>'
            f'<dt>货源地</dt><dd class="origin">{esc(stall["origin"])}</dd>'
            '<dt>电话</dt><dd class="phone">0539-0000000</dd></dl>'
            f'<h2>在售商品</h2><ul class="goods-list">\n{rows}\n</ul>'
        )
        return self._page(f'{stall["vendor"]} - {self.name}', body)

    def render_item(self, item, stall):
        crumbs = (f'<nav class="breadcrumb"><a href="/stalls">商户名录</a> › '
                  f'<a href="/stalls/{esc(stall["id"])}">{esc(stall["vendor"])}</a></nav>')
        vendor = f'<p class="vendor-line">商户：{esc(stall["vendor"])}（{esc(stall["stall_no"])}）</p>'
        if item["markup"] == "microdata":
            main = (
                '<div itemscope itemtype="https://schema.org/Product">'
                f'<h1 itemprop="name">{esc(item["title"])}</h1>'
                f'<img itemprop="image" src="/img/{esc(item["id"])}.jpg" alt="">'
                f'{offer_microdata(item, wholesale_price(item))}'
                f'<p itemprop="description">{esc(item["description"])}</p>{vendor}</div>'
            )
        else:
            main = (
                f'<h1>{esc(item["title"])}</h1><img src="/img/{esc(item["id"])}.jpg" alt="">'
                f'<p class="price">{esc(wholesale_price(item))}</p>'
                f'<p class="description">{esc(item["description"])}</p>{vendor}'
            )
        return self._page(f'{item["title"]} - {stall["vendor"]}', crumbs + main)
