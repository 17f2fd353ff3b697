"""zone_points fast paths: WKB points read without shapely, polygon points cached by content.

Expected points are worked by hand (a point is itself; an L-shaped polygon whose centroid
falls outside it gets a point on its surface; a rectangle its centre).
"""
import numpy as np
import pytest
from shapely import wkb
from shapely.geometry import Point, Polygon

from welfare_core import zone_access as za
from welfare_core.errors import GeometryError


def test_wkb_points_both_byte_orders():
    little = [wkb.dumps(Point(1.5, -2.25)), wkb.dumps(Point(500000.125, 5030000.5))]
    big = [wkb.dumps(Point(3.0, 4.0), big_endian=True)]
    assert za.zone_points(little + big).tolist() == [[1.5, -2.25], [500000.125, 5030000.5],
                                                     [3.0, 4.0]]
    with pytest.raises(GeometryError, match="geometry number 2"):
        za.zone_points([little[0], wkb.dumps(Point())])  # an empty point is no location


def test_polygon_points_cached_by_content():
    rect = Polygon([(0, 0), (200, 0), (200, 100), (0, 100)])          # centre (100, 50)
    ell = Polygon([(0, 0), (100, 0), (100, 10), (10, 10), (10, 100), (0, 100)])
    geoms = [wkb.dumps(rect), wkb.dumps(ell)]
    first = za.zone_points(geoms)
    assert first[0].tolist() == [100.0, 50.0]
    assert ell.covers(Point(first[1])) and not ell.covers(ell.centroid)
    first[0] = (-1, -1)  # the caller's copy: the cache is not touched
    again = za.zone_points(list(geoms))
    assert again[0].tolist() == [100.0, 50.0] and again[1].tolist() == first[1].tolist()
    moved = [wkb.dumps(Polygon([(0, 0), (200, 0), (200, 300), (0, 300)])), geoms[1]]
    assert za.zone_points(moved)[0].tolist() == [100.0, 150.0]  # new content, new points
