// npm run bench: what the canary release costs, measured in one run on the local cluster
// (scripts/cluster-up.sh: kube-apiserver + kwok; or DEMO_KUBECONFIG), with the real Pulumi CLI
// through the Automation API and a local Prometheus scraping the ingress-nginx-shaped exporter.
//
//  (a) preview overhead: `pulumi preview` of the unchanged release stack (test/fixtures/
//      release-stack) against the same stack with the release switched off (release resources
//      absent, the primary takes the template directly: releaseProgram({ releaseEnabled: false }));
//      median of N previews each, after one warm-up each, interleaved.   Target: <= 1.10x.
//  (b) release overhead: the wall time of the `up` that performs a good release against its
//      configured schedule (steps x interval), minus the wall time of a no-op `up`, per step;
//      the release's own duration is also read from the provider's progress lines as they
//      arrive.                                                             Target: <= 1 s/step.
//
// Prints a table and PASS/FAIL per target. Exits 0 when a target is missed (a benchmark, not a
// test); non-zero only when something could not be measured.
//
// Options (environment): BENCH_PREVIEWS (default 5), BENCH_NOOP_UPS (default 3),
// BENCH_INTERVAL_SECONDS (default 2), BENCH_STEPS (default 4); DEMO_KUBECONFIG / DEMO_PULUMI
// as for the demo.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { AnalysisSpec } from "../components/canary/engine/types";
import { TS } from "../components/canary/provider/resource";
import { APP, PODINFO, ReleaseProgramOptions, releaseProgram } from "../test/fixtures/release-stack/program";
import { GOOD, startReleaseMetrics } from "../test/fixtures/release-stack/metrics";
import { LocalEnv, TimedLine, banner, lineRecorder, liveLines, onCleanup, repoRoot, runMain, startLocalEnv } from "./lib/local-stack";

const PREVIEWS = Number(process.env.BENCH_PREVIEWS ?? "5");
const NOOP_UPS = Number(process.env.BENCH_NOOP_UPS ?? "3");
const INTERVAL_SECONDS = Number(process.env.BENCH_INTERVAL_SECONDS ?? "2");
const STEPS = Number(process.env.BENCH_STEPS ?? "4");
const PREVIEW_TARGET = 1.10;
const STEP_OVERHEAD_TARGET_S = 1.0;
const ON_NS = "bench-on";
const OFF_NS = "bench-off";
/** STEPS steps of 10%: 10, 20, ..., 10*STEPS, then promotion. */
const ANALYSIS: Partial<AnalysisSpec> = { intervalSeconds: INTERVAL_SECONDS, stepWeight: 10, maxWeight: 10 * STEPS, threshold: 2 };

