"""Listing fields from one product page — a pure function of the page's bytes/text and its URL.

Sources of truth, best first: per-source CSS selectors (the operator knows the site), schema.org
JSON-LD, microdata, OpenGraph, then plain-HTML conventions (h1, a visible "¥12.50" / "12.50元",
"店铺：…" labels, the product image). Each field comes from the first source that has it, so a page
with partial structured data is completed from the visible page.

>>> extract_listing('<h1>Teapot</h1><p class="price">¥12.50</p>', "https://shop.example/i/1")["price_low"]
'12.50'
"""
from __future__ import annotations

import html as html_lib
import re
from decimal import Decimal, InvalidOperation
from typing import Iterable, Mapping
from urllib.parse import urljoin

import extruct
from parsel import Selector
from w3lib.encoding import html_to_unicode

FIELDS = ("title", "description", "brand", "price_low", "price_high", "currency", "seller_name",
          "category", "images")
PRICE_FIELDS = ("price_low", "price_high")

# ¥ is also the yen sign; on the Chinese-language sites this project watches it means CNY.
CURRENCY_SYMBOLS = {
    "¥": "CNY", "￥": "CNY", "元": "CNY", "块": "CNY", "人民币": "CNY", "RMB": "CNY", "CNY": "CNY",
    "US$": "USD", "US $": "USD", "$": "USD", "USD": "USD", "美元": "USD",
    "HK$": "HKD", "HKD": "HKD", "€": "EUR", "EUR": "EUR", "欧元": "EUR", "£": "GBP", "GBP": "GBP",
}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SEP = r"\s*(?:-|–|—|~|～|至|to)\s*"
_PREFIX_CUR = r"US\s?\$|HK\$|USD|HKD|RMB|CNY|EUR|GBP|¥|￥|€|£|\$"
_PRICE_PREFIX = re.compile(
    rf"(?P<cur>{_PREFIX_CUR})\s*(?P<low>{_NUM})(?:{_SEP}(?:{_PREFIX_CUR})?\s*(?P<high>{_NUM}))?")
_PRICE_SUFFIX = re.compile(
    rf"(?P<low>{_NUM})(?:{_SEP}(?P<high>{_NUM}))?\s*(?P<cur>元|块|人民币|美元|欧元|RMB|CNY|USD|EUR)")
_SELLER_LABEL = re.compile(
    r"^(?:店铺|店铺名称|卖家|商家|商户|供应商|Seller|Sold by|Store|Shop|Supplier|Exhibitor)\s*[:：]\s*(.*)$",
    re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_IMAGE_ATTRS = ("data-src", "data-original", "data-lazy-src", "src")
_NOT_PRODUCT_IMAGE = re.compile(r"logo|icon|avatar|placeholder|spacer|pixel|banner", re.IGNORECASE)


# ------------------------------------------------------------------------------------ entry points
def decode_html(html: str | bytes, *, encoding: str | None = None, content_type: str | None = None) -> str:
    """Text of a page: bytes are decoded by BOM, HTTP charset, <meta charset>, then detection.

    w3lib maps gbk/gb2312 to gb18030 (their superset), as browsers do.
    """
    if isinstance(html, str):
        return html
    if encoding and not content_type:
        content_type = f"text/html; charset={encoding}"
    return html_to_unicode(content_type, html)[1]


def extract_listing(html: str | bytes, url: str, *, encoding: str | None = None,
                    content_type: str | None = None, selectors: Mapping[str, str] | None = None) -> dict:
    """The listing fields found on one page; None (or [] for images) where nothing was found.

    `encoding`/`content_type` are the HTTP hints for bytes input (Scrapy's `response.text` has
    already applied them). `selectors` maps field names (title, description, brand, price,
    seller_name, category, image) to CSS selectors that override every heuristic.
    """
    text = decode_html(html, encoding=encoding, content_type=content_type)
    page = Selector(text=text)
    base = urljoin(url, page.css("base::attr(href)").get() or "")
    structured = _structured_data(text, base)
    layers = [
        _from_selectors(page, selectors or {}, base),
        *(_from_product(p, base) for p in structured["json-ld"][:1]),
        *(_from_product(p, base) for p in structured["microdata"][:1]),
        *(_from_opengraph(og, base) for og in structured["opengraph"][:1]),
        _from_html(page, base),
    ]
    return _merge(layers)


def _merge(layers: Iterable[dict]) -> dict:
    result = {field: None for field in FIELDS}
    result["images"] = []
    for layer in layers:
        # A price range is one fact: take both ends from the same source.
        if result["price_low"] is None and layer.get("price_low") is not None:
            result["price_low"] = layer["price_low"]
            result["price_high"] = layer.get("price_high") or layer["price_low"]
        for field in FIELDS:
            if field in PRICE_FIELDS:
                continue
            value = layer.get(field)
            if value and not result[field]:
                result[field] = value
    return result


# ------------------------------------------------------------------------------- structured data
def _structured_data(text: str, base: str) -> dict[str, list[dict]]:
    try:
        data = extruct.extract(text, base_url=base, syntaxes=["json-ld", "microdata", "opengraph"],
                               uniform=True, errors="ignore")
    except Exception:  # extruct chokes on some broken pages; the visible page is still there
        data = {}
    return {
        "json-ld": list(_products(data.get("json-ld") or [])),
        "microdata": list(_products(data.get("microdata") or [])),
        "opengraph": [og for og in data.get("opengraph") or [] if isinstance(og, dict)],
    }


def _is_product(node: dict) -> bool:
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and t.rsplit("/", 1)[-1].endswith("Product") for t in types)


