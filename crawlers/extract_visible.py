"""Generic heuristics over the visible page, for what structured data leaves out: the displayed
price (scored candidates near the title and the buy button), labelled fields ("Brand: X",
"SKU: 123" in many languages), breadcrumbs, brand names in the site's scripts, lazy images.

No hostnames and no site-specific selectors here: every rule must make sense on a shop nobody
has looked at.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter

from lxml import etree
from decimal import Decimal

from crawlers.extract_price import find_prices, infer_currency

MAX_CANDIDATES = 1500
_HIDDEN_TAGS = {"script", "style", "noscript", "template", "select", "textarea"}
SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "head", "title", "option", "select", "textarea"}
_TEXT_XPATH = ("//body//text()[normalize-space() and not(ancestor::script or ancestor::style "
               "or ancestor::noscript or ancestor::template or ancestor::select or ancestor::textarea)]")

# Class/id words. "price" marks a price; "current/sale/..." the price to pay; "old/was/..." a price
# struck through; "related/footer/..." a block that is not the product's.
_PRICE_WORD = re.compile(r"price|prijs|preis|prix|precio|prezzo|cena|hind|kaina|cijena|fiyat|价|價|가격|amount", re.I)
_NOW_WORD = re.compile(r"current|sale|special|final|now|actual|selling|sell|offer|deal|promo|our|discount|"
                       r"reduced|member|main|big|large|primary", re.I)
_OLD_WORD = re.compile(r"old|was|regular|original|origin|strike|before|list|compare|msrp|rrp|crossed|prev|"
                       r"retail|reference|uvp|statt|cross|through|regular|normal", re.I)
_NOISE_WORD = re.compile(r"related|recommend|similar|carousel|slider|upsell|up-sell|cross-sell|crosssell|also|"
                         r"footer|header|(?<![a-z])nav(?![a-z])|navbar|navigation|(?<![a-z])menu|mini-?cart|minibasket|widget|banner|recent|history|popular|"
                         r"bestseller|top-?sell|suggest|bundle|accessor|compare-|installment|credit|loan|tile|"
                         r"finance|shipping|delivery|coupon|voucher", re.I)
# Prices per weight, volume or period, instalments and shipping are not the item's price. (A price
# per piece or pack is: that is how the item is sold.)
_UNIT_TEXT = re.compile(r"/\s*(?:kg|g|l|ml|m|m²|m2|mo|month|mēn|mes|monat|jahr|斤|月)\b|/\s*(?:斤|月)|"
                        r"per\s+(?:kg|month)|\bx\s*\d|\d\s*x\b|month|monat|mēn|mėn|kuu|installment|"
                        r"rata|raty|ratenzahlung|分期|每期|利率|每月|shipping|versand|delivery|porto|배송비|"
                        r"brez ddv|ohne mwst|excl\.? vat|ex\.? vat|netto|未稅", re.I)
# Words in the text itself: "原價 $420" (original price), "特價 294 元" (special price).
_OLD_TEXT = re.compile(r"原價|原价|建議售價|建议售价|定價|市價|市场价|參考價|was\b|statt|uvp|rrp|msrp|list price|"
                       r"regular price|reg\.|vorher|ehemals|previously|before|prix barré|prezzo di listino|정가|"
                       r"希望小売価格|old price|savings|you save|save\b|現省|省下|节省", re.I)
# Every _OLD_TEXT branch contains one of these (casefolded): a cheap prefilter for whole pages.
_OLD_TEXT_WORDS = ("原價", "原价", "建議售價", "建议售价", "定價", "市價", "市场价", "參考價", "was", "statt", "uvp",
                   "rrp", "msrp", "list price", "regular price", "reg.", "vorher", "ehemals", "previously",
                   "before", "prix barré", "prezzo di listino", "정가", "希望小売価格", "old price", "savings",
                   "you save", "save", "現省", "省下", "节省")
# The same words without their spaces, looked up in the page's whole text with all whitespace removed.
_OLD_TEXT_COMPACT = tuple(word.replace(" ", "") for word in _OLD_TEXT_WORDS)
_NOW_TEXT = re.compile(r"特價|特价|優惠價|优惠价|售價|售价|折扣價|促銷價|直購價|直购价|會員價|活動價|最低價|最低价|"
                       r"판매가|할인가|now\b|sale price|our price|price:|cena:|preis:|prix:|hind:|价格|價格", re.I)

_BUY_ATTR = re.compile(r"add.?to.?(?:cart|bag|basket|trolley)|addtocart|buy|purchase|checkout|warenkorb|"
                       r"panier|carrito|carrello|koszyk|ostukorv|grozs|kosaric|košaric|cart-button|"
                       r"cart_btn|btn-cart|basket-button", re.I)
_BUY_TEXT = re.compile(r"^(?:add to (?:cart|bag|basket|trolley)|buy(?: it)? now|buy|in den warenkorb|"
                       r"jetzt kaufen|ajouter au panier|añadir al carrito|aggiungi al carrello|"
                       r"do koszyka|lisa ostukorvi|ostukorvi|pievienot grozam|v košarico|dodaj u košaricu|"
                       r"立即購買|立即购买|加入購物車|加入购物车|購買|购买|馬上搶購|搶購|直接購買|"
                       r"구매하기|바로구매|장바구니|カートに入れる|購入する|köp|kjøp|køb|osta|"
                       r"do košíku|kosárba|в корзину|купить)\b", re.I)
# Every _OUT_OF_STOCK branch contains one of these (casefolded).
_OUT_OF_STOCK_WORDS = ("out of stock", "sold out", "currently unavailable", "no longer available", "verfügbar",
                       "ausverkauft", "épuisé", "rupture de stock", "agotado", "esaurito", "niet op voorraad",
                       "brak w magazynie", "laost otsas", "ei ole", "pole saadaval", "nav pieejams",
                       "ni na zalogi", "nije dostupno", "缺貨", "售完", "已售完", "缺货", "已售罄", "品切れ",
                       "在庫切れ", "품절", "일시품절", "нет в наличии")
_OUT_OF_STOCK = re.compile(r"out of stock|sold out|currently unavailable|no longer available|"
                           r"nicht (?:mehr )?verfügbar|ausverkauft|épuisé|rupture de stock|agotado|esaurito|"
                           r"niet op voorraad|brak w magazynie|laost otsas|ei ole (?:laos|saadaval)|"
                           r"pole saadaval|nav pieejams|ni na zalogi|nije dostupno|缺貨|售完|已售完|缺货|"
                           r"已售罄|品切れ|在庫切れ|품절|일시품절|нет в наличии", re.I)

LABELS = {
    "brand": ["brand", "brand name", "marke", "marque", "marca", "merk", "merke", "märke", "zīmols",
              "prekės ženklas", "kaubamärk", "bränd", "tootja", "valmistaja", "proizvajalec", "proizvođač",
              "výrobce", "výrobca", "producent", "gyártó", "hersteller", "manufacturer", "fabricant",
              "fabricante", "produttore", "бренд", "производитель", "品牌", "品牌名称", "品牌名稱", "廠牌",
              "牌子", "브랜드", "제조사", "ブランド", "メーカー", "ražotājs", "gamintojas"],
    "sku": ["sku", "item #", "item no", "item no.", "item number", "art.-nr.", "art.-nr", "artikelnummer",
            "artikel-nr.", "art. nr.", "art.nr.", "product code", "product no", "product no.", "tootekood",
            "kood", "šifra", "kods", "artikuls", "código", "referencia", "référence", "réf.", "ref.",
            "codice", "商品編號", "商品编号", "商品代號", "貨號", "货号", "상품번호", "品番", "product id",
            "item id", "artikel", "varenummer", "tuotenumero", "nr produktu", "kod produktu"],
    "gtin": ["ean", "gtin", "ean-13", "ean13", "ean code", "ean-code", "barcode", "upc", "isbn", "條碼", "条形码",
             "条码", "streckkod", "strekkode"],
    "mpn": ["mpn", "model", "model number", "model no", "model no.", "modell", "modelo", "modèle", "mudel",
            "型號", "型号", "manufacturer part number", "part number", "herstellernummer", "모델명", "型番",
            "modelis", "malli", "manufacturer code", "manufacturer number", "manufacturer part no",
            "manufacturer part no.", "hersteller-nr.", "herstellerartikelnummer", "ražotāja kods", "gamintojo kodas",
            "tootja kood", "valmistajan koodi", "code fabricant", "référence fabricant", "codice produttore",
            "código del fabricante", "kod producenta", "製造商編號", "制造商编号"],
}
_LABEL_INDEX = {label: field for field, labels in LABELS.items() for label in labels}
_LABEL_SPLIT = re.compile(r"^(?P<label>[^:：]{1,30}?)\s*[:：#]\s*(?P<value>.+)$")


def space(text) -> str | None:
    if not isinstance(text, str):
        return None
    return " ".join(text.split()) or None


def attr_words(el) -> str:
    return " ".join(filter(None, (el.get("class"), el.get("id"), el.get("itemprop"), el.get("data-testid"),
                                  el.get("aria-label"), el.get("property"))))


class Page:
    """One parsed page with the indexes the heuristics share (document order, visible text nodes)."""

    def __init__(self, root, url: str, lang: str | None):
        self.root, self.url, self.lang = root, url, lang
        self._order: dict | None = None
        self._texts: list | None = None
        self._folded: str | None = None
        self._compact: str | None = None
        self._content: dict = {}
        self._noise: dict = {}

    @property
    def order(self) -> dict:
        """Document position of every element; built on first use (only the visible-price and
        buy-button heuristics need it, and most pages with structured data never get there)."""
        if self._order is None:
            self._order = {el: i for i, el in enumerate(self.root.iter())}
        return self._order

    def texts(self) -> list[tuple[str, object]]:
        """Visible text nodes in document order as (text, host element): one walk over <body>,
        skipping script/style/template/select subtrees (an XPath with ancestor:: tests is
        quadratic-ish on big pages)."""
        if self._texts is None:
            out = []
            body = self.root.find("body")
            walker = etree.iterwalk(body if body is not None else self.root, events=("start", "end"))
            for event, el in walker:
                tag = el.tag
                if not isinstance(tag, str):
                    continue  # comments/PIs: their tails are picked up below, in order
                if event == "start":
                    if tag in _HIDDEN_TAGS:
                        walker.skip_subtree()
                        continue
                    self._add(out, el.text, el)
                    child = el[0] if len(el) else None
                    while child is not None and not isinstance(child.tag, str):
                        self._add(out, child.tail, el)
                        child = child.getnext()
                else:
                    parent = el.getparent()
                    if parent is None:
                        continue
                    self._add(out, el.tail, parent)
                    nxt = el.getnext()
                    while nxt is not None and not isinstance(nxt.tag, str):
                        self._add(out, nxt.tail, parent)
                        nxt = nxt.getnext()
            self._texts = out
        return self._texts

    def compact_mentions_any(self, words: tuple[str, ...]) -> bool:
        """Whether any of `words` (casefolded, without whitespace) occurs in the document's text
        with all whitespace removed (hidden text included; one C-level text_content() call): a
        superset of any match in the visible texts, joined with or without spaces, of the same
        words with their spaces removed, except one split by hidden text (a <script> in mid-word)."""
        if self._compact is None:
            self._compact = "".join(self.root.text_content().split()).casefold()
        return any(word in self._compact for word in words)

    def mentions_any(self, words: tuple[str, ...]) -> bool:
        """Whether any of `words` (casefolded) occurs anywhere in the document's text, hidden text
        included, whitespace collapsed: a superset of what any element's content() can match."""
        if self._folded is None:
            self._folded = " ".join(self.root.text_content().split()).casefold()
        return any(word in self._folded for word in words)

    @staticmethod
    def _add(out: list, text, host) -> None:
        if text:
            text = space(text)
            if text:
                out.append((text, host))

    def content(self, el) -> str:
        """Visible text of an element, whitespace collapsed (script/style text left out)."""
        text = self._content.get(el)
        if text is None:
            if el.find(".//script") is None and el.find(".//style") is None:
                text = " ".join(el.text_content().split())
            else:
                parts = el.xpath(".//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]")
                text = " ".join(" ".join(parts).split())
            self._content[el] = text
        return text

    def chrome(self, el) -> bool:
        """Inside the site's header, navigation or footer."""
        return any(a.tag in ("header", "footer", "nav") for a in el.iterancestors())

    def noise(self, el) -> bool:
        """Inside the site's chrome or a block about other products (related, recently viewed...)."""
        if el is None:
            return False
        cached = self._noise.get(el)
        if cached is None:
            words = attr_words(el)
            cached = el.tag in ("header", "footer", "nav", "aside") or bool(words and _NOISE_WORD.search(words)) \
                or self.noise(el.getparent())
            self._noise[el] = cached
        return cached


