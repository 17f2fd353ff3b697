"""Help texts of the algorithms, read from ``help/<alg_id>.<lang>.md``.

One file per algorithm and language (``en``, ``it``)::

    # Display name of the algorithm

    What it does, in a few paragraphs (Markdown: paragraphs, "- " lists,
    `code`, **bold**).

    ## ZONES: Zones
    Help of the parameter ZONES; the text after the colon is its label.

Parameter labels and help come from here too, so an algorithm module only
declares keys and types.  Italian is used when the QGIS locale starts with
"it", English otherwise.
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .. import PLUGIN_DIR

HELP_DIR = os.path.join(PLUGIN_DIR, "help")
LANGUAGES = ("en", "it")


def language() -> str:
    """``it`` when QGIS runs in Italian, else ``en``."""
    from qgis.core import QgsApplication
    return "it" if (QgsApplication.locale() or "").lower().startswith("it") else "en"


@dataclass(frozen=True)
class ParameterHelp:
    label: str
    text: str


@dataclass(frozen=True)
class AlgorithmHelp:
    title: str
    description: str
    parameters: dict = field(default_factory=dict)  # key -> ParameterHelp

    def html(self, parameters_heading: str, parameters=None) -> str:
        """The side panel text: description, then every parameter.

        ``parameters``: (key, label, help) of the algorithm's actual parameters;
        the help file's own list when None.
        """
        if parameters is None:
            parameters = [(k, p.label, p.text) for k, p in self.parameters.items()]
        items = "".join(f"<li><b>{html.escape(label)}</b> (<code>{key}</code>): "
                        f"{_inline(text)}</li>" for key, label, text in parameters)
        return (_markdown(self.description)
                + (f"<h3>{html.escape(parameters_heading)}</h3><ul>{items}</ul>" if items else ""))


@lru_cache(maxsize=None)
def load(alg_id: str, lang: str) -> AlgorithmHelp:
    path = os.path.join(HELP_DIR, f"{alg_id}.{lang}.md")
    if not os.path.exists(path):
        path = os.path.join(HELP_DIR, f"{alg_id}.en.md")
    with open(path, encoding="utf-8") as f:
        return parse(f.read())


def parse(text: str) -> AlgorithmHelp:
    title, description, params = "", [], {}
    current = None  # (key, label, lines) of the parameter being read
    for line in text.splitlines():
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        elif line.startswith("## "):
            key, _, label = line[3:].partition(":")
            current = (key.strip(), label.strip() or key.strip(), [])
            params[current[0]] = current
        elif current is not None:
            current[2].append(line)
        else:
            description.append(line)
    return AlgorithmHelp(
        title=title, description="\n".join(description).strip(),
        parameters={k: ParameterHelp(label, " ".join(ln.strip() for ln in lines if ln.strip()))
                    for k, (_, label, lines) in params.items()})


def _inline(text: str) -> str:
    text = html.escape(text.strip())
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return text.replace("\n", "<br>")


def _markdown(text: str) -> str:
    """The little Markdown the help files use: paragraphs and "- " lists."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if lines and lines[0].startswith("- "):
            items = []
            for ln in lines:  # a line not starting with "- " continues the item above
                if ln.startswith("- "):
                    items.append(ln[2:])
                else:
                    items[-1] += " " + ln
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
        elif lines:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "".join(out)


# --- publication status (issue #9): the log line, the reasons and the help section ------
PUBLICATION_LABEL = {"en": "Publication status (safe, not_safe, no_counts)",
                     "it": "Stato di pubblicazione (safe, not_safe, no_counts)"}
PUBLICATION_HEADING = {"en": "Publication", "it": "Pubblicazione"}
_LINES = {
    "safe": {"en": "Safe to publish: {reason}", "it": "Pubblicabile: {reason}"},
    "not_safe": {"en": "NOT safe to publish: {reason}", "it": "NON pubblicabile: {reason}"},
    "no_counts": {"en": "No counts to protect: {reason}",
                  "it": "Nessun conteggio da proteggere: {reason}"},
}
_EXPORT = {"en": "use welfare:privacy_safe_export before sharing",
           "it": "usare welfare:privacy_safe_export prima di condividere"}
PUBLICATION_REASONS = {
    "raw": {"en": f"raw counts — {_EXPORT['en']}",
            "it": f"conteggi grezzi — {_EXPORT['it']}"},
    "raw_values": {"en": "raw values (VALUES = raw), for analysts only — run with published "
                         f"values or {_EXPORT['en']}",
                   "it": "valori grezzi (VALUES = grezzi), solo per analisti — eseguire con "
                         f"valori pubblicati o {_EXPORT['it']}"},
    "no_counts": {"en": "the output holds no counts of people",
                  "it": "i risultati non contengono conteggi di persone"},
    "input_safe": {"en": "computed from {key}, a layer written with the privacy rules applied",
                   "it": "calcolato da {key}, un layer scritto con le regole di riservatezza "
                         "applicate"},
    "input_unknown": {"en": "{key} is not marked as published (raw values, or a file whose "
                            f"origin is unknown) — {_EXPORT['en']}",
                      "it": "{key} non risulta pubblicato (valori grezzi, o un file di origine "
                            f"ignota) — {_EXPORT['it']}"},
    "unpublished_counted": {
        "en": "{n} unpublished facilities counted (COUNT_UNPUBLISHED): their capacity shows "
              "through supply, coverage, gaps and access — for analysts only; run again "
              "without COUNT_UNPUBLISHED to publish",
        "it": "{n} strutture non pubblicate conteggiate (COUNT_UNPUBLISHED): la loro capacità "
              "traspare da offerta, copertura, divari e accessibilità — solo per analisti; "
              "rieseguire senza COUNT_UNPUBLISHED per pubblicare"},
    "undeclared": {"en": f"the algorithm does not declare its status — {_EXPORT['en']}",
                   "it": f"l'algoritmo non dichiara il suo stato — {_EXPORT['it']}"},
}