def _products(nodes) -> Iterable[dict]:
    """Product nodes anywhere in the data: top level, @graph, ItemPage.mainEntity, ..."""
    if isinstance(nodes, list):
        for node in nodes:
            yield from _products(node)
    elif isinstance(nodes, dict):
        if _is_product(nodes):
            yield nodes
            return
        for value in nodes.values():
            if isinstance(value, (dict, list)):
                yield from _products(value)


def _from_product(product: dict, base: str) -> dict:
    out = {
        "title": _clean(_name(product.get("name"))),
        "description": _clean(_name(product.get("description"))),
        "brand": _clean(_name(product.get("brand"))),
        "category": _clean(_name(product.get("category"))),
        "images": _absolute(_image_urls(product.get("image")), base),
    }
    offers = product.get("offers")
    offers = offers if isinstance(offers, list) else [offers] if isinstance(offers, dict) else []
    lows, highs = [], []
    for offer in offers:
        spec = offer.get("priceSpecification")
        spec = spec[0] if isinstance(spec, list) and spec else spec if isinstance(spec, dict) else {}
        low = _price(offer.get("lowPrice") or offer.get("price") or spec.get("price"))
        high = _price(offer.get("highPrice")) or low
        if low is not None:
            lows.append(low)
            highs.append(high)
        out["currency"] = out.get("currency") or _currency(offer.get("priceCurrency") or spec.get("priceCurrency"))
        out["seller_name"] = out.get("seller_name") or _clean(_name(offer.get("seller")))
    if lows:
        out["price_low"] = min(lows, key=Decimal)
        out["price_high"] = max(highs, key=Decimal)
    out["seller_name"] = out.get("seller_name") or _clean(_name(product.get("seller")))
    return out


def _from_opengraph(og: dict, base: str) -> dict:
    def first(key):
        value = og.get(key)
        return value[0] if isinstance(value, list) and value else value

    price = _price(first("product:price:amount") or first("og:price:amount"))
    return {
        "title": _space(first("og:title")),
        "description": _space(first("og:description")),
        "brand": _space(first("product:brand")),
        "images": _absolute(_image_urls(og.get("og:image")), base),
        "price_low": price,
        "price_high": price,
        "currency": _currency(first("product:price:currency") or first("og:price:currency")),
    }


