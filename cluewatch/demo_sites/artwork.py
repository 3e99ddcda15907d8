"""Pictures for the demo sites: the registry's stand-in logos and seeded product photos.

Everything is drawn with Pillow from a recipe, so the same catalogue always yields the same pixels
(no binary fixtures to keep in sync). Logos are committed as PNG files because the registry points at
them; regenerate them with `python -m cluewatch.demo_sites logos`.

Logos are RGBA with a transparent background whose colour is white: OpenCV's `imread` (which drops
alpha) sees a white background, while compositing uses the alpha so the logo looks printed on the
product rather than stuck on as a white sticker.
"""
from __future__ import annotations

import io
import math
import random
import zlib
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

LOGO_DIR = Path(__file__).resolve().parent / "logos"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
LOGO_SIZE = 240
PHOTO_SIZE = 360
_CLEAR = (255, 255, 255, 0)


def _font(size: int, bold: bool = True) -> ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:  # another machine without DejaVu: still draws, just plainer
        return ImageFont.load_default(size)


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _centered_text(draw: ImageDraw.ImageDraw, cx: float, cy: float, text: str, size: int, fill) -> None:
    font = _font(size)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    draw.text((cx - (x1 - x0) / 2 - x0, cy - (y1 - y0) / 2 - y0), text, font=font, fill=fill)


# ----------------------------------------------------------------------------------------- logos
def _logo_nike(d: ImageDraw.ImageDraw) -> None:
    # A swoosh-like tapered arc above the word: a curve with a thick heel and a thin tip.
    upper, lower = [], []
    for i in range(41):
        t = i / 40
        x = 30 + 190 * t
        base = 120 - 70 * t ** 1.6 + 40 * (1 - t) ** 3
        thickness = 34 * (1 - t) ** 0.8 + 2
        upper.append((x, base - thickness))
        lower.append((x, base))
    d.polygon(upper + lower[::-1], fill=(0, 0, 0, 255))
    _centered_text(d, 120, 190, "NIKE", 44, (0, 0, 0, 255))


def _logo_adidas(d: ImageDraw.ImageDraw) -> None:
    for i, height in enumerate((50, 85, 120)):  # three slanted bars rising to the right
        x = 45 + i * 52
        d.polygon([(x, 150), (x + 38, 150), (x + 38 + height * 0.45, 150 - height),
                   (x + height * 0.45, 150 - height)], fill=(0, 0, 0, 255))
    _centered_text(d, 120, 188, "adidas", 40, (0, 0, 0, 255))


