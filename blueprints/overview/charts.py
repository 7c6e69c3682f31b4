"""Geometry of the overview's charts, drawn as SVG by the template: a tile map, a heat grid, bar charts.

The map is a tile grid: one square per provincial-level division of China, placed roughly where it
lies (a schematic drawn for the hub: no outline data, no tiles from elsewhere). Shapes scale with
the page (``viewBox``), so a phone never scrolls sideways.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from hub.services.places import BY_CODE

# (column, row) of each division, west to east and north to south.
GRID = {
    "HL": (7, 0),
    "NM": (4, 1), "BJ": (5, 1), "LN": (6, 1), "JL": (7, 1),
    "XJ": (0, 2), "NX": (3, 2), "SX": (4, 2), "HE": (5, 2), "TJ": (6, 2),
    "QH": (1, 3), "GS": (2, 3), "SN": (3, 3), "HA": (4, 3), "SD": (5, 3),
    "XZ": (1, 4), "SC": (2, 4), "CQ": (3, 4), "HB": (4, 4), "AH": (5, 4), "JS": (6, 4), "SH": (7, 4),
    "YN": (2, 5), "GZ": (3, 5), "HN": (4, 5), "JX": (5, 5), "ZJ": (6, 5),
    "GX": (3, 6), "GD": (4, 6), "FJ": (5, 6), "TW": (6, 6),
    "HI": (3, 7), "MO": (4, 7), "HK": (5, 7),
}
TILE, GAP = 44, 4
# Shades of the hub's green, light to dark; the text on the two darkest is white.
SHADES = ("#eef1ef", "#cfe8dc", "#8cc7aa", "#2f8a63", "#0b6b4f")


@dataclass(frozen=True)
class Tile:
    """One square of the map (or of the strip of other countries)."""

    x: int
    y: int
    size: int
    label: str
    name: str
    count: int
    fill: str
    ink: str
    href: str | None


@dataclass(frozen=True)
class Cell:
    """One cell of the topics-by-year grid."""

    x: int
    y: int
    year: int
    count: int
    fill: str
    ink: str
    href: str | None


@dataclass(frozen=True)
class Bar:
    """One bar of a project's topics."""

    y: int
    width: int
    label: str
    count: int
    href: str


def shade(count: int, top: int) -> tuple[str, str]:
    """Return the fill and text colours of a count, on a scale up to ``top``."""
    if count <= 0 or top <= 0:
        return SHADES[0], "#1d2327"
    level = max(1, math.ceil(4 * count / top))
    return SHADES[level], "#ffffff" if level >= 3 else "#1d2327"


def china_tiles(counts: dict[str, int], *, locale: str, links: dict[str, str]) -> list[Tile]:
    """Return a tile per division, shaded by its count, linked when it has notes."""
    top = max(counts.values(), default=0)
    tiles = []
    for code, (column, row) in GRID.items():
        province, count = BY_CODE[code], counts.get(code, 0)
        fill, ink = shade(count, top)
        label = province.zh if locale.startswith("zh") else code
        tiles.append(Tile(column * (TILE + GAP), row * (TILE + GAP), TILE, label, province.name(locale), count,
                          fill, ink, links.get(code) if count else None))
    return tiles


def map_size() -> tuple[int, int]:
    """Return the width and height of the map's drawing."""
    columns = max(c for c, _ in GRID.values()) + 1
    rows = max(r for _, r in GRID.values()) + 1
    return columns * (TILE + GAP) - GAP, rows * (TILE + GAP) - GAP


def country_tiles(counts: dict[str, int], *, names: dict[str, str]) -> list[Tile]:
    """Return a strip of tiles for the countries other than China, most notes first."""
    top = max(counts.values(), default=0)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [Tile(i * (TILE + GAP), 0, TILE, code, names.get(code, code), count, *shade(count, top), None)
            for i, (code, count) in enumerate(ordered)]


LABEL_WIDTH, CELL_W, CELL_H = 150, 30, 26


def year_cells(per_year: dict[int, int], years: list[int], *, row: int, top: int, link) -> list[Cell]:
    """Return one topic's row of the grid: a cell per year, linked to that year's notes on the topic."""
    cells = []
    for column, year in enumerate(years):
        count = per_year.get(year, 0)
        fill, ink = shade(count, top)
        cells.append(Cell(LABEL_WIDTH + column * (CELL_W + 2), row * (CELL_H + 2), year, count, fill, ink,
                          link(year) if count else None))
    return cells


BAR_MAX, BAR_ROW = 290, 40  # a label above each bar: legible on a phone


def bars(topics: list[tuple[str, int, str]]) -> list[Bar]:
    """Return a bar per (label, count, link), the longest for the busiest topic."""
    top = max((count for _label, count, _href in topics), default=0)
    return [Bar(i * BAR_ROW, max(4, round(BAR_MAX * count / top)) if top else 0, label, count, href)
            for i, (label, count, href) in enumerate(topics)]


def short(text: str, limit: int) -> str:
    """Return ``text`` cut to about ``limit`` columns (a Han character counts two), with an ellipsis."""
    width, kept = 0, []
    for char in text:
        width += 2 if ord(char) > 0x2E80 else 1
        if width > limit:
            return "".join(kept).rstrip() + "…"
        kept.append(char)
    return text
