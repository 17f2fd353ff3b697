"""welfare:dp_export: counts of a layer released with differential privacy.

Each count field is one query of sensitivity 1 (one person changes one
feature's count by one), answered with discrete Laplace noise of scale
1 / EPSILON (welfare_core.privacy.dp_counts, OpenDP), floored at 0. The release
spends EPSILON x (number of count fields) by sequential composition; it is
recorded in a CSV release ledger (welfare_core.dp_ledger, the file counterpart
of the database's welfare.dp_release) BEFORE the noise is drawn, and refused
when it would take the ledger over BUDGET. Undeclared numeric fields are left
out (as in privacy_safe_export); text fields and the geometry are copied.

OpenDP: QGIS runs the system Python, which has no OpenDP; ``make install``
puts the pinned wheel in /usr/local/lib/welfare_intelligence/<version>/vendor
for the database, and :func:`require_opendp` takes it from there too.
"""
from __future__ import annotations

import math
import os
import sys

from qgis.core import (QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsProcessing,
                       QgsProcessingException, QgsProcessingOutputFile,
                       QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingParameterString)
from qgis.PyQt.QtCore import QVariant

from . import helpdoc
from .base import DIFFERENTIALLY_PRIVATE, NOT_SAFE, SAFE, Publication, WelfareAlgorithm
from .privacy_safe_export import _KEPT, NUMERIC

OPENDP_VERSION = "0.16.0"  # the Makefile's pin
DEFAULT_LEDGER = "dp_releases.csv"  # in the project's folder when LEDGER is empty
_SAFE = {"en": "ε-differentially private (discrete Laplace noise on {fields}), ε = {eps:g} "
               "spent ({per:g} × {n} count field(s)), {spent:g} of budget {budget:g} "
               "(release {id} in {ledger})",
         "it": "ε-differenzialmente privato (rumore di Laplace discreto su {fields}), "
               "ε = {eps:g} speso ({per:g} × {n} campo/i di conteggio), {spent:g} del "
               "budget {budget:g} (rilascio {id} in {ledger})"}
_OUTPUTS = {"RELEASE_ID": {"en": "Release number in the ledger",
                           "it": "Numero del rilascio nel registro"},
            "LEDGER_FILE": {"en": "Release ledger", "it": "Registro dei rilasci"}}


def vendor_dir() -> str:
    """Where ``make install`` puts OpenDP for the system Python (the Makefile's VENDOR_DIR,
    which the database's bootstrap reads too)."""
    import welfare_core
    return f"/usr/local/lib/welfare_intelligence/{welfare_core.__version__}/vendor"


def require_opendp():
    """Make ``import opendp`` work, or say how to install it (InputError).

    A Python that has OpenDP (a venv) keeps its own; otherwise the vendor
    directory of ``make install`` is appended to ``sys.path`` (appended, so it
    never shadows a package QGIS already has).
    """
    from welfare_core.errors import InputError
    try:
        import opendp.prelude  # noqa: F401
        return
    except ImportError:
        pass
    vendor = vendor_dir()
    if os.path.isdir(vendor):
        if vendor not in sys.path:
            sys.path.append(vendor)
        try:
            import opendp.prelude  # noqa: F401,F811
            return
        except ImportError:
            pass
    raise InputError(
        f"differential privacy needs OpenDP, which is not installed for QGIS's Python "
        f"({sys.executable or 'python3'}), nor in {vendor}",
        hint=f"run make install from the Welfare Intelligence sources on this machine (it "
             f"installs OpenDP {OPENDP_VERSION} into {vendor}), or pip install "
             f"opendp=={OPENDP_VERSION} for this Python; then run the algorithm again. "
             "Nothing was recorded in the ledger")


