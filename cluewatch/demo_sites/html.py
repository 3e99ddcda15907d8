"""HTML building blocks shared by the demo sites: escaping, page layout, structured-data snippets.

Catalogue text is hostile on purpose (quotes, angle brackets, ampersands), so every value goes
through `esc` (HTML) or `json_ld` (script-safe JSON) — never straight into markup.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape

from cluewatch.demo_sites.catalogue import price_range


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict = field(default_factory=dict)


def esc(value) -> str:
    return escape(str(value), quote=True)


def json_ld(data: dict) -> str:
    """A JSON-LD <script> block; <, > and & are \\u-escaped so text can never close the script."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def page(title: str, body: str, *, head: str = "", charset: str = "utf-8", lang: str = "zh-CN",
         css_class: str = "") -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="{charset}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n{head}\n</head>\n"
        f'<body class="{css_class}">\n{body}\n</body>\n</html>\n'
    )


def html_response(text: str, *, status: int = 200, charset: str = "utf-8") -> Response:
    # xmlcharrefreplace: a character the legacy charset lacks becomes &#NNNN;, as real GBK sites do.
    return Response(status, text.encode(charset, errors="xmlcharrefreplace"), f"text/html; charset={charset}")


def not_found(site_name: str) -> Response:
    return html_response(page(f"404 - {site_name}", "<h1>404 页面不存在 / Not Found</h1>"), status=404)


def pager(base_path: str, params: str, page_no: int, pages: int) -> str:
    """Numbered pagination with rel=prev/next links, as most listing sites render it."""
    sep = "&" if params else ""
    links = []
    if page_no > 1:
        links.append(f'<a rel="prev" class="prev" href="{esc(f"{base_path}?{params}{sep}page={page_no - 1}")}">‹ 上一页</a>')
    for n in range(1, pages + 1):
        href = esc(f"{base_path}?{params}{sep}page={n}")
        links.append(f"<span class=\"current\">{n}</span>" if n == page_no else f'<a href="{href}">{n}</a>')
    if page_no < pages:
        links.append(f'<a rel="next" class="next" href="{esc(f"{base_path}?{params}{sep}page={page_no + 1}")}">下一页 ›</a>')
    return '<nav class="pager">' + " ".join(links) + "</nav>"


def offer_json(listing: dict, seller: dict | None = None) -> dict:
    """schema.org Offer (single price) or AggregateOffer (range) for a catalogue listing."""
    low, high = price_range(listing)
    if low == high:
        offer = {"@type": "Offer", "price": low, "priceCurrency": listing["currency"],
                 "availability": "https://schema.org/InStock"}
    else:
        offer = {"@type": "AggregateOffer", "lowPrice": low, "highPrice": high,
                 "priceCurrency": listing["currency"]}
    if seller:
        offer["seller"] = seller
    return offer


def offer_microdata(listing: dict, visible_price: str, seller_html: str = "") -> str:
    low, high = price_range(listing)
    if low == high:
        return (
            '<div class="offer" itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
            f'<span class="price" itemprop="price" content="{esc(low)}">{esc(visible_price)}</span>'
            f'<meta itemprop="priceCurrency" content="{esc(listing["currency"])}">'
            f"{seller_html}</div>"
        )
    return (
        '<div class="offer" itemprop="offers" itemscope itemtype="https://schema.org/AggregateOffer">'
        f'<span class="price">{esc(visible_price)}</span>'
        f'<meta itemprop="lowPrice" content="{esc(low)}"><meta itemprop="highPrice" content="{esc(high)}">'
        f'<meta itemprop="priceCurrency" content="{esc(listing["currency"])}">'
        f"{seller_html}</div>"
    )