# ----------------------------------------------------------------------------------- anchors
def _tokens(text: str | None) -> set[str]:
    return {t for t in re.split(r"[\W_]+", (text or "").casefold()) if t}


def title_anchor(page: Page, name: str | None):
    """The element showing the product's name: the <h1> most like `name`, else another heading or a
    title/name-classed element that repeats it (each part of "Shop - Product | Site" is tried)."""
    if name:
        parts = [p for p in re.split(r"\s+[-|–—_]\s+|｜|\|", name) if len(p.strip()) >= 2]
        if len(parts) > 1:
            for part in sorted(parts, key=len, reverse=True):
                found = title_anchor(page, part)
                if found is not None and len(_tokens(part) & _tokens(page.content(found))) >= 1:
                    return found
    want = _tokens(name)
    best, best_score = None, -1.0
    for h1 in page.root.iter("h1"):
        text = page.content(h1)
        if not text or page.noise(h1):
            continue
        score = len(want & _tokens(text)) / max(len(want), 1) if want else 0.0
        if score > best_score:
            best, best_score = h1, score
    if best is not None and (best_score > 0 or not want):
        return best
    if want:
        for el in page.root.xpath('//body//*[self::h2 or self::h3 or self::strong or self::div or self::span or '
                                  'self::p][contains(@class, "title") or contains(@class, "name") or '
                                  'contains(@id, "title") or contains(@id, "name") or @itemprop="name"]'):
            text = page.content(el)
            if text and len(text) < 300 and len(want & _tokens(text)) / len(want) >= 0.6:
                return el
    return best


