// A long-lived oracle for the differential test: reads one simulation per
// line on stdin (JSON), answers one line on stdout:
//   {"result": "Allowed"|"ExplicitlyDenied"|"ImplicitlyDenied"} or {"error": "..."}.
// It runs @cloud-copilot/iam-simulate (AGPL), installed by the test into
// an ignored directory; none of that package's code is in this repository.
const path = require('path');
const readline = require('readline');
const { createRequire } = require('module');
// Resolve the package by name from the install directory, so its
// package.json "exports" apply.
const requireFrom = createRequire(path.join(process.argv[2], 'oracle-anchor.js'));
const { runSimulation } = requireFrom('@cloud-copilot/iam-simulate');

async function main() {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    let out;
    try {
      const res = await runSimulation(JSON.parse(line), {});
      if (res.resultType === 'error') {
        out = { error: JSON.stringify(res.errors) };
      } else {
        out = { result: res.overallResult };
      }
    } catch (e) {
      out = { error: String(e && e.stack ? e.stack : e) };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}
main();
