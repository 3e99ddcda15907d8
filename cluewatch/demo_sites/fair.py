"""The trade-fair exhibitor catalogue: /exhibitors → /exhibitors/<id> → /exhibitors/<id>/products/<pid>.

B2B conventions: FOB prices in US dollars, often a range, with a minimum order quantity. One
exhibitor shows its products only inline on its own page (no product pages), as small exhibitors do.
"""
from __future__ import annotations

from cluewatch.demo_sites.catalogue import price_range
from cluewatch.demo_sites.directory import DirectorySite
from cluewatch.demo_sites.html import esc, json_ld, offer_json, offer_microdata, page, pager


def fob_price(listing: dict) -> str:
    low, high = price_range(listing)
    unit = "pair" if listing["category"] == "Footwear" else "piece"
    amount = low if low == high else f"{low} - {high}"
    return f"FOB US$ {amount} / {unit}"


def stand(exhibitor: dict) -> str:
    return f'Hall {exhibitor["hall"]}, Booth {exhibitor["booth"]}'


class FairSite(DirectorySite):
    key = "fair"
    section, item_segment = "exhibitors", "products"
    sellers_key, seller_ref = "exhibitors", "exhibitor"
    logo_text = "EXPO 2025"
    logo_colour = "#1f618d"

    def _page(self, title: str, body: str, head: str = "") -> str:
        header = (f'<header><img class="site-logo" src="/static/site-logo.png" alt="logo">'
                  f'<a href="/">{esc(self.name)}</a> · <a href="/exhibitors">Exhibitors</a></header>')
        footer = "<footer>Admission free for trade visitors · Hall map · Shuttle bus ¥10</footer>"
        return page(title, f"{header}\n<main>{body}</main>\n{footer}", head=head, lang="en")

    def render_home(self):
        return self._page(self.name, f'<h1>{esc(self.name)}</h1><p><a href="/exhibitors">Exhibitor catalogue</a></p>')

    def render_list(self, sellers, page_no, pages):
        rows = "\n".join(
            f'<li class="exhibitor"><a class="exhibitor-link" href="/exhibitors/{esc(e["id"])}">{esc(e["company"])}</a>'
            f' <span class="stand">{esc(stand(e))}</span></li>'
            for e in sellers
        )
        body = f'<h1>Exhibitors</h1><ul class="exhibitors">\n{rows}\n</ul>{pager("/exhibitors", "", page_no, pages)}'
        return self._page(f"Exhibitors (page {page_no}) - {self.name}", body)

    def render_seller(self, exhibitor, goods):
        blocks = []
        for item in goods:
            if item["markup"] == "inline":
                blocks.append(self._inline_product(item))
            else:
                href = f'/exhibitors/{exhibitor["id"]}/products/{item["id"]}'
                blocks.append(f'<li class="product"><a class="product-link" href="{esc(href)}">{esc(item["title"])}</a>'
                              f' <span class="price">{esc(fob_price(item))}</span></li>')
        body = (
            f'<h1 class="exhibitor-name">{esc(exhibitor["company"])}</h1>'
            f'<p class="stand"><span class="hall">Hall {esc(exhibitor["hall"])}</span>, '
            f'<span class="booth">Booth {esc(exhibitor["booth"])}</span></p>'
            f'<p class="city">{esc(exhibitor["city"])}</p>'
            f'<h2>Products</h2><ul class="products">\n' + "\n".join(blocks) + "\n</ul>"
        )
        return self._page(f'{exhibitor["company"]} - {self.name}', body)

    def _inline_product(self, item):
        return (
            f'<li class="product" id="{esc(item["id"])}" data-product-id="{esc(item["id"])}" '
            'itemscope itemtype="https://schema.org/Product">'
            f'<h3 itemprop="name">{esc(item["title"])}</h3>'
            f'<img itemprop="image" src="/img/{esc(item["id"])}.jpg" alt="">'
            f'<p itemprop="description">{esc(item["description"])}</p>'
            f'{offer_microdata(item, fob_price(item))}</li>'
        )

    def render_item(self, item, exhibitor):
        crumbs = (f'<nav class="breadcrumb"><a href="/exhibitors">Exhibitors</a> › '
                  f'<a href="/exhibitors/{esc(exhibitor["id"])}">{esc(exhibitor["company"])}</a></nav>')
        moq = f'<p class="moq">MOQ: 1000 {"pairs" if item["category"] == "Footwear" else "pieces"}</p>'
        head = ""
        if item["markup"] == "microdata":
            main = (
                '<div itemscope itemtype="https://schema.org/Product">'
                f'<h1 itemprop="name">{esc(item["title"])}</h1>'
                f'<img itemprop="image" src="/img/{esc(item["id"])}.jpg" alt="">'
                f'<p itemprop="description">{esc(item["description"])}</p>'
                f'{offer_microdata(item, fob_price(item))}{moq}</div>'
            )
        else:
            main = (
                f'<h1>{esc(item["title"])}</h1><img src="/img/{esc(item["id"])}.jpg" alt="">'
                f'<p class="description">{esc(item["description"])}</p>'
                f'<p class="price">{esc(fob_price(item))}</p>{moq}'
                f'<p class="exhibitor">Exhibitor: {esc(exhibitor["company"])}</p>'
            )
            if item["markup"] == "jsonld":
                head = json_ld({
                    "@context": "https://schema.org", "@type": "Product", "name": item["title"],
                    "description": item["description"], "image": f'/img/{item["id"]}.jpg',
                    "offers": offer_json(item, {"@type": "Organization", "name": exhibitor["company"]}),
                })
        return self._page(f'{item["title"]} - {exhibitor["company"]}', crumbs + main, head=head)
