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
DOWNLOAD_DELAY_JITTER = 0.5       # ±50 %, so requests do not tick like a metronome
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0   # Scrapy's 5 s default would make small crawls crawl
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Bounded work per request: a hung or huge response must not stall or swamp a crawl.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
DEPTH_LIMIT = 50                  # a pagination loop on a broken site ends somewhere

COOKIES_ENABLED = False           # listings are public; no sessions, no tracking
# No control ports: the telnet console and Scrapy 2.19's RemoteControl extension (an HTTP server
# that executes Python sent to it, token in a job file) have no place on a crawl worker.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# REQUEST_FINGERPRINTER_IMPLEMENTATION is deliberately absent: Scrapy 2.19 no longer reads it (only
# the current fingerprinter exists), so setting it would only suggest a choice that is not there.

ITEM_PIPELINES = {
    "crawlers.pipelines.RequireFieldsPipeline": 100,
    "crawlers.pipelines.DropDuplicatesPipeline": 200,
    "crawlers.pipelines.ContentHashPipeline": 300,
    # Not configured (skipped) unless CLUEWATCH_DATABASE_URL is set.
    "crawlers.pipelines.PostgresStorePipeline": 900,
}
CLUEWATCH_DATABASE_URL = None

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
