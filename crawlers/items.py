"""The one item every spider yields, whatever kind of source: cluewatch's shared listing schema."""
import scrapy

from cluewatch.model import LISTING_FIELDS

# Built from LISTING_FIELDS so the item, the store and the detectors can never disagree on a name.
Listing = type("Listing", (scrapy.Item,), {
    "__doc__": "One crawled listing; fields are cluewatch.model.LISTING_FIELDS (None where unknown).",
    "__module__": __name__,
    **{name: scrapy.Field() for name in LISTING_FIELDS},
})
