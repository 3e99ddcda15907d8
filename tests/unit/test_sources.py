"""Sources loader: sources.yaml becomes SourceConfig objects; every mistake is `FILE:LINE: reason`."""
import re
import textwrap

import pytest

from cluewatch.model import SOURCE_KINDS, SourceConfig
from cluewatch.sources import (
    ID_MAX_LEN,
    SourcesError,
    check_sources,
    check_sources_text,
    cron_problem,
    load_sources,
    sources_from_text,
)

# Airflow's rule for dag ids (airflow.sdk.definitions._internal.node.KEY_REGEX), max 250 characters.
AIRFLOW_KEY = re.compile(r"^[\w.-]+$")

VALID = """
sources:
  - id: shop-example
    kind: ecommerce
    platform: Example Shop
    start_urls: ["https://shop.example.com/search?q=sprite", "https://m.shop.example.com/s"]
    allowed_domains: ["shop.example.com"]
    schedule: "@daily"
    concurrency: 4
    download_delay: 1
    selectors: {title: "h1::text", price: ".price::text"}
  - id: canton-fair
    kind: tradefair
    platform: Canton Fair
    start_urls: ["https://fair.example.org/exhibitors"]
    schedule: "30 2 * * 1-5"
  - id: fixture-market
    kind: market
    platform: Fixture Market
    start_urls: ["http://127.0.0.1:8001/stalls"]
    allowed_domains: ["127.0.0.1"]
    schedule: null
    download_delay: 0
    allow_private_addresses: true
"""


