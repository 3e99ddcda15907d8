"""A fast fixture shop for benchmarks: asyncio HTTP/1.1 with keep-alive, pages rendered once in
memory, so the server is not what limits the crawl. Loopback only.

    /list?page=N   50 product links per page, rel=next until the last page
    /item/N.html   a product page (~8 KB) with schema.org JSON-LD, like a real shop's
    /img/N.jpg     a small JPEG (a pool of distinct images, so content-addressing has work to do)
    /robots.txt    allows everything
"""
from __future__ import annotations

import asyncio
import io
import json
import random
from functools import lru_cache

PER_PAGE = 50
IMAGE_POOL = 64


def list_page(page: int, pages: int, per_page: int = PER_PAGE) -> bytes:
    first = (page - 1) * per_page
    links = "\n".join(f'<li><a class="item" href="/item/{i}.html">商品 {i}</a></li>'
                      for i in range(first, first + per_page))
    nxt = f'<a rel="next" href="/list?page={page + 1}">下一页</a>' if page < pages else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>列表 {page}</title></head>"
            f"<body><ul>{links}</ul>{nxt}</body></html>").encode()


def item_page(i: int) -> bytes:
    rng = random.Random(i)
    title = f"{rng.choice(['运动鞋', '汽水', '奶糖', '方便面', 'T恤'])} 型号{i} {rng.choice(['正品', '特价', '包邮'])}"
    price = f"{rng.uniform(5, 900):.2f}"
    ld = {"@context": "https://schema.org", "@type": "Product", "name": title, "sku": str(i),
          "image": f"/img/{i}.jpg", "brand": {"@type": "Brand", "name": "无品牌"},
          "offers": {"@type": "Offer", "price": price, "priceCurrency": "CNY",
                     "seller": {"@type": "Organization", "name": f"店铺{i % 97}"}}}
    filler = "".join(f"<p>商品详情 第{k}段：材质、尺寸、产地、售后说明。</p>" for k in range(60))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<script type='application/ld+json'>{json.dumps(ld, ensure_ascii=False)}</script></head>"
            f"<body><h1>{title}</h1><span class='price'>¥{price}</span>"
            f"<img src='/img/{i}.jpg' alt=''>{filler}</body></html>").encode()


@lru_cache(maxsize=IMAGE_POOL)
def image(n: int) -> bytes:
    from PIL import Image, ImageDraw

    rng = random.Random(n)
    img = Image.new("RGB", (320, 320), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.randrange(300), rng.randrange(300)
        draw.rectangle([x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 120)],
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


@lru_cache(maxsize=None)
def route(path: str, pages: int) -> tuple[int, str, bytes]:
    if path.startswith("/list?page="):
        page = int(path.split("=", 1)[1])
        if 1 <= page <= pages:
            return 200, "text/html; charset=utf-8", list_page(page, pages)
    elif path.startswith("/item/") and path.endswith(".html"):
        i = int(path[6:-5])
        if 0 <= i < pages * PER_PAGE:
            return 200, "text/html; charset=utf-8", item_page(i)
    elif path.startswith("/img/") and path.endswith(".jpg"):
        return 200, "image/jpeg", image(int(path[5:-4]) % IMAGE_POOL)
    elif path == "/robots.txt":
        return 200, "text/plain", b"User-agent: *\nAllow: /\n"
    return 404, "text/plain", b"not found"


async def _handle(reader, writer, pages: int) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1")
            status, ctype, body = route(path, pages)
            reason = b"OK" if status == 200 else b"Not Found"
            writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                         b"Connection: keep-alive\r\n\r\n" % (status, reason, ctype.encode(), len(body)) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
        pass
    finally:
        writer.close()


def serve(port_queue, pages: int) -> None:
    """Run in a child process; puts the bound port on `port_queue`, serves until terminated."""
    async def main():
        server = await asyncio.start_server(lambda r, w: _handle(r, w, pages), "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())
