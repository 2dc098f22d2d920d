// Reads Stryker's JSON report (mutation-testing-report-schema) and prints the mutation score of
// each group, failing (exit 1) when one is below 85%. The last step of `npm run test:mutation`.
//
//   mutation engine: score 91.20% (killed 800, survived 70, no coverage 7, timeout 3)
//
// The score is Stryker's mutation score: detected (killed + timeout) over valid mutants
// (detected + survived + no coverage); compile errors, runtime errors and ignored mutants do
// not count. `--survivors` also lists every mutant left alive (file:line, mutator, replacement),
// the list test/mutation/SURVIVORS.md explains.
//
// Usage: ts-node --transpile-only scripts/mutation-report.ts [report.json] [--survivors]
import * as fs from "fs";
import * as path from "path";

const DEFAULT_REPORT = "reports/mutation/mutation.json";
const MIN_SCORE = 85;

/** A group is a set of files: a folder (ending in "/") or exact paths, relative to the repo. */
export const GROUPS: ReadonlyArray<{ readonly name: string; readonly files: readonly string[] }> = [
    { name: "engine", files: ["components/canary/engine/"] },
    { name: "metrics/assess", files: ["components/canary/metrics/assess.ts"] },
    { name: "provider", files: ["components/canary/provider/release.ts", "components/canary/provider/validate.ts"] },
    { name: "routers", files: ["components/canary/routers/"] },
];

/** The parts of the report schema this script reads. */
interface Mutant {
    readonly mutatorName: string;
    readonly replacement?: string;
    readonly status: string;
    readonly location: { readonly start: { readonly line: number; readonly column: number } };
}
interface Report {
    readonly files: Readonly<Record<string, { readonly mutants: readonly Mutant[] }>>;
}

export interface Counts {
    killed: number;
    survived: number;
    noCoverage: number;
    timeout: number;
    /** CompileError, RuntimeError, Ignored: not part of the score. */
    invalid: number;
}

export function score(c: Counts): number {
    const detected = c.killed + c.timeout;
    const valid = detected + c.survived + c.noCoverage;
    return valid === 0 ? 0 : (100 * detected) / valid;
}

function inGroup(file: string, files: readonly string[]): boolean {
    return files.some((f) => (f.endsWith("/") ? file.startsWith(f) : file === f));
}

function count(c: Counts, status: string): void {
    switch (status) {
        case "Killed": c.killed++; break;
        case "Survived": c.survived++; break;
        case "NoCoverage": c.noCoverage++; break;
        case "Timeout": c.timeout++; break;
        default: c.invalid++;
    }
}

function main(argv: readonly string[]): number {
    const listSurvivors = argv.includes("--survivors");
    const reportPath = argv.find((a) => !a.startsWith("--")) ?? DEFAULT_REPORT;
    if (!fs.existsSync(reportPath)) {
        console.error(`mutation: no report at ${reportPath} (run \`npx stryker run\` first)`);
        return 1;
    }
    const report = JSON.parse(fs.readFileSync(reportPath, "utf8")) as Report;
    // report paths may be absolute or relative to the working directory
    const files = Object.entries(report.files).map(([f, r]) => [path.relative(process.cwd(), path.resolve(f)).split(path.sep).join("/"), r] as const);
    let failed = false;
    const survivors: string[] = [];
    for (const group of GROUPS) {
        const c: Counts = { killed: 0, survived: 0, noCoverage: 0, timeout: 0, invalid: 0 };
        for (const [file, r] of files.filter(([f]) => inGroup(f, group.files))) {
            for (const m of r.mutants) {
                count(c, m.status);
                if (m.status === "Survived" || m.status === "NoCoverage") {
                    survivors.push(`${file}:${m.location.start.line} ${m.mutatorName} ${JSON.stringify(m.replacement ?? "")} (${m.status})`);
                }
            }
        }
        const s = score(c);
        const total = c.killed + c.survived + c.noCoverage + c.timeout;
        const low = total === 0 || s < MIN_SCORE;
        failed ||= low;
        console.log(`mutation ${group.name}: score ${s.toFixed(2)}% (killed ${c.killed}, survived ${c.survived}, no coverage ${c.noCoverage}, timeout ${c.timeout})` +
            (total === 0 ? ": no mutants in the report" : low ? `: below ${MIN_SCORE}%` : ""));
    }
    if (listSurvivors) for (const line of survivors) console.log(`  ${line}`);
    return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
