// e2e release: real `pulumi up`s of the release stack (test/fixtures/release-stack) against the
// run's kube-apiserver + kwok cluster, with the REAL CanaryRelease and CanaryFinalize dynamic
// providers, metrics from a real Prometheus scraping an ingress-nginx-shaped test exporter.
// One stack is driven through successive ups; every scenario asserts what the API server holds.
//
// The Kubernetes objects of the graph are KubeApply dynamic resources, a test-only stand-in for
// the pulumi-kubernetes provider, which the Go module proxy does not serve (kube-apply.ts).
import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@kubernetes/client-node";
import { EngineEvent, LocalWorkspace, Stack, UpResult } from "@pulumi/pulumi/automation";
import { e2eEnv } from "./harness";
import { APP, PODINFO, ReleaseProgramOptions, releaseProgram } from "../fixtures/release-stack/program";
import { GOOD, ReleaseMetrics, startReleaseMetrics } from "../fixtures/release-stack/metrics";
import { UpChildOptions } from "../fixtures/release-stack/up-child";

const WEIGHT = "nginx.ingress.kubernetes.io/canary-weight";
const STATUS_CM = `${APP}-canary-status`;
const PROJECT = "pulumi-canary-release";
const STACK = "release";

const is404 = (e: unknown): boolean => e instanceof k8s.ApiException && e.code === 404;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stdout.write(s);

/** Pids of every live descendant of `root` (from /proc; the Pulumi CLI starts plugins in process groups of their own). */
function descendants(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
        } catch {
            // exited meanwhile
        }
    }
    const out: number[] = [];
    const walk = (pid: number) => {
        for (const c of children.get(pid) ?? []) {
            out.push(c);
            walk(c);
        }
    };
    walk(root);
    return out;
}

/** True while `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

function killAll(pids: readonly number[]): void {
    for (const pid of pids) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
}

/** Files under `dir`, relative to it; [] when it does not exist. */
function listFiles(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));
}