def _logo_sprite(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((20, 20, 220, 220), fill=(0, 150, 70, 255))
    d.polygon([(20, 150), (220, 70), (220, 105), (20, 185)], fill=(250, 210, 0, 255))
    _centered_text(d, 120, 115, "Sprite", 46, (255, 255, 255, 255))


def _logo_oreo(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((15, 15, 225, 225), fill=(16, 40, 120, 255))
    d.ellipse((32, 32, 208, 208), outline=(255, 255, 255, 255), width=5)
    for i in range(16):  # the embossed rim pattern
        a = 2 * math.pi * i / 16
        x, y = 120 + 96 * math.cos(a), 120 + 96 * math.sin(a)
        d.ellipse((x - 5, y - 5, x + 5, y + 5), fill=(255, 255, 255, 255))
    _centered_text(d, 120, 120, "OREO", 50, (255, 255, 255, 255))


def _logo_master_kong(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((15, 15, 225, 225), radius=30, fill=(200, 20, 30, 255))
    d.ellipse((70, 70, 170, 170), fill=(255, 240, 220, 255))           # face
    d.rectangle((80, 40, 160, 78), fill=(255, 255, 255, 255))           # chef's hat
    for cx in (88, 120, 152):
        d.ellipse((cx - 20, 22, cx + 20, 62), fill=(255, 255, 255, 255))
    d.arc((95, 105, 145, 150), 20, 160, fill=(120, 40, 20, 255), width=5)  # smile
    _centered_text(d, 120, 198, "MK", 34, (255, 255, 255, 255))


def _logo_white_rabbit(d: ImageDraw.ImageDraw) -> None:
    d.rounded_rectangle((10, 10, 230, 230), radius=24, fill=(20, 70, 160, 255))
    white = (255, 255, 255, 255)
    d.ellipse((70, 95, 170, 165), fill=white)    # body
    d.ellipse((135, 70, 185, 115), fill=white)   # head
    d.ellipse((140, 20, 156, 85), fill=white)    # ears
    d.ellipse((160, 22, 176, 85), fill=white)
    d.ellipse((166, 85, 174, 93), fill=(220, 30, 40, 255))  # eye
    _centered_text(d, 120, 195, "WHITE RABBIT", 24, (230, 30, 40, 255))


def _logo_li_ning(d: ImageDraw.ImageDraw) -> None:
    red = (215, 25, 32, 255)
    # A bold flag-like "L" sweep.
    d.polygon([(40, 40), (85, 40), (85, 115), (200, 95), (190, 140), (40, 150)], fill=red)
    d.polygon([(110, 60), (205, 40), (200, 70), (110, 88)], fill=red)
    _centered_text(d, 120, 192, "LI-NING", 38, red)


def _logo_apple(d: ImageDraw.ImageDraw) -> None:
    black = (0, 0, 0, 255)
    d.ellipse((40, 70, 130, 200), fill=black)
    d.ellipse((100, 70, 190, 200), fill=black)
    d.ellipse((80, 60, 150, 110), fill=black)
    d.ellipse((160, 100, 215, 160), fill=_CLEAR)        # the bite
    d.polygon([(115, 58), (140, 18), (160, 14), (135, 55)], fill=black)  # leaf


_LOGOS = {
    "nike": _logo_nike, "adidas": _logo_adidas, "sprite": _logo_sprite, "oreo": _logo_oreo,
    "master-kong": _logo_master_kong, "white-rabbit": _logo_white_rabbit,
    "li-ning": _logo_li_ning, "apple": _logo_apple,
}


def draw_logo(mark_id: str) -> Image.Image:
    """The stand-in logo of a registry mark, RGBA on a transparent white background."""
    image = Image.new("RGBA", (LOGO_SIZE, LOGO_SIZE), _CLEAR)
    _LOGOS[mark_id](ImageDraw.Draw(image))
    return image


def logo_path(mark_id: str) -> Path:
    return LOGO_DIR / f"{mark_id}.png"


def write_logos(directory: Path = LOGO_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for mark_id in _LOGOS:
        path = directory / f"{mark_id}.png"
        draw_logo(mark_id).save(path, optimize=True)
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------- product photos
def _shade(rgb, factor: float):
    return tuple(max(0, min(255, int(c * factor))) for c in rgb)


def _draw_product(d: ImageDraw.ImageDraw, shape: str, rgb, rng: random.Random) -> tuple[int, int, int, int]:
    """Draw one product shape; return the box where a printed logo or label sits."""
    dark, light = _shade(rgb, 0.7), _shade(rgb, 1.15)
    if shape == "shoe":
        d.polygon([(50, 250), (60, 170), (130, 150), (190, 190), (300, 215), (315, 255)], fill=rgb,
                  outline=dark)
        d.rectangle((45, 250, 320, 272), fill=(245, 245, 245), outline=(90, 90, 90))
        for i in range(5):
            d.line((120 + i * 14, 160 + i * 6, 140 + i * 14, 175 + i * 6), fill=dark, width=3)
        return (135, 185, 285, 245)
    if shape == "pants":
        d.polygon([(110, 60), (250, 60), (265, 320), (200, 320), (180, 140), (160, 320), (95, 320)],
                  fill=rgb, outline=dark)
        for x in (100, 250):
            d.line((x + 8, 70, x + 10, 310), fill=(255, 255, 255), width=6)
        return (190, 80, 250, 140)
    if shape == "can":
        d.rounded_rectangle((120, 60, 240, 310), radius=18, fill=rgb, outline=dark, width=2)
        d.ellipse((120, 48, 240, 76), fill=light, outline=dark)
        return (125, 120, 235, 240)
    if shape == "bottle":
        d.rectangle((160, 40, 200, 90), fill=dark)
        d.rounded_rectangle((125, 85, 235, 315), radius=30, fill=rgb, outline=dark, width=2)
        d.rectangle((125, 160, 235, 240), fill=light)
        return (130, 160, 230, 240)
    if shape == "cookie":
        d.rounded_rectangle((50, 90, 310, 290), radius=12, fill=rgb, outline=dark, width=2)
        for i in range(3):
            x = 80 + i * 45
            d.ellipse((x, 200, x + 60, 260), fill=(40, 25, 20), outline=(230, 230, 230), width=4)
        return (170, 105, 300, 215)
    if shape == "phone":
        d.rounded_rectangle((120, 40, 240, 320), radius=22, fill=rgb, outline=dark, width=3)
        d.rounded_rectangle((132, 60, 228, 300), radius=12, fill=light)
        d.ellipse((140, 66, 170, 96), fill=dark)
        return (140, 150, 220, 250)
    if shape == "earbuds":
        d.rounded_rectangle((100, 170, 260, 280), radius=40, fill=rgb, outline=(120, 120, 120), width=3)
        for x in (130, 200):
            d.ellipse((x, 80, x + 40, 120), fill=rgb, outline=(120, 120, 120), width=3)
            d.rectangle((x + 12, 115, x + 28, 165), fill=rgb, outline=(120, 120, 120))
        return (120, 195, 240, 260)
    if shape == "shirt":
        d.polygon([(110, 60), (150, 50), (180, 75), (210, 50), (250, 60), (300, 120), (265, 145),
                   (250, 125), (250, 310), (110, 310), (110, 125), (95, 145), (60, 120)],
                  fill=rgb, outline=dark)
        return (135, 110, 225, 200)
    if shape == "cup":
        d.polygon([(115, 90), (245, 90), (230, 300), (130, 300)], fill=rgb, outline=dark)
        d.arc((225, 140, 290, 230), -90, 90, fill=dark, width=10)
        return (135, 140, 225, 240)
    if shape == "fruit":
        for i in range(rng.randint(3, 5)):
            x, y = rng.randint(60, 210), rng.randint(110, 210)
            d.ellipse((x, y, x + 95, y + 90), fill=_shade(rgb, rng.uniform(0.85, 1.1)), outline=dark)
            d.line((x + 47, y + 5, x + 52, y - 12), fill=(90, 60, 20), width=4)
        return (110, 140, 250, 260)
    if shape == "bag":
        d.rounded_rectangle((100, 70, 260, 320), radius=35, fill=rgb, outline=dark, width=3)
        d.rounded_rectangle((125, 200, 235, 290), radius=15, fill=dark)
        d.line((140, 70, 140, 40, 220, 40, 220, 70), fill=dark, width=6)
        return (125, 100, 235, 190)
    if shape == "camera":
        d.rounded_rectangle((60, 120, 300, 280), radius=16, fill=rgb)
        d.rectangle((130, 95, 220, 125), fill=rgb)
        d.ellipse((130, 140, 250, 260), fill=(60, 60, 60), outline=(200, 200, 200), width=5)
        d.ellipse((165, 175, 215, 225), fill=(20, 40, 80))
        return (70, 130, 140, 170)
    if shape == "blocks":
        colours = [(231, 76, 60), (52, 152, 219), (241, 196, 15), (46, 204, 113), rgb]
        for row in range(3):
            for col in range(3 - row):
                x, y = 80 + col * 70 + row * 35, 250 - row * 55
                d.rectangle((x, y, x + 66, y + 52), fill=rng.choice(colours), outline=(40, 40, 40))
        return (80, 140, 280, 300)
    if shape == "candy":
        for i in range(rng.randint(5, 8)):
            x, y = rng.randint(60, 240), rng.randint(90, 250)
            d.rounded_rectangle((x, y, x + 70, y + 30), radius=12, fill=rgb, outline=(150, 150, 150))
            d.polygon([(x, y + 15), (x - 15, y), (x - 15, y + 30)], fill=_shade(rgb, 0.9))
            d.polygon([(x + 70, y + 15), (x + 85, y), (x + 85, y + 30)], fill=_shade(rgb, 0.9))
        return (100, 130, 260, 230)
    if shape == "socks":
        for x in (90, 190):
            d.polygon([(x, 60), (x + 60, 60), (x + 60, 230), (x + 20, 300), (x - 30, 290), (x, 220)],
                      fill=rgb, outline=(120, 120, 120))
        return (85, 90, 255, 180)
    if shape == "ornament":
        for i in range(6):
            x, y = 70 + (i % 3) * 80, 100 + (i // 3) * 100
            d.ellipse((x, y, x + 70, y + 70), fill=_shade(rgb, 0.8 + 0.1 * (i % 3)), outline=dark)
            d.rectangle((x + 28, y - 10, x + 42, y + 2), fill=(212, 175, 55))
        return (70, 100, 290, 270)
    if shape == "car":
        d.rounded_rectangle((50, 170, 310, 250), radius=20, fill=rgb, outline=dark, width=2)
        d.polygon([(110, 170), (140, 120), (230, 120), (260, 170)], fill=light, outline=dark)
        for x in (80, 230):
            d.ellipse((x, 225, x + 55, 280), fill=(30, 30, 30))
        return (120, 180, 240, 240)
    if shape == "plush":
        d.ellipse((100, 150, 260, 310), fill=rgb, outline=(170, 170, 170), width=2)
        d.ellipse((120, 70, 240, 180), fill=rgb, outline=(170, 170, 170), width=2)
        d.ellipse((135, 10, 165, 100), fill=rgb, outline=(170, 170, 170), width=2)
        d.ellipse((195, 10, 225, 100), fill=rgb, outline=(170, 170, 170), width=2)
        d.ellipse((150, 115, 160, 125), fill=(200, 40, 60))
        d.ellipse((200, 115, 210, 125), fill=(200, 40, 60))
        return (130, 190, 230, 280)
    # box, generic and anything unknown: a carton with a label panel
    d.rounded_rectangle((70, 80, 290, 300), radius=10, fill=rgb, outline=dark, width=3)
    d.polygon([(70, 80), (110, 50), (330, 50), (290, 80)], fill=light, outline=dark)
    return (90, 120, 270, 260)


def _composite_logo(photo: Image.Image, mark_id: str, box, rng: random.Random) -> None:
    """Print a registry logo on the product: scaled to the box, rotated a little, alpha-blended."""
    logo = Image.open(logo_path(mark_id)).convert("RGBA")
    # At least ~40 % of the photo wide: a logo a detector cannot resolve would make a useless fixture.
    width = int(max(box[2] - box[0], 150) * rng.uniform(0.8, 1.0))
    logo = logo.resize((width, width), Image.LANCZOS)
    logo = logo.rotate(rng.uniform(-12, 12), resample=Image.BICUBIC, expand=True, fillcolor=_CLEAR)
    x = int((box[0] + box[2]) / 2 - logo.width / 2)
    y = int((box[1] + box[3]) / 2 - logo.height / 2)
    photo.paste(logo, (x, y), logo)


def product_photo(listing_id: str, spec: dict) -> Image.Image:
    """The photo of one listing, drawn from its catalogue `image` recipe; seeded by the listing id."""
    rng = random.Random(spec.get("seed", zlib.crc32(listing_id.encode("utf-8"))))
    rgb = _rgb(spec.get("colour", "#888888"))
    tint = tuple(rng.randint(215, 250) for _ in range(3))
    photo = Image.new("RGB", (PHOTO_SIZE, PHOTO_SIZE))
    d = ImageDraw.Draw(photo)
    for y in range(PHOTO_SIZE):  # studio backdrop: tint fading to white
        t = y / PHOTO_SIZE
        d.line((0, y, PHOTO_SIZE, y), fill=tuple(int(c + (255 - c) * t) for c in tint))
    d.ellipse((40, 285, 320, 335), fill=_shade(tint, 0.8))  # floor shadow
    photo = photo.filter(ImageFilter.GaussianBlur(2))
    d = ImageDraw.Draw(photo)
    box = _draw_product(d, spec.get("shape", "generic"), rgb, rng)
    if spec.get("text"):
        ink = (255, 255, 255) if sum(rgb) < 380 else (30, 30, 30)
        _centered_text(d, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, spec["text"], 22, ink)
    if spec.get("logo"):
        _composite_logo(photo, spec["logo"], box, rng)
    return photo


@lru_cache(maxsize=256)
def _photo_jpeg(listing_id: str, spec_items: tuple) -> bytes:
    buffer = io.BytesIO()
    product_photo(listing_id, dict(spec_items)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def product_photo_jpeg(listing_id: str, spec: dict) -> bytes:
    """JPEG bytes of `product_photo`, cached: every server thread asks for the same few photos."""
    return _photo_jpeg(listing_id, tuple(sorted((spec or {}).items())))


@lru_cache(maxsize=8)
def site_logo_png(text: str, colour: str) -> bytes:
    """The header logo of a demo site (a decoy image the extractor must not take for the product)."""
    image = Image.new("RGB", (160, 40), _rgb(colour))
    _centered_text(ImageDraw.Draw(image), 80, 20, text, 20, (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()

