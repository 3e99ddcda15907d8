"""The registry in PostgreSQL: a load replaces what is protected, as one registry version."""
from __future__ import annotations

import hashlib
from decimal import Decimal

from cluewatch.model import GeographicalIndication, Mark, ReferencePrice, Registry


def _file_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def save_registry(conn, registry: Registry) -> bool:
    """Write `registry` in the caller's transaction. Returns False if this version was already loaded.

    Marks and GIs missing from the new version stay in the table, inactive: findings refer to them.
    """
    if not registry.sha256:
        raise ValueError("registry has no sha256: load it with cluewatch.registry.load_registry")
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO registry_versions (sha256, source_file) VALUES (%s, %s)
               ON CONFLICT (sha256) DO NOTHING RETURNING id""",
            (registry.sha256, registry.source_file),
        )
        row = cur.fetchone()
        if row is None:
            return False
        version_id = row[0]
        cur.execute("UPDATE marks SET active = false")
        cur.execute("UPDATE geographical_indications SET active = false")
        for mark in registry.marks:
            cur.execute(
                """INSERT INTO marks (id, reg_no, owner, nice_classes, registry_version_id, active)
                   VALUES (%s, %s, %s, %s, %s, true)
                   ON CONFLICT (id) DO UPDATE SET reg_no = EXCLUDED.reg_no, owner = EXCLUDED.owner,
                       nice_classes = EXCLUDED.nice_classes,
                       registry_version_id = EXCLUDED.registry_version_id, active = true""",
                (mark.id, mark.reg_no, mark.owner, list(mark.nice_classes), version_id),
            )
            for table in ("mark_names", "mark_logos", "mark_photos", "authorized_sellers", "reference_prices"):
                cur.execute(f"DELETE FROM {table} WHERE mark_id = %s", (mark.id,))
            for pos, name in enumerate(mark.names):
                cur.execute("INSERT INTO mark_names VALUES (%s, %s, %s)", (mark.id, pos, name))
            for pos, path in enumerate(mark.logos):
                cur.execute("INSERT INTO mark_logos VALUES (%s, %s, %s, %s)",
                            (mark.id, pos, path, _file_sha256(path)))
            for pos, path in enumerate(mark.reference_photos):
                cur.execute("INSERT INTO mark_photos VALUES (%s, %s, %s, %s)",
                            (mark.id, pos, path, _file_sha256(path)))
            for seller in dict.fromkeys(mark.authorized_sellers):
                cur.execute("INSERT INTO authorized_sellers VALUES (%s, %s)", (mark.id, seller))
            for pos, ref in enumerate(mark.reference_prices):
                cur.execute("INSERT INTO reference_prices VALUES (%s, %s, %s, %s, %s)",
                            (mark.id, pos, ref.product, ref.currency, ref.price))
        for gi in registry.geographical_indications:
            cur.execute(
                """INSERT INTO geographical_indications
                       (id, name, region, products, authorized_producers, registry_version_id, active)
                   VALUES (%s, %s, %s, %s, %s, %s, true)
                   ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, region = EXCLUDED.region,
                       products = EXCLUDED.products,
                       authorized_producers = EXCLUDED.authorized_producers,
                       registry_version_id = EXCLUDED.registry_version_id, active = true""",
                (gi.id, gi.name, gi.region, list(gi.products), list(gi.authorized_producers), version_id),
            )
    return True


def _grouped(cur, query: str) -> dict[str, list]:
    cur.execute(query)
    out: dict[str, list] = {}
    for mark_id, *values in cur.fetchall():
        out.setdefault(mark_id, []).append(values[0] if len(values) == 1 else tuple(values))
    return out


def load_active_registry(conn) -> Registry | None:
    """The registry detectors run against: the latest loaded version, or None if none was loaded."""
    with conn.cursor() as cur:
        cur.execute("SELECT sha256, source_file FROM registry_versions ORDER BY id DESC LIMIT 1")
        head = cur.fetchone()
        if head is None:
            return None
        names = _grouped(cur, "SELECT mark_id, name FROM mark_names ORDER BY mark_id, position")
        logos = _grouped(cur, "SELECT mark_id, path FROM mark_logos ORDER BY mark_id, position")
        photos = _grouped(cur, "SELECT mark_id, path FROM mark_photos ORDER BY mark_id, position")
        sellers = _grouped(cur, "SELECT mark_id, seller_name FROM authorized_sellers ORDER BY 1, 2")
        prices = _grouped(cur, """SELECT mark_id, product, currency, price FROM reference_prices
                                  ORDER BY mark_id, position""")
        cur.execute("SELECT id, reg_no, owner, nice_classes FROM marks WHERE active ORDER BY id")
        marks = tuple(
            Mark(id=mid, names=tuple(names.get(mid, ())), reg_no=reg_no, owner=owner,
                 nice_classes=tuple(nice or ()), logos=tuple(logos.get(mid, ())),
                 reference_photos=tuple(photos.get(mid, ())),
                 authorized_sellers=tuple(sellers.get(mid, ())),
                 reference_prices=tuple(ReferencePrice(p, c and c.strip(), Decimal(v))
                                        for p, c, v in prices.get(mid, ())))
            for mid, reg_no, owner, nice in cur.fetchall()
        )
        cur.execute("""SELECT id, name, region, products, authorized_producers
                       FROM geographical_indications WHERE active ORDER BY id""")
        gis = tuple(GeographicalIndication(i, n, r, tuple(p or ()), tuple(a or ()))
                    for i, n, r, p, a in cur.fetchall())
    return Registry(marks=marks, geographical_indications=gis, source_file=head[1], sha256=head[0])
