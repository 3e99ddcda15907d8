"""The one item every spider yields, whatever kind of source: cluewatch's shared listing schema."""
import scrapy

from cluewatch.model import LISTING_FIELDS

# Evidence of how the listing was fetched; not content (the content hash ignores them), never
# compared across recrawls. `images`: per-image results in image_urls order (crawlers.images);
# page_sha256/path/bytes: the archived raw page (crawlers.evidence); page_etag/page_last_modified:
# the page's HTTP validators as served (the spider), stored with the listing for the next crawl's
# conditional request (crawlers.middlewares.RecrawlMiddleware).
EVIDENCE_FIELDS = ("images", "page_sha256", "page_path", "page_bytes", "page_etag", "page_last_modified")
# Transient: the raw page body, from the spider to crawlers.evidence, which removes it from the item.
TRANSIENT_FIELDS = ("page_body",)


class PageBody(bytes):
    """A page's raw bytes with a short repr, so an item logged before the evidence pipeline removes
    them (e.g. "Dropped: …" messages) shows a size, not the page."""

    def __repr__(self) -> str:
        return f"<page body: {len(self)} bytes>"


# Built from LISTING_FIELDS so the item, the store and the detectors can never disagree on a name.
Listing = type("Listing", (scrapy.Item,), {
    "__doc__": "One crawled listing; fields are cluewatch.model.LISTING_FIELDS (None where unknown) "
               "plus EVIDENCE_FIELDS set by the pipelines.",
    "__module__": __name__,
    **{name: scrapy.Field() for name in LISTING_FIELDS + EVIDENCE_FIELDS},
    # Never exported as bytes even if a custom pipeline order left it in the item.
    "page_body": scrapy.Field(serializer=lambda body: None),
})
