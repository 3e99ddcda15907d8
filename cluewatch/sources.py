"""Load and check sources.yaml: the sites we crawl, one Airflow DAG `crawl_<id>` each.

    sources:
      - id: shop-example                  # [a-z0-9-]; the DAG becomes crawl_shop-example
        kind: ecommerce                   # ecommerce | tradefair | market
        platform: "Example Shop"
        start_urls: ["https://shop.example.com/search?q=sprite"]
        allowed_domains: ["shop.example.com"]
        schedule: "@daily"                # Airflow preset, 5-field cron, or null (manual only)
        concurrency: 2                    # per-domain concurrent requests, 1-64
        download_delay: 0.5               # seconds between requests to one domain
        allow_private_addresses: false    # true only for loopback test fixtures / the demo
        selectors: {title: "h1::text"}    # per-source extraction hints for the spider
        render: false                     # true: fetch through headless Chromium (JS-built pages)
        obey_robots_txt: true             # false needs robots_txt_override_reason (in writing)
        robots_txt_override_reason: null
        search_url: "https://shop.example.com/search?q={query}"   # optional search template
        search_queries: registry          # a list of queries, or `registry`: every registered name

Problems are reported like the registry's, `FILE:LINE: reason`, all at once; nothing half-loaded.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import re
from urllib.parse import urlsplit

from cluewatch.model import SOURCE_KINDS, SourceConfig
from cluewatch.yaml_loader import ConfigError, Problem, Reader, compose, read_bytes

MAX_BYTES = 5 * 1024 * 1024  # thousands of sources fit in well under 1 MB
ID_PATTERN = r"[a-z0-9-]+"   # also valid inside an Airflow dag_id (letters, digits, - . _)
ID_MAX_LEN = 100             # Airflow caps dag_id at 250 characters; ids also name log dirs
SOURCE_KEYS = tuple(f.name for f in dataclasses.fields(SourceConfig))
REQUIRED_KEYS = ("id", "kind", "platform")  # and start_urls or search_url
REGISTRY_QUERIES = "registry"
MIN_REASON_LEN = 15  # "because" is not a reason: an override must say why in words
CONCURRENCY = (1, 64)
# Airflow's schedule presets. @continuous is left out: a crawl would restart the moment it ends.
SCHEDULE_PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,?#-]+")
_DOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


class SourcesError(ConfigError):
    """The sources file has problems (see `.problems`); nothing was loaded."""


def load_sources(path) -> list[SourceConfig]:
    data, problems = read_bytes(path, max_bytes=MAX_BYTES)
    sources, more = _parse(data, str(path)) if data is not None else ([], [])
    if problems or more:
        raise SourcesError(problems + more)
    return sources


def check_sources(path) -> list[Problem]:
    data, problems = read_bytes(path, max_bytes=MAX_BYTES)
    return problems if data is None else _parse(data, str(path))[1]


def sources_from_text(text: str, name: str = "<string>") -> list[SourceConfig]:
    """Sources from in-memory YAML (the demo writes one with its live fixture ports)."""
    sources, problems = _parse(text, name)
    if problems:
        raise SourcesError(problems)
    return sources


def check_sources_text(text: str, name: str = "<string>") -> list[Problem]:
    return _parse(text, name)[1]


def _parse(data: bytes | str, name: str) -> tuple[list[SourceConfig], list[Problem]]:
    root, problems = compose(data, name)
    if root is None:
        return [], problems or [Problem(name, 1, "file is empty; expected a top-level `sources:` list")]
    r = Reader(name)
    top = r.mapping(root, "the sources file", allowed=("sources",), required=("sources",))
    sources, ids = [], {}
    if top and not r.is_null(top.get("sources")):
        for i, node in enumerate(r.sequence(top["sources"], "sources") or []):
            sources.append(_source(r, node, f"sources[{i}]", ids))
    problems = sorted(problems + r.problems, key=lambda p: p.line)
    return ([], problems) if problems else (sources, [])


def _source(r: Reader, node, what: str, ids: dict[str, int]) -> SourceConfig | None:
    s = r.mapping(node, what, allowed=SOURCE_KEYS, required=REQUIRED_KEYS)
    if s is None:
        return None
    values = {}
    if "id" in s:
        values["id"] = r.string(s["id"], f"{what}.id", pattern=ID_PATTERN, max_len=ID_MAX_LEN)
        if values["id"] in ids:
            r.report(s["id"], f"duplicate source id {values['id']!r} (already used at line {ids[values['id']]})")
        elif values["id"] is not None:
            ids[values["id"]] = s["id"].start_mark.line + 1
    if "kind" in s:
        values["kind"] = r.string(s["kind"], f"{what}.kind")
        if values["kind"] is not None and values["kind"] not in SOURCE_KINDS:
            r.report(s["kind"], f"{what}.kind {values['kind']!r} is not one of {', '.join(SOURCE_KINDS)}")
    if "platform" in s:
        values["platform"] = r.string(s["platform"], f"{what}.platform")

    def optional(key, read):
        if not r.is_null(s.get(key)):
            values[key] = read(s[key], f"{what}.{key}")

    optional("allowed_domains", lambda n, w: _domains(r, n, w))
    allow_private = r.boolean(s["allow_private_addresses"], f"{what}.allow_private_addresses") \
        if not r.is_null(s.get("allow_private_addresses")) else False
    values["allow_private_addresses"] = bool(allow_private)
    if "start_urls" in s:
        values["start_urls"] = _start_urls(r, s["start_urls"], f"{what}.start_urls",
                                           values.get("allowed_domains") or (), bool(allow_private))
    if "schedule" in s:  # an explicit null means manual-only, unlike a missing key (the default)
        values["schedule"] = None if r.is_null(s["schedule"]) else _schedule(r, s["schedule"], f"{what}.schedule")
    optional("concurrency", lambda n, w: r.integer(n, w, lo=CONCURRENCY[0], hi=CONCURRENCY[1]))
    optional("download_delay", lambda n, w: _float(r.number(n, w, minimum=0)))
    optional("selectors", lambda n, w: _selectors(r, n, w))
    optional("render", r.boolean)
    optional("obey_robots_txt", r.boolean)
    optional("robots_txt_override_reason", r.string)
    if values.get("obey_robots_txt") is False and len((values.get("robots_txt_override_reason") or "").strip()) < MIN_REASON_LEN:
        r.report(s["obey_robots_txt"], f"{what}.obey_robots_txt is false: give the reason in "
                                       f"{what}.robots_txt_override_reason (at least {MIN_REASON_LEN} characters)")
    if not r.is_null(s.get("search_url")):
        values["search_url"] = _search_url(r, s["search_url"], f"{what}.search_url",
                                           values.get("allowed_domains") or (), bool(allow_private))
    if not r.is_null(s.get("search_queries")):
        values["search_queries"] = _search_queries(r, s["search_queries"], f"{what}.search_queries")
        if "search_url" not in s:
            r.report(s["search_queries"], f"{what}.search_queries needs {what}.search_url")
    if "start_urls" not in s and "search_url" not in s:
        r.report(node, f"{what} needs start_urls or search_url")
    values.setdefault("start_urls", ())
    try:
        return SourceConfig(**values)
    except TypeError:  # a required key is missing: already reported
        return None


def _search_url(r: Reader, node, what: str, domains, allow_private: bool) -> str | None:
    url = r.string(node, what)
    if url is None:
        return None
    if url.count("{query}") != 1:
        r.report(node, f"{what} must contain {{query}} exactly once, where the search words go")
        return None
    reason = _url_problem(url.replace("{query}", "q"), domains, allow_private)
    if reason:
        r.report(node, f"{what} {url!r} {reason}")
        return None
    return url


def _search_queries(r: Reader, node, what: str):
    if getattr(node, "value", None) == REGISTRY_QUERIES and not isinstance(node.value, list):
        return REGISTRY_QUERIES
    return r.string_list(node, what, non_empty=True, unique=True)


def _float(value):
    return None if value is None else float(value)


def _domains(r: Reader, node, what: str) -> tuple[str, ...] | None:
    domains = r.string_list(node, what, unique=True)
    bad = [i for i, domain in enumerate(domains or ()) if not _DOMAIN.fullmatch(domain)]
    for i in bad:
        r.report(node.value[i], f"{what}[{i}] {domains[i]!r} must be a lower-case host name like "
                                "shop.example.com (no scheme, port or path)")
    return None if bad else domains


def _start_urls(r: Reader, node, what: str, domains, allow_private: bool) -> tuple[str, ...] | None:
    urls = r.string_list(node, what, non_empty=True, unique=True)
    for i, url in enumerate(urls or ()):
        reason = _url_problem(url, domains, allow_private)
        if reason:
            r.report(node.value[i], f"{what}[{i}] {url!r} {reason}")
    return urls


def _url_problem(url: str, domains, allow_private: bool) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # raises ValueError for a non-numeric port
    except ValueError as e:
        return f"is not a valid URL ({e})"
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in url):
        return "must be an absolute http(s) URL"
    if domains and not any(host == d or host.endswith("." + d) for d in domains):
        # Scrapy's offsite filter would drop it without a word: say so now.
        return f"is outside allowed_domains ({', '.join(domains)})"
    if not allow_private and _is_private_literal(host):
        # Only literal addresses are judged here; names are resolved and checked by the
        # crawler's SSRF guard at request time (this loader never touches the network).
        return "points at a private/loopback address; set allow_private_addresses: true only for test fixtures"
    return None


def _is_private_literal(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not ip.is_global


def _schedule(r: Reader, node, what: str) -> str | None:
    value = r.string(node, what)
    if value is None:
        return None
    if value.startswith("@"):
        if value not in SCHEDULE_PRESETS:
            r.report(node, f"{what} {value!r} is not one of {', '.join(SCHEDULE_PRESETS)}")
            return None
        return value
    reason = cron_problem(value)
    if reason:
        r.report(node, f"{what} {value!r} {reason}")
        return None
    return value


def cron_problem(expr: str) -> str | None:
    """Why `expr` is not a 5-field cron expression Airflow accepts, or None if it is."""
    fields = expr.split()
    if len(fields) != 5:
        return (f"has {len(fields)} fields; a cron expression has 5 "
                "(minute hour day-of-month month day-of-week) or use a preset like @daily")
    bad = [f for f in fields if not _CRON_FIELD.fullmatch(f)]
    if bad:
        return f"has invalid characters in {', '.join(bad)}"
    try:
        from croniter import croniter  # what Airflow's cron timetables parse with
    except ImportError:
        return None  # the field checks above are all we can do without it
    if not croniter.is_valid(expr):
        return "is not a valid cron expression (a value out of range?)"
    return None


def _selectors(r: Reader, node, what: str) -> dict | None:
    m = r.mapping(node, what)
    if m is None:
        return None
    out = {key: r.string(value, f"{what}.{key}") for key, value in m.items()}
    return out if None not in out.values() else None
