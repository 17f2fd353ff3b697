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
