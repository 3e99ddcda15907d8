"""The demo catalogue's ground truth, the demo registry, and the pages the fixture sites render.

Pages are rendered by calling the site objects directly (no sockets); the one test that starts the
HTTP servers is marked `service`.
"""
from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections import Counter

import cv2
import pytest
import yaml

from cluewatch.demo_sites import (REGISTRY_FILE, demo_sources_yaml, load_catalogue, load_catalogue_data,
                                  minimal_flags, price_range, serve_demo_sites)
from cluewatch.demo_sites.artwork import product_photo, product_photo_jpeg
from cluewatch.demo_sites.fair import FairSite
from cluewatch.demo_sites.market import MarketSite
from cluewatch.demo_sites.server import DemoSites
from cluewatch.demo_sites.shop import ShopSite

BASE = "http://127.0.0.1:8000"
CATALOGUE = load_catalogue()
REGISTRY = yaml.safe_load(REGISTRY_FILE.read_text(encoding="utf-8"))
MARK_IDS = {m["id"] for m in REGISTRY["marks"]}
GI_IDS = {g["id"] for g in REGISTRY["geographical_indications"]}


def by_site(site):
    return [item for item in CATALOGUE if item["site"] == site]


# ------------------------------------------------------------------------------------- catalogue
def test_catalogue_shape_and_counts():
    data = load_catalogue_data()
    ids = [item["id"] for item in CATALOGUE]
    assert len(ids) == len(set(ids)), "listing ids must be unique across sites"
    assert 30 <= len(by_site("shop")) <= 40
    assert len(data["exhibitors"]) == 6 and 14 <= len(by_site("fair")) <= 17
    assert len(data["stalls"]) == 6 and 14 <= len(by_site("market")) <= 17
    for item in CATALOGUE:
        for key in ("site", "id", "title", "description", "price", "currency", "seller", "category",
                    "image", "markup", "label", "caught_by_minimal", "note"):
            assert item.get(key) not in (None, ""), f"{item['id']} lacks {key}"
        assert item["label"] in ("counterfeit", "legit", "lookalike")
        assert item["markup"] in {"shop": ("jsonld", "microdata", "opengraph", "plain"),
                                  "fair": ("jsonld", "microdata", "plain", "inline"),
                                  "market": ("microdata", "plain")}[item["site"]]
        low, high = price_range(item)
        assert float(low) <= float(high)
        assert re.fullmatch(r"[A-Z]{3}", item["currency"])


def test_counterfeit_share_is_a_realistic_minority():
    labels = Counter(item["label"] for item in CATALOGUE)
    assert 0.20 <= labels["counterfeit"] / len(CATALOGUE) <= 0.35
    assert labels["lookalike"] >= 8 and labels["legit"] > labels["counterfeit"]


def test_caught_by_minimal_matches_the_naive_detector():
    for item in CATALOGUE:
        flagged = minimal_flags(item["title"], item["seller"], REGISTRY["marks"])
        assert bool(flagged) == item["caught_by_minimal"], (item["id"], item["title"], flagged)


def test_minimal_detector_both_misses_and_false_alarms():
    """The catalogue is only useful if the baseline is visibly wrong in both directions."""
    missed = [i for i in CATALOGUE if i["label"] == "counterfeit" and not i["caught_by_minimal"]]
    false_alarms = [i for i in CATALOGUE if i["label"] != "counterfeit" and i["caught_by_minimal"]]
    assert len(missed) >= 8 and len(false_alarms) >= 6


def test_labels_name_what_is_infringed():
    for item in CATALOGUE:
        if item["label"] == "counterfeit":
            assert item.get("marks") or item.get("gi"), item["id"]
        else:
            assert not item.get("marks"), f"{item['id']}: only counterfeits name infringed marks"
        assert set(item.get("marks") or ()) <= MARK_IDS
        assert item.get("gi") in (None, *GI_IDS)
        assert (item["image"].get("logo") or next(iter(MARK_IDS))) in MARK_IDS


def test_hard_cases_are_present():
    titles = {item["title"] for item in CATALOGUE}
    counterfeit_logo_only = [i for i in CATALOGUE if i["label"] == "counterfeit" and i["image"].get("logo")
                             and not i["caught_by_minimal"]]
    assert len(counterfeit_logo_only) >= 2
    assert any("\u200b" in t for t in titles), "zero-width-space evasion"
    assert any("ΝΙΚΕ" in t and "NIKE" not in t for t in titles), "Greek-letter evasion"
    assert any(t.startswith("Nikon") for t in titles) and any("pineapple" in t for t in titles)


