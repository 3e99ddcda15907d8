"""Listing fields from one product page — a pure function of the page's bytes/text and its URL.

Sources, best first, each field from the first source that has it (docs/extraction.md):
1. structured data: schema.org Product/Offer in JSON-LD, microdata and RDFa — the product whose name
   matches the page's <h1> when there are several;
2. meta tags: OpenGraph / product:* / itemprop meta;
3. per-source CSS selectors (the `selectors` argument, from sources.yaml);
4. the visible page: <h1>/<title>, a scored visible price (price-classed, near the title and the
   buy button, not struck through), labelled fields ("Brand: X", "SKU: 1"), breadcrumbs, brand
   names in the site's analytics scripts, lazy-loaded images.
One exception to "first wins": a structured price that the page itself shows struck through
("original-price", <del>) gives way to the lower visible sale price.
Currencies are ISO 4217; ambiguous symbols ("$", "¥", "元", "kr") and unmarked prices take the
site's country (ccTLD, URL locale, page language).

>>> extract_listing('<h1>Teapot</h1><p class="price">¥12.50</p>', "https://shop.example/i/1")["price_low"]
'12.50'
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Iterable, Mapping
from urllib.parse import parse_qs, urljoin, urlsplit

from parsel import Selector

from crawlers import extract_structured as sd
from crawlers import extract_visible as vis
from crawlers.extract_price import CURRENCY_SYMBOLS, amount, decode_html, find_prices, infer_currency, parse_price

__all__ = ["FIELDS", "CURRENCY_SYMBOLS", "decode_html", "extract_listing", "node_texts", "parse_price"]

FIELDS = ("title", "description", "brand", "price_low", "price_high", "currency", "seller_name",
          "category", "images", "sku", "gtin", "mpn", "availability")
PRICE_FIELDS = ("price_low", "price_high", "currency")

_SELLER_LABEL = re.compile(
    r"^(?:店铺|店铺名称|卖家|商家|商户|供应商|Seller|Sold by|Store|Shop|Supplier|Exhibitor)\s*[:：]\s*(.*)$",
    re.IGNORECASE)
_GTIN_KEYS = ("gtin13", "gtin", "gtin12", "gtin14", "gtin8", "ean", "isbn", "upc")
_AVAILABILITY = {"instock": "InStock", "in stock": "InStock", "available": "InStock", "preorder": "PreOrder",
                 "limitedavailability": "InStock", "onlineonly": "InStock", "instoreonly": "InStoreOnly",
                 "backorder": "BackOrder", "outofstock": "OutOfStock", "out of stock": "OutOfStock",
                 "soldout": "OutOfStock", "discontinued": "Discontinued", "oos": "OutOfStock"}


# ------------------------------------------------------------------------------------ entry point
def extract_listing(html: str | bytes, url: str, *, encoding: str | None = None,
                    content_type: str | None = None, selectors: Mapping[str, str] | None = None,
                    fields: Iterable[str] = FIELDS) -> dict:
    """The listing fields found on one page; None (or [] for images) where nothing was found.

    `encoding`/`content_type` are the HTTP hints for bytes input (Scrapy's `response.text` has
    already applied them). `selectors` maps field names (title, description, brand, price,
    seller_name, category, image) to CSS selectors, used after structured data and before the
    generic heuristics. `fields` (default: all of FIELDS) names the fields the caller uses: the
    visible-page heuristics run only for those (a crawl stores no sku/gtin/mpn/availability, so it
    does not pay for their search); a field left out may still come back from structured data.
    """
    text = decode_html(html, encoding=encoding, content_type=content_type)
    if not text.strip():
        return _merge([])
    selector = Selector(text=text)
    root = selector.root
    base = urljoin(url, selector.css("base::attr(href)").get() or "")
    meta = sd.meta_tags(root)
    lang = root.get("lang") or _first(meta.get("content-language")) or _first(meta.get("og:locale"))
    page = vis.Page(root, url, lang)

    h1 = vis.title_anchor(page, None)
    h1_text = page.content(h1) if h1 is not None else None
    ld = sd.json_ld(root)
    nodes = list(sd.products(ld)) + list(sd.products(sd.microdata(root, base))) + list(sd.products(sd.rdfa(text, base)))
    structured = _from_products(nodes, h1_text, base, url, lang)
    from_meta = _from_meta(meta, base, url, lang)
    name = structured.get("title") or from_meta.get("title") or h1_text
    title_el = vis.title_anchor(page, name) if name and name != h1_text else h1
    early = [structured, from_meta, _from_selectors(selector, selectors or {}, base, url, lang)]
    # The visible-page heuristics cost most of the time (a crawl is CPU-bound on them): run only
    # those whose answer can still change the result.
    known = _merge(early)
    wanted = set(fields)
    need = {f for f in FIELDS if f in wanted and f not in PRICE_FIELDS and not known[f]}
    want_candidates = (known["price_low"] is None or not any(layer.get("currency") for layer in early)
                       or vis.may_show_old_price(page))
    generic = _from_page(page, selector, base, title_el, ld, need=need, price=want_candidates)
    layers = [*early, generic]
    result = _merge(layers)
    _settle_price(result, layers, generic.get("_price_candidates") or [], url, lang)
    if result["brand"]:
        result["brand"] = vis.respell(result["brand"], result["title"] or name)
    if not result["sku"] and "sku" in wanted:
        result["sku"] = sku_from_url(url)
    if result["title"] and h1_text and result["title"] != h1_text and h1_text in result["title"] \
            and not structured.get("title"):
        result["title"] = h1_text  # og:title / <title> = the <h1> plus the site's name
    return result


_ID_PARAMS = ("sku", "pid", "product_id", "productId", "productid", "item_id", "itemId", "itemid", "goods_id",
              "id", "item")


def sku_from_url(url: str) -> str | None:
    """The shop's own product id as the URL carries it, the last resort for `sku`: an id query
    parameter (?pid=260591), an id-like last path segment (/deal/4548094738, /M67296549.htm) or a
    number ending a slug (/zipped-through-cardigan-12185160.html).

    >>> sku_from_url("https://shop.example.com/ie/en/cardigans/zipped-through-cardigan-12185160.html?cgid=x")
    '12185160'
    """
    parts = urlsplit(url or "")
    query = parse_qs(parts.query)
    for name in _ID_PARAMS:
        value = (query.get(name) or [""])[0].strip()
        if re.fullmatch(r"[A-Za-z0-9_-]{3,30}", value) and re.search(r"\d", value):
            return value
    segment = next((s for s in reversed(parts.path.split("/")) if s), "")
    segment = re.sub(r"\.(?:s?html?|php|aspx?|jsp)$", "", segment)
    if re.fullmatch(r"[A-Za-z]{0,3}\d[\dA-Za-z]{3,19}", segment) and sum(c.isdigit() for c in segment) >= 5:
        return segment
    match = re.search(r"[-_](\d{5,14})$", segment)
    return match.group(1) if match else None


def _first(values):
    return values[0] if values else None


def _merge(layers: Iterable[dict]) -> dict:
    result = {field: None for field in FIELDS}
    result["images"] = []
    for layer in layers:
        # A price range is one fact: take both ends (and the currency) from the same source.
        if result["price_low"] is None and layer.get("price_low") is not None:
            result["price_low"] = layer["price_low"]
            result["price_high"] = layer.get("price_high") or layer["price_low"]
            result["currency"] = layer.get("currency")
            result["_price_layer"] = layer
        for field in FIELDS:
            if field in PRICE_FIELDS:
                continue
            value = layer.get(field)
            if value and not result[field]:
                result[field] = value
    return result


def _settle_price(result: dict, layers: list[dict], candidates: list[dict], url: str, lang) -> None:
    """Sale price over a struck-through structured price; a currency for every price."""
    chosen = result.pop("_price_layer", None)
    low = result["price_low"]
    best = candidates[0] if candidates else None
    if low is not None and best is not None and chosen is not layers[-1] and best["price_low"] != low:
        # ... shown struck through right next to the sale price (not a sale elsewhere on the page)
        shown_old = not best["noise"] and any(
            c["old"] and not c["noise"] and Decimal(c["price_low"]) == Decimal(low) and abs(c["pos"] - best["pos"]) <= 30
            for c in candidates)
        shown_current = any(not c["old"] and not c["multi"] and c["score"] >= 5 and Decimal(c["price_low"]) == Decimal(low)
                            for c in candidates)
        if shown_old and not shown_current and best["score"] >= 5 and not best["old"] and Decimal(best["price_low"]) < Decimal(low):
            result["price_low"], result["price_high"] = best["price_low"], best["price_high"]
            if best["token"]:
                result["currency"] = infer_currency(best["token"], url=url, lang=lang)
    if result["price_low"] is None:
        result["currency"] = None
        return
    if not result["currency"]:
        result["currency"] = next((layer.get("currency") for layer in layers if layer.get("currency")), None)
    if not result["currency"]:
        same = [c for c in candidates if c["token"] and Decimal(c["price_low"]) == Decimal(result["price_low"])]
        token = same[0]["token"] if same else next((c["token"] for c in candidates if c["token"]), None)
        result["currency"] = infer_currency(token, url=url, lang=lang)


# ------------------------------------------------------------------------------- structured data
def _overlap(a: str | None, b: str | None) -> float:
    ta, tb = vis._tokens(a), vis._tokens(b)
    return len(ta & tb) / max(len(ta), 1) if ta and tb else 0.0


def _from_products(nodes: list[dict], h1_text: str | None, base: str, url: str, lang) -> dict:
    if not nodes:
        return {}

    def rank(i_node):
        i, node = i_node
        has_price = any(o.get("price") is not None or o.get("lowPrice") is not None for o in sd.offers_of(node))
        return (-(_overlap(sd.text_of(node.get("name")), h1_text) * 3 + has_price * 2), i)

    ordered = [n for _, n in sorted(enumerate(nodes), key=rank)]
    main = ordered[0]
    out = _from_product(main, base, url, lang)
    main_name = out.get("title")
    for other in ordered[1:]:  # the same product described again (JSON-LD and microdata)
        if main_name and _overlap(sd.text_of(other.get("name")), main_name) < 0.6:
            continue
        for key, value in _from_product(other, base, url, lang).items():
            if key in PRICE_FIELDS and out.get("price_low") is not None:
                continue
            if value and not out.get(key):
                out[key] = value
    return out


def _from_product(product: dict, base: str, url: str, lang) -> dict:
    out = {
        "title": sd.text_of(product.get("name")),
        "description": sd.text_of(product.get("description")),
        "brand": _brand_value(product.get("brand")) or _brand_value(product.get("manufacturer")),
        "category": _category(product.get("category")),
        "images": _images(sd.image_urls(product.get("image")), base),
        "sku": _code(product.get("sku")) or _code(product.get("productID")),
        "mpn": _code(product.get("mpn")),
        "gtin": next((g for g in (_gtin(product.get(k)) for k in _GTIN_KEYS) if g), None),
    }
    lows, highs = [], []
    for offer in sd.offers_of(product):
        low = amount(sd.first(offer.get("lowPrice"))) or amount(sd.first(offer.get("price")))
        if low is None and isinstance(sd.first(offer.get("price")), str):
            found = find_prices(sd.first(offer["price"]), require_currency=False)
            low = found[0]["price_low"] if found else None
        high = amount(sd.first(offer.get("highPrice"))) or low
        if low is not None:
            lows.append(low)
            highs.append(high)
        out["currency"] = out.get("currency") or infer_currency(sd.text_of(offer.get("priceCurrency")), url=url, lang=lang)
        out["seller_name"] = out.get("seller_name") or sd.text_of(offer.get("seller"))
        out["availability"] = out.get("availability") or _availability(offer.get("availability"))
        out["sku"] = out.get("sku") or _code(offer.get("sku"))
        out["gtin"] = out.get("gtin") or next((g for g in (_gtin(offer.get(k)) for k in _GTIN_KEYS) if g), None)
        out["mpn"] = out.get("mpn") or _code(offer.get("mpn"))
    if lows:
        out["price_low"] = min(lows, key=Decimal)
        out["price_high"] = max(highs, key=Decimal)
    out["seller_name"] = out.get("seller_name") or sd.text_of(product.get("seller"))
    return {k: v for k, v in out.items() if v}


def _brand_value(value) -> str | None:
    text = sd.text_of(value)
    if not text or text.startswith(("http://", "https://")) or len(text) > 80:
        return None
    return text


def _category(value) -> str | None:
    text = sd.text_of(value)
    if text and ">" in text:
        text = text.rsplit(">", 1)[-1].strip() or text
    return text


def _code(value) -> str | None:
    text = sd.text_of(value)
    if not text or len(text) > 60 or text.startswith(("http://", "https://")):
        return None
    return text


def _gtin(value) -> str | None:
    text = sd.text_of(value)
    if not text:
        return None
    digits = re.sub(r"[\s-]", "", text.strip().rstrip(".,;"))
    return digits if re.fullmatch(r"\d{8,14}", digits) else None


def _availability(value) -> str | None:
    text = sd.text_of(value)
    if not text:
        return None
    key = text.rsplit("/", 1)[-1].strip().casefold().replace("_", "")
    return _AVAILABILITY.get(key) or _AVAILABILITY.get(key.replace(" ", ""))


def _images(urls: Iterable[str], base: str) -> list[str]:
    return _absolute([u for u in urls if not vis._NOT_PRODUCT_IMAGE.search(u.rsplit("/", 1)[-1].split("?")[0])], base)


# ------------------------------------------------------------------------------------ meta tags
def _from_meta(meta: dict[str, list[str]], base: str, url: str, lang) -> dict:
    def get(*keys):
        for key in keys:
            if meta.get(key):
                return meta[key][0]
        return None

    out = {
        "title": vis.space(get("og:title", "twitter:title")),
        "description": vis.space(get("og:description")),
        "brand": _brand_value(get("product:brand", "og:brand", "brand")),
        "images": _images(meta.get("og:image") or meta.get("og:image:url") or meta.get("twitter:image") or [], base),
        "availability": _availability(get("product:availability", "og:availability", "availability")),
        "sku": _code(get("product:retailer_item_id", "sku")),
        "gtin": _gtin(get("product:ean", "product:gtin", "gtin13", "gtin")),
        "mpn": _code(get("product:mfr_part_no", "mpn")),
    }
    raw = get("product:price:amount", "og:price:amount", "product:sale_price:amount", "og:price", "price")
    if raw:
        found = find_prices(raw, require_currency=False)
        if found:
            out["price_low"], out["price_high"] = found[0]["price_low"], found[0]["price_high"]
            token = get("product:price:currency", "og:price:currency", "pricecurrency") or found[0]["token"]
            out["currency"] = infer_currency(token, url=url, lang=lang) if token else None
    return {k: v for k, v in out.items() if v}


# ---------------------------------------------------------------------------------- plain HTML
def _from_selectors(page: Selector, selectors: Mapping[str, str], base: str, url: str, lang) -> dict:
    out = {}
    for field in ("title", "description", "brand", "seller_name", "category"):
        if selectors.get(field):
            out[field] = vis.space(" ".join(node_texts(page.css(selectors[field]))))
    if selectors.get("price"):
        out.update(parse_price(" ".join(node_texts(page.css(selectors["price"]))), url=url, lang=lang))
    if selectors.get("image"):
        out["images"] = _absolute(_img_sources(page.css(selectors["image"])), base)
    return out


def _from_page(page: vis.Page, selector: Selector, base: str, title_el, ld, *,
               need: Iterable[str] = FIELDS, price: bool = True) -> dict:
    """The visible page's answers for the fields in `need` (title always), and the scored visible
    prices when `price`."""
    need = set(need)
    title = vis.space(page.content(title_el)) if title_el is not None and title_el.tag == "h1" else None
    title = title or _first_text(selector, "h1") or _strip_site_suffix(_first_text(selector, "title"))
    out: dict = {"title": title, "_price_candidates": []}
    if "description" in need:
        description = (selector.css('meta[name="description"]::attr(content)').get()
                       or _first_text(selector, ".description, #description, .product-description"))
        out["description"] = vis.space(description)
    if "seller_name" in need:
        out["seller_name"] = _seller(selector, page)
    if "images" in need:
        out["images"] = _absolute(vis.product_images(page), base)
    candidates: list[dict] = []
    if price:
        found, candidates = vis.visible_price(page, title_el, vis.buy_anchors(page))
        out["_price_candidates"] = candidates
        if found:
            out.update(price_low=found["price_low"], price_high=found["price_high"], currency=found["currency"])
    labels = vis.labelled(page) if need & {"brand", "sku", "gtin", "mpn"} else {}
    if need & {"brand", "category"}:
        crumbs = sd.breadcrumbs(ld)
        brand = labels.get("brand") or _itemprop_text(selector, "brand")
        if not brand:
            crumbs = crumbs or vis.dom_breadcrumbs(page)
            brand = vis.breadcrumb_brand(crumbs, title) or vis.script_brand(page.root)
        out["brand"] = brand
        out["category"] = next((c for c in reversed(crumbs) if title is None or c.casefold() != title.casefold()),
                               None) if len(crumbs) >= 2 else None
    if "sku" in need:
        out["sku"] = _code(labels.get("sku")) or _itemprop_text(selector, "sku")
    if "gtin" in need:
        out["gtin"] = _gtin(labels.get("gtin")) or _gtin(_itemprop_text(selector, "gtin13"))
    if "mpn" in need:
        out["mpn"] = _code(labels.get("mpn")) or _itemprop_text(selector, "mpn")
    if "availability" in need:
        out["availability"] = vis.availability_from_text(page, [title_el] + [c["el"] for c in candidates[:1]])
    return out


def _itemprop_text(selector: Selector, prop: str) -> str | None:
    node = selector.css(f'[itemprop="{prop}"]')[:1]
    if not node:
        return None
    value = node.attrib.get("content") or " ".join(node_texts(node))
    return vis.space(value) if value and len(value) <= 60 else None


def node_texts(nodes) -> list[str]:
    """Visible text of each node (its descendants' text joined), or the value of ::text/::attr nodes."""
    texts = []
    for node in nodes:
        if isinstance(node.root, str):
            texts.append(node.root)
        else:
            texts.append(" ".join(node.xpath(".//text()[not(ancestor::script or ancestor::style)]").getall()))
    return [t for t in (vis.space(t) for t in texts) if t]


def _first_text(page: Selector, css: str) -> str | None:
    texts = node_texts(page.css(css)[:1])
    return texts[0] if texts else None


def _strip_site_suffix(title: str | None) -> str | None:
    # "<product> - <site>" is the usual <title>; only used when there is no <h1> at all.
    if not title:
        return title
    for sep in (" - ", " | ", "｜", " _ ", "_"):
        if sep in title:
            return title.rsplit(sep, 1)[0].strip() or title
    return title


def _seller(page: Selector, visible: vis.Page) -> str | None:
    for css in ('[itemprop="seller"] [itemprop="name"]', ".seller-name", ".shop-name", ".store-name",
                ".vendor-name"):
        text = _first_text(page, css)
        if text:
            return text
    # Labelled text: "店铺：X", "Sold by: X" — the label and the name may be separate text nodes.
    nodes = [t for t, _ in visible.texts()]
    for i, text in enumerate(nodes):
        match = _SELLER_LABEL.match(text)
        if match:
            name = match.group(1) or (nodes[i + 1] if i + 1 < len(nodes) else "")
            if name:
                return name
    return None


def _img_sources(nodes) -> list[str]:
    urls = []
    for node in nodes:
        if isinstance(node.root, str):
            urls.append(node.root)
            continue
        value = node.attrib.get("content") or vis.img_source(node.root)
        if value and not value.startswith("data:"):
            urls.append(value)
    return urls


def _absolute(urls: Iterable[str], base: str) -> list[str]:
    seen, out = set(), []
    for url in urls:
        url = url.strip()
        if url.startswith("//"):
            url = (base.split(":", 1)[0] if ":" in base else "https") + ":" + url
        absolute = urljoin(base, url)
        if absolute.startswith(("http://", "https://")) and absolute not in seen:
            seen.add(absolute)
            out.append(absolute)
    return out
