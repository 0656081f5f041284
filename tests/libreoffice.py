"""Recalculate a workbook with headless LibreOffice (for tests).

``soffice --convert-to`` alone keeps the cached values stored in the file (an openpyxl-written
workbook has none). A throw-away user profile sets Calc's "recalculation on file load" for Excel
2007+ files to *always* (``OOXMLRecalcMode = 0``), so the conversion fully recalculates every
formula and writes the values into the copy, which openpyxl then reads with ``data_only=True``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def recalculate(path: str | Path, outdir: str | Path, soffice: str = "soffice") -> Path:
    """Open ``path`` in headless LibreOffice, recalculate everything, save an .xlsx copy in
    ``outdir`` (same file name) and return its path."""
    path, outdir = Path(path), Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        user = profile / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_PROFILE, encoding="utf-8")
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "xlsx:Calc MS Excel 2007 XML",
                "--outdir",
                str(outdir),
                str(path),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    out = outdir / path.name
    if not out.exists():
        raise FileNotFoundError(f"LibreOffice did not write {out}")
    return out
