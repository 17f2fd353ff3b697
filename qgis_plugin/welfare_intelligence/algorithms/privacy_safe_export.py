"""welfare:privacy_safe_export: any indicator layer through welfare_core.privacy.

The user says which fields are counts and which are rates (each with the
fields holding its denominator and its numerator); counts are suppressed and
rounded, rates over small denominators or over a suppressed numerator hidden
(rate x denominator would give the count back), by the same rules as the
database's welfare_bi views. Numeric fields that were not classified are left out unless asked for:
a count nobody declared must not leave by accident.

With PARENT_FIELD the layer is published together with its parent level: the
parents' totals (sums of the children's counts, or their published values from
PARENTS) are taken as published too, the core's differencing audit checks every
suppressed count against them, complementary cells are suppressed where the
audit needs them (welfare_core.privacy_audit.publish_with_parents) and
PUBLICATION is safe only if the audit passes.
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
_AUDIT_FAILED = {"en": "the differencing audit with the parent level fails ({why}) "
                       "— no cell left to suppress beside it; publish the parents hidden or "
                       "coarser, or this level without them",
                 "it": "la verifica per differenza con il livello superiore non è superata "
                       "({why}) — nessuna cella vicina da sopprimere; pubblicare i "
                       "livelli superiori nascosti o più aggregati, o questo livello senza di essi"}
_AUDIT_PASSED = {"en": "{rules}; audited with the parent level: {n} complementary cell(s) "
                       "suppressed",
                 "it": "{rules}; verificato per differenza con il livello superiore: {n} "
                       "cella/e complementare/i soppressa/e"}
_NO_NUMERATOR = {"en": "rate field(s) {fields} published without NUMERATOR_FIELDS: where a "
                      "rate's count is suppressed, rate x denominator gives it back",
                "it": "campo/i di tasso {fields} pubblicato/i senza NUMERATOR_FIELDS: dove il "
                      "conteggio di un tasso è soppresso, tasso x denominatore lo restituisce"}
COMPLEMENTARY = "_complementary"  # suffix of the output field per count field


class PrivacySafeExport(WelfareAlgorithm):
    ALG_ID = "privacy_safe_export"
    GROUP = "privacy"
    PUBLICATION = PUBLISHED  # see publication(): weaker rules or kept numbers are not safe

    def declare(self):
        self.add(QgsProcessingParameterFeatureSource("INPUT", "INPUT", [QgsProcessing.TypeVector]))
        for key in ("COUNT_FIELDS", "RATE_FIELDS", "DENOMINATOR_FIELDS", "NUMERATOR_FIELDS"):
            self.add(QgsProcessingParameterField(
                key, key, parentLayerParameterName="INPUT",
                type=QgsProcessingParameterField.Numeric, allowMultiple=True, optional=True))
        self.add(QgsProcessingParameterBoolean("SENSITIVE", "SENSITIVE", defaultValue=False))
        self.add(QgsProcessingParameterField("PARENT_FIELD", "PARENT_FIELD",
                                             parentLayerParameterName="INPUT", optional=True))
        self.add(QgsProcessingParameterField("TARGET_FIELD", "TARGET_FIELD",
                                             parentLayerParameterName="INPUT", optional=True))
        self.add(QgsProcessingParameterFeatureSource("PARENTS", "PARENTS",
                                                     [QgsProcessing.TypeVector], optional=True))
        self.add(QgsProcessingParameterField("PARENT_ID_FIELD", "PARENT_ID_FIELD",
                                             parentLayerParameterName="PARENTS", optional=True))
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
                self.parameterAsFields(parameters, "RATE_FIELDS", context)) | set(
                self._id_fields(parameters, context))
            kept = [f.name() for f in source.fields()
                    if f.type() in NUMERIC and f.name() not in declared]
        if kept:
            return Publication(NOT_SAFE, _KEPT[lang].format(fields=", ".join(kept)))
        rates = self.parameterAsFields(parameters, "RATE_FIELDS", context)
        if rates and not self.parameterAsFields(parameters, "NUMERATOR_FIELDS", context):
            return Publication(NOT_SAFE, _NO_NUMERATOR[lang].format(fields=", ".join(rates)))
        audits = getattr(self, "_audits", None)  # compute() ran with PARENT_FIELD
        if audits:
            failed = {name: res for name, res in audits.items() if not res.passed}
            if failed:
                return Publication(NOT_SAFE, _AUDIT_FAILED[lang].format(why="; ".join(
                        f"{name}: {res.summary()}" for name, res in failed.items())))
            return Publication(SAFE, _AUDIT_PASSED[lang].format(
                rules=helpdoc.rules_text(rules, lang), n=self._n_complementary))
        return Publication(SAFE, helpdoc.rules_text(rules, lang))

    def _id_fields(self, parameters, context):
        """PARENT_FIELD and TARGET_FIELD, when given: ids, copied even when numeric."""
        return [f for key in ("PARENT_FIELD", "TARGET_FIELD")
                for f in self.parameterAsFields(parameters, key, context)[:1] if f]

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
        numers = self.parameterAsFields(parameters, "NUMERATOR_FIELDS", context)
        if len(rates) != len(denoms):
            raise InputError(f"{len(rates)} rate field(s) but {len(denoms)} denominator field(s)",
                             hint="give one DENOMINATOR_FIELDS entry per RATE_FIELDS entry, "
                                  "in the same order")
        if numers and len(numers) != len(rates):
            raise InputError(f"{len(rates)} rate field(s) but {len(numers)} numerator field(s)",
                             hint="give one NUMERATOR_FIELDS entry per RATE_FIELDS entry, in "
                                  "the same order (the count each rate is computed from)")
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
        self._audits, self._n_complementary = {}, 0
        parent_field, target_field, parents = self._parent_inputs(parameters, context, source,
                                                                   counts)
        ids = [f for f in (parent_field, target_field) if f]

        fields_in = source.fields()
        out_fields = QgsFields()
        kept = []
        for f in fields_in:
            name = f.name()
            if name in counts or name in rates:
                out_fields.append(QgsField(name, QVariant.Double))
                kept.append(name)
            elif f.type() not in NUMERIC or keep_numbers or name in ids:
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

        raw = {name: column(name) for name in set(counts) | set(rates) | set(denoms) | set(numers)}
        safe = {}
        for name in set(counts) | set(numers):
            if np.any(raw[name] < 0):
                raise InputError(f"count field {name} has negative values")
        for name in counts:
            safe[name] = safe_counts(raw[name], rules)
        complementary = {}
        if parent_field:
            complementary = self._with_parents(features, fields_in, parent_field, target_field,
                                               parents, counts, raw, safe, rules, feedback)
            for name in counts:
                extra = name + COMPLEMENTARY
                if fields_in.indexOf(extra) >= 0:
                    raise InputError(f"INPUT already has a field {extra}",
                                     hint="rename it: the export writes which counts are "
                                          "complementary cells there")
                out_fields.append(QgsField(extra, QVariant.Bool))
        for k, (name, den) in enumerate(zip(rates, denoms)):
            # a rate over a small denominator is hidden, and so is one whose count is
            # hidden (suppressed, complementary or NULL): rate x denominator would give it back
            safe[name] = safe_rates(raw[name], raw[den], rules)
            if numers:
                num = numers[k]
                count = safe[num] if num in counts else safe_counts(raw[num], rules)
                safe[name] = np.where(np.isnan(count), np.nan, safe[name])
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
            row.extend(bool(complementary[name][i]) for name in counts if complementary)
            out.setAttributes(row)
            sink.addFeature(out, QgsFeatureSink.FastInsert)
            if total:
                progress(10 + 90 * (i + 1) / total)
        feedback.pushInfo(
            f"published with counts 1-{rules.suppress_below - 1} suppressed, others rounded to "
            f"{rules.round_to}; rates hidden below a denominator of {rules.min_rate_denominator}"
            + (" or where their numerator is hidden" if numers else ""))
        return {"OUTPUT": dest}

    def _parent_inputs(self, parameters, context, source, counts):
        """PARENT_FIELD, TARGET_FIELD and the PARENTS rows (None: totals of the children),
        checked against the layers: (parent field, target field, frame or None)."""
        import pandas as pd
        from welfare_core.errors import InputError

        def one(key):
            given = self.parameterAsFields(parameters, key, context)
            return given[0] if given and given[0] else None

        parent_field, target_field = one("PARENT_FIELD"), one("TARGET_FIELD")
        has_parents = parameters.get("PARENTS") not in (None, "")
        if not parent_field:
            if has_parents or target_field:
                raise InputError("PARENTS and TARGET_FIELD need PARENT_FIELD",
                                 hint="choose the INPUT field holding each zone's parent id")
            return None, None, None
        names = source.fields().names()
        for key, name in (("PARENT_FIELD", parent_field), ("TARGET_FIELD", target_field)):
            if name and name not in names:
                raise InputError(f"{key} {name!r} is not a field of INPUT",
                                 hint=f"choose one of {', '.join(names)}")
            if name and name in counts:
                raise InputError(f"{key} {name!r} is also a count field")
        if not has_parents:
            return parent_field, target_field, None
        layer = self.parameterAsSource(parameters, "PARENTS", context)
        if layer is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, "PARENTS"))
        id_field = one("PARENT_ID_FIELD")
        have = layer.fields().names()
        if not id_field:
            raise InputError("PARENTS given without PARENT_ID_FIELD",
                             hint="choose the PARENTS field holding the parent zone id")
        need = [id_field] + [target_field] * bool(target_field) + list(counts)
        lacking = [n for n in need if n not in have]
        if lacking:
            raise InputError(f"PARENTS lacks field(s) {', '.join(lacking)}",
                             hint="PARENTS holds the parent level as published, with the "
                                  "id field and the same count (and target) fields as INPUT")
        idx = [layer.fields().indexOf(n) for n in need]
        rows = [[_value(ft.attributes()[i]) for i in idx] for ft in layer.getFeatures()]
        frame = pd.DataFrame(rows, columns=["zone_id"] + ["table"] * bool(target_field)
                             + list(counts))
        return parent_field, target_field, frame

    def _with_parents(self, features, fields_in, parent_field, target_field, parents, counts,
                      raw, safe, rules, feedback):
        """Counts published together with the parent level (the core decides what is
        suppressed): updates ``safe``, keeps the audits, returns the complementary flags."""
        import pandas as pd
        from welfare_core.errors import InputError
        from welfare_core.privacy_audit import publish_with_parents

        def column(name):
            i = fields_in.indexOf(name)
            return [_value(ft.attributes()[i]) for ft in features]

        base = {"zone_id": [f"feature {ft.id()}" for ft in features],
                "parent_id": column(parent_field)}
        if target_field:
            base["table"] = column(target_field)
        flags = {}
        for name in counts:
            children = pd.DataFrame(dict(base, count=raw[name]))
            given = None
            if parents is not None:
                given = parents[["zone_id"] + ["table"] * bool(target_field) + [name]].rename(
                    columns={name: "published"})
            try:
                res = publish_with_parents(children, rules, parents=given)
            except InputError as e:
                raise InputError(f"{name}: {e.message}", hint=e.hint) from None
            safe[name], flags[name] = res.published, res.complementary
            self._audits[name] = res.audit
            self._n_complementary += int(res.complementary.sum())
            feedback.pushInfo(f"{name}: {int(res.complementary.sum())} complementary cell(s) "
                              f"suppressed; audit with the parents: {res.audit.summary()}")
        return flags


def _value(v):
    """A QGIS attribute as Python: NULL (a null QVariant) is None."""
    return None if v is None or isinstance(v, QVariant) else v
