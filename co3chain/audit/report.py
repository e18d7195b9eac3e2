"""Audit findings and reports: JSON for machines, one self-contained HTML page for people.

Why one report type for all three audits: the CLI, CI jobs and the HTML renderer treat every audit the same
way: a subject, facts that were checked (``stats``), and a list of findings; any finding of severity
``error`` makes the audit fail (non-zero exit code).
"""

from __future__ import annotations

import datetime as _dt
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
    #: lower-case address → name from the deployment manifest (contracts, deployer, labelled accounts)
    names: dict[str, str] = field(default_factory=dict)
    #: IANA time zone for human dates in the plain reports (the JSON keeps unix times)
    timezone: str = "UTC"
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
        """The JSON report; field names are stable and documented in docs/audit.md."""
        return {
            "audit": self.audit,
            "passed": self.passed,
            "createdAt": self.created_at,
            "verdict": self.verdict().to_dict(),
            "subject": self.subject,
            "stats": self.stats,
            "findings": [asdict(f) for f in self.findings],
            "checked": self.checked,
            "names": self.names,
        }

    def verdict(self) -> Any:
        """The plain-language verdict (:class:`co3chain.audit.plain.Verdict`)."""
        from co3chain.audit.plain import build_verdict  # plain builds on this module

        return build_verdict(self, self.names, self.timezone)

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


def render_html(report: AuditReport) -> str:
    """A standalone HTML page for people (see :func:`co3chain.audit.plain.render_html`)."""
    from co3chain.audit.plain import render_html as plain_html

    return plain_html(report, max_rows=MAX_HTML_ROWS)
