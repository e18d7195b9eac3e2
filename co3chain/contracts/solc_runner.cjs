// Runs the pinned solcjs in standard-JSON mode: input JSON file in, output JSON file out.
// Why a file and not stdout: the solcjs CLI calls process.exit() and truncates large outputs on pipes.
// Usage: node solc_runner.cjs <node_modules dir> <input.json> <output.json>
'use strict';
const fs = require('fs');
const path = require('path');
const [nodeModules, inputPath, outputPath] = process.argv.slice(2);
const solc = require(path.join(nodeModules, 'solc'));
const input = fs.readFileSync(inputPath, 'utf8');
const output = solc.compile(input, { import: (p) => ({ error: 'imports must be inlined: ' + p }) });
fs.writeFileSync(outputPath, output);