describe("e2e release: canary releases inside real `pulumi up`s (nginx routing, Prometheus metrics)", function () {
    this.timeout(20 * 60_000);
    const namespace = `release-${process.pid}`;
    let core: k8s.CoreV1Api;
    let apps: k8s.AppsV1Api;
    let net: k8s.NetworkingV1Api;
    let metrics: ReleaseMetrics | undefined;
    let stack: Stack;
    let workDir: string;
    let program: ReleaseProgramOptions;
    let destroyed = false;
    let badUpMs = 0;
    const timings: Record<string, number> = {};
    const children: number[] = [];

    /** Drives the stack with these program options. */
    async function select(over: Partial<ReleaseProgramOptions>): Promise<Stack> {
        program = { ...program, ...over };
        const env = e2eEnv();
        return LocalWorkspace.createOrSelectStack(
            { stackName: STACK, projectName: PROJECT, program: releaseProgram(program) },
            { workDir, pulumiCommand: env.pulumiCommand, envVars: env.envVars },
        );
    }

    async function up(over: Partial<ReleaseProgramOptions>): Promise<{ result: UpResult; out: string; ms: number }> {
        stack = await select(over);
        let out = "";
        const t0 = Date.now();
        const result = await stack.up({ onOutput: (s) => { out += s; log(s); } });
        return { result, out, ms: Date.now() - t0 };
    }

    /** Engine-event handler that measures the CanaryRelease's step (its update, from start to end). */
    function releaseStepTimer(): { onEvent: (e: EngineEvent) => void; ms: () => number } {
        let started = 0;
        let ended = 0;
        const isRelease = (urn?: string) => urn?.endsWith(`::${APP}-release`) === true;
        return {
            onEvent(e: EngineEvent) {
                if (e.resourcePreEvent !== undefined && isRelease(e.resourcePreEvent.metadata.urn) && e.resourcePreEvent.planning !== true) started = Date.now();
                if ((e.resOpFailedEvent !== undefined && isRelease(e.resOpFailedEvent.metadata.urn)) ||
                    (e.resOutputsEvent !== undefined && isRelease(e.resOutputsEvent.metadata.urn))) ended = Date.now();
            },
            ms: () => (started > 0 && ended >= started ? ended - started : NaN),
        };
    }

    async function failingUp(over: Partial<ReleaseProgramOptions>): Promise<{ error: Error; out: string; ms: number; releaseMs: number }> {
        stack = await select(over);
        let out = "";
        const t0 = Date.now();
        const timer = releaseStepTimer();
        try {
            await stack.up({ onOutput: (s) => { out += s; log(s); }, onEvent: timer.onEvent });
        } catch (e) {
            return { error: e as Error, out, ms: Date.now() - t0, releaseMs: timer.ms() };
        }
        throw new Error("pulumi up succeeded, expected it to fail");
    }

    const image = (v: string) => `${PODINFO}:${v}`;

    async function deployment(role: "primary" | "canary"): Promise<{ image: string; replicas: number; ready: number }> {
        const d = await apps.readNamespacedDeployment({ name: `${APP}-${role}`, namespace });
        return { image: d.spec?.template.spec?.containers[0].image ?? "", replicas: d.spec?.replicas ?? -1, ready: d.status?.readyReplicas ?? 0 };
    }

    /** The canary Ingress's weight; 0 when the annotation is absent. */
    async function canaryWeight(): Promise<number> {
        const ing = await net.readNamespacedIngress({ name: `${APP}-canary`, namespace });
        assert.strictEqual(ing.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary"], "true");
        return Number(ing.metadata?.annotations?.[WEIGHT] ?? "0");
    }

    /** Messages of the release's events (reason Synced, source pulumi-canary), oldest first. */
    async function releaseEvents(): Promise<string[]> {
        const list = await core.listNamespacedEvent({ namespace });
        return list.items
            .filter((e) => e.source?.component === "pulumi-canary" && e.reason === "Synced")
            .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion))
            .map((e) => e.message ?? "");
    }

    /** Asserts `wanted` patterns appear in `messages` in this order; returns the index after the last. */
    function assertInOrder(messages: string[], wanted: RegExp[], from = 0): number {
        let i = from;
        for (const w of wanted) {
            while (i < messages.length && !w.test(messages[i])) i++;
            assert.ok(i < messages.length, `event ${w} not found in order after index ${from}: ${JSON.stringify(messages.slice(from), null, 1)}`);
            i++;
        }
        return i;
    }

    async function statusAnnotations(): Promise<Record<string, string>> {
        const cm = await core.readNamespacedConfigMap({ name: STATUS_CM, namespace });
        return cm.metadata?.annotations ?? {};
    }

    async function revisionOutput(): Promise<string> {
        return (await stack.outputs()).revision.value as string;
    }

    before(async function () {
        const env = e2eEnv();
        const kc = new k8s.KubeConfig();
        kc.loadFromString(env.kubeconfig);
        core = kc.makeApiClient(k8s.CoreV1Api);
        apps = kc.makeApiClient(k8s.AppsV1Api);
        net = kc.makeApiClient(k8s.NetworkingV1Api);
        workDir = path.join(env.runDir, "release");
        fs.mkdirSync(workDir, { recursive: true });
        const promDir = path.join(env.runDir, "release-prometheus");
        fs.mkdirSync(promDir, { recursive: true });
        metrics = await startReleaseMetrics(namespace, promDir);
        program = { kubeconfig: env.kubeconfig, namespace, image: image("6.5.3"), metricsUrl: metrics.url, analysis: {}, retry: false };
    });

    after(async function () {
        this.timeout(5 * 60_000);
        killAll(children);
        try {
            if (stack !== undefined && !destroyed) {
                await stack.cancel().catch(() => undefined);
                await stack.destroy({ onOutput: log }).catch((e) => process.stderr.write(`release: cleanup destroy failed: ${e}\n`));
            }
        } finally {
            await metrics?.stop();
            process.stdout.write(`\nrelease e2e timings (ms): ${JSON.stringify(timings)}\n`);
        }
    });

    it("(1) the first up initializes: primary on 6.5.3, canary at 0, no canary weight, phase Initialized", async function () {
        const { result, ms } = await up({ image: image("6.5.3") });
        timings.initialize = ms;

        assert.strictEqual(result.summary.result, "succeeded");
        assert.strictEqual(result.outputs.phase.value, "Initialized");
        assert.deepStrictEqual(await deployment("primary"), { image: image("6.5.3"), replicas: 2, ready: 2 });
        assert.strictEqual((await deployment("canary")).replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        assert.strictEqual(result.outputs.canaryWeight.value, 0);
        assertInOrder(await releaseEvents(), [/^Initialization done! podinfo\./]);
    });

    it("(2) 6.5.4 with good metrics is analysed step by step and promoted", async function () {
        metrics?.exporter.set(GOOD);
        const before = (await releaseEvents()).length;
        const { result, out, ms } = await up({ image: image("6.5.4") });
        timings.promote = ms;

        assert.strictEqual(result.summary.result, "succeeded");
        assert.strictEqual(result.outputs.phase.value, "Promoting");
        assert.strictEqual(result.outputs.finalPhase.value, "Succeeded");
        // the stack reports the split after finalization, not the last canary weight of the analysis
        assert.deepStrictEqual([result.outputs.primaryWeight.value, result.outputs.canaryWeight.value], [100, 0]);
        assert.deepStrictEqual(await deployment("primary"), { image: image("6.5.4"), replicas: 2, ready: 2 });
        const canary = await deployment("canary");
        assert.strictEqual(canary.image, image("6.5.4"));
        assert.strictEqual(canary.replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        assertInOrder(await releaseEvents(), [
            /^New revision detected! Scaling up podinfo\./,
            /^Advance podinfo\.\S+ canary weight 25$/,
            /^Advance podinfo\.\S+ canary weight 50$/,
            /^Copying podinfo\./,
            /^Promotion completed! Scaling down podinfo\./,
        ], before);
        // the provider's progress lines reached the CLI's output
        assert.match(out, /\[podinfo\.\S+\] new revision [0-9a-f]{12}: 2 steps every 2s up to 50%/);
        assert.match(out, /\[podinfo\.\S+\] - Advance podinfo\.\S+ canary weight 50/);
        assert.match(out, /\[podinfo\.\S+\] promoting revision/);
        const status = await statusAnnotations();
        assert.strictEqual(status["canary.pulumi.com/phase"], "Succeeded");
        assert.strictEqual(status["canary.pulumi.com/promoted-revision"], result.outputs.revision.value);
    });

    it("(3) 6.5.5 at 80% success is rolled back: up fails naming the check, primary stays on 6.5.4", async function () {
        metrics?.exporter.set({ successRatio: 0.8 });
        const { error, ms, releaseMs } = await failingUp({ image: image("6.5.5") });
        timings.rollback = ms;
        timings.rollbackReleaseStep = releaseMs;
        badUpMs = ms;

        assert.match(error.message, /success rate 80(\.0+)?% < 99%/);
        assert.deepStrictEqual(await deployment("primary"), { image: image("6.5.4"), replicas: 2, ready: 2 });
        assert.strictEqual((await deployment("canary")).replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        const status = await statusAnnotations();
        assert.strictEqual(status["canary.pulumi.com/phase"], "Failed");
        const revision = await revisionOutput(); // the stack's outputs are those of the last successful up
        assert.notStrictEqual(status["canary.pulumi.com/failed-revision"], revision);
        assert.match(status["canary.pulumi.com/failed-revision"], /^[0-9a-f]{16}$/);
        assert.match(status["canary.pulumi.com/message"], /success rate 80(\.0+)?% < 99%/);
        assertInOrder(await releaseEvents(), [/^Rolling back podinfo\.\S+ failed checks threshold reached 2/, /^Canary failed!/]);
    });

    it("(4) the same bad revision fails fast without touching traffic; retry=true analyses it again", async function () {
        const failed = (await statusAnnotations())["canary.pulumi.com/failed-revision"];
        const events = (await releaseEvents()).length;
        const { error, ms, releaseMs } = await failingUp({ image: image("6.5.5") });
        timings.refused = ms;
        timings.refusedReleaseStep = releaseMs;

        assert.match(error.message, new RegExp(`revision ${failed} of podinfo\\.\\S+ already failed analysis`));
        assert.strictEqual(await canaryWeight(), 0);
        assert.strictEqual((await deployment("canary")).replicas, 0);
        assert.strictEqual((await releaseEvents()).length, events, "a refused revision records no event");
        // an analysis takes at least interval x steps (2 s x 2 = 4 s); the refused release step takes
        // well under that (provider start and one ConfigMap read), the rest of the up is the CLI's own run
        assert.ok(releaseMs < 4000, `the refused release step took ${releaseMs} ms`);
        assert.ok(ms < badUpMs - 3000, `refusal took ${ms} ms, the analysed failure ${badUpMs} ms`);

        const retried = await failingUp({ image: image("6.5.5"), retry: true });
        timings.retried = retried.ms;
        assert.match(retried.error.message, /success rate 80(\.0+)?% < 99%/);
        assertInOrder(await releaseEvents(), [/^New revision detected!/, /^Rolling back podinfo\.\S+ failed checks threshold reached 2/], events);
        assert.deepStrictEqual(await deployment("primary"), { image: image("6.5.4"), replicas: 2, ready: 2 });
        assert.strictEqual(await canaryWeight(), 0);
    });

    /**
     * Starts `pulumi up` of `p` in a process group of its own (so the test can kill it as a CI
     * runner's kill would) and returns once the canary Ingress has weight.
     */
    async function upUntilCanaryWeighted(p: ReleaseProgramOptions): Promise<{ child: ChildProcess; exited: Promise<void>; output: () => string }> {
        const env = e2eEnv();
        const optionsFile = path.join(env.runDir, "release-up-child.json");
        const childOptions: UpChildOptions = {
            stackName: STACK, projectName: PROJECT, workDir,
            pulumiRoot: path.dirname(path.dirname(env.pulumiCommand.command)),
            envVars: env.envVars, program: p,
        };
        fs.writeFileSync(optionsFile, JSON.stringify(childOptions), { mode: 0o600 });
        const tsNode = require.resolve("ts-node/dist/bin.js");
        const child = spawn(process.execPath, [tsNode, "--transpile-only", path.join(__dirname, "..", "fixtures", "release-stack", "up-child.ts"), optionsFile], {
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env },
        });
        assert.ok(child.pid !== undefined);
        children.push(child.pid);
        let childOut = "";
        child.stdout?.on("data", (b: Buffer) => { childOut += b.toString(); log(b.toString()); });
        child.stderr?.on("data", (b: Buffer) => { childOut += b.toString(); log(b.toString()); });
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

        const t0 = Date.now();
        let weight = 0;
        while (weight === 0) {
            assert.ok(Date.now() - t0 < 180_000, `no canary weight within 180 s; child output:\n${childOut}`);
            assert.ok(child.exitCode === null, `the up ended before the canary got weight:\n${childOut}`);
            await sleep(250);
            weight = await canaryWeight().catch(() => 0);
        }
        return { child, exited, output: () => childOut };
    }

    /** What a user does after a killed `pulumi up`: the stale lock refuses an up until `pulumi cancel`; then up again. */
    async function cancelAndUp(p: ReleaseProgramOptions): Promise<{ result: UpResult; out: string; ms: number }> {
        const env = e2eEnv();
        const stateDir = env.envVars.PULUMI_BACKEND_URL.replace(/^file:\/\//, "");
        log(`release: lock files after SIGKILL: ${JSON.stringify(listFiles(path.join(stateDir, ".pulumi", "locks")))}\n`);
        stack = await select(p);
        await assert.rejects(stack.up(), (e: Error) => /locked/.test(e.message), "an up right after the SIGKILL was not refused by the stale lock");
        await stack.cancel().then(() => log("release: stack.cancel() succeeded\n"),
            (e) => log(`release: stack.cancel(): ${e instanceof Error ? e.message.split("\n").slice(0, 3).join(" ") : e}\n`));
        const t0 = Date.now();
        let out = "";
        const result = await stack.up({ onOutput: (s) => { out += s; log(s); } });
        return { result, out, ms: Date.now() - t0 };
    }

    /** Asserts the stack promoted `version` and is consistent with the cluster (a preview changes nothing). */
    async function assertPromoted(result: UpResult, out: string, version: string): Promise<void> {
        assert.strictEqual(result.summary.result, "succeeded");
        // the killed CLI left the release's update pending in the checkpoint: the engine warns and goes on
        assert.match(out, /Attempting to deploy or update resources with 1 pending operations from previous deployment/);
        assert.deepStrictEqual(await deployment("primary"), { image: image(version), replicas: 2, ready: 2 });
        assert.strictEqual((await deployment("canary")).replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        assert.strictEqual(result.outputs.finalPhase.value, "Succeeded");
        assert.strictEqual((await statusAnnotations())["canary.pulumi.com/phase"], "Succeeded");
        const preview = await stack.preview();
        assert.deepStrictEqual(Object.keys(preview.changeSummary), ["same"], `stack not consistent: ${JSON.stringify(preview.changeSummary)}`);
    }

    /** Starts an up of `p` and, once the canary has weight, kills every process of it, as when a container or VM dies. */
    async function killWholeUpMidRelease(p: ReleaseProgramOptions): Promise<void> {
        const { child, exited } = await upUntilCanaryWeighted(p);
        const tree = descendants(child.pid as number);
        process.kill(-(child.pid as number), "SIGKILL");
        killAll(tree);
        await exited;
        children.length = 0; // all dead: no pid of theirs to signal later
        timings.killedProcesses = tree.length + 1;
        // nobody analyses the canary now: its weight stays until the next up converges
        assert.ok(await canaryWeight() > 0);
        assert.strictEqual((await deployment("canary")).image, p.image);
        assert.strictEqual((await statusAnnotations())["canary.pulumi.com/phase"], "Progressing");
    }

    const slowRelease = (version: string): ReleaseProgramOptions => ({ ...program, image: image(version), retry: false, analysis: { intervalSeconds: 3, stepWeight: 10 } });

    it("(5) the CLI SIGKILLed mid-release: its orphaned provider puts all traffic back on the primary and exits; the next up promotes", async function () {
        metrics?.exporter.set(GOOD);
        await sleep(11_000); // the 10 s windows forget the 80% traffic
        const primaryBefore = await deployment("primary");
        const p = slowRelease("6.5.6");
        const { child, exited } = await upUntilCanaryWeighted(p);
        // the CLI dies with the child's process group; the plugins it started (the dynamic
        // provider running the release) are in groups of their own and are orphaned
        const tree = descendants(child.pid as number);
        process.kill(-(child.pid as number), "SIGKILL");
        await exited;
        children.length = 0;
        const orphans = tree.filter(alive);
        children.push(...orphans);
        assert.ok(orphans.length > 0, "no process of the up outlived the kill of its group: this scenario tests nothing");

        const t0 = Date.now();
        while (orphans.some(alive)) {
            assert.ok(Date.now() - t0 < 30_000, `the orphaned provider (pids ${orphans.filter(alive).join(", ")}) still runs 30 s after its CLI died`);
            await sleep(100);
        }
        timings.orphanExit = Date.now() - t0;
        // it stopped the release on its way out: no traffic on a canary nobody analyses
        assert.strictEqual(await canaryWeight(), 0);
        assert.strictEqual((await deployment("canary")).replicas, 0);
        assert.deepStrictEqual(await deployment("primary"), primaryBefore);
        const status = await statusAnnotations();
        assert.strictEqual(status["canary.pulumi.com/phase"], "Failed");
        assert.match((await releaseEvents()).slice(-1)[0], /^Rolling back podinfo\.\S+: release interrupted, routing all traffic to primary$/);

        const { result, out, ms } = await cancelAndUp(p);
        timings.afterOrphan = ms;
        // nothing left to converge: the release starts over on a clean cluster, not refused as failed
        assert.doesNotMatch(out, /found an unfinished release/);
        assert.doesNotMatch(out, /already failed analysis/);
        await assertPromoted(result, out, "6.5.6");
    });

    it("(6) the whole up SIGKILLed, provider too, leaves the canary weighted; the next up converges and promotes", async function () {
        const p = slowRelease("6.5.7");
        await killWholeUpMidRelease(p);

        const { result, out, ms } = await cancelAndUp(p);
        timings.converge = ms;
        assert.match(out, /found an unfinished release of revision [0-9a-f]+ \(Progressing, canary weight \d+\): routing all traffic to the primary/);
        await assertPromoted(result, out, "6.5.7");
    });

    it("(7) the whole up killed mid-release of 6.5.8, then the program set back to 6.5.7: the next up abandons the canary", async function () {
        await killWholeUpMidRelease(slowRelease("6.5.8"));

        // Pulumi's state still says 6.5.7: only the status in the cluster knows a release is unfinished
        const { result, out, ms } = await cancelAndUp(slowRelease("6.5.7"));
        timings.abandon = ms;
        assert.strictEqual(result.summary.result, "succeeded");
        assert.match(out, /found an unfinished release of revision [0-9a-f]+ \(Progressing, canary weight \d+\) while revision [0-9a-f]+ is desired and already on the primary/);
        assert.strictEqual(await canaryWeight(), 0);
        assert.deepStrictEqual(await deployment("canary"), { image: image("6.5.7"), replicas: 0, ready: 0 });
        assert.deepStrictEqual(await deployment("primary"), { image: image("6.5.7"), replicas: 2, ready: 2 });
        const status = await statusAnnotations();
        assert.strictEqual(status["canary.pulumi.com/phase"], "Succeeded");
        assert.match((await releaseEvents()).slice(-1)[0], /^Rolling back podinfo\.\S+: unfinished release of revision [0-9a-f]+ abandoned, routing all traffic to primary$/);
        assert.deepStrictEqual([result.outputs.primaryWeight.value, result.outputs.canaryWeight.value], [100, 0]);
        const preview = await stack.preview();
        assert.deepStrictEqual(Object.keys(preview.changeSummary), ["same"], `stack not consistent: ${JSON.stringify(preview.changeSummary)}`);
    });

    it("(8) destroy removes every object: canary Ingress, status ConfigMap, Deployments, Services", async function () {
        const t0 = Date.now();
        let out = "";
        const result = await stack.destroy({ onOutput: (s) => { out += s; log(s); } });
        timings.destroy = Date.now() - t0;
        destroyed = true;

        assert.strictEqual(result.summary.result, "succeeded");
        // the release removed its own objects (before the namespace went)
        assert.match(out, /\[podinfo\.\S+\] deleting routing objects and release status/);
        const gone = async (what: string, read: () => Promise<unknown>) =>
            assert.rejects(read(), (e: unknown) => is404(e), `${what} still exists`);
        await gone("canary Ingress", () => net.readNamespacedIngress({ name: `${APP}-canary`, namespace }));
        await gone("Ingress", () => net.readNamespacedIngress({ name: APP, namespace }));
        await gone("status ConfigMap", () => core.readNamespacedConfigMap({ name: STATUS_CM, namespace }));
        for (const d of [`${APP}-primary`, `${APP}-canary`]) await gone(d, () => apps.readNamespacedDeployment({ name: d, namespace }));
        for (const s of [APP, `${APP}-primary`, `${APP}-canary`]) await gone(`Service ${s}`, () => core.readNamespacedService({ name: s, namespace }));
        await gone("namespace", () => core.readNamespace({ name: namespace }));
    });
});
