"""`python -m cluewatch.demo_sites serve` runs the fixture sites until Ctrl-C (to browse or crawl them
by hand); `python -m cluewatch.demo_sites logos` redraws the registry logos."""
from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluewatch.demo_sites")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the demo sites on 127.0.0.1 until interrupted")
    serve.add_argument("--sources", help="also write a sources.yaml for them to this file")
    sub.add_parser("logos", help="redraw logos/*.png from artwork.py")
    args = parser.parse_args(argv)

    if args.command == "logos":
        from cluewatch.demo_sites.artwork import write_logos

        for path in write_logos():
            print(path)
        return 0

    from cluewatch.demo_sites import demo_sources_yaml, serve_demo_sites

    with serve_demo_sites() as sites:
        print(f"shop   {sites.shop}/search?q=\nfair   {sites.fair}/exhibitors\nmarket {sites.market}/stalls", flush=True)
        if args.sources:
            with open(args.sources, "w", encoding="utf-8") as fh:
                fh.write(demo_sources_yaml(sites))
            print(f"sources: {args.sources}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