class DpExport(WelfareAlgorithm):
    ALG_ID = "dp_export"
    GROUP = "privacy"
    PUBLICATION = DIFFERENTIALLY_PRIVATE  # see publication()

    def declare(self):
        from welfare_core.privacy import MAX_DP_EPSILON
        self.add(QgsProcessingParameterFeatureSource("INPUT", "INPUT", [QgsProcessing.TypeVector]))
        self.add(QgsProcessingParameterField(
            "COUNT_FIELDS", "COUNT_FIELDS", parentLayerParameterName="INPUT",
            type=QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        self.add(QgsProcessingParameterNumber(
            "EPSILON", "EPSILON", QgsProcessingParameterNumber.Double, defaultValue=0.5,
            minValue=0.0, maxValue=MAX_DP_EPSILON))
        self.add(QgsProcessingParameterString("DESCRIPTION", "DESCRIPTION"))
        self.add(QgsProcessingParameterFile("LEDGER", "LEDGER", QgsProcessingParameterFile.File,
                                            "csv", optional=True))
        self.add(QgsProcessingParameterNumber(
            "BUDGET", "BUDGET", QgsProcessingParameterNumber.Double, defaultValue=1.0,
            minValue=0.0), advanced=True)
        self.add(QgsProcessingParameterBoolean("KEEP_OTHER_NUMBERS", "KEEP_OTHER_NUMBERS",
                                               defaultValue=False), advanced=True)
        self.add(QgsProcessingParameterFeatureSink("OUTPUT", "OUTPUT",
                                                   QgsProcessing.TypeVectorAnyGeometry))
        lang = helpdoc.language()
        self.addOutput(QgsProcessingOutputNumber("RELEASE_ID", _OUTPUTS["RELEASE_ID"][lang]))
        self.addOutput(QgsProcessingOutputFile("LEDGER_FILE", _OUTPUTS["LEDGER_FILE"][lang]))

    def publication(self, parameters, context) -> Publication:
        """Safe: the counts are noisy and paid for; not safe when undeclared numbers are kept."""
        lang = helpdoc.language()
        kept = getattr(self, "_kept_numbers", [])
        if kept:
            return Publication(NOT_SAFE, _KEPT[lang].format(fields=", ".join(kept)))
        r = getattr(self, "_release", None)
        if r is None:  # nothing released (not reached: compute raised first)
            return super().publication(parameters, context)
        return Publication(SAFE, _SAFE[lang].format(
            fields=", ".join(self._counts), eps=r.epsilon, per=self._epsilon,
            n=len(self._counts), spent=r.spent, budget=r.budget, id=r.release_id,
            ledger=self._ledger))

    def ledger_path(self, parameters, context) -> str:
        """LEDGER, or dp_releases.csv in the folder of the saved project."""
        from welfare_core.errors import InputError
        given = self.parameterAsFile(parameters, "LEDGER", context)
        if given:
            return os.path.abspath(given)
        project = context.project()
        folder = project.absolutePath() if project is not None else ""
        if not folder:
            raise InputError("no LEDGER given and the QGIS project is not saved, so there is "
                             f"no project folder for {DEFAULT_LEDGER}",
                             hint="choose the release ledger file (LEDGER), or save the "
                                  "project first; keep using the same ledger for the same data")
        return os.path.join(folder, DEFAULT_LEDGER)

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.dp_ledger import record_release
        from welfare_core.errors import InputError
        from welfare_core.privacy import MAX_DP_EPSILON, check_epsilon, dp_counts

        self._kept_numbers, self._release = [], None
        source = self.parameterAsSource(parameters, "INPUT", context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "INPUT"))
        counts = self.parameterAsFields(parameters, "COUNT_FIELDS", context)
        if not counts:
            raise InputError("no count field chosen",
                             hint="choose the fields holding counts of persons or households "
                                  "in COUNT_FIELDS")
        eps = check_epsilon(self.parameterAsDouble(parameters, "EPSILON", context))
        if eps * len(counts) > MAX_DP_EPSILON:  # what the release would spend, in one record
            raise InputError(f"EPSILON {eps:g} × {len(counts)} count fields = "
                             f"{eps * len(counts):g}, more than one release may spend "
                             f"({MAX_DP_EPSILON:g})",
                             hint="choose fewer COUNT_FIELDS or a smaller EPSILON (each count "
                                  "field spends EPSILON)")
        budget = self.parameterAsDouble(parameters, "BUDGET", context)
        description = self.parameterAsString(parameters, "DESCRIPTION", context)
        ledger = self.ledger_path(parameters, context)
        keep_numbers = self.parameterAsBool(parameters, "KEEP_OTHER_NUMBERS", context)

        fields_in = source.fields()
        out_fields, kept = QgsFields(), []
        for f in fields_in:
            name = f.name()
            if name in counts:
                out_fields.append(QgsField(name, QVariant.LongLong))
            elif f.type() not in NUMERIC or keep_numbers:
                out_fields.append(QgsField(f))
                if f.type() in NUMERIC:
                    self._kept_numbers.append(name)
            else:
                feedback.pushInfo(f"numeric field {name} left out (not declared as a count)")
                continue
            kept.append(name)

        features = list(source.getFeatures())
        if not features:
            raise InputError("INPUT has no features: nothing to release",
                             hint="choose a layer with features (and no selection filter "
                                  "that leaves none)")
        raw = {name: _counts(features, fields_in.indexOf(name), name) for name in counts}
        progress(10)

        require_opendp()
        dp_counts([], eps)  # the core's own checks (OpenDP, epsilon) before anything is spent
        cells = len(features) * len(counts)
        # recorded before the noise is drawn: an error after this wastes epsilon, it never
        # releases noise that was not paid for
        release = record_release(ledger, description, eps * len(counts), cells, budget=budget)
        self._release, self._counts, self._epsilon, self._ledger = release, counts, eps, ledger
        feedback.pushInfo(f"release {release.release_id} recorded in {ledger}: ε = "
                          f"{release.epsilon:g} ({eps:g} × {len(counts)} count field(s)), "
                          f"{cells} cells; {release.spent:g} of budget {release.budget:g} spent")

        sink, dest = self.parameterAsSink(parameters, "OUTPUT", context, out_fields,
                                          source.wkbType(), source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        noisy = {name: dp_counts(raw[name], eps, clamp_zero=True) for name in counts}
        progress(20)
        index = {name: fields_in.indexOf(name) for name in kept}
        for i, ft in enumerate(features):
            out = QgsFeature(out_fields)
            out.setGeometry(ft.geometry())
            attrs = ft.attributes()
            out.setAttributes([int(noisy[name][i]) if name in noisy else attrs[index[name]]
                               for name in kept])
            sink.addFeature(out, QgsFeatureSink.FastInsert)
            progress(20 + 80 * (i + 1) / len(features))
        return {"OUTPUT": dest, "RELEASE_ID": release.release_id, "LEDGER_FILE": ledger}


def _counts(features, idx, name):
    """The whole non-negative counts of one field, or an InputError naming the feature."""
    from welfare_core.errors import InputError
    hint = ("differential privacy here adds noise to counts of persons or households: give "
            "whole numbers >= 0 (raw counts, not rates, estimates or published values) in "
            "every feature")
    out = []
    for ft in features:
        v = ft.attributes()[idx]
        if v is None or isinstance(v, QVariant):
            raise InputError(f"count field {name} is NULL at feature {ft.id()}", hint=hint)
        v = float(v)
        if not math.isfinite(v) or v != math.floor(v) or v < 0 or v > 2 ** 53:
            what = ("negative" if v < 0 else "too large" if v > 2 ** 53
                    else "not a whole number")
            raise InputError(f"count field {name} is {v:g} at feature {ft.id()}: {what}",
                             hint=hint)
        out.append(int(v))
    return out
