// Mutation testing (`npm run test:mutation`): Stryker over the engine, metric assessment, the
// provider's release/validate functions and the routers, killed by the unit tests.
// A report, not part of the CI gate: scripts/mutation-report.ts prints the score per group
// and fails below 85%; test/mutation/SURVIVORS.md explains each mutant left alive.
import os from "node:os";
import path from "node:path";

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
    mutate: [
        "components/canary/engine/**/*.ts",
        "components/canary/metrics/assess.ts",
        "components/canary/provider/release.ts",
        "components/canary/provider/validate.ts",
        "components/canary/routers/**/*.ts",
    ],
    testRunner: "mocha",
    // .mocharc.json still applies (ts-node/register/transpile-only, timeout, exit)
    mochaOptions: { spec: ["test/unit/**/*.test.ts"] },
    checkers: ["typescript"],
    tsconfigFile: "tsconfig.json",
    coverageAnalysis: "perTest",
    // static mutants (module-level constants) need a full reload and every test: skip them
    ignoreStatic: true,
    // the other half of a 2-core machine belongs to whoever else works here
    concurrency: 1,
    reporters: ["clear-text", "progress", "html", "json"],
    htmlReporter: { fileName: "reports/mutation/mutation.html" },
    jsonReporter: { fileName: "reports/mutation/mutation.json" },
    // sandboxes outside the work tree: `eslint .` must not see their copies of the sources
    tempDirName: path.join(os.tmpdir(), "stryker-pulumi-canary"),
    // the report decides the exit code (per group), not Stryker's overall score
    thresholds: { high: 90, low: 85, break: null },
};
