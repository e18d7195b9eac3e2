// Starts the live stack the tests run against: anvil + the deployed suite + the API with its oracle
// (tests/appkit/js_stack.py, the same pieces the Python suite uses). The child dies with this process: it serves
// until its stdin closes.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

export async function startStack({ cors = [] } = {}) {
  const python = process.env.CO3_PYTHON || join(REPO, ".venv", "bin", "python");
  const dir = mkdtempSync(join(tmpdir(), "co3-js-stack-"));
  const args = ["-m", "tests.appkit.js_stack", "--dir", dir, ...cors.flatMap((o) => ["--cors", o])];
  const child = spawn(python, args, { cwd: REPO, env: { ...process.env, PYTHONPATH: REPO },
    stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr = (stderr + d).slice(-4000); });
  const lines = createInterface({ input: child.stdout });
  const info = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`stack did not start in 120 s:\n${stderr}`)), 120_000);
    lines.once("line", (line) => { clearTimeout(timer); ok(JSON.parse(line)); });
    child.once("exit", (code) => { clearTimeout(timer); fail(new Error(`stack exited (${code}):\n${stderr}`)); });
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((ok) => child.once("exit", ok));
    child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  };
  return { ...info, stop };
}

/** anvil: move the clock forward and mine one block. */
export async function increaseTime(rpcUrl, seconds) {
  for (const [method, params] of [["evm_increaseTime", [seconds]], ["evm_mine", []]]) {
    const res = await fetch(rpcUrl, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
    const body = await res.json();
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
  }
}
