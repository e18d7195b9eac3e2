"""Audit findings and reports: JSON for machines, one self-contained HTML page for people.

Why one report type for all three audits: the CLI, CI jobs and the HTML renderer treat every audit the same
way: a subject, facts that were checked (``stats``), and a list of findings; any finding of severity
``error`` makes the audit fail (non-zero exit code).
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"
#: Rows of per-item results shown in HTML (a 100k-vote proposal keeps every row in the JSON report only).
MAX_HTML_ROWS = 2000


@dataclass(frozen=True)
class Finding:
    """One observation: ``kind`` is a stable machine name (e.g. ``insufficient-seals``)."""

    kind: str
    message: str
    block: int | None = None
    severity: str = ERROR
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One readable line, as printed by the CLI."""
        where = f"block {self.block}: " if self.block is not None else ""
        return f"[{self.severity}] {self.kind}: {where}{self.message}"


@dataclass
class AuditReport:
    """Result of one audit run."""

    audit: str  # "chain" | "proposal" | "contracts"
    subject: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    checked: list[dict[str, Any]] = field(default_factory=list)  # per-item results (contracts, voters)
    created_at: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )

    def add(self, kind: str, message: str, block: int | None = None, severity: str = ERROR, **details: Any) -> None:
        """Record a finding; an identical one (same kind, block and message) is recorded once."""
        finding = Finding(kind, message, block, severity, details)
        if not any((f.kind, f.block, f.message) == (kind, block, message) for f in self.findings[-50:]):
            self.findings.append(finding)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def passed(self) -> bool:
        return not self.errors

    def kinds(self) -> set[str]:
        """Kinds of the error findings (what tests assert on)."""
        return {f.kind for f in self.errors}

    def to_dict(self) -> dict[str, Any]:
        return {
            "audit": self.audit,
            "passed": self.passed,
            "createdAt": self.created_at,
            "subject": self.subject,
            "stats": self.stats,
            "findings": [asdict(f) for f in self.findings],
            "checked": self.checked,
        }

    def write_json(self, path: str | Path) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        return out

    def write_html(self, path: str | Path) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(self), encoding="utf-8")
        return out

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"{self.audit} audit {verdict}: {len(self.errors)} error(s), {len(self.findings) - len(self.errors)} note(s)"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{display:inline-block;padding:.2em .8em;border-radius:4px;color:#fff;font-weight:600}
.pass{background:#2e7d32}.fail{background:#c62828}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f5f5f5} td.k{white-space:nowrap;font-weight:600}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
tr.error td{background:#fdecea} tr.warning td{background:#fff8e1} tr.info td{background:#f1f8e9}
.muted{color:#777}
"""


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return f"<code>{html.escape(json.dumps(value, sort_keys=True, default=str))}</code>"
    return f"<span class='mono'>{html.escape(str(value))}</span>"


def _kv_table(data: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td class='k'>{html.escape(str(k))}</td><td>{_cell(v)}</td></tr>" for k, v in data.items())
    return f"<table>{rows}</table>" if rows else "<p class='muted'>none</p>"


def render_html(report: AuditReport) -> str:
    """A standalone HTML page (inline CSS, no scripts, no external resources)."""
    verdict = "PASS" if report.passed else "FAIL"
    cls = "pass" if report.passed else "fail"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>co3chain {html.escape(report.audit)} audit: {verdict}</title><style>{_CSS}</style></head><body>",
        f"<h1>co3chain {html.escape(report.audit)} audit <span class='verdict {cls}'>{verdict}</span></h1>",
        f"<p class='muted'>generated {html.escape(report.created_at)} · {len(report.errors)} error(s), "
        f"{len(report.findings) - len(report.errors)} note(s)</p>",
        "<h2>Subject</h2>",
        _kv_table(report.subject),
        "<h2>Statistics</h2>",
        _kv_table(report.stats),
        "<h2>Findings</h2>",
    ]
    if report.findings:
        rows = "".join(
            f"<tr class='{html.escape(f.severity)}'><td>{html.escape(f.severity)}</td><td class='k'>{html.escape(f.kind)}</td>"
            f"<td>{'' if f.block is None else f.block}</td><td>{html.escape(f.message)}"
            f"{'<br>' + _cell(f.details) if f.details else ''}</td></tr>"
            for f in report.findings
        )
        parts.append(f"<table><tr><th>severity</th><th>kind</th><th>block</th><th>message</th></tr>{rows}</table>")
    else:
        parts.append("<p>No findings: every check passed.</p>")
    if report.checked:
        shown = report.checked[:MAX_HTML_ROWS]
        keys: list[str] = []
        for item in shown:
            keys.extend(k for k in item if k not in keys)
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        body = "".join("<tr>" + "".join(f"<td>{_cell(item.get(k, ''))}</td>" for k in keys) + "</tr>" for item in shown)
        parts.append(f"<h2>Checked items ({len(report.checked)})</h2><table><tr>{head}</tr>{body}</table>")
        if len(report.checked) > len(shown):
            parts.append(f"<p class='muted'>{len(report.checked) - len(shown)} more rows in the JSON report.</p>")
    parts.append("</body></html>\n")
    return "".join(parts)
