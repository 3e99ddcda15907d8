"""The SSRF guard in a real crawl: a source not allowed private addresses reaches nothing on
loopback, even spelled as a decimal IPv4 (2130706433 = 127.0.0.1), which the sources loader's
literal-address check does not recognise; only the guard's resolution does."""
from __future__ import annotations

import pytest

from cluewatch.jobs.crawl import crawl_source
from cluewatch.sources import load_sources
from tests.fixtures_sites import HostileSite, serve_hostile_site, sources_yaml

pytestmark = pytest.mark.service


def test_loopback_source_without_allow_private_fetches_nothing(db_url, db, tmp_path):
    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url, allow_private=False, host="2130706433"),
                           encoding="utf-8")
        assert load_sources(sources)[0].start_urls[0].startswith("http://2130706433:")  # loader let it in
        logs: list[str] = []
        stats = crawl_source(sources, "hostile", db_url, log=logs.append, timeout=60)
        assert site.hits == []  # not even robots.txt
    assert stats["ssrf_refused"] >= 1 and stats["pages"] == 0 and stats["items_scraped"] == 0
    assert any("SSRF guard refused" in line and "loopback address 127.0.0.1" in line for line in logs)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM listings")
        assert cur.fetchone()[0] == 0


def test_same_site_with_allow_private_is_crawled(db_url, db, tmp_path):
    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url, allow_private=True, host="2130706433"),
                           encoding="utf-8")
        stats = crawl_source(sources, "hostile", db_url, log=lambda line: None, timeout=60)
        assert site.hits
    assert stats["ssrf_refused"] == 0 and stats["items_scraped"] == 10


def _name_resolving_to_loopback() -> str | None:
    import socket

    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    except OSError:
        return None
    return name if addresses and all(a.startswith("127.") for a in addresses) else None


def test_resolver_refuses_at_connect_time_even_without_the_middleware(tmp_path):
    """Defence in depth against DNS rebinding: with the guard middleware switched off, the
    connection's own resolution (PublicOnlyResolver) still refuses a name that resolves to
    loopback."""
    from crawlers import settings as crawl_settings
    from crawlers.run import run_crawl_subprocess

    name = _name_resolving_to_loopback()
    if name is None or not __import__("re").fullmatch(r"[a-z0-9-]+", name):
        pytest.skip("this machine's host name does not resolve to loopback only")
    middlewares = {**crawl_settings.DOWNLOADER_MIDDLEWARES, "crawlers.middlewares.SSRFGuardMiddleware": None}
    with serve_hostile_site(HostileSite(hostile=False)) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml(site.base_url, allow_private=False, host=name), encoding="utf-8")
        logs: list[str] = []
        stats = run_crawl_subprocess(sources, "hostile", None, log=logs.append, timeout=60,
                                     settings={"DOWNLOADER_MIDDLEWARES": middlewares,
                                               "RETRY_BACKOFF_BASE": 0.01})
        assert site.hits == []
    assert stats["ssrf_refused"] == 0  # the middleware was off: the resolver did it
    assert any("SSRF guard (resolver) refused" in line for line in logs)
    assert stats["complete"] is False and stats["page_failures"] == {"list": 1}
