"""Commoning-area geometry: canonical GeoJSON bytes, their hash, and point-in-area tests.

Why a canonical form: the on-chain ``CommoningAreas.geometryHash`` must commit to exactly the polygon the
oracle checks against.  Any party (PA tooling, the API, the oracle) that hashes the same GeoJSON object must
get the same 32 bytes, independent of key order or whitespace, so the hash is taken over a canonical JSON
encoding (see :func:`canonical_geojson`) rather than over whatever file a PA happened to upload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
from eth_utils import keccak
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import PreparedGeometry, prep

from co3chain.errors import Co3Error

_POLYGONAL = {"Polygon", "MultiPolygon"}


class GeometryError(Co3Error):
    """A GeoJSON document is not a usable area geometry."""


def canonical_geojson(obj: Any) -> bytes:
    """The canonical UTF-8 bytes of a GeoJSON object.

    Canonical form: JSON with object keys sorted, no insignificant whitespace (separators ``,`` and ``:``),
    non-ASCII characters kept as UTF-8, and numbers as Python's shortest round-trip ``repr``.  NaN and
    infinities are refused because JSON has no spelling for them.
    """
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"GeoJSON is not canonicalisable: {exc}") from exc
    return text.encode("utf-8")


def geometry_hash(obj: Any) -> bytes:
    """``keccak256(canonical_geojson(obj))``: the value stored as the area's on-chain ``geometryHash``."""
    return keccak(canonical_geojson(obj))


def _extract_geometry(obj: Any) -> dict[str, Any]:
    """The polygonal geometry inside a GeoJSON Geometry, Feature or single-feature FeatureCollection."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise GeometryError("GeoJSON must be an object with a 'type'")
    kind = obj["type"]
    if kind == "Feature":
        return _extract_geometry(obj.get("geometry"))
    if kind == "FeatureCollection":
        features = obj.get("features") or []
        if len(features) != 1:
            raise GeometryError("a FeatureCollection area must contain exactly one feature")
        return _extract_geometry(features[0])
    if kind not in _POLYGONAL:
        raise GeometryError(f"area geometry must be a Polygon or MultiPolygon, not {kind}")
    return obj


@dataclass(frozen=True)
class AreaGeometry:
    """One area's polygon as registered with the oracle, plus the hash that must match the chain."""

    area_id: int
    geojson: dict[str, Any]
    shape: BaseGeometry
    prepared: PreparedGeometry
    hash: bytes

    @classmethod
    def from_geojson(cls, area_id: int, geojson: dict[str, Any]) -> AreaGeometry:
        """Parse and check a GeoJSON document (lon/lat order, WGS84, as GeoJSON mandates)."""
        geom = shape(_extract_geometry(geojson))
        if geom.is_empty or not geom.is_valid:
            raise GeometryError(f"area {area_id}: polygon is empty or invalid (self-intersecting?)")
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise GeometryError(f"area {area_id}: coordinates outside lon/lat range (GeoJSON is lon, lat)")
        return cls(area_id, geojson, geom, prep(geom), geometry_hash(geojson))

    @classmethod
    def from_file(cls, area_id: int, path: str | Path) -> AreaGeometry:
        """Load a GeoJSON file registered for ``area_id``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GeometryError(f"area {area_id}: cannot read GeoJSON {path}: {exc}") from exc
        return cls.from_geojson(area_id, data)

    def contains(self, lat: float, lon: float) -> bool:
        """True when (lat, lon) lies inside the polygon or on its boundary."""
        point = Point(lon, lat)
        return bool(self.prepared.covers(point))


def check_coordinates(lat: float, lon: float) -> None:
    """Refuse coordinates that are not finite WGS84 degrees."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise GeometryError(f"coordinates out of range: lat={lat}, lon={lon}")


def point_in_cells(lat: float, lon: float, cells: Iterable[int]) -> bool:
    """True when the point falls in one of the H3 ``cells`` (any resolution mix).

    Why per resolution: an area may be covered by a compacted set of cells of several resolutions; the point
    is inside if its cell at some resolution used by the area is one of the area's cells.
    """
    cell_set = {int(c) for c in cells}
    if not cell_set:
        return False
    resolutions = {h3.get_resolution(h3.int_to_str(c)) for c in cell_set}
    return any(h3.str_to_int(h3.latlng_to_cell(lat, lon, res)) in cell_set for res in resolutions)


def polygon_to_cells(geojson: dict[str, Any], resolution: int) -> list[int]:
    """H3 cells (as uint64 ints, ready for ``setAreaCells``) whose centres lie in the area's polygon."""
    geo = _extract_geometry(geojson)
    return sorted(h3.str_to_int(c) for c in h3.geo_to_cells(geo, resolution))
