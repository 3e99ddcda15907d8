"""Registered logos from the registry's image files into LogoReference arrays."""
from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from detectors.imageio import BadImage, read_bounded
from detectors.logo.types import LogoReference


class BadLogoFile(ValueError):
    """A registry logo that cannot be used; the message names the mark and the file."""


def load_reference(mark_id: str, logo_id: str, path) -> LogoReference:
    """One logo file as BGR(A) uint8 (alpha kept: the detector uses it as the logo's mask)."""
    import cv2  # noqa: PLC0415

    try:
        data = read_bounded(path)
    except BadImage as e:
        raise BadLogoFile(f"mark {mark_id}: logo {path}: {e}") from None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise BadLogoFile(f"mark {mark_id}: logo {path}: cannot be decoded")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return LogoReference(mark_id, logo_id, image)


def references_for(marks: Iterable) -> list[LogoReference]:
    """Every logo of every mark (objects with .id and .logos paths), logo ids unique per mark:
    the file's stem, suffixed -2, -3 … when a mark has two files of the same name."""
    refs = []
    for mark in marks:
        seen: dict[str, int] = {}
        for path in mark.logos:
            stem = os.path.splitext(os.path.basename(str(path)))[0]
            seen[stem] = seen.get(stem, 0) + 1
            logo_id = stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"
            refs.append(load_reference(mark.id, logo_id, path))
    return refs
