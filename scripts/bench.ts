// npm run bench: what the canary release costs, measured in one run on the local cluster
// (scripts/cluster-up.sh: kube-apiserver + kwok; or DEMO_KUBECONFIG), with the real Pulumi CLI
// running this repository's index.ts (two stacks of the project), and the e2e tier's host data
// plane (test/e2e/dataplane) playing the pods, so the release sees real traffic.
//
// Both stacks deploy the app only (canary:install* false: the infrastructure is the same for
// both and would only add the same constant), in namespaces of their own:
//  (a) preview overhead: `pulumi preview` of the unchanged stack with the release against the
//      same program with `canary:releaseEnabled false` (no canary Deployment, release or
//      finalizer: the primary takes the template directly); median of N previews each, after
//      one warm-up each, interleaved.                                       Target: <= 1.10x.
//  (b) release overhead: the wall time of the `up` that performs a good release against its
//      configured schedule (steps x interval), minus the wall time of a no-op `up`, per step;
//      the release's own duration is also read from the provider's progress lines as they
//      arrive.                                                             Target: <= 1 s/step.
//  (c) where a preview's and a no-op up's time goes: the same preview with index.ts
//      type-checked on every run (PULUMI_NODEJS_TRANSPILE_ONLY=false, what `typescript: true`
//      does without tsconfig.pulumi.json's noCheck), and the start-up of the language host and
//      of the Kubernetes provider plugin (time to print their port, as the CLI waits for it).
//
// Prints a table and PASS/FAIL per target. Exits 0 when a target is missed (a benchmark, not a
// test); non-zero only when something could not be measured.
//
// Options (environment): BENCH_PREVIEWS (default 5), BENCH_NOOP_UPS (default 3),
// BENCH_INTERVAL_SECONDS (default 2), BENCH_STEPS (default 4); DEMO_KUBECONFIG / DEMO_PULUMI
// as for the demo.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TS } from "../components/canary/provider/resource";
import { startDataPlane } from "../test/e2e/dataplane";
import { APP, IMAGES, currentContext, image, localAnalysis, localStackConfig } from "./lib/local-release";
import { LocalEnv, TimedLine, banner, lineRecorder, liveLines, onCleanup, repoRoot, runMain, startLocalEnv } from "./lib/local-stack";
import { ProjectStack } from "./lib/project-stack";

