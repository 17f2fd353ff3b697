"""Write the bundled catalogue: three layers of the sample GeoPackage as CSV.

Run by ``make plugin`` (qgis_plugin/plugin.mk) at package time; it is not
shipped in the zip, only the CSVs it writes are::

    /usr/bin/python3 export.py data/sample/milan_sample.gpkg OUT_DIR

``welfare:zone_indicators`` uses ``target.csv``, ``service_type.csv`` and
``service_target.csv`` when its catalogue inputs are not given.  Columns
follow ``welfare_core.model``; numbers are written with Python's ``repr`` so
they read back bit for bit; NULL is an empty field; booleans are true/false.
"""
import csv
import os
import sys

from osgeo import ogr

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 3))
sys.path.insert(0, os.path.join(ROOT, "core"))
from welfare_core.model import TABLES as MODEL  # noqa: E402

TABLES = {name: MODEL[name].column_names for name in ("target", "service_type", "service_target")}


def text(feature, name):
    i = feature.GetFieldIndex(name)
    if i < 0:
        raise SystemExit(f"column {name} is missing")
    if not feature.IsFieldSetAndNotNull(i):
        return ""
    defn = feature.GetFieldDefnRef(i)
    if defn.GetSubType() == ogr.OFSTBoolean:
        return "true" if feature.GetFieldAsInteger(i) else "false"
    if defn.GetType() == ogr.OFTReal:
        return repr(feature.GetFieldAsDouble(i))
    if defn.GetType() in (ogr.OFTInteger, ogr.OFTInteger64):
        return str(feature.GetFieldAsInteger64(i))
    return feature.GetFieldAsString(i)


def main(gpkg, out):
    ogr.UseExceptions()
    os.makedirs(out, exist_ok=True)
    ds = ogr.Open(gpkg)
    for name, columns in TABLES.items():
        layer = ds.GetLayerByName(name)
        if layer is None:
            raise SystemExit(f"{gpkg} has no layer {name}")
        with open(os.path.join(out, f"{name}.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            for feature in layer:
                w.writerow([text(feature, c) for c in columns])


if __name__ == "__main__":
    main(*sys.argv[1:3])
