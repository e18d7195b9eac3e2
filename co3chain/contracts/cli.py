"""``co3chain compile``, ``deploy`` and ``demo``: the contract suite from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from co3chain.contracts import compiler
from co3chain.errors import Co3Error


@click.command("compile")
@click.option("--check", is_flag=True, help="Do not write; fail if the committed artifacts differ from a fresh compile.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def compile_cmd(check: bool, as_json: bool) -> None:
    """Compile contracts/ with the pinned solcjs into co3chain/contracts/artifacts/."""
    result = compiler.compile_project()
    if check:
        expected = compiler.render_artifacts(result)
        actual = {
            p.name: p.read_text(encoding="utf-8") for p in compiler.ARTIFACTS_DIR.glob("*.json")
        }
        differing = sorted(n for n in expected.keys() | actual.keys() if expected.get(n) != actual.get(n))
        if differing:
            raise compiler.CompilerError(
                "committed artifacts differ from a fresh compile: " + ", ".join(differing) + " (run `co3chain compile`)"
            )
        summary = {"status": "up-to-date", "contracts": sorted(result.artifacts)}
    else:
        written = compiler.write_artifacts(result)
        summary = {"status": "written", "contracts": sorted(result.artifacts), "files": [str(p) for p in written]}
    summary["compiler"] = result.build_info["compiler"]["longVersion"]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"solc {summary['compiler']} (evm {compiler.COMPILER_SETTINGS['evmVersion']}, optimizer runs "
               f"{compiler.COMPILER_SETTINGS['optimizer']['runs']}): {len(result.artifacts)} contracts {summary['status']}")
    for name in sorted(result.artifacts):
        art = result.artifacts[name]
        size = (len(art["deployedBytecode"]) - 2) // 2
        click.echo(f"  {name:<24} {size:>6} bytes  {Path(art['sourceName'])}")


# ------------------------------------------------------------------------------------------------------
# deploy / demo
# ------------------------------------------------------------------------------------------------------


def _web3(rpc: str, timeout: float = 60.0) -> Any:
    """An HTTP web3 client for ``rpc`` (no middleware: every transaction is signed locally)."""
    from web3 import HTTPProvider, Web3

    if not rpc.startswith(("http://", "https://")):
        raise Co3Error(f"--rpc must be an http(s) URL, got {rpc!r}")
    from co3chain.contracts.deploy import qbft_compatible

    return qbft_compatible(Web3(HTTPProvider(rpc, request_kwargs={"timeout": timeout})))


def _signing_account(key_file: str | None, password_file: str | None, dev_key: str | None,
                     default_dev: bool = False) -> Any:
    """The deployer account from a keystore (production) or a raw hex key (development only)."""
    from eth_account import Account

    if key_file and dev_key:
        raise Co3Error("give either --key-file or --dev-key, not both")
    if key_file:
        from co3chain import keys

        return Account.from_key(keys.load_private_key(key_file, keys.read_password(password_file)))
    if dev_key is None and default_dev:
        from co3chain.contracts.demo import DEV_DEPLOYER_KEY

        dev_key = DEV_DEPLOYER_KEY
    if dev_key is None:
        raise Co3Error("no signing key: give --key-file KEYSTORE --password-file FILE (or --dev-key HEX for development)")
    click.echo("warning: using a raw development key; never do this on a shared network", err=True)
    try:
        return Account.from_key(dev_key)
    except (ValueError, TypeError) as exc:
        raise Co3Error(f"--dev-key is not a valid private key: {exc}") from None


@click.command("deploy")
@click.option("--rpc", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC URL of a node.")
@click.option("--key-file", type=click.Path(dir_okay=False), help="Deployer keystore (v3 JSON).")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the keystore password.")
@click.option("--dev-key", help="Deployer private key as hex (development networks only).")
@click.option("--oracle-signer", "oracle_signers", multiple=True, help="Oracle signer address (repeat for M-of-N).")
@click.option("--threshold", type=int, help="Oracle signatures required (default: majority of the signers).")
@click.option("--validator", "validators", multiple=True,
              help="Initial ConsortiumValidators member (default: the node's QBFT validators, else the deployer).")
@click.option("--relayer", help="Address that gets RELAYER_ROLE (API relayer of signed citizen actions).")
@click.option("--half-life", "half_life", type=int, default=None, help="Reputation half-life in seconds.")
@click.option("--council-member", "council_members", multiple=True,
              help="Governance key of a member PA in the council (repeat; default: the validators).")
@click.option("--council-threshold", type=int, default=0, show_default=True,
              help="Council approvals a motion needs (0: majority ⌊n/2⌋+1 of the members).")
@click.option("--timelock-delay", type=int, default=None,
              help="Seconds every rule, role or signer change waits in the timelock (default: 2 days).")
@click.option("--voting-bounds", default=None, metavar="MIN_DELAY,MAX_DELAY,MIN_PERIOD,MAX_PERIOD",
              help="Seconds bounding proposals' voting delay and period (default: the contract's).")
@click.option("--recovery-delay", type=int, default=None,
              help="Seconds a lost-key recovery waits in public before it can be finalized (default: 7 days).")
@click.option("--initiative-threshold", default=None, metavar="absolute|bps,VALUE,WINDOW_SECONDS",
              help="Citizen initiatives' default threshold: N supports or basis points of the electorate, within "
                   "the collection window (default: bps,100,7776000 = 1 % in 90 days).")
@click.option("--network", "network_name", help="Network name recorded in the manifest.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default="deployment.json", show_default=True,
              help="Where to write the deployment manifest.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON on stdout (progress on stderr).")
def deploy_cmd(rpc: str, key_file: str | None, password_file: str | None, dev_key: str | None,
               oracle_signers: tuple[str, ...], threshold: int | None, validators: tuple[str, ...],
               relayer: str | None, half_life: int | None, council_members: tuple[str, ...],
               council_threshold: int, timelock_delay: int | None, voting_bounds: str | None,
               recovery_delay: int | None, initiative_threshold: str | None, network_name: str | None, out: str,
               as_json: bool) -> None:
    """Deploy the CO3 contract suite, hand every admin power to the consortium timelock (council + citizens'
    votes) and write a deployment manifest for auditors. The deployer keeps no admin, mint or reward role."""
    from eth_utils import is_address

    from co3chain.contracts import deploy as dep

    account = _signing_account(key_file, password_file, dev_key)
    signers = list(oracle_signers)
    if not signers:
        if key_file:
            raise Co3Error("--oracle-signer is required with a keystore deployer (the oracle's M-of-N set)")
        from co3chain.contracts.demo import dev_oracle_accounts

        signers = [a.address for a in dev_oracle_accounts()]
        click.echo(f"warning: no --oracle-signer given, using the {len(signers)} public development oracle keys",
                   err=True)
    for addr in [*signers, *validators, *council_members, *([relayer] if relayer else [])]:
        if not is_address(addr):
            raise Co3Error(f"not an address: {addr!r}")
    bounds = None
    if voting_bounds:
        try:
            bounds = tuple(int(v) for v in voting_bounds.split(","))
        except ValueError:
            bounds = ()
        if len(bounds) != 4:
            raise Co3Error(f"--voting-bounds needs four comma-separated numbers of seconds, got {voting_bounds!r}")
    initiatives = dep.DEFAULT_INITIATIVE_THRESHOLD
    if initiative_threshold:
        parts = initiative_threshold.split(",")
        kinds = {"absolute": 0, "bps": 1}
        try:
            initiatives = (kinds[parts[0].strip().lower()], int(parts[1]), int(parts[2]))
        except (KeyError, IndexError, ValueError):
            raise Co3Error("--initiative-threshold needs absolute|bps,VALUE,WINDOW_SECONDS, got "
                           f"{initiative_threshold!r}") from None
    w3 = _web3(rpc)
    vals = list(validators) or dep.node_validators(w3) or [account.address]
    say = (lambda m: click.echo(m, err=True)) if as_json else click.echo
    manifest = dep.deploy_suite(
        w3,
        account,
        oracle_signers=signers,
        oracle_threshold=threshold if threshold is not None else len(signers) // 2 + 1,
        validators=vals,
        half_life_seconds=dep.DEFAULT_HALF_LIFE_SECONDS if half_life is None else half_life,
        relayer=relayer,
        council_members=list(council_members) or None,
        council_threshold=council_threshold,
        timelock_delay=dep.DEFAULT_TIMELOCK_DELAY if timelock_delay is None else timelock_delay,
        voting_bounds=bounds,  # type: ignore[arg-type]
        recovery_delay=dep.DEFAULT_RECOVERY_DELAY if recovery_delay is None else recovery_delay,
        initiative_threshold=initiatives,
        network=network_name,
        progress=say,
    )
    path = dep.save_manifest(manifest, out)
    if as_json:
        click.echo(json.dumps(manifest, indent=2, sort_keys=True))
    else:
        click.echo(f"deployed {len(manifest['contracts'])} contracts on chain {manifest['chainId']}; manifest: {path}")


@click.command("demo")
@click.option("--rpc", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC URL of a node.")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False),
              help="Use this deployment (deploy and write it here when the file does not exist).")
@click.option("--key-file", type=click.Path(dir_okay=False), help="PA officer keystore (admin of the deployment).")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the keystore password.")
@click.option("--dev-key", help="PA officer private key as hex (default: the public development key).")
@click.option("--no-warp", is_flag=True,
              help="Wait for real time even when the node supports evm_increaseTime (as on a production chain).")
@click.option("--json", "as_json", is_flag=True, help="Print the demo result as JSON instead of tables.")
def demo_cmd(rpc: str, manifest_path: str | None, key_file: str | None, password_file: str | None,
             dev_key: str | None, no_warp: bool, as_json: bool) -> None:
    """Run the CO3 story: a park, AR check-ins attested by oracles, rewards, and a citizens' vote."""
    from co3chain.contracts import demo
    from co3chain.contracts import deploy as dep

    account = _signing_account(key_file, password_file, dev_key, default_dev=True)
    w3 = _web3(rpc)
    manifest = None
    if manifest_path and Path(manifest_path).exists():
        manifest = dep.load_manifest(manifest_path)
    result = demo.run_demo(w3, account, manifest, progress=(lambda m: click.echo(m, err=True)) if as_json else None,
                           quiet=as_json, warp=False if no_warp else None)
    if manifest_path and result.manifest != manifest:
        # first deployment, or contracts the demo added (the treasury and budget of an older deployment)
        dep.save_manifest(result.manifest, manifest_path)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