_BUY_KEYS = ("cart", "buy", "basket", "purchase", "warenkorb", "panier", "carrito", "carrello", "koszyk",
             "ostukorv", "grozs", "kosaric", "košaric", "trolley", "checkout")


def buy_anchors(page: Page) -> list[int]:
    """Document positions of buy / add-to-cart controls (by class/id/name, or a button's text)."""
    out = set()
    for el in page.root.iter():
        attrs = el.get("class"), el.get("id"), el.get("name")
        if not any(attrs):
            continue
        attrs = " ".join(filter(None, attrs)).lower()
        if any(k in attrs for k in _BUY_KEYS) and _BUY_ATTR.search(attrs) and not page.noise(el):
            out.add(page.order[el])
    for el in page.root.iter("button", "a", "input"):
        text = el.get("value") if el.tag == "input" else el.text_content()
        if not text or len(text) > 60:
            continue
        text = space(text) or ""
        if 0 < len(text) <= 30 and _BUY_TEXT.search(text.casefold()) and not page.noise(el):
            out.add(page.order[el])
    return sorted(out)


# ------------------------------------------------------------------------------------ prices
_BARE_NUMBER = re.compile(r"[\d.,\s]{1,15}")


def price_candidates(page: Page, title_el, buys: list[int]) -> list[dict]:
    """Visible prices with a plausibility score, best first."""
    seen = {}
    for text, host in page.texts():
        if len(text) > 80 or not re.search(r"\d", text):
            continue
        el, depth = host, 0
        while el is not None and depth < 3 and el.tag not in ("body", "html"):
            if el not in seen:
                content = page.content(el)
                if len(content) <= 80:
                    seen[el] = content
            el, depth = el.getparent(), depth + 1
    title_pos = page.order.get(title_el) if title_el is not None else None
    out = []
    for el, content in seen.items():
        if len(out) >= MAX_CANDIDATES:
            break  # a page with thousands of prices is a grid; the product's comes early
        found = find_prices(content)
        if not found and not _BARE_NUMBER.fullmatch(content):
            continue  # most text with a digit is not a price: skip the attribute work below
        chain = [el] + [a for a in list(el.iterancestors())[:3]]
        words = " ".join(attr_words(a) for a in chain)
        own = attr_words(el)
        priced = bool(_PRICE_WORD.search(words)) or el.get("itemprop") == "price"
        if not found and priced:
            found = find_prices(content, require_currency=False)
        if not found:
            continue
        p = found[0]
        if Decimal(p["price_low"]) == 0:
            continue
        score = 0.0
        if priced:
            score += 3
        if _PRICE_WORD.search(own):
            score += 1
        if _NOW_WORD.search(words):
            score += 1.5
        if _OLD_WORD.search(own) or (_OLD_WORD.search(words) and not _NOW_WORD.search(own)):
            score -= 4
        if any(a.tag in ("del", "s", "strike") for a in chain) or "line-through" in (el.get("style") or ""):
            score -= 6
        noisy = page.noise(el)
        if noisy:
            score -= 4
        multi = len({f["price_low"] for f in found}) >= 2
        if multi:  # a block holding several prices, not one price
            score -= 3
        if _UNIT_TEXT.search(content):
            score -= 3
        before = content[:p["start"]]
        old_text = bool(_OLD_TEXT.search(before))
        if old_text:
            score -= 4
        elif _NOW_TEXT.search(before):
            score += 1.5
        if p["token"]:
            score += 1
        if len(content) <= (p["end"] - p["start"]) + 6:
            score += 1
        style = (el.get("style") or "") + " " + " ".join(a.get("style") or "" for a in chain[1:2])
        size = re.search(r"(?:font-size\s*:\s*|font\s*:[^;]*?)(\d+)px", style)
        if size and int(size.group(1)) >= 18:
            score += 1.5
        pos = page.order[el]
        if title_pos is not None:
            d = pos - title_pos
            if 0 < d <= 400:
                score += 3 * (1 - d / 400)
            elif d < 0:
                score -= 1 if d > -150 else 2
            else:
                score -= 1
        if buys:
            d = min(abs(pos - b) for b in buys)
            if d <= 80:
                score += 2 * (1 - d / 80)
        inner = list(el.iterdescendants())[:20]
        struck = any(a.tag in ("del", "s", "strike") for a in chain + inner)
        inner_old = any(_OLD_WORD.search(attr_words(a)) for a in inner if isinstance(a.tag, str))
        old_attr = _OLD_WORD.search(own) is not None or (_OLD_WORD.search(words) is not None
                                                         and not _NOW_WORD.search(own))
        out.append({**p, "score": score, "pos": pos, "el": el, "old": old_attr or struck or old_text or inner_old,
                    "old_penalty": (4 if old_attr else 0) + (6 if struck else 0),
                    "sig": (el.tag, el.get("class") or ""), "noise": noisy, "multi": multi})
    _adjust(out)
    out.sort(key=lambda c: (-c["score"], c["pos"]))
    return out


