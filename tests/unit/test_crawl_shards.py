"""crawlers.run --shard / --processes: which shard owns which item, and merging the shards' stats."""
from __future__ import annotations

import pytest

from crawlers.run import _processes, _without_options, merge_summaries
from crawlers.spiders.base import parse_shard, shard_of


def test_every_url_falls_to_exactly_one_shard_and_spreads():
    urls = [f"http://shop.example/item/{i}.html" for i in range(2000)]
    for n in (1, 2, 3):
        owners = [shard_of(u, n) for u in urls]
        assert set(owners) == set(range(n))
        assert min(owners.count(k) for k in range(n)) > len(urls) / n * 0.8
    assert shard_of(urls[7], 2) == shard_of(urls[7], 2)  # stable (not Python's salted hash)
    assert shard_of("http://shop.example/item/1.html", 2) == 0  # stable across processes / runs


@pytest.mark.parametrize("text, want", [("0/1", (0, 1)), ("1/2", (1, 2)), ((2, 3), (2, 3))])
def test_parse_shard(text, want):
    assert parse_shard(text) == want


@pytest.mark.parametrize("text", ["2/2", "-1/2", "0/0", "1", "a/b"])
def test_parse_shard_rejects(text):
    with pytest.raises(ValueError):
        parse_shard(text)


def test_processes_auto_is_at_most_two():
    assert 1 <= _processes("auto") <= 2 and _processes(0) == _processes("auto")
    assert _processes(3) == 3 and _processes("1") == 1


def test_shard_options_are_not_passed_on():
    argv = ["--sources", "s.yaml", "--processes", "2", "--source", "x", "--output=o.jsonl", "--set", "A=1"]
    assert _without_options(argv, ("--processes", "--output")) == ["--sources", "s.yaml", "--source", "x",
                                                                   "--set", "A=1"]


def _summary(**kw):
    base = {"source": "s", "items_scraped": 3, "stored_new_version": 2, "errors": 0, "pages": 5,
            "finish_reason": "finished", "complete": True, "page_failures": {}, "dropped_reasons": {}}
    return {**base, **kw}


def test_merged_stats_sum_and_are_complete_only_if_every_shard_is():
    merged = merge_summaries([_summary(), _summary(items_scraped=4, dropped_reasons={"duplicate": 1})])
    assert merged["items_scraped"] == 7 and merged["pages"] == 10 and merged["stored_new_version"] == 4
    assert merged["complete"] is True and merged["finish_reason"] == "finished" and merged["shards"] == 2
    assert merged["dropped_reasons"] == {"duplicate": 1} and merged["source"] == "s"

    incomplete = merge_summaries([_summary(), _summary(complete=False, page_failures={"item": 1})])
    assert incomplete["complete"] is False and incomplete["page_failures"] == {"item": 1}
    assert merge_summaries([_summary(), _summary(finish_reason="shutdown", complete=False)])["finish_reason"] == "shutdown"
    # A shard that died without printing its statistics: the crawl is not complete.
    lost = merge_summaries([_summary(), None])
    assert lost["complete"] is False and lost["finish_reason"] == "shard_failed"