def test_geographical_indication_cases():
    gi = REGISTRY["geographical_indications"][0]
    stalls = {s["id"]: s for s in load_catalogue_data()["stalls"]}
    gi_items = [i for i in CATALOGUE if i.get("gi") == gi["id"]]
    authorized = [i for i in gi_items if i["seller"] in gi["authorized_producers"]]
    misuse = [i for i in gi_items if i["label"] == "counterfeit"]
    assert authorized and all(i["label"] == "lookalike" for i in authorized)
    assert misuse and all(i["seller"] not in gi["authorized_producers"] for i in misuse)
    assert all(not stalls[i["stall"]]["origin"].startswith("山东省烟台市") for i in misuse)
    assert any(not i["caught_by_minimal"] for i in misuse), "a GI misuse the mark-only baseline misses"


def test_sellers_match_their_exhibitor_or_stall():
    data = load_catalogue_data()
    companies = {e["id"]: e["company"] for e in data["exhibitors"]}
    vendors = {s["id"]: s["vendor"] for s in data["stalls"]}
    for item in by_site("fair"):
        assert item["seller"] == companies[item["exhibitor"]]
    for item in by_site("market"):
        assert item["seller"] == vendors[item["stall"]]
    for exhibitor_id in companies:
        assert any(i["exhibitor"] == exhibitor_id for i in by_site("fair"))


def test_exactly_one_gbk_page_and_its_text_fits_gbk():
    gbk = [i for i in CATALOGUE if i.get("encoding")]
    assert [i["encoding"] for i in gbk] == ["gbk"] and gbk[0]["site"] == "shop"
    gbk[0]["title"].encode("gbk")  # raises if the page could not carry its own title


def test_load_catalogue_returns_a_private_copy():
    load_catalogue()[0]["title"] = "changed"
    assert load_catalogue()[0]["title"] != "changed"


# -------------------------------------------------------------------------------------- registry
def test_registry_has_the_design_md_format():
    assert set(REGISTRY) == {"marks", "geographical_indications"}
    assert 7 <= len(REGISTRY["marks"]) <= 8
    for mark in REGISTRY["marks"]:
        assert set(mark) == {"id", "names", "reg_no", "owner", "nice_classes", "logos",
                             "authorized_sellers", "reference_prices"}
        assert re.fullmatch(r"[a-z0-9-]+", mark["id"])
        assert any(re.search(r"[A-Za-z]", n) for n in mark["names"]), f"{mark['id']}: a Latin name"
        assert any(re.search(r"[\u4e00-\u9fff]", n) for n in mark["names"]), f"{mark['id']}: a Chinese name"
        for price in mark["reference_prices"]:
            assert set(price) == {"product", "currency", "price"}
    assert {m["id"]: m["nice_classes"] for m in REGISTRY["marks"]}["apple"] == [9]
    gi = REGISTRY["geographical_indications"]
    assert [g["id"] for g in gi] == ["yantai-apple"] and gi[0]["name"] == "烟台苹果"
    assert set(gi[0]) == {"id", "name", "region", "products", "authorized_producers"}


def test_registry_logos_exist_and_opencv_sees_them_on_white():
    for mark in REGISTRY["marks"]:
        for logo in mark["logos"]:
            path = REGISTRY_FILE.parent / logo
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            assert image is not None and image.shape[:2] == (240, 240), path
            assert image[0, 0].tolist() == [255, 255, 255], f"{path}: background must read as white"
            assert (image < 200).any(), f"{path}: logo has no ink"


def test_registry_loads_with_the_project_loader():
    registry = pytest.importorskip("cluewatch.registry").load_registry(REGISTRY_FILE)
    assert len(registry.marks) == len(REGISTRY["marks"]) and len(registry.geographical_indications) == 1


# ----------------------------------------------------------------------------------------- pages
@pytest.fixture(scope="module")
def sites():
    data = load_catalogue_data()
    return {"shop": ShopSite(data), "fair": FairSite(data), "market": MarketSite(data)}


def get(site, path, **query):
    return site.handle(path, {k: str(v) for k, v in query.items()}, BASE)


def result_ids(response) -> list[str]:
    return re.findall(r'href="/item/(\d+)\.html"><img', response.body.decode("utf-8"))


def test_shop_search_filters_and_paginates(sites):
    shop = sites["shop"]
    everything = []
    for page in range(1, 10):
        response = get(shop, "/search", q="", page=page)
        ids = result_ids(response)
        if not ids:
            break
        assert len(ids) <= 8
        has_next = 'rel="next"' in response.body.decode()
        everything += ids
        if not has_next:
            break
    assert sorted(everything) == sorted(i["id"] for i in by_site("shop"))
    nike = result_ids(get(shop, "/search", q="nike"))
    assert nike and all("nike" in (shop.by_id[i]["title"] + shop.by_id[i]["description"]).lower() for i in nike)
    assert result_ids(get(shop, "/search", q="没有这个商品")) == []


