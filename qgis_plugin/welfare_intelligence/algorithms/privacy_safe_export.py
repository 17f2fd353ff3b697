"""welfare:privacy_safe_export: any indicator layer through welfare_core.privacy.

The user says which fields are counts and which are rates (each with the
field holding its denominator); counts are suppressed and rounded, rates over
small denominators hidden, by the same rules as the database's welfare_bi
views. Numeric fields that were not classified are left out unless asked for:
a count nobody declared must not leave by accident.
"""
from __future__ import annotations

from qgis.core import (QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsProcessing,
                       QgsProcessingException, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterNumber)
from qgis.PyQt.QtCore import QVariant

from . import helpdoc
from .base import NOT_SAFE, PUBLISHED, SAFE, Publication, WelfareAlgorithm

NUMERIC = (QVariant.Int, QVariant.UInt, QVariant.LongLong, QVariant.ULongLong, QVariant.Double)
_WEAKER = {"en": "rules weaker than the defaults ({rules}; defaults: {default})",
           "it": "regole meno severe di quelle predefinite ({rules}; predefinite: {default})"}
_KEPT = {"en": "numeric field(s) {fields} copied unchanged (KEEP_OTHER_NUMBERS): declare any "
               "count among them in COUNT_FIELDS",
         "it": "campo/i numerico/i {fields} copiato/i invariato/i (KEEP_OTHER_NUMBERS): "
               "dichiarare gli eventuali conteggi in COUNT_FIELDS"}