def _name(value) -> str | None:
    """A schema.org text-or-Thing value as text ({"@type": "Brand", "name": "X"} → "X")."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return value if isinstance(value, str) else None


def _image_urls(value) -> list[str]:
    values = value if isinstance(value, list) else [value]
    urls = []
    for v in values:
        if isinstance(v, dict):
            v = v.get("url") or v.get("contentUrl")
        if isinstance(v, str) and v.strip():
            urls.append(v.strip())
    return urls


# ----------------------------------------------------------------------------------- plain HTML
def _from_selectors(page: Selector, selectors: Mapping[str, str], base: str) -> dict:
    out = {}
    for field in ("title", "description", "brand", "seller_name", "category"):
        if selectors.get(field):
            out[field] = _space(" ".join(node_texts(page.css(selectors[field]))))
    if selectors.get("price"):
        out.update(parse_price(" ".join(node_texts(page.css(selectors["price"])))))
    if selectors.get("image"):
        out["images"] = _absolute(_img_sources(page.css(selectors["image"])), base)
    return out


def _from_html(page: Selector, base: str) -> dict:
    title = _first_text(page, "h1") or _strip_site_suffix(_first_text(page, "title"))
    description = (page.css('meta[name="description"]::attr(content)').get()
                   or _first_text(page, ".description, #description, .product-description"))
    out = {"title": title, "description": _space(description), "seller_name": _seller(page),
           "images": _absolute(_product_images(page), base)}
    out.update(_visible_price(page))
    return out


def node_texts(nodes) -> list[str]:
    """Visible text of each node (its descendants' text joined), or the value of ::text/::attr nodes."""
    texts = []
    for node in nodes:
        if isinstance(node.root, str):
            texts.append(node.root)
        else:
            texts.append(" ".join(node.xpath(".//text()[not(ancestor::script or ancestor::style)]").getall()))
    return [t for t in (_space(t) for t in texts) if t]


def _first_text(page: Selector, css: str) -> str | None:
    texts = node_texts(page.css(css)[:1])
    return texts[0] if texts else None


def _strip_site_suffix(title: str | None) -> str | None:
    # "<product> - <site>" is the usual <title>; only used when there is no <h1> at all.
    if not title:
        return title
    for sep in (" - ", " | ", " _ ", "_"):
        if sep in title:
            return title.rsplit(sep, 1)[0].strip() or title
    return title


def _seller(page: Selector) -> str | None:
    for css in ('[itemprop="seller"] [itemprop="name"]', ".seller-name", ".shop-name", ".store-name",
                ".vendor-name"):
        text = _first_text(page, css)
        if text:
            return text
    # Labelled text: "店铺：X", "Sold by: X" — the label and the name may be separate text nodes.
    nodes = [_space(t) for t in page.xpath("//body//text()[not(ancestor::script or ancestor::style)]").getall()]
    nodes = [t for t in nodes if t]
    for i, text in enumerate(nodes):
        match = _SELLER_LABEL.match(text)
        if match:
            name = match.group(1) or (nodes[i + 1] if i + 1 < len(nodes) else "")
            if name:
                return name
    return None


def _visible_price(page: Selector) -> dict:
    # Price-labelled elements first: the page also has promo banners ("满99元包邮") and footers.
    for text in node_texts(page.css('[itemprop="price"], [class*="price"], [id*="price"]')):
        found = parse_price(text)
        if found:
            return found
    return parse_price(" ".join(node_texts(page.css("body"))))


def parse_price(text: str) -> dict:
    """The first price in a text: {"price_low", "price_high", "currency"}, or {} if there is none.

    >>> parse_price("FOB US$ 6.50 - 8.20 / pair")
    {'price_low': '6.50', 'price_high': '8.20', 'currency': 'USD'}
    >>> parse_price("批发价：45元/箱")["currency"]
    'CNY'
    """
    matches = [m for m in (_PRICE_PREFIX.search(text or ""), _PRICE_SUFFIX.search(text or "")) if m]
    if not matches:
        return {}
    match = min(matches, key=lambda m: m.start())
    low = _price(match.group("low"))
    high = _price(match.group("high")) or low
    if low is None:
        return {}
    return {"price_low": low, "price_high": high, "currency": _currency(match.group("cur"))}


def _img_sources(nodes) -> list[str]:
    urls = []
    for node in nodes:
        if isinstance(node.root, str):
            urls.append(node.root)
            continue
        attrs = node.attrib
        value = next((attrs[a] for a in ("content",) + _IMAGE_ATTRS if attrs.get(a)), None)
        if value and not value.startswith("data:"):
            urls.append(value)
    return urls


def _product_images(page: Selector) -> list[str]:
    preferred = _img_sources(page.css('[itemprop="image"], #main-image, .main-image, .gallery img, '
                                      '.product-image img'))
    rest = _img_sources(page.xpath("//body//img[not(ancestor::header or ancestor::nav or ancestor::footer)]"))
    return [u for u in preferred + rest if not _NOT_PRODUCT_IMAGE.search(u.rsplit("/", 1)[-1])]


# ---------------------------------------------------------------------------------- normalising
def _space(text) -> str | None:
    """Whitespace collapsed (U+3000 and newlines too); None for empty or non-text values."""
    if not isinstance(text, str):
        return None
    return " ".join(text.split()) or None


def _clean(text) -> str | None:
    """Structured-data text: `_space`, plus complete HTML entities decoded — many shops HTML-escape
    their JSON-LD. Visible text is already decoded by the parser and must not be decoded twice."""
    if isinstance(text, str) and "&" in text:
        text = _ENTITY.sub(lambda m: html_lib.unescape(m.group(0)), text)
    return _space(text)


def _price(value) -> str | None:
    """A non-negative decimal as a string ("1,299.00" → "1299.00"); None if it is not one."""
    if value is None or isinstance(value, bool):
        return None
    text = re.sub(r"[\s,]", "", str(value))
    text = text.lstrip("".join(k for k in CURRENCY_SYMBOLS if len(k) == 1))
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return text if number.is_finite() and number >= 0 else None


def _currency(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[value]
    if value.upper() in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[value.upper()]
    if re.fullmatch(r"US\s*\$", value):
        return "USD"
    return value.upper() if re.fullmatch(r"[A-Za-z]{3}", value) else None


def _absolute(urls: Iterable[str], base: str) -> list[str]:
    seen, out = set(), []
    for url in urls:
        absolute = urljoin(base, url.strip())
        if absolute.startswith(("http://", "https://")) and absolute not in seen:
            seen.add(absolute)
            out.append(absolute)
    return out