def test_pages_escape_hostile_text(sites):
    hostile = next(i for i in by_site("shop") if "<" in i["title"])
    body = get(sites["shop"], f"/item/{hostile['id']}.html").body.decode()
    assert "<专业款>" not in body and "&lt;专业款&gt;" in body
    assert "<b>" not in body
    search = get(sites["shop"], "/search", q="<script>alert(1)</script>").body.decode()
    assert "<script>alert" not in search


def test_gbk_page_is_served_as_gbk(sites):
    item = next(i for i in CATALOGUE if i.get("encoding") == "gbk")
    response = get(sites["shop"], f"/item/{item['id']}.html")
    assert response.content_type == "text/html; charset=gbk"
    text = response.body.decode("gbk")
    assert '<meta charset="gbk">' in text and item["title"] in text
    with pytest.raises(UnicodeDecodeError):
        response.body.decode("utf-8")


def test_markup_styles_render_their_structured_data(sites):
    for item in by_site("shop"):
        body = get(sites["shop"], f"/item/{item['id']}.html").body.decode(item.get("encoding", "utf-8"))
        assert ("application/ld+json" in body) == (item["markup"] == "jsonld"), item["id"]
        assert ("itemscope" in body) == (item["markup"] == "microdata"), item["id"]
        assert ('property="og:title"' in body) == (item["markup"] == "opengraph"), item["id"]


def test_directory_sites_link_sellers_and_items(sites):
    fair, market = sites["fair"], sites["market"]
    assert 'rel="next"' in get(fair, "/exhibitors").body.decode()
    assert 'rel="next"' not in get(fair, "/exhibitors", page=2).body.decode()
    inline = next(i for i in by_site("fair") if i["markup"] == "inline")
    exhibitor_page = get(fair, f"/exhibitors/{inline['exhibitor']}").body.decode()
    assert f'data-product-id="{inline["id"]}"' in exhibitor_page
    assert get(fair, f"/exhibitors/{inline['exhibitor']}/products/{inline['id']}").status == 404
    goods = next(i for i in by_site("market") if i["stall"] == "M02")
    assert get(market, f"/stalls/M02/goods/{goods['id']}").status == 200
    assert get(market, f"/stalls/M01/goods/{goods['id']}").status == 404, "only under its own stall"
    stall_page = get(market, "/stalls/M01").body.decode()
    assert "临沂商城 水果批发区 C区1排5号" in stall_page


def test_common_routes(sites):
    for site in sites.values():
        assert get(site, "/robots.txt").body == b"User-agent: *\nAllow: /\n"
        assert get(site, "/no/such/page").status == 404
        assert get(site, "/img/does-not-exist.jpg").status == 404
        image = get(site, f"/img/{site.listings[0]['id']}.jpg")
        assert image.status == 200 and image.content_type == "image/jpeg" and image.body[:3] == b"\xff\xd8\xff"


def test_product_photos_are_deterministic_and_small():
    sizes = [len(product_photo_jpeg(item["id"], item["image"])) for item in CATALOGUE]
    item = next(i for i in CATALOGUE if i["image"].get("logo"))
    assert product_photo(item["id"], item["image"]).tobytes() == product_photo(item["id"], item["image"]).tobytes()
    assert sum(sizes) < 1_500_000 and max(sizes) < 40_000


def test_demo_sources_yaml_is_a_valid_sources_file():
    sites = DemoSites(shop="http://127.0.0.1:1111", fair="http://127.0.0.1:2222", market="http://127.0.0.1:3333")
    text = demo_sources_yaml(sites)
    raw = yaml.safe_load(text)["sources"]
    assert [s["id"] for s in raw] == ["demo-shop", "demo-fair", "demo-market"]
    assert all(s["allow_private_addresses"] and s["download_delay"] == 0 and s["allowed_domains"] == ["127.0.0.1"]
               for s in raw)
    assert "http://127.0.0.1:1111/search?q=" in raw[0]["start_urls"] and len(raw[0]["start_urls"]) >= 3
    sources = pytest.importorskip("cluewatch.sources").sources_from_text(text)
    assert [s.kind for s in sources] == ["ecommerce", "tradefair", "market"]


# --------------------------------------------------------------------------------- real servers
@pytest.mark.service
def test_servers_answer_over_http_and_keep_requested_ports():
    with serve_demo_sites() as sites:
        ports = sites.ports
        for base in (sites.shop, sites.fair, sites.market):
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
            with urllib.request.urlopen(base + "/robots.txt", timeout=5) as r:
                assert r.status == 200
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(base + "/nope", timeout=5)
            assert err.value.code == 404
        gbk = next(i for i in CATALOGUE if i.get("encoding") == "gbk")
        with urllib.request.urlopen(f"{sites.shop}/item/{gbk['id']}.html", timeout=5) as r:
            assert r.headers["Content-Type"] == "text/html; charset=gbk"
            assert gbk["title"] in r.read().decode("gbk")
    with serve_demo_sites(ports=ports) as again:
        assert again.ports == ports
