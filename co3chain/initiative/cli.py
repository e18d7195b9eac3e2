"""``co3chain initiative ...``: draft, amend, open and support citizen initiatives; follow them; prepare the
council's threshold changes.

Everything except ``calldata`` talks to the co3chain HTTP API through the SDK. The author's steps and the
supports are EIP-712 messages signed here with the citizen's key and relayed by the API, so citizens never
need ETH. Exit code 1 with one readable line on any error.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from co3chain.errors import Co3Error
from co3chain.sdk.cli_common import API_OPTION, JSON_OPTION
from co3chain.sdk.cli_common import api_call as _call
from co3chain.sdk.cli_common import emit as _emit
from co3chain.sdk.cli_common import key_options as _key_options
from co3chain.sdk.cli_common import signing_account as _account

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def _client(api_url: str) -> Any:
    from co3chain.sdk import Client
    from co3chain.sdk.initiative import InitiativeClient

    return InitiativeClient(Client(api_url))


def _seconds(text: str) -> int:
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise Co3Error(f"{text!r} is not a duration such as 3600, 90m, 36h or 7d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _electorate(text: str) -> int:
    from co3chain.initiative.content import InitiativeError, parse_electorate

    try:
        return parse_electorate(text)
    except InitiativeError as exc:
        raise Co3Error(str(exc)) from None


def _content(title: str, text_file: Path | None, text_hash: str | None, area: int, electorate: str, mode: str,
             voting_period: str, actions: tuple[str, ...]) -> Any:
    from eth_utils import keccak

    from co3chain.initiative.content import MODES, Action, Content, InitiativeError

    if bool(text_file) == bool(text_hash):
        raise Co3Error("give exactly one of --text-file FILE (its keccak256 is signed) or --text-hash 0x<64 hex>")
    digest = keccak(text_file.read_bytes()) if text_file else text_hash
    parsed = []
    for spec in actions:
        parts = spec.split(",")
        if len(parts) != 3:
            raise Co3Error(f"--action needs TARGET,VALUE,0xCALLDATA, got {spec!r}")
        try:
            parsed.append(Action(parts[0], int(parts[1]), bytes.fromhex(parts[2].removeprefix("0x"))))
        except ValueError:
            raise Co3Error(f"--action {spec!r}: VALUE must be an integer and CALLDATA hex") from None
    try:
        return Content.build(text_hash=digest, title=title, area_id=area, electorate=_electorate(electorate),
                             mode=MODES.index(mode), voting_period=_seconds(voting_period), actions=parsed)
    except InitiativeError as exc:
        raise Co3Error(str(exc)) from None


def _content_options(f: Any) -> Any:
    f = click.option("--action", "actions", multiple=True, metavar="TARGET,VALUE,0xCALLDATA",
                     help="A call the timelock makes if the vote succeeds (repeat; consortium-wide initiatives).")(f)
    f = click.option("--voting-period", default="7d", show_default=True,
                     help="Wished vote length (seconds, or 90m / 36h / 7d), clamped into the governance's bounds.")(f)
    f = click.option("--mode", type=click.Choice(["OneCitizenOneVote", "TokenWeighted", "ReputationWeighted"]),
                     default="OneCitizenOneVote", show_default=True, help="Counting mode of the vote.")(f)
    f = click.option("--electorate", default="consortium", show_default=True,
                     help="Who supports and votes: consortium, pa:N, group:N, union:N or a raw id.")(f)
    f = click.option("--area", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Commoning area of the proposal (0 = consortium-wide).")(f)
    f = click.option("--text-hash", help="keccak256 of the full text, if you publish the text elsewhere.")(f)
    f = click.option("--text-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="The initiative's full text (hashed here; publish it unchanged).")(f)
    return click.option("--title", required=True, help="Short title (at most 200 bytes).")(f)


def _show(i: Any) -> str:
    lines = [f"initiative {i.initiativeId}: {i.title!r}",
             f"  status {i.status}, version {i.version} ({i.versionHash}), author {i.author}",
             f"  electorate {i.electorateName}, area {i.areaId}, mode {i.mode}, voting period {i.votingPeriod} s",
             f"  text hash {i.textHash}"]
    if i.status != "Draft":
        lines.append(f"  supports {i.supportCount} of {i.required} needed (electorate of {i.electorateSize}), "
                     f"collecting until {i.deadline}")
    if i.proposalId is not None:
        lines.append(f"  went to vote as proposal 0x{int(i.proposalId):064x}")
    for a in getattr(i, "actions", []):
        lines.append(f"  action: call {a.target} value {a.value} data {a.calldata[:66]}{'…' if len(a.calldata) > 66 else ''}")
    return "\n".join(lines)


@click.group("initiative")
def initiative() -> None:
    """Citizen initiatives: draft, collect supports (gasless), go to vote at the council's threshold."""


