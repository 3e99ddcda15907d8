"""Store crawled listings as versions: an unchanged recrawl adds nothing, a changed one a new version."""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from cluewatch.listing import content_sha256
from cluewatch.model import SourceConfig
import psycopg2
from psycopg2.extras import Json


# Server-side prepared statements, per connection: the crawl stores thousands of listings a minute
# and PostgreSQL would otherwise parse and plan both statements for every one of them.
_PREPARED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _prepared(cur, name: str, params: tuple) -> tuple[str, tuple]:
    """The EXECUTE of _STORE_STATEMENTS[name] (with %s parameters), PREPAREd once per connection, as
    (query, params) for cur.execute. PREPARE is not transactional (a rollback keeps it), so a
    connection prepares each statement once. (Session state: behind PgBouncer use session pooling;
    its transaction mode tracks only protocol-level prepared statements, not SQL PREPARE.)"""
    done = _PREPARED.setdefault(cur.connection, set())
    if name not in done:
        sql = _STORE_STATEMENTS[name]
        numbered = iter(range(1, sql.count("%s") + 1))
        cur.execute(f"PREPARE {name} AS " + re.sub(r"%s", lambda m: f"${next(numbered)}", sql))
        done.add(name)
    return f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params


class InvalidListing(ValueError):
    """A listing that cannot be stored as it is; the reason names the field."""


@dataclass(frozen=True)
class StoreResult:
    listing_id: int
    version_id: int
    new_version: bool


