"""`co3chain ballot demo` runs a whole secret election; trustee commands refuse a wrong keystore clearly."""

from __future__ import annotations

import json

from click.testing import CliRunner

from co3chain.ballot.keystore import save_secret
from co3chain.cli import cli


def test_ballot_demo_json() -> None:
    result = CliRunner().invoke(cli, ["ballot", "demo", "--citizens", "3", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["counts"] == out["expected"] and sum(out["counts"]) == 3
    assert out["audit"]["ok"] and out["gasPerBallot"] > 0


def test_trustee_share_rejects_wrong_password(tmp_path) -> None:
    path = tmp_path / "t.json"
    save_secret(path, "right", 5, {"role": "transport", "ceremony": 1, "index": 1}, scrypt_n=2**10)
    (tmp_path / "pw").write_text("wrong\n")
    result = CliRunner().invoke(cli, ["trustee", "share", "--contract", "0x" + "11" * 20, "--rpc",
                                      "http://127.0.0.1:9", "--transport-keystore", str(path),
                                      "--account-keystore", str(path),
                                      "--password-file", str(tmp_path / "pw"), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "error:" in result.output