def rules_text(rules, lang: str) -> str:
    """The privacy rules applied, e.g. "privacy rules applied (counts 1–7 suppressed, ...)"."""
    s, r, d = rules.suppress_below - 1, rules.round_to, rules.min_rate_denominator
    if lang == "it":
        return (f"regole di riservatezza applicate (conteggi da 1 a {s} soppressi, gli altri "
                f"arrotondati a {r}; tassi su meno di {d} nascosti)")
    return (f"privacy rules applied (counts 1–{s} suppressed, others rounded to {r}; "
            f"rates over fewer than {d} hidden)")


def publication_line(code: str, reason: str, lang: str) -> str:
    return _LINES[code][lang].format(reason=reason)


_SECTIONS = {
    "published": {
        "en": "Safe to publish: the privacy rules are applied to every count ({rules}). "
              "The output PUBLICATION is `safe`.",
        "it": "Pubblicabile: le regole di riservatezza sono applicate a ogni conteggio "
              "({rules}). L'output PUBLICATION vale `safe`."},
    "values": {
        "en": "With **Values** published (the default) the output is safe to publish: "
              "{rules}; PUBLICATION = `safe`. With raw values it is NOT safe to publish "
              "(PUBLICATION = `not_safe`): for analysts only, or pass it through "
              "welfare:privacy_safe_export before sharing.",
        "it": "Con **Valori** pubblicati (il predefinito) i risultati sono pubblicabili: "
              "{rules}; PUBLICATION = `safe`. Con valori grezzi NON sono pubblicabili "
              "(PUBLICATION = `not_safe`): solo per analisti, oppure passarli per "
              "welfare:privacy_safe_export prima di condividerli."},
    "raw": {
        "en": "NOT safe to publish: the output holds raw counts (PUBLICATION = `not_safe`). "
              "Pass the count fields through welfare:privacy_safe_export before sharing.",
        "it": "NON pubblicabile: i risultati contengono conteggi grezzi (PUBLICATION = "
              "`not_safe`). Passare i campi di conteggio per welfare:privacy_safe_export "
              "prima di condividerli."},
    "no_counts": {
        "en": "The output holds no counts of people, so no privacy rule applies "
              "(PUBLICATION = `no_counts`).",
        "it": "I risultati non contengono conteggi di persone, quindi nessuna regola di "
              "riservatezza si applica (PUBLICATION = `no_counts`)."},
    "input": {
        "en": "As safe as {key}: PUBLICATION = `safe` when {key} is a layer written in this "
              "project by a Welfare Intelligence algorithm with published values (such layers "
              "carry the mark `welfare/publication`), `not_safe` otherwise (raw values, or a "
              "file whose origin cannot be told): then pass the output through "
              "welfare:privacy_safe_export before sharing.",
        "it": "Pubblicabile quanto {key}: PUBLICATION = `safe` quando {key} è un layer scritto "
              "in questo progetto da un algoritmo di Welfare Intelligence con valori "
              "pubblicati (questi layer hanno il contrassegno `welfare/publication`), "
              "`not_safe` altrimenti (valori grezzi, o un file di origine ignota): in tal caso "
              "passare i risultati per welfare:privacy_safe_export prima di condividerli."},
    "dp": {
        "en": "Safe to publish: every count field gets discrete Laplace noise "
              "(ε-differential privacy), and the ε spent is recorded in the release ledger "
              "before the noise is drawn, within its budget; PUBLICATION = `safe`, and the "
              "log says the ε spent and how much of the budget is left. With "
              "KEEP_OTHER_NUMBERS copying numeric fields it is `not_safe`.",
        "it": "Pubblicabile: ogni campo di conteggio riceve rumore di Laplace discreto "
              "(privacy differenziale ε), e l'ε speso è registrato nel registro dei rilasci "
              "prima che il rumore sia estratto, entro il suo budget; PUBLICATION vale "
              "`safe`, e il log indica l'ε speso e quanto resta del budget. Con "
              "KEEP_OTHER_NUMBERS che copia campi numerici vale `not_safe`."},
}


def publication_text(kind, lang: str, *, key: str = "INDICATORS") -> str:
    """The help's publication paragraph for a PUBLICATION kind (Markdown)."""
    from welfare_core.privacy import DEFAULT
    section = _SECTIONS.get(kind)
    if section is None:
        return _LINES["not_safe"][lang].format(reason=PUBLICATION_REASONS["undeclared"][lang])
    return section[lang].format(rules=rules_text(DEFAULT, lang), key=key)


def publication_html(kind, lang: str, *, key: str = "INDICATORS") -> str:
    """The help section "Publication": says whether the output is safe to publish."""
    return (f"<h3>{html.escape(PUBLICATION_HEADING[lang])}</h3>"
            + _markdown(publication_text(kind, lang, key=key)))