def upsert_source(conn, source: SourceConfig) -> None:
    config = {
        "start_urls": list(source.start_urls),
        "allowed_domains": list(source.allowed_domains),
        "schedule": source.schedule,
    }
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO sources (id, kind, platform, config) VALUES (%s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, platform = EXCLUDED.platform,
                   config = EXCLUDED.config, updated_at = now()""",
            (source.id, source.kind, source.platform, Json(config)),
        )


def _price(listing: dict, key: str) -> Decimal | None:
    value = listing.get(key)
    if value in (None, ""):
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise InvalidListing(f"{key} is not a number: {str(value)[:40]!r}") from None
    if not price.is_finite() or price < 0 or price >= Decimal("1e12"):
        raise InvalidListing(f"{key} out of range: {str(value)[:40]!r}")
    return price


def _captured_at(listing: dict) -> datetime:
    value = listing.get("captured_at")
    if not value:
        return datetime.now(timezone.utc)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidListing(f"captured_at is not RFC 3339: {str(value)[:40]!r}") from None


_IMAGE_COLUMNS = ("sha256", "path", "thumb_path", "width", "height", "bytes", "error")


def _page_evidence(listing: dict) -> tuple:
    """(page_sha256, page_path, page_bytes) of the archived page (crawlers.evidence), or Nones."""
    sha, path, size = (listing.get(k) for k in ("page_sha256", "page_path", "page_bytes"))
    if sha is not None and (len(str(sha)) != 64 or not path):
        raise InvalidListing(f"page_sha256 is not a sha256 with a page_path: {str(sha)[:70]!r}")
    return (sha, path, int(size) if size is not None else None) if sha else (None, None, None)


def _image_results(listing: dict) -> dict[int, dict]:
    """Per-image results (crawlers.images) by position in image_urls; a result is used only for the
    URL at its position."""
    urls = listing.get("image_urls") or []
    results = {}
    for position, image in enumerate(listing.get("images") or []):
        if isinstance(image, dict) and position < len(urls) and image.get("url") == urls[position]:
            image = dict(image)
            if image.get("error") is not None:
                image["error"] = str(image["error"])[:1000]
            results[position] = image
    return results


def _fill_missing_evidence(cur, version_id: int, page: tuple, images: dict[int, dict]) -> None:
    """An unchanged recrawl completes evidence the stored version lacks (a page archived before
    archiving existed, an image that failed last time); it never replaces evidence already kept."""
    if page[0]:
        cur.execute(
            """UPDATE listing_versions SET page_sha256 = %s, page_path = %s, page_bytes = %s
               WHERE id = %s AND page_path IS NULL""",
            (*page, version_id),
        )
    for position, image in images.items():
        if image.get("path"):
            cur.execute(
                f"""UPDATE listing_images SET {", ".join(f"{c} = %s" for c in _IMAGE_COLUMNS)}
                    WHERE listing_version_id = %s AND position = %s AND path IS NULL""",
                (*(image.get(k) for k in _IMAGE_COLUMNS), version_id, position),
            )


# store_listing's two statements, PREPAREd once per connection (see _prepared).
_STORE_STATEMENTS = {
    "cluewatch_store_listing": """WITH source AS (
                   INSERT INTO sources (id, kind, platform) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING)
               INSERT INTO listings (source_id, external_id, url, etag, last_modified)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (source_id, external_id) DO UPDATE
                   SET url = EXCLUDED.url, last_seen_at = now(), removed_at = NULL,
                       -- a page served without validators keeps the ones stored before
                       etag = CASE WHEN EXCLUDED.etag IS NULL AND EXCLUDED.last_modified IS NULL
                                   THEN listings.etag ELSE EXCLUDED.etag END,
                       last_modified = CASE WHEN EXCLUDED.etag IS NULL AND EXCLUDED.last_modified IS NULL
                                            THEN listings.last_modified ELSE EXCLUDED.last_modified END""",
    "cluewatch_store_version": """WITH listing AS (SELECT id FROM listings WHERE source_id = %s AND external_id = %s),
               version AS (
                   INSERT INTO listing_versions (listing_id, content_sha256, platform, kind, url, title,
                       description, brand, price_low, price_high, currency, seller_name, seller_id,
                       seller_url, seller_location, category, captured_at, page_sha256, page_path, page_bytes)
                   VALUES ((SELECT id FROM listing), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                           %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (listing_id, content_sha256) DO NOTHING
                   RETURNING id),
               image AS (
                   INSERT INTO listing_images (listing_version_id, position, url, sha256, path,
                       thumb_path, width, height, bytes, error)
                   SELECT version.id, i.position - 1, i.url, i.sha256, i.path, i.thumb_path, i.width,
                          i.height, i.bytes, i.error
                   FROM version, unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[],
                                        %s::int[], %s::int[], %s::text[])
                        WITH ORDINALITY AS i(url, sha256, path, thumb_path, width, height, bytes, error, position)),
               current AS (
                   UPDATE listings SET current_version_id = version.id FROM version, listing
                   WHERE listings.id = listing.id)
               SELECT listing.id, version.id FROM listing LEFT JOIN version ON true""",
}


def prepare_store(conn) -> None:
    """PREPARE store_listing's statements on `conn` now (store_listing would on first use), e.g.
    before a transaction where a failed PREPARE must not be mistaken for a failed listing."""
    with conn.cursor() as cur:
        for name in _STORE_STATEMENTS:
            _prepared(cur, name, ())


def store_listing(conn, listing: dict, *, preamble: str = "") -> StoreResult:
    """Upsert one listing and its content version inside the caller's transaction.

    The page's HTTP validators (page_etag/page_last_modified), when it was served with any, are kept
    on the listing for the next crawl's conditional request. A new version also records the
    archived page (page_sha256/page_path/page_bytes) and, per image
    in image_urls order, the stored image (sha256, path, thumb_path, width, height, bytes, error)
    when the listing carries them (crawlers.evidence, crawlers.images); both are optional.
    `preamble` (SQL without parameters, e.g. the crawl store's SAVEPOINT) is sent in the same round
    trip, before the listing's statements. InvalidListing means nothing was sent; any other error
    came after the preamble was sent.
    """
    for key in ("source", "external_id", "url"):
        if not listing.get(key):
            raise InvalidListing(f"missing {key}")
    currency = listing.get("currency")
    if currency is not None and (len(currency) != 3 or not currency.isalpha()):
        raise InvalidListing(f"currency is not an ISO 4217 code: {currency[:10]!r}")
    price_low, price_high = _price(listing, "price_low"), _price(listing, "price_high")
    captured_at = _captured_at(listing)
    digest = listing.get("content_sha256") or content_sha256(listing)
    page, images = _page_evidence(listing), _image_results(listing)

    urls = list(listing.get("image_urls") or [])
    image_rows = [images.get(position, {}) for position in range(len(urls))]
    source_id, external_id = listing["source"], str(listing["external_id"])
    with conn.cursor() as cur:
        # One round trip for a new version (a crawl stores thousands a minute), two statements: the
        # source row (normally registered by the crawl task; this keeps a direct store from
        # failing) with the listing, then the version with its images and the listing's current
        # version. The second finds the listing by its key: it runs after the first, so it sees it.
        upsert = _prepared(
            cur, "cluewatch_store_listing",
            (source_id, listing.get("kind") or "ecommerce", listing.get("platform") or "",
             source_id, external_id, listing["url"],
             listing.get("page_etag"), listing.get("page_last_modified")),
        )
        version = _prepared(
            cur, "cluewatch_store_version",
            (source_id, external_id, digest, listing.get("platform"), listing.get("kind"), listing["url"],
             listing.get("title"), listing.get("description"), listing.get("brand"),
             price_low, price_high, currency, listing.get("seller_name"), listing.get("seller_id"),
             listing.get("seller_url"), listing.get("seller_location"), listing.get("category"),
             captured_at, *page, urls,
             *([image.get(k) for image in image_rows] for k in _IMAGE_COLUMNS)),
        )
        try:  # adapted here, so a value psycopg2 cannot send fails before anything is sent
            query = cur.mogrify(f"{upsert[0]}; {version[0]}", upsert[1] + version[1])
        except (psycopg2.ProgrammingError, TypeError, ValueError) as e:
            raise InvalidListing(f"a field cannot be stored: {e}".strip()) from e
        cur.execute(preamble.encode() + b"; " + query if preamble else query)
        listing_id, version_id = cur.fetchone()
        new_version = version_id is not None
        if not new_version:
            cur.execute(
                "SELECT id FROM listing_versions WHERE listing_id = %s AND content_sha256 = %s",
                (listing_id, digest),
            )
            version_id = cur.fetchone()[0]
            _fill_missing_evidence(cur, version_id, page, images)
            # A recrawl may also revert to an earlier content: the current version follows the page.
            cur.execute(
                "UPDATE listings SET current_version_id = %s WHERE id = %s AND current_version_id IS DISTINCT FROM %s",
                (version_id, listing_id, version_id),
            )
    return StoreResult(listing_id, version_id, new_version)