const say = (line: string) => process.stdout.write(`bench: ${line}\n`);
const median = (xs: readonly number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const f2 = (x: number) => x.toFixed(2);
const list = (xs: readonly number[]) => xs.map(f2).join(" ");

async function stackOf(env: LocalEnv, name: string, program: () => Promise<Record<string, unknown>>): Promise<Stack> {
    const workDir = path.join(env.runDir, name);
    fs.mkdirSync(workDir, { recursive: true });
    return LocalWorkspace.createOrSelectStack({ stackName: name, projectName: "pulumi-canary-bench", program }, { workDir, pulumiCommand: env.pulumiCommand, envVars: env.envVars });
}

/** Wall seconds of `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
    const t0 = process.hrtime.bigint();
    const r = await fn();
    return [Number(process.hrtime.bigint() - t0) / 1e9, r];
}

async function previewSeconds(stack: Stack): Promise<number> {
    const [s, p] = await timed(() => stack.preview({ color: "never" }));
    const changed = Object.entries(p.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
    if (changed.length > 0) throw new Error(`preview of ${stack.name} is not unchanged: ${JSON.stringify(p.changeSummary)}`);
    return s;
}

/** Arrival time (ms) of the first provider line matching `re`, at or after `from`. */
function lineAt(lines: readonly TimedLine[], re: RegExp, from = 0): number | undefined {
    return lines.find((l) => l.at >= from && re.test(l.text))?.at;
}

async function main(): Promise<number> {
    process.stdout.write(banner("pulumi-canary bench: preview overhead and release overhead, measured on the local cluster"));
    const env = await startLocalEnv("bench", say);
    const metricsDir = path.join(env.runDir, "prometheus");
    fs.mkdirSync(metricsDir);
    const metrics = await startReleaseMetrics(ON_NS, metricsDir);
    onCleanup("stop Prometheus and the exporter", () => metrics.stop());
    metrics.exporter.set(GOOD);
    say(`Prometheus at ${metrics.url}`);

    const onOpts = { kubeconfig: env.kubeconfig, namespace: ON_NS, metricsUrl: metrics.url, analysis: ANALYSIS };
    const on = await stackOf(env, "bench-on", releaseProgram({ ...onOpts, image: `${PODINFO}:6.5.3` }));
    const off = await stackOf(env, "bench-off", releaseProgram({ ...onOpts, namespace: OFF_NS, image: `${PODINFO}:6.5.3`, releaseEnabled: false }));
    if (env.external) {
        onCleanup("destroy the bench stacks", async () => {
            await on.destroy().catch((e) => say(`destroy bench-on failed: ${e}`));
            await off.destroy().catch((e) => say(`destroy bench-off failed: ${e}`));
        });
    }

    say("first up of both stacks (podinfo 6.5.3; the release stack initializes)");
    const [upOn] = await timed(() => on.up({ color: "never" }));
    const [upOff] = await timed(() => off.up({ color: "never" }));
    say(`first up: release on ${f2(upOn)}s, release off ${f2(upOff)}s`);

    // (a) previews: one warm-up each, then N each, interleaved so drift hits both alike
    say(`(a) ${PREVIEWS} previews of each unchanged stack, after one warm-up each, interleaved`);
    await previewSeconds(on);
    await previewSeconds(off);
    const pOn: number[] = [];
    const pOff: number[] = [];
    for (let i = 0; i < PREVIEWS; i++) {
        pOn.push(await previewSeconds(on));
        pOff.push(await previewSeconds(off));
        say(`  preview ${i + 1}/${PREVIEWS}: release on ${f2(pOn[i])}s, off ${f2(pOff[i])}s`);
    }
    const previewRatio = median(pOn) / median(pOff);

    // (b) no-op ups (same program, nothing changes), then the up that releases 6.5.4
    say(`(b) ${NOOP_UPS} no-op ups of the release stack, then good releases of ${STEPS} and ${2 * STEPS} steps every ${INTERVAL_SECONDS}s`);
    const noops: number[] = [];
    for (let i = 0; i < NOOP_UPS; i++) {
        const [s, r] = await timed(() => on.up({ color: "never" }));
        const changed = Object.entries(r.summary.resourceChanges ?? {}).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
        if (changed.length > 0) throw new Error(`no-op up changed something: ${JSON.stringify(r.summary.resourceChanges)}`);
        noops.push(s);
    }
    const noop = median(noops);

    // the up that performs the release (4 steps by default), then one with twice the steps:
    // fixed costs (Deployment rollouts, readiness, finalization, the engine) cancel in the slope
    const r1 = await release(env, onOpts, `${PODINFO}:6.5.4`, STEPS);
    const r2 = await release(env, onOpts, `${PODINFO}:6.5.5`, 2 * STEPS);
    const schedule = STEPS * INTERVAL_SECONDS;
    const perStep = (r1.wall - schedule - noop) / STEPS;
    const marginal = (r2.wall - r1.wall) / STEPS - INTERVAL_SECONDS;
    const providerPerStep = r1.analysed === undefined ? undefined : r1.analysed / STEPS - INTERVAL_SECONDS;
    const coldDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-ts-cache-"));
    const loadCold = providerLoadSeconds(coldDir);
    fs.rmSync(coldDir, { recursive: true, force: true });
    const loadWarm = providerLoadSeconds(TS.cacheDir);

    process.stdout.write(banner("Results"));
    const opt = (x: number | undefined, unit = " s") => (x === undefined ? "n/a" : `${f2(x)}${unit}`);
    const verdict = (x: number | undefined, target: number) => (x === undefined ? "n/a" : x <= target ? "PASS" : "FAIL");
    const rows: [string, string, string][] = [
        ["(a) preview, release on (median)", `${f2(median(pOn))} s`, `runs: ${list(pOn)}`],
        ["(a) preview, release off (median)", `${f2(median(pOff))} s`, `runs: ${list(pOff)}`],
        ["(a) preview ratio on/off", `${f2(previewRatio)}x`, `target <= ${f2(PREVIEW_TARGET)}x: ${verdict(previewRatio, PREVIEW_TARGET)}`],
        ["(a) context: provider load, cold", opt(loadCold), "fresh `node`: ts-loader.js + require provider/release.ts, empty transpile cache (first preview after a change)"],
        ["(a) context: provider load, warm", opt(loadWarm), "the same with the transpile cache filled (every later preview)"],
        ["(b) schedule (steps x interval)", `${f2(schedule)} s`, `${STEPS} x ${INTERVAL_SECONDS} s`],
        ["(b) no-op up (median)", `${f2(noop)} s`, `runs: ${list(noops)}`],
        ["(b) releasing up, wall", `${f2(r1.wall)} s`, `${f2(r1.wall / schedule)}x the schedule`],
        ["(b) own overhead per step", `${f2(perStep)} s`, `(wall - schedule - no-op) / steps; target <= ${f2(STEP_OVERHEAD_TARGET_S)} s: ${verdict(perStep, STEP_OVERHEAD_TARGET_S)}`],
        ["(b) provider: new revision -> done", opt(r1.providerTotal), "\"New revision detected\" to \"Promotion completed\" (line arrival)"],
        ["(b) provider: canary readiness", opt(r1.readiness), "\"New revision detected\" to the first \"Advance ... weight\""],
        ["(b) provider: analysed steps", opt(r1.analysed), `first "Advance" to "Copying ... template spec" (${STEPS} intervals)`],
        ["(b) provider: overhead per step", opt(providerPerStep), `analysed / steps - interval; target <= ${f2(STEP_OVERHEAD_TARGET_S)} s: ${verdict(providerPerStep, STEP_OVERHEAD_TARGET_S)}`],
        ["(b) provider: gaps between weights", r1.gaps.length === 0 ? "n/a" : `${f2(median(r1.gaps))} s`, `median; all: ${list(r1.gaps)}`],
        ["(b) fixed cost outside the steps", `${f2(r1.wall - noop - schedule - (providerPerStep ?? 0) * STEPS)} s`, "wall - no-op - analysed steps: rollouts, readiness, promotion, finalization"],
        [`(b) release with ${2 * STEPS} steps, wall`, `${f2(r2.wall)} s`, `schedule ${f2(2 * STEPS * INTERVAL_SECONDS)} s`],
        ["(b) marginal overhead per step", `${f2(marginal)} s`, `(wall ${2 * STEPS} steps - wall ${STEPS} steps) / ${STEPS} - interval; one sample each, ` +
            `noise about +-${f2((Math.max(...noops) - Math.min(...noops)) / STEPS)} s (no-op spread / ${STEPS})`],
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    for (const [a, b, c] of rows) process.stdout.write(`  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}\n`);
    const missed = [previewRatio > PREVIEW_TARGET ? "preview ratio" : "", perStep > STEP_OVERHEAD_TARGET_S ? "per-step overhead" : ""].filter((x) => x !== "");
    process.stdout.write([
        "",
        "  Notes: every Kubernetes object here is a dynamic resource (KubeApply, test/fixtures/release-stack), so each",
        "  costs about as much as the release's own resources in preview; wall times include whatever else the",
        "  machine runs (run it alone). \"own overhead per step\" charges the release's fixed costs (canary and primary",
        "  rollouts, readiness, finalization) to its steps; the provider rows and the marginal row isolate the steps.",
        "",
    ].join("\n"));
    process.stdout.write(missed.length === 0
        ? "\n  Both targets met.\n"
        : `\n  Target missed: ${missed.join(", ")}. This is a benchmark, not a test: exiting 0 anyway.\n`);
    return 0;
}

interface ReleaseRun {
    readonly wall: number;
    /** From the provider's lines, in seconds; undefined when a line was not seen. */
    readonly providerTotal?: number;
    readonly readiness?: number;
    readonly analysed?: number;
    readonly gaps: number[];
}

/** Wall time of the `up` that releases `image` with `steps` steps of 10%, and the provider's own timings. */
async function release(env: LocalEnv, opts: Omit<ReleaseProgramOptions, "image">, image: string, steps: number): Promise<ReleaseRun> {
    say(`(b) releasing ${image}: ${steps} steps every ${INTERVAL_SECONDS}s`);
    const analysis: Partial<AnalysisSpec> = { ...opts.analysis, stepWeight: 10, maxWeight: 10 * steps };
    const stack = await stackOf(env, "bench-on", releaseProgram({ ...opts, image, analysis }));
    const rec = lineRecorder((l) => {
        if (l.includes(`[${APP}.${ON_NS}]`)) process.stdout.write(`  ${l.trim()}\n`);
    });
    const [wall, up] = await timed(() => stack.up({ color: "never", onOutput: rec.onOutput }));
    rec.flush();
    if (up.outputs.finalPhase?.value !== "Succeeded") {
        throw new Error(`the release of ${image} did not promote: finalPhase ${JSON.stringify(up.outputs.finalPhase?.value)}`);
    }
    // the provider's own view, from its progress lines as the CLI streamed them
    const live = liveLines(rec.lines);
    const id = `${APP}\\.${ON_NS}`;
    const tNew = lineAt(live, new RegExp(`New revision detected! Scaling up ${id}`));
    const tFirst = lineAt(live, new RegExp(`Advance ${id} canary weight \\d+`));
    const tCopy = lineAt(live, new RegExp(`Copying ${id} template spec`));
    const tDone = lineAt(live, new RegExp(`Promotion completed! Scaling down ${id}`));
    const advances = live.filter((l) => new RegExp(`Advance ${id} canary weight \\d+`).test(l.text)).map((l) => l.at);
    const sec = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : (b - a) / 1000);
    return {
        wall,
        providerTotal: sec(tNew, tDone),
        readiness: sec(tNew, tFirst),
        analysed: sec(tFirst, tCopy),
        gaps: advances.slice(1).map((t, i) => (t - advances[i]) / 1000),
    };
}

/** Seconds a fresh `node` takes to register the .ts loader and require the release provider, as its dynamic-provider process does. */
function providerLoadSeconds(cacheDir: string): number | undefined {
    const script = [
        "const t0 = process.hrtime.bigint();",
        `require(${JSON.stringify(TS.loader)}).register({ tsconfig: ${JSON.stringify(TS.tsconfig)}, cacheDir: ${JSON.stringify(cacheDir)} });`,
        `require(${JSON.stringify(path.join(repoRoot, "components", "canary", "provider", "release"))});`,
        "process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e9));",
    ].join("\n");
    const r = spawnSync(process.execPath, ["-e", script], { cwd: repoRoot, encoding: "utf8" });
    const v = Number(r.stdout);
    return r.status === 0 && Number.isFinite(v) ? v : undefined;
}

runMain("bench", main);
