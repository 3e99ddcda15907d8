"""Demo fixture websites (web shop, trade-fair catalogue, market directory) with a labelled catalogue
and a demo registry, served on 127.0.0.1 for the demo and the tests.

    with serve_demo_sites() as sites:
        sites.shop, sites.fair, sites.market   # base URLs
"""
from cluewatch.demo_sites.catalogue import (CATALOGUE_FILE, REGISTRY_FILE, load_catalogue,
                                            load_catalogue_data, minimal_flags, price_range)
from cluewatch.demo_sites.server import DemoSites, serve_demo_sites
from cluewatch.demo_sites.sources import demo_sources_yaml

__all__ = [
    "CATALOGUE_FILE", "REGISTRY_FILE", "DemoSites", "demo_sources_yaml", "load_catalogue",
    "load_catalogue_data", "minimal_flags", "price_range", "serve_demo_sites",
]
