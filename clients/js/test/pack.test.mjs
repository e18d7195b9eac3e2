// The npm package is complete and publishable: `npm pack --dry-run` lists the built ES modules, their type
// declarations (with the ABIs and EIP-712 builders) and source maps with the TypeScript sources they point to, the
// README and package.json — and nothing else (no tests, no scripts). Runs after `npm run build` (npm test builds).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

test("npm pack ships dist (js + d.ts + maps), the sources the maps point to, README and package.json", () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" });
  const [pack] = JSON.parse(out);
  const files = pack.files.map((f) => f.path).sort();
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.equal(pack.name, "@co3chain/sdk");
  assert.equal(pack.version, pkg.version);
  for (const required of ["package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/client.js",
    "dist/client.d.ts", "dist/typed.js", "dist/typed.d.ts", "dist/events.js", "dist/generated/abis.js",
    "dist/generated/abis.d.ts", "dist/generated/api.d.ts"]) {
    assert.ok(files.includes(required), `${required} missing from the package`);
  }
  const unexpected = files.filter((f) => !(f.startsWith("dist/") || f.startsWith("src/")
    || ["package.json", "README.md"].includes(f)));
  assert.deepEqual(unexpected, [], "only dist/, src/, README.md and package.json are published");
  // Every source map's sources are in the package (a debugger in an app can open them).
  for (const map of files.filter((f) => f.endsWith(".js.map"))) {
    const { sources } = JSON.parse(readFileSync(join(root, map), "utf8"));
    for (const s of sources) {
      const target = join(dirname(map), s).replace(/\\/g, "/");
      assert.ok(files.includes(target), `${map} points at ${target}, which is not published`);
    }
  }
  // The entry points package.json names exist in the tarball, and the ABIs of the suite (with KeyRecovery) ship.
  assert.ok(files.includes(pkg.exports["."].import.replace(/^\.\//, "")));
  assert.ok(files.includes(pkg.exports["."].types.replace(/^\.\//, "")));
  const abisDts = readFileSync(join(root, "dist", "generated", "abis.d.ts"), "utf8");
  for (const name of ["CO3Governance", "CommonsToken", "CitizenRegistry", "Reputation", "KeyRecovery"]) {
    assert.match(abisDts, new RegExp(`\\b${name}\\b`), `ABI of ${name} missing from the typings`);
  }
  assert.ok(pkg.license && pkg.description && pkg.engines?.node, "license, description and engines are set");
  assert.ok(!pkg.private, "the package is not private");
});