def _adjust(candidates: list[dict]) -> None:
    """Context between candidates: a price marked "old" with no other price next to it is the only
    price shown (class names lie: "price-old-live"); a class repeated with three or more different
    prices is a product grid (related items), not the product."""
    values_by_sig: dict = {}
    for c in candidates:
        values_by_sig.setdefault(c["sig"], set()).add(c["price_low"])
    by_pos = sorted(candidates, key=lambda c: c["pos"])
    positions = [c["pos"] for c in by_pos]
    for c in candidates:
        if c["old"] and c["old_penalty"]:
            lo, hi = bisect_left(positions, c["pos"] - 25), bisect_right(positions, c["pos"] + 25)
            rival = any(not o["old"] and o["price_low"] != c["price_low"] for o in by_pos[lo:hi])
            if not rival:
                c["score"] += c["old_penalty"]
                c["old"] = False
        if len(values_by_sig[c["sig"]]) >= 3:
            c["score"] -= 2.5


_STRUCK_XPATH = etree.XPath("boolean(//del | //s | //strike)")
# One pass over the attributes (a union of six //@name paths walked the document six times).
_ATTR_WORDS_XPATH = etree.XPath("//@*[local-name()='class' or local-name()='id' or local-name()='itemprop' or "
                                "local-name()='data-testid' or local-name()='aria-label' or local-name()='property']")


