"""Scrapy settings for every cluewatch crawl: polite, identifiable, bounded.

Per-source values (download delay, concurrency, the database URL, an output feed) are layered on top
by crawlers.run from sources.yaml and the command line.
"""
BOT_NAME = "cluewatch"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# Say who we are and how to reach us; obey robots.txt. Enforcement crawling has to be above reproach.
USER_AGENT = "cluewatch/0.1 (+https://github.com/cluewatch/cluewatch)"
ROBOTSTXT_OBEY = True

# Politeness: few parallel requests per site, a delay that AutoThrottle stretches when a site slows.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
# Crawler processes per source (crawlers.run --processes): each shard follows the item pages whose
# URL hash falls to it, with the per-domain concurrency divided and the delay multiplied by this
# number, so the site sees the same politeness. 0 = auto = min(2, CPUs). Extraction is CPU-bound:
# 2 processes on 2 cores gave ~1.75x the throughput of one on the loopback benchmark.
CLUEWATCH_CRAWL_PROCESSES = 1
# Items processed in parallel per response. A product page yields one item; Scrapy's 100 spawns
# 100 asyncio tasks per response for nothing.
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY_JITTER = 0.5       # ±50 %, so requests do not tick like a metronome
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0   # Scrapy's 5 s default would make small crawls crawl
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Bounded work per request: a hung or huge response must not stall or swamp a crawl.
DOWNLOAD_TIMEOUT = 30               # a product page that takes longer is a failed page, retried
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024 # larger is not a product page (or is an attack): aborted
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Scrapy's retry has no backoff: crawlers.middlewares.BackoffRetryMiddleware waits
# base * 2**(attempt-1) (±50 % jitter, at most MAX; a Retry-After header wins, capped) per retry.
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 60.0

DOWNLOADER_MIDDLEWARES = {
    # After the offsite filter (50), before robots.txt (100): a refused host is not even asked for
    # its robots.txt. Redirects come back through here as new requests.
    "crawlers.middlewares.SSRFGuardMiddleware": 60,
    # Near the engine end: sees only final outcomes (after retries) to judge crawl completeness.
    "crawlers.middlewares.PageOutcomeMiddleware": 70,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    # Not configured (skipped) unless CLUEWATCH_DATABASE_URL is set.
    "crawlers.middlewares.RecrawlMiddleware": 560,
    # Off (COOKIES_ENABLED below). A component set to None here is also dropped from Scrapy's base
    # map by crawlers.run, so it is not even imported (this one imports tldextract: ~85 ms of start-up
    # per crawl process).
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
}
# "host:port" origins; when set, a source's allow_private_addresses covers only these.
CLUEWATCH_SSRF_ALLOWED_PRIVATE_ORIGINS = []
# The guard's rule again at connect time (DNS rebinding); crawlers.run sets the flag per source.
TWISTED_DNS_RESOLVER = "crawlers.middlewares.PublicOnlyResolver"
CLUEWATCH_ALLOW_PRIVATE_ADDRESSES = False
# Listing pages already stored are fetched with If-None-Match / If-Modified-Since (a 304 = seen,
# unchanged). False downloads everything again (to re-extract after an extractor change).
CLUEWATCH_CONDITIONAL_REQUESTS = True
REDIRECT_MAX_TIMES = 5
# A pagination trap (endless distinct "next" URLs) ends somewhere; real searches run to hundreds of
# pages (each page is one level deeper), so the limit is generous.
DEPTH_LIMIT = 1000

COOKIES_ENABLED = False           # listings are public; no sessions, no tracking
# No control ports: the telnet console and Scrapy 2.19's RemoteControl extension (an HTTP server
# that executes Python sent to it, token in a job file) have no place on a crawl worker.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Not even loaded (crawlers.run drops None components from the base maps): its module imports
# aiohttp's web server (~140 ms of start-up per crawl process).
EXTENSIONS = {"scrapy.extensions.remote_control.RemoteControl": None}
# REQUEST_FINGERPRINTER_IMPLEMENTATION is deliberately absent: Scrapy 2.19 no longer reads it (only
# the current fingerprinter exists), so setting it would only suggest a choice that is not there.

ITEM_PIPELINES = {
    "crawlers.pipelines.RequireFieldsPipeline": 100,
    "crawlers.pipelines.DropDuplicatesPipeline": 200,
    "crawlers.pipelines.ContentHashPipeline": 300,
    "crawlers.evidence.PageEvidencePipeline": 400,   # raw page → blob store (gzip, sha256)
    "crawlers.images.ListingImagesPipeline": 500,    # image_urls → blob store + thumbnails → images
    # Not configured (skipped) unless CLUEWATCH_DATABASE_URL is set.
    "crawlers.pipelines.PostgresStorePipeline": 900,
}
CLUEWATCH_DATABASE_URL = None
# "commit": when listings go into PostgreSQL, blobs (pages, images) are written without a per-blob
# fsync and the store syncs the blob filesystem once before each commit, so no committed row names a
# blob that a power loss could take. "each": fsync every blob as it is written. (crawlers.blobs)
CLUEWATCH_BLOB_DURABILITY = "commit"
# Pages and already-checked images up to this size are written to a local blob store on the reactor
# thread: there a hop to a worker thread costs more than the work (crawlers.blobs.inline_limit).
CLUEWATCH_INLINE_BLOB_BYTES = 64 * 1024
# The store commits every this many listings or this many seconds after the first uncommitted one
# (crawlers.pipelines.StoreWorker; one savepoint per listing, so one bad listing loses nothing else).
CLUEWATCH_STORE_BATCH_SIZE = 50
CLUEWATCH_STORE_BATCH_SECONDS = 0.2

# Images (crawlers.images): originals and thumbnails go content-addressed into the blob store
# (sinks.blobstore: $CLUEWATCH_HOME/blobs, or CLUEWATCH_BLOB_STORE=path|s3://bucket/prefix).
IMAGES_STORE = None                   # unused: the blob store is the store
IMAGES_THUMBS = {"256": (256, 256)}   # for the review UI
IMAGES_MIN_WIDTH = 32                 # icons, spacers and tracking pixels are not product images
IMAGES_MIN_HEIGHT = 32
IMAGES_MAX_BYTES = 8 * 1024 * 1024    # per-request download_maxsize for images
IMAGES_MAX_PIXELS = 40_000_000        # decompression-bomb guard (also Pillow's MAX_IMAGE_PIXELS)
IMAGES_ALLOW_REDIRECTS = True         # CDNs redirect; the SSRF guard re-checks each hop
IMAGES_DECODE_THREADS = 2             # concurrent decodes (memory bound: 40 Mpx RGBA ≈ 160 MB each)

# Scrapy's in-memory stats without the deprecation shim on every attribute access (crawlers/stats.py).
STATS_CLASS = "crawlers.stats.CrawlStatsCollector"

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
