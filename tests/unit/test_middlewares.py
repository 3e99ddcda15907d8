"""The SSRF guard's address classifier and URL judgement, and the retry backoff arithmetic."""
from __future__ import annotations

import pytest

from crawlers.middlewares import (BackoffRetryMiddleware, address_problem, resolve,
                                  retry_after_seconds, url_problem)

NOT_PUBLIC = [
    "0.0.0.0", "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.5.4", "192.168.1.1",
    "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.255", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1", "0.1.2.3",
    "::", "::1", "fe80::1", "fd00::1", "fc00::1", "ff02::1", "fec0::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::ffff:0.0.0.0",
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::", "2002:a9fe:a9fe::1",
    "::127.0.0.1", "2001:db8::1", "fe80::1%eth0",
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
          "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused(address):
    assert address_problem(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert address_problem(address) is None


def test_reason_names_the_class():
    assert address_problem("169.254.169.254") == "link-local address 169.254.169.254"
    assert "loopback" in address_problem("::ffff:127.0.0.1") and "embedded" in address_problem("::ffff:127.0.0.1")
    assert address_problem("100.64.0.1").startswith("shared")


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "0177.1", "017700000001"])
def test_numeric_ipv4_spellings_resolve_to_loopback_and_are_refused(host):
    # getaddrinfo (what the connection uses) reads these inet_aton forms as 127.0.0.1.
    assert resolve(host) == ["127.0.0.1"]
    problem = url_problem(f"http://{host}:8080/item/1.html")
    assert problem and "loopback address 127.0.0.1" in problem


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://[::1]:81/", "http://[::ffff:127.0.0.1]/",
                                 "https://169.254.169.254/latest/meta-data/", "http://0.0.0.0:5432/",
                                 "http://[fd00::1]/", "http://100.64.0.1/", "http://localhost:9/"])
def test_urls_to_non_public_hosts_are_refused(url):
    assert url_problem(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "data:text/html,<h1>x</h1>",
                                 "gopher://127.0.0.1:6379/_INFO", "s3://bucket/key", "/relative"])
def test_non_http_schemes_are_refused(url):
    problem = url_problem(url, allow_private=True)
    assert problem and "not http(s)" in problem


def test_public_name_passes_with_a_stub_resolver():
    assert url_problem("https://shop.example.com/item/1", resolver=lambda h, p: ["93.184.215.14"]) is None


def test_any_private_address_among_several_refuses():
    problem = url_problem("https://shop.example.com/", resolver=lambda h, p: ["93.184.215.14", "10.1.2.3"])
    assert "private address 10.1.2.3" in problem


def test_unresolvable_host_is_refused():
    def fail(host, port):
        raise OSError("Name or service not known")
    assert "does not resolve" in url_problem("http://nowhere.invalid/", resolver=fail)


def test_allow_private_allows_everything_private_unless_narrowed_to_origins():
    assert url_problem("http://127.0.0.1:8001/", allow_private=True) is None
    origins = {"127.0.0.1:8001"}
    assert url_problem("http://127.0.0.1:8001/a", allow_private=True, allowed_private_origins=origins) is None
    assert "loopback" in url_problem("http://127.0.0.1:8002/a", allow_private=True, allowed_private_origins=origins)
    assert "link-local" in url_problem("http://169.254.169.254/", allow_private=True,
                                       allowed_private_origins=origins)
    # Origins only widen allow_private; on their own they allow nothing.
    assert url_problem("http://127.0.0.1:8001/a", allowed_private_origins=origins)


def test_retry_after_header():
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds(b"soon") is None
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    from scrapy.settings import Settings

    mw = BackoffRetryMiddleware(Settings({"RETRY_ENABLED": True, "RETRY_BACKOFF_BASE": 2.0,
                                          "RETRY_BACKOFF_MAX": 10.0}))
    for attempt, nominal in ((1, 2.0), (2, 4.0), (3, 8.0)):
        delays = [mw.backoff(attempt) for _ in range(200)]
        assert min(delays) >= nominal * 0.5 and max(delays) <= min(nominal * 1.5, 10.0)
    assert max(mw.backoff(10) for _ in range(50)) <= 10.0
    assert mw.backoff(1, retry_after=30.0) == 10.0 and mw.backoff(1, retry_after=3.0) == 3.0


def test_resolver_check_refuses_private_answers():
    from twisted.internet.error import DNSLookupError

    from crawlers.middlewares import PublicOnlyResolver

    assert PublicOnlyResolver.refuse_private("93.184.215.14", "shop.example.com") == "93.184.215.14"
    with pytest.raises(DNSLookupError, match="link-local"):
        PublicOnlyResolver.refuse_private("169.254.169.254", "rebind.example.com")
