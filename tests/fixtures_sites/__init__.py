"""Hostile fixture web sites for crawler tests, served on 127.0.0.1 (see hostile.py)."""
from tests.fixtures_sites.hostile import HostileSite, serve_hostile_site, sources_yaml

__all__ = ["HostileSite", "serve_hostile_site", "sources_yaml"]