def may_show_old_price(page: Page) -> bool:
    """Whether any element could be a struck-through / "was" price (price_candidates marks one
    "old" only through these cues), so a structured price might give way to a visible sale price.
    False lets extraction skip the visible-price scoring when structured data has the price."""
    # The same test as attr_words() per element, done by libxml2: _OLD_WORD has no spaces, so it
    # cannot match across the space that joins two elements' attributes (a Python walk over every
    # element was ~40 % of this function on an 8 KB page).
    if _STRUCK_XPATH(page.root) or _OLD_WORD.search(" ".join(_ATTR_WORDS_XPATH(page.root))):
        return True
    if not page.compact_mentions_any(_OLD_TEXT_COMPACT):
        return False  # saves the walk over the visible texts on most pages without such a word
    texts = [text for text, _ in page.texts()]
    for joined in (" ".join(texts), "".join(texts)):
        folded = joined.casefold()
        # Substring tests first: the alternation regex over a whole page costs ~1 ms.
        if any(word in folded for word in _OLD_TEXT_WORDS) and _OLD_TEXT.search(joined):
            return True
    return False


def visible_price(page: Page, title_el, buys: list[int]) -> tuple[dict, list[dict]]:
    candidates = price_candidates(page, title_el, buys)
    if not candidates:
        return {}, []
    best = candidates[0]
    return ({"price_low": best["price_low"], "price_high": best["price_high"],
             "currency": infer_currency(best["token"], url=page.url, lang=page.lang) if best["token"] else None,
             "score": best["score"], "token": best["token"]}, candidates)