@initiative.command("list")
@API_OPTION
@JSON_OPTION
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
def list_cmd(api_url: str, as_json: bool, limit: int) -> None:
    """Initiatives, newest first."""
    listing = _call(_client(api_url).initiatives, limit)
    lines = [f"{i.initiativeId:>4}  {i.status:<10} {i.supportCount:>5}/{i.required:<5} {i.electorateName:<14} "
             f"{i.title}" for i in listing.items]
    _emit(listing, as_json, "\n".join(lines) if lines else "no initiatives")


@initiative.command("show")
@click.argument("initiative_id", type=click.IntRange(min=1))
@API_OPTION
@JSON_OPTION
def show_cmd(initiative_id: int, api_url: str, as_json: bool) -> None:
    """One initiative: version, supports, threshold, the proposal it became."""
    detail = _call(_client(api_url).initiative, initiative_id)
    _emit(detail, as_json, _show(detail))


@initiative.command("supports")
@click.argument("initiative_id", type=click.IntRange(min=1))
@API_OPTION
@JSON_OPTION
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
def supports_cmd(initiative_id: int, api_url: str, as_json: bool, limit: int) -> None:
    """The supports, as indexed from the contract's events."""
    listing = _call(_client(api_url).supports, initiative_id, limit)
    lines = [f"#{s.supportCount:<5} {s.supporter}  block {s.blockNumber}  "
             f"{'signed, relayed' if s.bySignature else 'direct'}" for s in listing.items]
    _emit(listing, as_json, "\n".join(lines) if lines else f"initiative {initiative_id} has no supports yet")


@initiative.command("threshold")
@click.argument("electorate")
@API_OPTION
@JSON_OPTION
def threshold_cmd(electorate: str, api_url: str, as_json: bool) -> None:
    """The threshold in force for ELECTORATE (consortium, pa:N, group:N, union:N)."""
    t = _call(_client(api_url).threshold, _electorate(electorate))
    value = f"{t.value} supports" if t.kind == "absolute" else f"{t.value / 100:g} % of the electorate"
    _emit(t, as_json, f"{value} within {t.collectionWindow} s ({'its own' if t.own else 'the default'}); "
                      f"the electorate has {t.electorateSize} citizens: {t.required} supports needed now")


def _relayed(client: Any, accepted: Any, what: str, wait: bool) -> Any:
    click.echo(f"{what} relayed in transaction {accepted.txHash}")
    if not wait:
        return None
    try:
        result = client.wait(accepted.txHash)
    except TimeoutError as exc:
        raise Co3Error(str(exc)) from None
    if result.status != "success":
        raise Co3Error(f"the transaction {accepted.txHash} failed on-chain")
    return result


WAIT_OPTION = click.option("--no-wait", is_flag=True, help="Do not wait for the transaction to be mined.")


@initiative.command("draft")
@_content_options
@API_OPTION
@_key_options
@WAIT_OPTION
def draft_cmd(title: str, text_file: Path | None, text_hash: str | None, area: int, electorate: str, mode: str,
              voting_period: str, actions: tuple[str, ...], api_url: str, key_file: str | None,
              password_file: str | None, dev_key: str | None, no_wait: bool) -> None:
    """Draft an initiative as the key's citizen (who must belong to the electorate)."""
    content = _content(title, text_file, text_hash, area, electorate, mode, voting_period, actions)
    account = _account(key_file, password_file, dev_key)
    client = _client(api_url)
    result = _relayed(client, _call(client.draft, account, content), "draft", not no_wait)
    if result is not None:
        click.echo(f"initiative {result.initiativeId} drafted (version hash 0x{content.content_hash().hex()})")


