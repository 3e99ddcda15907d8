"""schema.org Product data embedded in a page: JSON-LD, microdata (extruct), RDFa (extruct, only
when the page declares a Product with `typeof`), and OpenGraph / product:* / itemprop meta tags.

Everything is returned as plain JSON-LD-like dicts ({"@type": "Product", "name": ..., "offers": ...})
so one reader (`product_fields`) serves all syntaxes.
"""
from __future__ import annotations

import html as html_lib
import json
import re
from typing import Iterable

_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# ------------------------------------------------------------------------------------- JSON-LD
def _loads_lenient(text: str):
    text = text.strip()
    if text.startswith("<!--"):
        text = text[4:]
    if text.endswith("-->"):
        text = text[:-3]
    text = re.sub(r"^\s*//\s*<!\[CDATA\[|//\s*\]\]>\s*$", "", text.strip())
    for attempt in (text, _TRAILING_COMMA.sub(r"\1", _CONTROL.sub(" ", text.replace("\n", " ").replace("\r", " ")))):
        try:
            return json.loads(attempt, strict=False)
        except (ValueError, RecursionError):
            continue
    return None


def json_ld(root) -> list:
    """Every JSON-LD block of the page (parsed leniently; broken blocks skipped)."""
    blocks = []
    for script in root.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        data = _loads_lenient(script.text or "")
        if data is not None:
            blocks.append(data)
    return blocks


# ----------------------------------------------------------------------------------- microdata
def _uniform_microdata(item) -> dict | str:
    if not isinstance(item, dict):
        return item
    types = item.get("type") or []
    types = types if isinstance(types, list) else [types]
    out: dict = {"@type": [t.rstrip("/").rsplit("/", 1)[-1] for t in types if isinstance(t, str)]}
    for key, value in (item.get("properties") or {}).items():
        if isinstance(value, list):
            out[key] = [_uniform_microdata(v) for v in value]
        else:
            out[key] = _uniform_microdata(value)
    if "value" in item and "name" not in out:
        out["name"] = item["value"]  # <span itemprop="brand" itemscope>ACME</span>
    return out


def microdata(root, base_url: str) -> list[dict]:
    if not root.xpath("//*[@itemscope]"):
        return []
    from extruct.w3cmicrodata import LxmlMicrodataExtractor

    try:
        items = LxmlMicrodataExtractor(add_text_content=False).extract_items(root, base_url)
    except Exception:  # noqa: BLE001 — malformed microdata must not lose the rest of the page
        return []
    return [_uniform_microdata(item) for item in items]


# ---------------------------------------------------------------------------------------- RDFa
def rdfa(text: str, base_url: str) -> list[dict]:
    """RDFa Product nodes via extruct, only for pages that declare one (rdflib is slow)."""
    if not re.search(r"typeof=[\"'][^\"']*Product", text, re.IGNORECASE):
        return []
    try:
        import extruct

        data = extruct.extract(text, base_url=base_url, syntaxes=["rdfa"], uniform=True, errors="ignore")
    except Exception:  # noqa: BLE001
        return []
    return list(_strip_rdfa(data.get("rdfa") or []))


def _strip_rdfa(nodes) -> Iterable[dict]:
    for node in nodes:
        if not isinstance(node, dict):
            continue
        out = {}
        for key, value in node.items():
            short = key.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
            if isinstance(value, list) and value and isinstance(value[0], dict) and "@value" in value[0]:
                value = value[0]["@value"]
            out[short] = value
        yield out


# --------------------------------------------------------------------------------------- meta
def meta_tags(root) -> dict[str, list[str]]:
    """<meta property|name|itemprop=... content=...> by lowercased key, all values in order."""
    out: dict[str, list[str]] = {}
    for meta in root.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        content = meta.get("content")
        if key and content is not None and content.strip():
            out.setdefault(key.strip().lower(), []).append(content.strip())
    return out


# ----------------------------------------------------------------------------------- products
def type_names(node: dict) -> list[str]:
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return [t.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() for t in types if isinstance(t, str)]


def is_product(node: dict) -> bool:
    return any(t.endswith("product") or t in ("productgroup", "productmodel", "vehicle", "book")
               for t in type_names(node))


def products(nodes) -> Iterable[dict]:
    """Product nodes anywhere: top level, @graph, ItemPage.mainEntity, isVariantOf..."""
    if isinstance(nodes, list):
        for node in nodes:
            yield from products(node)
    elif isinstance(nodes, dict):
        if is_product(nodes):
            yield nodes
        for key, value in nodes.items():
            if key in ("isRelatedTo", "isSimilarTo", "isAccessoryOrSparePartFor", "isConsumableFor"):
                continue
            if isinstance(value, (dict, list)):
                yield from products(value)


def breadcrumbs(nodes) -> list[str]:
    """Names of the first BreadcrumbList's items, in order."""
    stack = [nodes]
    while stack:
        node = stack.pop(0)
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if "breadcrumblist" in type_names(node):
                items = node.get("itemListElement") or []
                items = items if isinstance(items, list) else [items]
                names = []
                for item in sorted((i for i in items if isinstance(i, dict)),
                                   key=lambda i: _position(i.get("position"))):
                    name = text_of(item.get("name")) or text_of((item.get("item") or {}).get("name")
                                                               if isinstance(item.get("item"), dict) else None)
                    if name:
                        names.append(name)
                return names
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return []


def _position(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def text_of(value) -> str | None:
    """A schema.org text-or-Thing value as clean text ({"@type": "Brand", "name": "X"} → "X");
    complete HTML entities decoded — many shops HTML-escape their JSON-LD."""
    if isinstance(value, list):
        value = next((v for v in value if text_of(v)), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("value")
        if isinstance(value, (list, dict)):
            return text_of(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    if "&" in value:
        value = _ENTITY.sub(lambda m: html_lib.unescape(m.group(0)), value)
    return " ".join(value.split()) or None


def image_urls(value) -> list[str]:
    values = value if isinstance(value, list) else [value]
    urls = []
    for v in values:
        if isinstance(v, dict):
            v = v.get("url") or v.get("contentUrl") or v.get("@id")
        if isinstance(v, list):
            urls.extend(image_urls(v))
        elif isinstance(v, str) and v.strip():
            urls.append(v.strip())
    return urls


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def offers_of(product: dict) -> list[dict]:
    """Offer-like dicts of a product: offers, AggregateOffer.offers, priceSpecification merged in."""
    out = []
    for offer in _as_list(product.get("offers")):
        if not isinstance(offer, dict):
            continue
        spec = offer.get("priceSpecification")
        spec = next((s for s in _as_list(spec) if isinstance(s, dict)), {})
        merged = {**spec, **{k: v for k, v in offer.items() if v not in (None, "", [])}}
        out.append(merged)
        for inner in _as_list(offer.get("offers")):
            if isinstance(inner, dict):
                out.append(inner)
    return out


def first(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value
