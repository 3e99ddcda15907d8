"""Load and check the registry YAML: the marks and geographical indications we protect.

The format is the contract in DESIGN.md ("Contracts → Registry"). Every problem is reported as
`FILE:LINE: reason`, all of them in one pass; `load_registry` returns a Registry only when there are
none, so nothing is ever half-loaded.

    registry = load_registry("registry.yaml")     # raises RegistryError; .problems lists them all
    for problem in check_registry("broken.yaml"):
        print(problem)     # broken.yaml:4: unknown key 'nmaes' in marks[0]; allowed: id, names, ...
"""
from __future__ import annotations

import hashlib
import os
import stat

from cluewatch.model import GeographicalIndication, Mark, ReferencePrice, Registry
from cluewatch.yaml_loader import ConfigError, Problem, Reader, abspath_next_to, compose, read_bytes

# A registry of every mark an office holds is a few MB; anything far larger is a mistake or an attack.
MAX_BYTES = 20 * 1024 * 1024
ID_PATTERN = r"[a-z0-9-]+"
ID_MAX_LEN = 100  # ids travel in Kafka messages, URLs and file names
TOP_KEYS = ("marks", "geographical_indications")
MARK_KEYS = ("id", "names", "reg_no", "owner", "nice_classes", "logos", "reference_photos", "authorized_sellers",
             "reference_prices")
GI_KEYS = ("id", "name", "region", "products", "authorized_producers")
PRICE_KEYS = ("product", "currency", "price")
NICE_CLASSES = (1, 45)  # the Nice classification has 45 classes

# The image formats the logo detector (OpenCV) decodes, by their first bytes. SVG is refused here
# rather than failing later, one listing at a time.
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


class RegistryError(ConfigError):
    """The registry file has problems (see `.problems`); nothing was loaded."""


def load_registry(path) -> Registry:
    """The registry in `path`, with logo paths absolute and prices as Decimal; raises RegistryError."""
    registry, problems = _parse(path)
    if problems:
        raise RegistryError(problems)
    return registry


def check_registry(path) -> list[Problem]:
    """Every problem in `path`, in line order; empty when the registry is valid."""
    return _parse(path)[1]


def _parse(path) -> tuple[Registry | None, list[Problem]]:
    name = str(path)
    data, problems = read_bytes(path, max_bytes=MAX_BYTES)
    if data is None:
        return None, problems
    root, problems = compose(data, name)
    if root is None:
        return None, problems or [Problem(name, 1, "file is empty; expected marks and/or geographical_indications")]

    r = Reader(name)
    top = r.mapping(root, "the registry", allowed=TOP_KEYS)
    marks, gis = [], []
    if top is not None:
        if not top and not r.problems:
            r.report(root, "the registry declares neither marks nor geographical_indications")
        ids: dict[str, int] = {}  # id -> line: ids are unique across marks and GIs (both are matched by id)
        for i, node in enumerate(_items(r, top.get("marks"), "marks")):
            marks.append(_mark(r, node, f"marks[{i}]", ids))
        for i, node in enumerate(_items(r, top.get("geographical_indications"), "geographical_indications")):
            gis.append(_gi(r, node, f"geographical_indications[{i}]", ids))

    problems = sorted(problems + r.problems, key=lambda p: p.line)
    if problems:
        return None, problems
    return Registry(
        marks=tuple(marks),
        geographical_indications=tuple(gis),
        source_file=os.path.abspath(name),
        sha256=hashlib.sha256(data).hexdigest(),
    ), []


def _items(r: Reader, node, what: str) -> list:
    # `marks:` with every entry commented out is an empty list, not an error.
    return [] if r.is_null(node) else (r.sequence(node, what) or [])


def _optional(r: Reader, m: dict, key: str, read):
    node = m.get(key)
    return None if r.is_null(node) else read(node)


def _given_but_bad(r: Reader, m: dict, key: str, value) -> bool:
    return value is None and not r.is_null(m.get(key))


def _id(r: Reader, m: dict, what: str, ids: dict[str, int]) -> str | None:
    node = m.get("id")
    if node is None:
        return None  # reported as a missing required key
    value = r.string(node, f"{what}.id", pattern=ID_PATTERN, max_len=ID_MAX_LEN)
    if value is not None:
        if value in ids:
            r.report(node, f"duplicate id {value!r} (already used at line {ids[value]})")
        else:
            ids[value] = node.start_mark.line + 1
    return value