# ------------------------------------------------------------------------------ labelled fields
def labelled(page: Page) -> dict[str, str]:
    """"Brand: X", "<th>SKU</th><td>123</td>", "Šifra: 0638"... → {"brand": "X", "sku": "123"}."""
    out: dict[str, str] = {}
    texts = page.texts()
    for i, (text, host) in enumerate(texts):
        if len(text) > 80:
            continue
        key = text.casefold().rstrip(":：# ").strip()
        field = _LABEL_INDEX.get(key)
        value = None
        if field:
            for nxt, _ in texts[i + 1:i + 3]:
                if nxt.strip(":： ") and nxt.casefold().rstrip(":：# ").strip() not in _LABEL_INDEX:
                    value = nxt.strip(":： ")
                    break
        else:
            match = _LABEL_SPLIT.match(text)
            if match:
                field = _LABEL_INDEX.get(match.group("label").casefold().strip())
                value = match.group("value")
        if field and value and field not in out and len(value) <= 60 and not page.noise(host):
            out[field] = value.strip()
    return out


def availability_from_text(page: Page, anchors: list) -> str | None:
    """OutOfStock when the product block (around the title and price) says so."""
    if not page.mentions_any(_OUT_OF_STOCK_WORDS):
        return None  # the usual case, decided without measuring blocks around the anchors
    for el in anchors:
        if el is None:
            continue
        block = el
        for _ in range(4):
            parent = block.getparent()
            if parent is None or len(page.content(parent)) > 4000:
                break
            block = parent
        if _OUT_OF_STOCK.search(page.content(block)):
            return "OutOfStock"
    return None


# ------------------------------------------------------------------------------------- brand
_SCRIPT_BRAND = re.compile(r"""["']brand(?:_?name)?["']\s*:\s*(?:\{[^{}]*?["']name["']\s*:\s*)?["']([^"'\\{}]{2,60})["']""",
                           re.I)


def script_brand(root) -> str | None:
    """The brand most often named in the page's inline scripts (analytics data layers)."""
    counts: Counter = Counter()
    for script in root.iter("script"):
        if "ld+json" in (script.get("type") or ""):
            continue
        for match in _SCRIPT_BRAND.finditer(script.text or ""):
            value = space(match.group(1))
            if value and not value.isdigit() and value.lower() not in ("null", "undefined", "none", "brand"):
                counts[value] += 1
    return counts.most_common(1)[0][0] if counts else None


def respell(brand: str | None, title: str | None) -> str | None:
    """The brand as the title writes it ("TP Link" + "Buy TP-Link Tapo C200" → "TP-Link")."""
    if not brand or not title:
        return brand
    key = re.sub(r"[\W_]+", "", brand).casefold()
    words = title.split()
    for n in range(1, 5):
        for i in range(len(words) - n + 1):
            window = " ".join(words[i:i + n]).strip(".,;:()[]|-–")
            if re.sub(r"[\W_]+", "", window).casefold() == key:
                return window
    return brand


