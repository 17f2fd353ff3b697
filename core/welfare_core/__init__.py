"""Welfare Intelligence analytical core.

Pure Python on numpy / scipy / pandas. Imported by the PostgreSQL extension
(PL/Python) and by the QGIS Processing plugin; never imports qgis or plpy.
"""
__version__ = "0.1.2"