@initiative.command("amend")
@click.argument("initiative_id", type=click.IntRange(min=1))
@_content_options
@API_OPTION
@_key_options
@WAIT_OPTION
def amend_cmd(initiative_id: int, title: str, text_file: Path | None, text_hash: str | None, area: int,
              electorate: str, mode: str, voting_period: str, actions: tuple[str, ...], api_url: str,
              key_file: str | None, password_file: str | None, dev_key: str | None, no_wait: bool) -> None:
    """Replace a draft by a new version (author only, before it opens)."""
    content = _content(title, text_file, text_hash, area, electorate, mode, voting_period, actions)
    account = _account(key_file, password_file, dev_key)
    client = _client(api_url)
    if _relayed(client, _call(client.amend, account, initiative_id, content), "amendment", not no_wait):
        click.echo(f"initiative {initiative_id} amended (version hash 0x{content.content_hash().hex()})")


@initiative.command("open")
@click.argument("initiative_id", type=click.IntRange(min=1))
@API_OPTION
@_key_options
@WAIT_OPTION
def open_cmd(initiative_id: int, api_url: str, key_file: str | None, password_file: str | None, dev_key: str | None,
             no_wait: bool) -> None:
    """Open the draft for supports (author only): its content is frozen and the threshold fixed."""
    account = _account(key_file, password_file, dev_key)
    client = _client(api_url)
    if _relayed(client, _call(client.open, account, initiative_id), "opening", not no_wait):
        i = _call(client.initiative, initiative_id)
        click.echo(f"initiative {initiative_id} is collecting supports: {i.required} needed by {i.deadline}")


@initiative.command("support")
@click.argument("initiative_id", type=click.IntRange(min=1))
@API_OPTION
@_key_options
@WAIT_OPTION
def support_cmd(initiative_id: int, api_url: str, key_file: str | None, password_file: str | None,
                dev_key: str | None, no_wait: bool) -> None:
    """Support an initiative as the key's citizen (signed here, relayed: no gas needed)."""
    account = _account(key_file, password_file, dev_key)
    client = _client(api_url)
    result = _relayed(client, _call(client.support, account, initiative_id), f"support of {account.address}",
                      not no_wait)
    if result is not None:
        i = _call(client.initiative, initiative_id)
        extra = f"; it went to vote as proposal 0x{int(result.proposalId):064x}" if result.proposalId else ""
        click.echo(f"initiative {initiative_id}: {i.supportCount} of {i.required} supports{extra}")


@initiative.command("calldata")
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--electorate", default=None, help="Set this electorate's own threshold (default: the default one).")
@click.option("--kind", type=click.Choice(["absolute", "percentage"]), help="absolute supports or basis points.")
@click.option("--value", type=click.IntRange(min=1), help="Supports, or basis points of the electorate (100 = 1 %).")
@click.option("--window", help="Collection window (seconds, or 90m / 36h / 30d).")
@click.option("--clear", is_flag=True, help="Make --electorate use the default threshold again.")
def calldata_cmd(manifest_path: Path, electorate: str | None, kind: str | None, value: int | None,
                 window: str | None, clear: bool) -> None:
    """Print the target and calldata of a threshold change, for a council motion to the timelock."""
    from eth_abi import encode
    from eth_utils import keccak

    from co3chain.contracts.deploy import load_manifest

    entry = load_manifest(manifest_path)["contracts"].get("CitizenInitiatives")
    if entry is None:
        raise Co3Error("the manifest has no CitizenInitiatives")
    if clear:
        if electorate is None:
            raise Co3Error("--clear needs --electorate")
        data = keccak(text="clearElectorateThreshold(uint256)")[:4] + encode(["uint256"], [_electorate(electorate)])
    else:
        if kind is None or value is None or window is None:
            raise Co3Error("a threshold needs --kind, --value and --window")
        threshold = (0 if kind == "absolute" else 1, value, _seconds(window))
        if electorate is None:
            data = keccak(text="setDefaultThreshold((uint8,uint64,uint64))")[:4] + encode(
                ["(uint8,uint64,uint64)"], [threshold])
        else:
            data = keccak(text="setElectorateThreshold(uint256,(uint8,uint64,uint64))")[:4] + encode(
                ["uint256", "(uint8,uint64,uint64)"], [_electorate(electorate), threshold])
    click.echo(json.dumps({"target": entry["address"], "value": 0, "data": "0x" + data.hex()}, indent=2))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(initiative())
