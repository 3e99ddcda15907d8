"""Page bytes to text, prices to plain decimals, currency symbols to ISO 4217 — no HTML here.

    >>> parse_price("￥88-128")
    {'price_low': '88', 'price_high': '128', 'currency': 'CNY'}
    >>> parse_price("€ 12,99")["price_low"], parse_price("US $12.99")["currency"]
    ('12.99', 'USD')
    >>> infer_currency("$", url="https://www.example.ca/p/1")
    'CAD'
"""
from __future__ import annotations

import codecs
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from price_parser import Price
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding

# ------------------------------------------------------------------------------------- encodings
_SINGLE_BYTE = {"cp1252", "latin_1", "iso8859_1", "ascii", "iso8859_15", "cp1251", "iso8859_2", "cp1250"}
_CJK_GUESS = {"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950", "euc_jp", "shift_jis", "cp932",
              "euc_kr", "cp949", "iso2022_jp", "hz", "johab"}
# WHATWG: GBK and GB2312 labels mean GB18030; browsers decode Big5 as Big5-HKSCS.
_UPGRADE = {"gbk": "gb18030", "gb2312": "gb18030", "big5": "big5hkscs", "cp950": "big5hkscs"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    name = resolve_encoding(label) or label
    try:
        name = codecs.lookup(name).name.replace("-", "_")
    except LookupError:
        return None
    return _UPGRADE.get(name, name)


def _strict(data: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(data: bytes, *, cjk: bool = False, declared: str | None = None) -> str | None:
    """charset-normalizer's guess. With `cjk`, only between GB18030 and Big5 — a page labelled GBK
    may really be Big5: both decode without error, only one reads as Chinese — and the `declared`
    encoding is kept unless the detector rejects it outright (short pages are ambiguous)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - charset-normalizer comes with requests/scrapy
        return None
    isolation = ["gb18030", "big5"] if cjk else None
    results = list(from_bytes(data[:200_000], cp_isolation=isolation))
    if not results:
        return None
    codecs_found = [_codec(r.encoding) for r in results]
    if declared and declared in codecs_found:
        return declared
    return codecs_found[0]


def decode_html(html: str | bytes, *, encoding: str | None = None, content_type: str | None = None) -> str:
    """Text of a page. Order: BOM; valid UTF-8 (a wrong charset header is common, a GBK page that
    happens to be valid UTF-8 is not); the HTTP charset, then <meta charset> — each only if the bytes
    decode under it without error, and a single-byte header (latin-1/cp1252, the usual default)
    gives way to a multi-byte <meta> or a detected CJK encoding; then detection (charset-normalizer);
    last, the declared encoding with replacement characters.

    >>> page = "<p>价格 ￥59，这是一款专业的篮球鞋，适合日常训练和比赛使用。</p>"
    >>> decode_html(page.encode("gbk"), content_type="text/html; charset=utf-8") == page
    True

    Very short pages with no or a wrong label stay ambiguous (a few bytes read as several
    encodings); real pages carry enough text.
    """
    if isinstance(html, str):
        return html
    data = bytes(html)
    bom_encoding, bom = read_bom(data)
    if bom_encoding:
        return data[len(bom):].decode(_codec(bom_encoding) or bom_encoding, "replace")
    if encoding and not content_type:
        content_type = f"text/html; charset={encoding}"
    header = _codec(http_content_type_encoding(content_type) if content_type else None)
    meta = _codec(html_body_declared_encoding(data[:8192]))
    if data.isascii():
        return data.decode("ascii")
    if header not in ("utf_16", "utf_16_le", "utf_16_be", "utf_32"):
        text = _strict(data, "utf_8")
        if text is not None:
            return text
    order = [header, meta]
    chinese = ("gb18030", "big5hkscs")
    if header in chinese or (header is None and meta in chinese):
        order = [_detect(data, cjk=True, declared=header or meta), header, meta]
    elif header in _SINGLE_BYTE:
        guess = _refine(_detect(data), data)
        multi = [c for c in (meta, guess) if c and c not in _SINGLE_BYTE]
        order = multi + [header]
    for codec in order:
        text = _strict(data, codec)
        if text is not None:
            return text
    guess = _refine(_detect(data), data)
    text = _strict(data, guess)
    if text is not None:
        return text
    return data.decode(header or meta or guess or "utf_8", "replace")


_WESTERN = re.compile(r"cp125\d|latin|iso8859|ascii|mac_roman|koi8")


def _refine(guess: str | None, data: bytes) -> str | None:
    """Undeclared multi-byte pages: when the detector's guess is East Asian or exotic (short pages
    fool it), decide between GB18030 and Big5 only, GB18030 on a tie."""
    if guess and _WESTERN.match(guess):
        return guess
    if _strict(data, "gb18030") is None and _strict(data, "big5hkscs") is None:
        return guess
    return _detect(data, cjk=True, declared="gb18030") or guess


# ---------------------------------------------------------------------------------- currencies
# Token → ISO code, or a marker for symbols whose currency depends on the site's country.
CURRENCY_SYMBOLS = {
    "US$": "USD", "US $": "USD", "USD": "USD", "U$S": "USD", "美元": "USD", "美金": "USD",
    "C$": "CAD", "CA$": "CAD", "CAD": "CAD", "A$": "AUD", "AU$": "AUD", "AUD": "AUD",
    "NT$": "TWD", "NT": "TWD", "NTD": "TWD", "TWD": "TWD", "新台幣": "TWD", "台幣": "TWD",
    "HK$": "HKD", "HKD": "HKD", "港币": "HKD", "港幣": "HKD", "S$": "SGD", "SGD": "SGD",
    "NZ$": "NZD", "NZD": "NZD", "R$": "BRL", "BRL": "BRL", "MX$": "MXN", "MXN": "MXN",
    "€": "EUR", "EUR": "EUR", "欧元": "EUR", "歐元": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "GBP": "GBP", "英镑": "GBP",
    "RMB": "CNY", "CNY": "CNY", "人民币": "CNY", "块": "CNY", "円": "JPY", "JPY": "JPY", "日元": "JPY",
    "원": "KRW", "₩": "KRW", "KRW": "KRW", "₹": "INR", "Rs.": "INR", "Rs": "INR", "INR": "INR",
    "₽": "RUB", "руб.": "RUB", "руб": "RUB", "р.": "RUB", "RUB": "RUB", "RUR": "RUB",
    "zł": "PLN", "PLN": "PLN", "Kč": "CZK", "CZK": "CZK", "CHF": "CHF", "Fr.": "CHF", "SFr.": "CHF",
    "лв": "BGN", "лв.": "BGN", "BGN": "BGN", "lei": "RON", "RON": "RON", "Ft": "HUF", "HUF": "HUF",
    "₺": "TRY", "TL": "TRY", "TRY": "TRY", "₪": "ILS", "ILS": "ILS", "฿": "THB", "THB": "THB",
    "₫": "VND", "VND": "VND", "RM": "MYR", "MYR": "MYR", "₱": "PHP", "PHP": "PHP", "Rp": "IDR",
    "IDR": "IDR", "SEK": "SEK", "NOK": "NOK", "DKK": "DKK", "ISK": "ISK", "kn": "HRK", "HRK": "HRK",
    "грн": "UAH", "₴": "UAH", "UAH": "UAH", "тг": "KZT", "₸": "KZT", "KZT": "KZT", "AED": "AED",
    "SAR": "SAR", "ZAR": "ZAR",
    "$": "$", "¥": "¥", "￥": "¥", "元": "元", "kr": "kr", "kr.": "kr",
}
# Country (from the TLD or a locale) → its currency; resolves "$", "¥", "元", "kr" and unmarked prices.
COUNTRY_CURRENCY = {
    "us": "USD", "ca": "CAD", "au": "AUD", "nz": "NZD", "tw": "TWD", "hk": "HKD", "sg": "SGD",
    "mx": "MXN", "br": "BRL", "ar": "ARS", "cl": "CLP", "co": "COP", "cn": "CNY", "jp": "JPY",
    "kr": "KRW", "in": "INR", "uk": "GBP", "gb": "GBP", "ch": "CHF", "li": "CHF", "se": "SEK",
    "no": "NOK", "dk": "DKK", "is": "ISK", "pl": "PLN", "cz": "CZK", "hu": "HUF", "ro": "RON",
    "bg": "BGN", "ru": "RUB", "ua": "UAH", "kz": "KZT", "tr": "TRY", "il": "ILS", "th": "THB",
    "vn": "VND", "my": "MYR", "ph": "PHP", "id": "IDR", "za": "ZAR", "ae": "AED", "sa": "SAR",
    **{c: "EUR" for c in ("de", "fr", "it", "es", "pt", "nl", "be", "at", "ie", "fi", "gr", "sk", "si",
                          "ee", "lv", "lt", "lu", "mt", "cy", "hr", "eu")},
}
_DOLLAR = {"USD", "CAD", "AUD", "NZD", "TWD", "HKD", "SGD", "MXN", "ARS", "CLP", "COP"}
# Page language → country, when the TLD says nothing (.com): only unambiguous ones.
_LANG_COUNTRY = {"zh-tw": "tw", "zh-hant": "tw", "zh-hk": "hk", "zh-cn": "cn", "zh-hans": "cn", "zh": "cn",
                 "ja": "jp", "ko": "kr", "en-gb": "gb", "en-ca": "ca", "fr-ca": "ca", "en-au": "au",
                 "en-us": "us", "de": "de", "fr": "fr", "it": "it", "es": "es", "nl": "nl", "pl": "pl",
                 "cs": "cz", "sv": "se", "da": "dk", "nb": "no", "fi": "fi", "et": "ee", "lv": "lv",
                 "lt": "lt", "sl": "si", "sk": "sk", "hu": "hu", "ro": "ro", "bg": "bg", "ru": "ru",
                 "uk": "ua", "tr": "tr", "he": "il", "th": "th", "vi": "vn", "pt-br": "br", "pt": "pt",
                 "el": "gr", "hr": "hr"}
_ISO_RE = re.compile(r"[A-Z]{3}")


def site_country(url: str | None, lang: str | None = None) -> str | None:
    """Two-letter country of a site: its ccTLD, else a locale in the URL path ("/en-ca/", "/gb/en"),
    else the page language ("zh-TW" → tw)."""
    host = (urlsplit(url or "").hostname or "").lower()
    tld = host.rsplit(".", 1)[-1] if "." in host else ""
    if tld in COUNTRY_CURRENCY and tld not in ("co",):
        return tld
    if tld == "co" and host.count(".") >= 1:  # example.co.uk / example.co.kr, else Colombia
        parts = host.split(".")
        return parts[-1] if parts[-2] == "co" and parts[-1] in COUNTRY_CURRENCY else "co"
    path = urlsplit(url or "").path.lower()
    match = re.match(r"/(?:[a-z]{2}[-_])?([a-z]{2})(?:/|$)|/([a-z]{2})/[a-z]{2}(?:[-_][a-z]{2})?(?:/|$)", path)
    if match:
        country = match.group(1) or match.group(2)
        if country in COUNTRY_CURRENCY and country not in ("en", "id", "is", "no", "in", "it", "co", "my"):
            return country
    subtags = (lang or "").strip().lower().replace("_", "-").split("-")
    region = next((t for t in subtags[1:] if len(t) == 2 and t in COUNTRY_CURRENCY), None)
    if region:  # "zh-Hant-TW", "en-CA"
        return region
    if subtags[0]:
        joined = "-".join(subtags[:2])
        return _LANG_COUNTRY.get(joined) or _LANG_COUNTRY.get(subtags[0])
    return None


def infer_currency(token: str | None, *, url: str | None = None, lang: str | None = None) -> str | None:
    """ISO 4217 code for a currency token as written ("€", "US$", "원", "RMB", "eur"), using the
    site's country for ambiguous symbols ("$" on a .ca site is CAD, "元" on a .tw site TWD) and, with
    no token at all, for an unmarked price (None if the country is unknown)."""
    country = site_country(url, lang)
    local = COUNTRY_CURRENCY.get(country) if country else None
    if token is None:
        return local
    token = token.strip()
    code = CURRENCY_SYMBOLS.get(token) or CURRENCY_SYMBOLS.get(token.upper())
    if code is None and re.fullmatch(r"US\s*\$", token):
        code = "USD"
    if code is None and _ISO_RE.fullmatch(token.upper()) and token.isalpha():
        code = token.upper()
    if code == "$":
        return local if local in _DOLLAR else "USD"
    if code == "¥":
        return "JPY" if local == "JPY" else "CNY"
    if code == "元":
        return local if local in ("TWD", "HKD") else "CNY"
    if code == "kr":
        return local if local in ("SEK", "NOK", "DKK", "ISK") else "SEK"
    return code


# -------------------------------------------------------------------------------------- prices
def _token_regex() -> str:
    tokens = sorted(CURRENCY_SYMBOLS, key=len, reverse=True)
    parts = []
    for token in tokens:
        escaped = re.escape(token).replace(r"\ ", r"\s?")
        # Letters need word edges ("kr" is not in "kroner", "TL" not in "TLS"); CJK and symbols do not.
        if re.match(r"[A-Za-z]", token):
            escaped = rf"(?<![A-Za-z]){escaped}(?![A-Za-z])"
        elif re.search(r"[A-Za-z.]$", token):
            escaped = rf"{escaped}(?![A-Za-z])"
        parts.append(escaped)
    return "|".join(parts)


_CUR = _token_regex()
_NUM = r"\d{1,3}(?:[,.\u00a0\u202f' ]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d{1,2})?(?!\d)"
_RANGE_SEP = r"\s*(?:-|–|—|~|～|至|to|bis)\s*"
# A price is  (pre token)? low (range-separator (pre2 token)? high)? (post token)?  — matched
# number-first by find_prices: the token alternation is long, and trying it at every character of a
# page is what made a one-regex version slow. (Each regex holding _CUR costs ~25 ms to compile at
# import, in every crawl process: there is no unused one.)
_NUM_RE = re.compile(_NUM)
_PRE_RE = re.compile(rf"(?:{_CUR})\s*$", re.IGNORECASE)
_HIGH_RE = re.compile(rf"{_RANGE_SEP}(?P<pre2>{_CUR})?\s*(?P<high>{_NUM})", re.IGNORECASE)
_POST_RE = re.compile(rf"\s*(?P<post>{_CUR})", re.IGNORECASE)


def amount(value) -> str | None:
    """A non-negative amount as a plain decimal string: numbers as written in structured data
    (49.99, "1299.00") or formatted text ("1,299.00", "12,99", "1.299,00", "30,000원") via
    price-parser; None if it is not one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(str(value))
    else:
        text = str(value).strip().replace("\u00a0", " ")
        try:
            number = Decimal(text)
        except InvalidOperation:
            parsed = Price.fromstring(text).amount
            if parsed is None:
                return None
            number = parsed
    if not number.is_finite() or number < 0:
        return None
    return format(number, "f")


_QUICK_CURRENCY = re.compile(r"[$€£¥￥元₩원₹₽₺₪฿₫₱₴₸円块币幣]|[A-Z]{2,3}|kr|zł|Kč|lei|Ft|руб|р\.|лв|grn|грн|тг|euro",
                             re.IGNORECASE)


def find_prices(text: str, *, require_currency: bool = True) -> list[dict]:
    """Every price in a text, in order: dicts with price_low, price_high, token (currency as written,
    or None), start, end. Bare numbers count only when `require_currency` is False."""
    found = []
    text = text or ""
    if require_currency and not _QUICK_CURRENCY.search(text):
        return found
    pos = 0
    while True:
        m = _NUM_RE.search(text, pos)
        if m is None:
            break
        start, end = m.start(), m.end()
        if start > 0 and (text[start - 1].isdigit() or text[start - 1] in ".,"):
            pos = end  # the tail of a longer number ("1.2.3", "12,3,4")
            continue
        pre = _PRE_RE.search(text[max(0, start - 12):start])
        low_text, high_text, pre2 = m.group(0), None, None
        h = _HIGH_RE.match(text, end)
        if h:
            high_text, pre2, end = h.group("high"), h.group("pre2"), h.end()
        post = _POST_RE.match(text, end)
        token = (pre.group(0).strip() if pre else None) or pre2 or (post.group("post") if post else None)
        if post:
            end = post.end()
        if pre:
            start -= len(pre.group(0))
        pos = end
        if token is None and require_currency:
            continue
        low = amount(low_text)
        high = amount(high_text) if high_text else low
        if low is None or high is None:
            continue
        if Decimal(high) < Decimal(low):  # "12-3" is not a range (a date, a size)
            high = low
        found.append({"price_low": low, "price_high": high, "token": token, "start": start, "end": end})
    return found


def parse_price(text: str, *, url: str | None = None, lang: str | None = None) -> dict:
    """The first price in a text: {"price_low", "price_high", "currency"}, or {} if there is none.
    A number counts only next to a currency sign or code; ranges keep both ends.

    >>> parse_price("FOB US$ 6.50 - 8.20 / pair")
    {'price_low': '6.50', 'price_high': '8.20', 'currency': 'USD'}
    >>> parse_price("批发价：45元/箱")["currency"]
    'CNY'
    >>> parse_price("1.299,00 €")["price_low"]
    '1299.00'
    """
    prices = find_prices(text)
    if not prices:
        return {}
    first = prices[0]
    return {"price_low": first["price_low"], "price_high": first["price_high"],
            "currency": infer_currency(first["token"], url=url, lang=lang)}