_BREADCRUMB_XPATH = etree.XPath('//body//*[contains(translate(@class, "BREADCRUMB", "breadcrumb"), "breadcrumb") '
                                'or contains(translate(@id, "BREADCRUMB", "breadcrumb"), "breadcrumb")]')
_LINK_GROUPS_XPATH = etree.XPath("//*[count(a) >= 2]")


def dom_breadcrumbs(page: Page) -> list[str]:
    """Link texts of the page's breadcrumb: an element classed "breadcrumb", or one whose own text
    is only separators (>, ›, », /) between at least two links."""
    for el in _BREADCRUMB_XPATH(page.root):
        names = [t for t in (space(page.content(a)) for a in el.iter("a")) if t]
        if len(names) >= 2:
            return names
    # Elements with two or more <a> children, found by libxml2 (a Python walk over every element
    # was most of this function's time), in document order.
    for el in _LINK_GROUPS_XPATH(page.root):
        links = [c for c in el if c.tag == "a"]
        own = "".join([el.text or ""] + [c.tail or "" for c in el])
        if own.strip() and re.fullmatch(r"[\s>›»/|→]+", own):
            names = [t for t in (space(page.content(a)) for a in links) if t]
            if len(names) >= 2:
                return names
    return []


def breadcrumb_brand(crumbs: list[str], title: str | None) -> str | None:
    """A breadcrumb level that starts with the title's first word ("UNIFLAME 日本" for "UNIFLAME
    CARRYING SINK ...") is the brand's own category."""
    if not title or len(crumbs) < 2:
        return None
    head = title.split()[0].casefold()
    if len(head) < 2:
        return None
    for crumb in crumbs[1:]:
        words = crumb.split()
        if words and words[0].casefold() == head and crumb.casefold() != title.casefold() and len(crumb) <= 40:
            return crumb
    return None


# ------------------------------------------------------------------------------------ images
_IMG_ATTRS = ("data-zoom-image", "data-large", "data-src", "data-original", "data-lazy-src", "data-lazy",
              "data-srcset", "srcset", "src")
_NOT_PRODUCT_IMAGE = re.compile(r"logo|icon|avatar|placeholder|spacer|pixel|banner|sprite|loading|blank|"
                                r"favicon|badge|flag|rating|star", re.I)


def best_from_srcset(srcset: str) -> str | None:
    """The largest candidate of a srcset ("a.jpg 320w, b.jpg 800w" → "b.jpg")."""
    best, best_size = None, -1.0
    for part in srcset.split(","):
        bits = part.strip().split()
        if not bits:
            continue
        size = 1.0
        if len(bits) > 1:
            m = re.match(r"([\d.]+)[wx]", bits[1])
            size = float(m.group(1)) if m else 1.0
        if size > best_size:
            best, best_size = bits[0], size
    return best


def img_source(el) -> str | None:
    for attr in _IMG_ATTRS:
        value = (el.get(attr) or "").strip()
        if not value or value.startswith("data:"):
            continue
        if "srcset" in attr:
            value = best_from_srcset(value) or ""
        if value:
            return value
    return None


_GALLERY_WORD = re.compile(r"gallery|product|main-?image|zoom|carousel|slide|hero|media|photo|picture", re.I)


def product_images(page: Page) -> list[str]:
    """Image URLs of the page body, those inside a gallery/product block first; lazy-loading
    attributes (data-src, data-original, srcset...) before src; logos, icons, placeholders and the
    site's header/nav/footer left out."""
    ranked = []
    for el in page.root.xpath('//*[@itemprop="image"]'):
        src = (el.get("content") or el.get("href")) if el.tag in ("meta", "link") else img_source(el)
        if src:
            ranked.append((0, len(ranked), src))
    for el in page.root.iter("img", "source"):
        if len(ranked) >= 60:
            break
        src = img_source(el)
        if not src or _NOT_PRODUCT_IMAGE.search(src.rsplit("/", 1)[-1]) or page.chrome(el):
            continue
        near = [el] + list(el.iterancestors())[:4]
        rank = 1 if any(_GALLERY_WORD.search(attr_words(a)) for a in near if isinstance(a.tag, str)) else 2
        ranked.append((rank, len(ranked), src))
    ranked.sort()
    return [src for _, _, src in ranked]
