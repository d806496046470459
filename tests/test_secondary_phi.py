"""The report and the morning summary carry claim ids, payer ids, codes and amounts, never patient data."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cob.edi.tokens import SegmentReader
from cob.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "cob" / "fixtures" / "sample"


def _patient_values() -> set[str]:
    """Names, member ids and birth dates of every subscriber and patient in the sample inputs."""
    values: set[str] = set()
    for path in SAMPLE.iterdir():
        if path.suffix not in (".837", ".835"):
            continue
        for elements, _no in SegmentReader(path):
            if elements[0] == "NM1" and len(elements) > 3 and elements[1] in ("IL", "QC", "74"):
                values.update(e for e in (elements[3:6] + elements[9:10]) if len(e) > 2)
            if elements[0] == "DMG" and len(elements) > 2:
                values.add(elements[2])
    return values


def test_report_and_summary_hold_no_patient_data(tmp_path):
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["secondary", "--claims", str(SAMPLE), "--remit", str(SAMPLE),
                                       "--out", str(tmp_path / "out"), "--report", str(report)])
    assert result.exit_code == 0, result.output
    values = _patient_values()
    assert len(values) > 50  # the check has something to look for
    text = report.read_text() + result.output
    leaked = sorted(v for v in values if v in text)
    assert leaked == []


def test_verbose_quiet_and_stdout_report_hold_no_patient_data(tmp_path):
    """--verbose lists every input and held claim, --report - puts the report on stdout: still no PHI."""
    texts = []
    for extra in (["-v", "--report", "-"], ["-q"]):
        result = CliRunner().invoke(main, ["secondary", "--claims", str(SAMPLE), "--remit", str(SAMPLE),
                                           "--out", str(tmp_path / "out"), *extra])
        assert result.exit_code == 0, result.output
        texts.append(result.output)
    assert "input " in texts[0] and '"summary"' in texts[0] and texts[1] == ""
    values = _patient_values()
    leaked = sorted(v for v in values if v in texts[0])
    assert leaked == []