def write(tmp_path, text, name="sources.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def one(text, name="s.yaml"):
    problems = check_sources_text(textwrap.dedent(text).lstrip("\n"), name)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def source(**fields):
    """A minimal valid source entry as YAML text, with `fields` replacing/adding lines."""
    base = {"id": "s", "kind": "ecommerce", "platform": "P", "start_urls": '["https://example.com/"]'}
    base.update(fields)
    body = "\n".join(f"    {k}: {v}" for k, v in base.items() if v is not None)
    return "sources:\n  - " + body.lstrip() + "\n"


# --- valid files ---------------------------------------------------------------------------------

def test_valid_file_loads_with_defaults(tmp_path):
    shop, fair, market = load_sources(write(tmp_path, VALID))
    assert shop == SourceConfig(
        id="shop-example", kind="ecommerce", platform="Example Shop",
        start_urls=("https://shop.example.com/search?q=sprite", "https://m.shop.example.com/s"),
        allowed_domains=("shop.example.com",), schedule="@daily", concurrency=4, download_delay=1.0,
    )
    assert shop.selectors == {"title": "h1::text", "price": ".price::text"}
    assert isinstance(shop.download_delay, float)
    assert (fair.schedule, fair.concurrency, fair.download_delay, fair.allow_private_addresses) == (
        "30 2 * * 1-5", 2, 0.5, False)  # model defaults where the file says nothing
    assert fair.allowed_domains == () and fair.selectors == {}
    assert (market.schedule, market.download_delay, market.allow_private_addresses) == (None, 0.0, True)
    assert check_sources(write(tmp_path, VALID)) == []


def test_missing_schedule_means_the_default_and_null_means_manual():
    default, = sources_from_text(source())
    manual, = sources_from_text(source(schedule="null"))
    assert default.schedule == "@daily" and manual.schedule is None


def test_every_preset_and_kind_is_accepted():
    for preset in ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"):
        assert sources_from_text(source(schedule=f'"{preset}"'))[0].schedule == preset
    for kind in SOURCE_KINDS:
        assert sources_from_text(source(kind=kind))[0].kind == kind


def test_ids_make_valid_airflow_dag_ids():
    src, = sources_from_text(source(id="a" * ID_MAX_LEN))
    assert AIRFLOW_KEY.match(f"crawl_{src.id}") and len(f"crawl_{src.id}") <= 250


def test_empty_sources_list_is_valid():
    assert sources_from_text("sources: []\n") == []
    assert sources_from_text("sources:\n") == []


def test_subdomains_of_allowed_domains_are_allowed():
    src, = sources_from_text(source(start_urls='["https://m.shop.example.com/"]',
                                    allowed_domains='["example.com"]'))
    assert src.start_urls == ("https://m.shop.example.com/",)


def test_tests_data_sources_file_is_valid():
    from pathlib import Path

    assert check_sources(Path(__file__).resolve().parents[1] / "data" / "sources.yaml") == []


# --- one problem each, with its line -------------------------------------------------------------

CASES = {
    "unknown kind": (source(kind="shop"), 3, "sources[0].kind 'shop' is not one of ecommerce, tradefair, market"),
    "bad id": (source(id="Shop_A"), 2, "sources[0].id 'Shop_A' does not match [a-z0-9-]+"),
    "id too long": (source(id="a" * (ID_MAX_LEN + 1)), 2, f"longer than {ID_MAX_LEN} characters"),
    "missing platform": (source(platform=None), 2, "sources[0] is missing required key 'platform'"),
    "unknown key": (source(delay="1"), 6, "unknown key 'delay' in sources[0]; allowed: id, kind, platform"),
    "start_urls empty": (source(start_urls="[]"), 5, "sources[0].start_urls must not be empty"),
    "start_urls a string": (source(start_urls="https://example.com/"), 5,
                            "sources[0].start_urls must be a list (got string 'https://example.com/')"),
    "not http": (source(start_urls='["ftp://example.com/"]'), 5,
                 "sources[0].start_urls[0] 'ftp://example.com/' must be an absolute http(s) URL"),
    "relative url": (source(start_urls='["/search"]'), 5, "must be an absolute http(s) URL"),
    "bad port": (source(start_urls='["http://example.com:80x/"]'), 5, "is not a valid URL"),
    "outside allowed domains": (source(allowed_domains='["example.org"]'), 5,
                                "'https://example.com/' is outside allowed_domains (example.org)"),
    "lookalike domain is outside": (source(start_urls='["https://badexample.com/"]', allowed_domains='["example.com"]'),
                                    5, "is outside allowed_domains"),
    "private address without the flag": (source(start_urls='["http://127.0.0.1:8000/"]'), 5,
                                         "points at a private/loopback address; set allow_private_addresses"),
    "localhost without the flag": (source(start_urls='["http://localhost:8000/"]'), 5, "private/loopback"),
    "private 10/8 without the flag": (source(start_urls='["http://10.1.2.3/"]'), 5, "private/loopback"),
    "IPv6 loopback without the flag": (source(start_urls='["http://[::1]:8000/"]'), 5, "private/loopback"),
    "domain with scheme": (source(allowed_domains='["https://example.com"]'), 6,
                           "sources[0].allowed_domains[0] 'https://example.com' must be a lower-case host name"),
    "domain with port": (source(allowed_domains='["example.com:443"]'), 6, "no scheme, port or path"),
    "cron with 4 fields": (source(schedule='"0 * * *"'), 6,
                           "sources[0].schedule '0 * * *' has 4 fields; a cron expression has 5"),
    "cron with seconds": (source(schedule='"0 0 * * * *"'), 6, "has 6 fields"),
    "cron out of range": (source(schedule='"61 * * * *"'), 6, "is not a valid cron expression"),
    "cron bad characters": (source(schedule='"0 0 * * mon;rm"'), 6, "has invalid characters in mon;rm"),
    "unknown preset": (source(schedule='"@fortnightly"'), 6, "'@fortnightly' is not one of @once, @hourly"),
    "continuous refused": (source(schedule='"@continuous"'), 6, "is not one of"),
    "schedule a number": (source(schedule="5"), 6, "sources[0].schedule must be a string (got integer 5"),
    "concurrency zero": (source(concurrency="0"), 6, "sources[0].concurrency must be between 1 and 64 (got 0)"),
    "concurrency too high": (source(concurrency="65"), 6, "must be between 1 and 64 (got 65)"),
    "concurrency bool": (source(concurrency="true"), 6, "sources[0].concurrency must be an integer (got boolean true)"),
    "concurrency float": (source(concurrency="2.5"), 6, "must be an integer (got number 2.5)"),
    "delay negative": (source(download_delay="-0.5"), 6, "sources[0].download_delay must be at least 0 (got -0.5)"),
    "delay text": (source(download_delay='"1s"'), 6, "download_delay must be a finite number (got string '1s')"),
    "private flag not bool": (source(allow_private_addresses='"yes please"'), 6,
                              "sources[0].allow_private_addresses must be true or false (got string 'yes please')"),
    "selectors a list": (source(selectors='["h1"]'), 6, "sources[0].selectors must be a mapping (got a list)"),
    "selector value not text": (source(selectors="{price: 3}"), 6, "sources[0].selectors.price must be a string"),
    "platform empty": (source(platform='""'), 4, "sources[0].platform must not be empty"),
    "top level missing sources": ("crawl: []\n", 1, "unknown key 'crawl' in the sources file; allowed: sources"),
    "sources a mapping": ("sources:\n  shop: {}\n", 2, "sources must be a list (got a mapping)"),
    "entry not a mapping": ("sources:\n  - shop\n", 2, "sources[0] must be a mapping (got string 'shop')"),
    "top level a list": ("- id: a\n", 1, "the sources file must be a mapping (got a list)"),
    "empty": ("", 1, "file is empty; expected a top-level `sources:` list"),
}


@pytest.mark.parametrize("text, line, reason", CASES.values(), ids=CASES.keys())
def test_each_problem_is_reported_with_its_line(text, line, reason):
    problems = check_sources_text(text, "s.yaml")
    assert problems, text
    first = problems[0]
    assert (first.file, first.line) == ("s.yaml", line), [str(p) for p in problems]
    assert reason in first.reason, [str(p) for p in problems]


def test_top_level_without_sources_key_says_so():
    reasons = [p.reason for p in check_sources_text("crawl: []\n")]
    assert "the sources file is missing required key 'sources'" in reasons


def test_private_address_is_fine_with_the_flag():
    src, = sources_from_text(source(start_urls='["http://127.0.0.1:8000/", "http://localhost:9/"]',
                                    allow_private_addresses="true"))
    assert src.allow_private_addresses is True


def test_duplicate_ids_report_the_first_line():
    text = source(id="shop") + source(id="shop").replace("sources:\n", "")
    problem = one(text)
    assert (problem.line, problem.reason) == (6, "duplicate source id 'shop' (already used at line 2)")


def test_all_problems_at_once_in_line_order(tmp_path):
    path = write(tmp_path, """
        sources:
          - id: a
            kind: shop
            platform: A
            start_urls: ["ftp://a"]
            schedule: "* * *"
          - id: b
            kind: market
            start_urls: ["https://b.example/"]
            concurrency: 100
        """)
    problems = check_sources(path)
    assert [(p.line, p.reason.split(" ")[0]) for p in problems] == [
        (3, "sources[0].kind"), (5, "sources[0].start_urls[0]"), (6, "sources[0].schedule"),
        (7, "sources[1]"), (10, "sources[1].concurrency")]
    assert all(str(p).startswith(f"{path}:{p.line}: ") for p in problems)
    with pytest.raises(SourcesError) as err:
        load_sources(path)
    assert err.value.problems == problems


def test_in_memory_text_names_itself_in_problems():
    with pytest.raises(SourcesError) as err:
        sources_from_text(source(kind="shop"), name="demo-sources")
    assert str(err.value) == "demo-sources:3: sources[0].kind 'shop' is not one of ecommerce, tradefair, market"
    with pytest.raises(SourcesError) as err:
        sources_from_text(source(kind="shop"))
    assert str(err.value).startswith("<string>:3: ")


def test_syntax_errors_and_bad_bytes_are_problems(tmp_path):
    assert one("sources: [\n  {id: a}\n").reason.startswith("YAML syntax error")
    path = tmp_path / "latin1.yaml"
    path.write_bytes(source(platform="Caf\xe9").encode("latin-1"))
    problem, = check_sources(path)
    assert (problem.line, problem.reason) == (4, "file is not valid UTF-8 (byte 0xe9); save it as UTF-8")


def test_aliases_are_refused_in_sources():
    text = 'sources:\n  - &s {id: a, kind: market, platform: P, start_urls: ["https://e.com/"]}\n  - *s\n'
    problems = check_sources_text(text)
    assert [(p.line, p.reason) for p in problems] == [
        (3, "YAML aliases (*s) are not supported; write the value out in full")]


def test_missing_file(tmp_path):
    problem, = check_sources(tmp_path / "none.yaml")
    assert problem.reason.startswith("cannot read file")
    with pytest.raises(SourcesError):
        load_sources(tmp_path / "none.yaml")


@pytest.mark.parametrize("expr, ok", [
    ("*/5 * * * *", True), ("0 3 * * 1-5", True), ("0 0 1 */3 *", True), ("0 9 * * mon,fri", True),
    ("0 0 * JAN *", True), ("61 * * * *", False), ("* * 32 * *", False), ("", False), ("@daily", False),
    ("0 0 * * * *", False), ("a b c d e", False),
])
def test_cron_problem(expr, ok):
    assert (cron_problem(expr) is None) is ok, cron_problem(expr)


# --- rendering, robots.txt override, search ------------------------------------------------------

def test_render_robots_override_and_search_load():
    [s] = sources_from_text(source(
        render="true", obey_robots_txt="false",
        robots_txt_override_reason='"platform agreement 2026-11 allows enforcement crawling"',
        start_urls=None, allowed_domains='["example.com"]',
        search_url='"https://example.com/search?q={query}"', search_queries="registry"))
    assert s.render and not s.obey_robots_txt and "agreement" in s.robots_txt_override_reason
    assert s.search_url == "https://example.com/search?q={query}" and s.search_queries == "registry"
    assert s.start_urls == ()
    [t] = sources_from_text(source(search_url='"https://example.com/s?k={query}"',
                                   search_queries='["雪碧", "Sprite"]'))
    assert t.search_queries == ("雪碧", "Sprite") and t.render is False and t.obey_robots_txt is True


@pytest.mark.parametrize("fields, reason", [
    (dict(obey_robots_txt="false"), "give the reason in"),
    (dict(obey_robots_txt="false", robots_txt_override_reason='"because"'), "at least"),
    (dict(search_url='"https://example.com/search"'), "must contain {query} exactly once"),
    (dict(search_url='"https://other.org/s?q={query}"', allowed_domains='["example.com"]'),
     "outside allowed_domains"),
    (dict(search_url='"http://10.0.0.1/s?q={query}"'), "private/loopback"),
    (dict(search_queries='["x"]'), "needs"),
    (dict(start_urls=None), "needs start_urls or search_url"),
    (dict(render='"yes"'), "render"),
])
def test_render_robots_and_search_problems(fields, reason):
    assert reason in one(source(**fields)).reason