def _mark(r: Reader, node, what: str, ids: dict[str, int]) -> Mark | None:
    m = r.mapping(node, what, allowed=MARK_KEYS, required=("id",))
    if m is None:
        return None
    mark_id = _id(r, m, what, ids)
    names = _optional(r, m, "names", lambda n: r.string_list(n, f"{what}.names", unique=True))
    logos = _optional(r, m, "logos", lambda n: _logos(r, n, f"{what}.logos"))
    if not names and not logos and not _given_but_bad(r, m, "names", names) \
            and not _given_but_bad(r, m, "logos", logos):
        r.report(node, f"{what} needs at least one of names, logos")
    return Mark(
        id=mark_id,
        names=names or (),
        # Registration numbers are digits, and people write `reg_no: 123456` unquoted.
        reg_no=_optional(r, m, "reg_no", lambda n: r.string(n, f"{what}.reg_no", accept_int=True)),
        owner=_optional(r, m, "owner", lambda n: r.string(n, f"{what}.owner")),
        nice_classes=_optional(r, m, "nice_classes", lambda n: _nice_classes(r, n, f"{what}.nice_classes")) or (),
        logos=logos or (),
        reference_photos=_optional(
            r, m, "reference_photos", lambda n: _logos(r, n, f"{what}.reference_photos")) or (),
        authorized_sellers=_optional(
            r, m, "authorized_sellers", lambda n: r.string_list(n, f"{what}.authorized_sellers", unique=True)) or (),
        reference_prices=_optional(
            r, m, "reference_prices", lambda n: _prices(r, n, f"{what}.reference_prices")) or (),
    )


def _nice_classes(r: Reader, node, what: str) -> tuple[int, ...] | None:
    items = r.sequence(node, what)
    if items is None:
        return None
    out = []
    for i, item in enumerate(items):
        value = r.integer(item, f"{what}[{i}]", lo=NICE_CLASSES[0], hi=NICE_CLASSES[1])
        if value is not None and value in out:
            r.report(item, f"{what}[{i}] repeats class {value}")
        out.append(value)
    return tuple(out)


def _logos(r: Reader, node, what: str) -> tuple[str, ...] | None:
    """Image paths (logos, reference photos) made absolute (relative ones are next to the registry file), each checked to exist."""
    items = r.sequence(node, what)
    if items is None:
        return None
    seen: dict[str, int] = {}  # absolute path -> index
    for i, item in enumerate(items):
        written = r.string(item, f"{what}[{i}]")
        if written is None:
            continue
        path = abspath_next_to(r.file, written)
        reason = _logo_problem(path)
        if reason:
            r.report(item, f"{what}[{i}] {written!r}: {reason}")
        elif path in seen:
            r.report(item, f"{what}[{i}] {written!r} repeats {what}[{seen[path]}]")
        seen.setdefault(path, i)
    return tuple(seen)


def _logo_problem(path: str) -> str | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"file not found ({path})"
    except OSError as e:
        return f"cannot read {path}: {e.strerror}"
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would hang or never end
        return f"{path} is not a regular file"
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        return f"cannot read {path}: {e.strerror}"
    if not (head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")):
        return f"{path} is not a PNG, JPEG, GIF, BMP, TIFF or WebP image"
    return None


def _prices(r: Reader, node, what: str) -> tuple[ReferencePrice, ...] | None:
    items = r.sequence(node, what)
    if items is None:
        return None
    out = []
    for i, item in enumerate(items):
        where = f"{what}[{i}]"
        p = r.mapping(item, where, allowed=PRICE_KEYS, required=PRICE_KEYS)
        if p is None:
            continue
        out.append(ReferencePrice(
            product=r.string(p["product"], f"{where}.product") if "product" in p else None,
            currency=r.string(p["currency"], f"{where}.currency", pattern="[A-Z]{3}") if "currency" in p else None,
            price=r.number(p["price"], f"{where}.price", minimum=0, exclusive=True) if "price" in p else None,
        ))
    return tuple(out)


def _gi(r: Reader, node, what: str, ids: dict[str, int]) -> GeographicalIndication | None:
    m = r.mapping(node, what, allowed=GI_KEYS, required=("id", "name"))
    if m is None:
        return None
    return GeographicalIndication(
        id=_id(r, m, what, ids),
        name=r.string(m["name"], f"{what}.name") if "name" in m else None,
        region=_optional(r, m, "region", lambda n: r.string(n, f"{what}.region")),
        products=_optional(r, m, "products", lambda n: r.string_list(n, f"{what}.products", unique=True)) or (),
        authorized_producers=_optional(
            r, m, "authorized_producers",
            lambda n: r.string_list(n, f"{what}.authorized_producers", unique=True)) or (),
    )