const PREVIEWS = Number(process.env.BENCH_PREVIEWS ?? "5");
const NOOP_UPS = Number(process.env.BENCH_NOOP_UPS ?? "3");
const INTERVAL_SECONDS = Number(process.env.BENCH_INTERVAL_SECONDS ?? "2");
const STEPS = Number(process.env.BENCH_STEPS ?? "4");
const PREVIEW_TARGET = 1.10;
/** The version of @pulumi/kubernetes, which is the plugin's. */
const K8S_PLUGIN_VERSION = (JSON.parse(fs.readFileSync(path.join(repoRoot, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8")) as { version: string }).version;
const STEP_OVERHEAD_TARGET_S = 1.0;
const ON_NS = "bench-on";
const OFF_NS = "bench-off";

const say = (line: string) => process.stdout.write(`bench: ${line}\n`);
const median = (xs: readonly number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const f2 = (x: number) => x.toFixed(2);
const list = (xs: readonly number[]) => xs.map(f2).join(" ");

/** A stack of the project for the bench: the app only, in its own namespace. */
async function stackOf(env: LocalEnv, name: string, namespace: string, prometheusUrl: string, releaseEnabled: boolean): Promise<ProjectStack> {
    const stack = new ProjectStack(`bench-${name}-${process.pid}`, env.pulumiCommand.command, env.envVars);
    await stack.init();
    onCleanup(`remove stack ${stack.name}`, async () => {
        if (env.external) await stack.destroy();
        await stack.remove();
    });
    const kubeContext = currentContext(env.kubeconfig);
    stack.setConfig({
        ...localStackConfig({ kubeContext, prometheusUrl, namespace }),
        "canary:installIngressNginx": false, "canary:installPrometheus": false, "canary:installLoadtester": false,
        "canary:releaseEnabled": releaseEnabled,
        "canary:image": image("6.5.3"),
    });
    await stack.setSecret("canary:kubeconfig", env.kubeconfig);
    return stack;
}

async function up(stack: ProjectStack, onOutput?: (s: string) => void): Promise<number> {
    const r = await stack.up([], onOutput === undefined ? {} : { onOutput });
    if (r.code !== 0) throw new Error(`pulumi up of ${stack.name} failed:\n${r.out.slice(-3000)}`);
    return r.ms / 1000;
}

/** Wall seconds of `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
    const t0 = process.hrtime.bigint();
    const r = await fn();
    return [Number(process.hrtime.bigint() - t0) / 1e9, r];
}

async function previewSeconds(stack: ProjectStack): Promise<number> {
    const [s, changes] = await timed(() => stack.preview());
    const changed = Object.entries(changes).filter(([op, n]) => op !== "same" && n > 0);
    if (changed.length > 0) throw new Error(`preview of ${stack.name} is not unchanged: ${JSON.stringify(changes)}`);
    return s;
}

/** Arrival time (ms) of the first provider line matching `re`, at or after `from`. */
function lineAt(lines: readonly TimedLine[], re: RegExp, from = 0): number | undefined {
    return lines.find((l) => l.at >= from && re.test(l.text))?.at;
}

async function main(): Promise<number> {
    process.stdout.write(banner("pulumi-canary bench: preview overhead and release overhead, measured on the local cluster"));
    const env = await startLocalEnv("bench", say);
    const dir = path.join(env.runDir, "dataplane");
    fs.mkdirSync(dir);
    const dp = await startDataPlane({ kubeconfig: env.kubeconfig, namespace: ON_NS, dir, images: IMAGES, seed: 1 });
    onCleanup("stop the data plane", () => dp.stop());
    say(`data plane: Prometheus at ${dp.prometheusUrl}, loadtester at ${dp.loadtesterUrl}`);

    const on = await stackOf(env, "on", ON_NS, dp.prometheusUrl, true);
    const off = await stackOf(env, "off", OFF_NS, dp.prometheusUrl, false);
    on.setConfig({ "canary:analysis": analysis(dp.loadtesterUrl, STEPS) });

    say("first up of both stacks (podinfo 6.5.3; the release stack initializes)");
    const upOn = await up(on);
    const upOff = await up(off);
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

    // (c) the same preview, type-checking index.ts as `typescript: true` does by default
    const checked = new ProjectStack(on.name, on.pulumi, { ...on.envVars, PULUMI_NODEJS_TRANSPILE_ONLY: "false" });
    await previewSeconds(checked);
    const pChecked: number[] = [];
    for (let i = 0; i < Math.min(PREVIEWS, 3); i++) pChecked.push(await previewSeconds(checked));
    const languageHost = await pluginStartSeconds(path.join(path.dirname(env.pulumiCommand.command), "pulumi-language-nodejs"), []);
    // the toolchain installs it as a plugin into its PULUMI_HOME (an installed CLI: n/a)
    const pluginHome = env.envVars.PULUMI_HOME ?? "";
    const kubernetesPlugin = await pluginStartSeconds(path.join(pluginHome, "plugins", `resource-kubernetes-v${K8S_PLUGIN_VERSION}`, "pulumi-resource-kubernetes"), []);

    // (b) no-op ups (same program, nothing changes), then the up that releases 6.5.4
    say(`(b) ${NOOP_UPS} no-op ups of the release stack, then good releases of ${STEPS} and ${2 * STEPS} steps every ${INTERVAL_SECONDS}s`);
    const noops: number[] = [];
    for (let i = 0; i < NOOP_UPS; i++) {
        const [s, r] = await timed(() => on.up());
        if (r.code !== 0 || !/\d+ unchanged/.test(r.out) || /[1-9]\d* (to update|to create|updated|created)/.test(r.out)) {
            throw new Error(`no-op up changed something or failed:\n${r.out.slice(-2000)}`);
        }
        noops.push(s);
    }
    const noop = median(noops);

    // the up that performs the release (4 steps by default), then one with twice the steps:
    // fixed costs (Deployment rollouts, readiness, finalization, the engine) cancel in the slope
    const r1 = await release(on, dp.loadtesterUrl, "6.5.4", STEPS);
    const r2 = await release(on, dp.loadtesterUrl, "6.5.6", 2 * STEPS);
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
        ["(c) preview, index.ts type-checked", `${f2(median(pChecked))} s`, `runs: ${list(pChecked)}; ${f2(median(pChecked) - median(pOn))} s more than transpile-only (tsconfig.pulumi.json)`],
        ["(c) language host start-up", opt(languageHost), "pulumi-language-nodejs until it prints its port"],
        ["(c) Kubernetes provider start-up", opt(kubernetesPlugin), "pulumi-resource-kubernetes until it prints its port (once per preview/up)"],
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
        "  Notes: both stacks run index.ts with the infrastructure off; wall times include whatever else the machine",
        "  runs (run it alone). \"own overhead per step\" charges the release's fixed costs (canary and primary",
        "  rollouts, readiness, finalization) to its steps; the provider rows and the marginal row isolate the steps.",
        "  A preview's time: the CLI and engine, the language host, the program (index.ts, transpiled), the",
        "  Kubernetes provider plugin, and the release's dynamic provider; (c) shows the parts measured apart.",
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

/** STEPS steps of 10%, then promotion; one load test of 60 s in the background, which the steps share. */
function analysis(loadtesterUrl: string, steps: number): Record<string, unknown> {
    return localAnalysis({
        loadtesterUrl, namespace: ON_NS, intervalSeconds: INTERVAL_SECONDS,
        stepWeight: 10, maxWeight: 10 * steps, load: "background", loadSeconds: 60,
    });
}

/** Wall time of the `up` that releases `tag` with `steps` steps of 10%, and the provider's own timings. */
async function release(stack: ProjectStack, loadtesterUrl: string, tag: string, steps: number): Promise<ReleaseRun> {
    say(`(b) releasing ${tag}: ${steps} steps every ${INTERVAL_SECONDS}s`);
    stack.setConfig({ "canary:image": image(tag), "canary:analysis": analysis(loadtesterUrl, steps) });
    const rec = lineRecorder((l) => {
        if (l.includes(`[${APP}.${ON_NS}]`)) process.stdout.write(`  ${l.trim()}\n`);
    });
    const [wall, r] = await timed(() => stack.up([], { onOutput: rec.onOutput }));
    rec.flush();
    if (r.code !== 0) throw new Error(`the release of ${tag} failed:\n${r.out.slice(-3000)}`);
    const phase = (await stack.outputs()).phase;
    if (phase !== "Succeeded") throw new Error(`the release of ${tag} did not promote: phase ${JSON.stringify(phase)}`);
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

/** Seconds from spawning a plugin binary to its first stdout line (the port it serves on); undefined if it never prints. */
function pluginStartSeconds(binary: string, args: string[]): Promise<number | undefined> {
    return new Promise((resolve) => {
        const t0 = process.hrtime.bigint();
        const child = spawn(binary, args, { stdio: ["ignore", "pipe", "ignore"] });
        const timer = setTimeout(() => { child.kill("SIGKILL"); resolve(undefined); }, 30_000);
        child.stdout.once("data", () => {
            clearTimeout(timer);
            resolve(Number(process.hrtime.bigint() - t0) / 1e9);
            child.kill("SIGKILL");
        });
        child.once("error", () => { clearTimeout(timer); resolve(undefined); });
    });
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
