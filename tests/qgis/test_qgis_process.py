"""Smoke run of the command line tool: qgis_process.bin finds the unpacked plugin
through QGIS_PLUGINPATH and reports the fixture's known problems."""
import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures import tiny_city as tc
from qgis_door import PLUGIN

# /usr/bin/qgis_process is a wrapper that fails on Debian 12; the binary works.
QGIS_PROCESS = next((p for p in (shutil.which("qgis_process.bin"), "/usr/bin/qgis_process.bin",
                                 "/usr/lib/qgis/qgis_process.bin") if p and os.path.exists(p)),
                    None)


def qgis_process(args, plugin_dir, config):
    # A fresh profile: qgis_process (3.22) starts only the plugins enabled in its settings.
    settings = config / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(f"[PythonPlugins]\n{PLUGIN}=true\n")
    runtime = config / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "QGIS_CUSTOM_CONFIG_PATH": str(config),
           "QGIS_PLUGINPATH": str(plugin_dir), "QT_QPA_PLATFORM": "offscreen",
           "XDG_RUNTIME_DIR": str(runtime)}
    return subprocess.run([QGIS_PROCESS, *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(QGIS_PROCESS is None, reason="qgis_process.bin not installed")
def test_qgis_process_reports_the_known_problems(plugin_dir, bad_city, tmp_path):
    out = tmp_path / "problems.csv"
    args = [f"{key}={uri}" for key, uri in sorted(bad_city.items())]
    done = qgis_process(["run", "welfare:validate_data", "--", *args, f"OUTPUT={out}"],
                        plugin_dir, tmp_path / "config")
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["dataset"], r["row_key"], r["code"]) for r in rows) == tc.KNOWN_PROBLEMS


@pytest.mark.skipif(QGIS_PROCESS is None, reason="qgis_process.bin not installed")
def test_qgis_process_bad_input_is_a_message_not_a_traceback(plugin_dir, clean_city, tmp_path):
    done = qgis_process(["run", "welfare:validate_data", "--", f"ZONES={clean_city['ZONES']}",
                         "TARGET_CRS=EPSG:4326", f"OUTPUT={tmp_path / 'x.csv'}"],
                        plugin_dir, tmp_path / "config")
    text = done.stdout + done.stderr
    assert done.returncode != 0
    assert "TARGET_CRS is in EPSG:4326, a geographic CRS" in text
    assert "Traceback" not in text