class PrivacySafeExport(WelfareAlgorithm):
    ALG_ID = "privacy_safe_export"
    GROUP = "privacy"
    PUBLICATION = PUBLISHED  # see publication(): weaker rules or kept numbers are not safe

    def declare(self):
        self.add(QgsProcessingParameterFeatureSource("INPUT", "INPUT", [QgsProcessing.TypeVector]))
        for key in ("COUNT_FIELDS", "RATE_FIELDS", "DENOMINATOR_FIELDS"):
            self.add(QgsProcessingParameterField(
                key, key, parentLayerParameterName="INPUT",
                type=QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        self.add(QgsProcessingParameterBoolean("SENSITIVE", "SENSITIVE", defaultValue=False))
        self.add(QgsProcessingParameterNumber("SUPPRESS_BELOW", "SUPPRESS_BELOW",
                                              defaultValue=8, minValue=0), advanced=True)
        self.add(QgsProcessingParameterNumber("ROUND_TO", "ROUND_TO", defaultValue=5,
                                              minValue=0), advanced=True)
        self.add(QgsProcessingParameterNumber("MIN_RATE_DENOMINATOR", "MIN_RATE_DENOMINATOR",
                                              defaultValue=20, minValue=0), advanced=True)
        self.add(QgsProcessingParameterBoolean("KEEP_OTHER_NUMBERS", "KEEP_OTHER_NUMBERS",
                                               defaultValue=False), advanced=True)
        self.add(QgsProcessingParameterFeatureSink("OUTPUT", "OUTPUT", QgsProcessing.TypeVectorAnyGeometry))

    def publication(self, parameters, context) -> Publication:
        """Safe with rules at least as strict as the defaults and no undeclared number kept."""
        from welfare_core.privacy import DEFAULT, Rules
        lang = helpdoc.language()
        rules = Rules(suppress_below=self.parameterAsInt(parameters, "SUPPRESS_BELOW", context),
                      round_to=self.parameterAsInt(parameters, "ROUND_TO", context),
                      min_rate_denominator=self.parameterAsInt(
                          parameters, "MIN_RATE_DENOMINATOR", context))
        if self.parameterAsBool(parameters, "SENSITIVE", context):
            rules = rules.for_target(True)
        weaker = (rules.suppress_below < DEFAULT.suppress_below
                  or rules.round_to < DEFAULT.round_to or rules.round_to % DEFAULT.round_to
                  or rules.min_rate_denominator < DEFAULT.min_rate_denominator)
        if weaker:
            return Publication(NOT_SAFE, _WEAKER[lang].format(
                rules=helpdoc.rules_text(rules, lang), default=helpdoc.rules_text(DEFAULT, lang)))
        kept = []
        if self.parameterAsBool(parameters, "KEEP_OTHER_NUMBERS", context):
            source = self.parameterAsSource(parameters, "INPUT", context)
            declared = set(self.parameterAsFields(parameters, "COUNT_FIELDS", context)) | set(
                self.parameterAsFields(parameters, "RATE_FIELDS", context))
            kept = [f.name() for f in source.fields()
                    if f.type() in NUMERIC and f.name() not in declared]
        if kept:
            return Publication(NOT_SAFE, _KEPT[lang].format(fields=", ".join(kept)))
        return Publication(SAFE, helpdoc.rules_text(rules, lang))

    def compute(self, parameters, context, feedback, progress):
        import numpy as np
        from welfare_core.errors import InputError
        from welfare_core.privacy import Rules, safe_counts, safe_rates

        source = self.parameterAsSource(parameters, "INPUT", context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "INPUT"))
        counts = self.parameterAsFields(parameters, "COUNT_FIELDS", context)
        rates = self.parameterAsFields(parameters, "RATE_FIELDS", context)
        denoms = self.parameterAsFields(parameters, "DENOMINATOR_FIELDS", context)
        if len(rates) != len(denoms):
            raise InputError(f"{len(rates)} rate field(s) but {len(denoms)} denominator field(s)",
                             hint="give one DENOMINATOR_FIELDS entry per RATE_FIELDS entry, "
                                  "in the same order")
        if not counts and not rates:
            raise InputError("no count or rate field chosen",
                             hint="choose the fields to make safe in COUNT_FIELDS / RATE_FIELDS")
        both = sorted(set(counts) & set(rates))
        if both:
            raise InputError(f"field(s) {both} chosen both as counts and as rates")
        rules = Rules(suppress_below=self.parameterAsInt(parameters, "SUPPRESS_BELOW", context),
                      round_to=self.parameterAsInt(parameters, "ROUND_TO", context),
                      min_rate_denominator=self.parameterAsInt(
                          parameters, "MIN_RATE_DENOMINATOR", context))
        if self.parameterAsBool(parameters, "SENSITIVE", context):
            rules = rules.for_target(True)
        keep_numbers = self.parameterAsBool(parameters, "KEEP_OTHER_NUMBERS", context)

        fields_in = source.fields()
        out_fields = QgsFields()
        kept = []
        for f in fields_in:
            name = f.name()
            if name in counts or name in rates:
                out_fields.append(QgsField(name, QVariant.Double))
                kept.append(name)
            elif f.type() not in NUMERIC or keep_numbers:
                out_fields.append(QgsField(f))
                kept.append(name)
            else:
                feedback.pushInfo(f"numeric field {name} left out (not declared as count or rate)")

        features = list(source.getFeatures())
        total = len(features)

        def column(name):
            idx = fields_in.indexOf(name)
            vals = [ft.attributes()[idx] for ft in features]
            return np.array([np.nan if v is None or isinstance(v, QVariant) else float(v)
                             for v in vals], dtype=float)

        raw = {name: column(name) for name in set(counts) | set(rates) | set(denoms)}
        safe = {}
        for name in counts:
            if np.any(raw[name] < 0):
                raise InputError(f"count field {name} has negative values")
            safe[name] = safe_counts(raw[name], rules)
        for name, den in zip(rates, denoms):
            # a rate over a suppressed (small) denominator is hidden with it
            safe[name] = safe_rates(raw[name], raw[den], rules)
        progress(10)

        sink, dest = self.parameterAsSink(parameters, "OUTPUT", context, out_fields,
                                          source.wkbType(), source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        index = {name: fields_in.indexOf(name) for name in kept}
        for i, ft in enumerate(features):
            out = QgsFeature(out_fields)
            out.setGeometry(ft.geometry())
            attrs = ft.attributes()
            row = []
            for name in kept:
                if name in safe:
                    v = safe[name][i]
                    row.append(None if np.isnan(v) else float(v))
                else:
                    row.append(attrs[index[name]])
            out.setAttributes(row)
            sink.addFeature(out, QgsFeatureSink.FastInsert)
            if total:
                progress(10 + 90 * (i + 1) / total)
        feedback.pushInfo(
            f"published with counts 1-{rules.suppress_below - 1} suppressed, others rounded to "
            f"{rules.round_to}; rates hidden below a denominator of {rules.min_rate_denominator}")
        return {"OUTPUT": dest}
