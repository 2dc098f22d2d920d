// e2e release: the project itself (index.ts, Pulumi.yaml, a stack file) through real
// `pulumi up`s of the Go-built CLI, language host and Kubernetes provider, against the run's
// kube-apiserver + kwok cluster. The stack installs everything a user's does: ingress-nginx by
// Helm from the offline chart folder, Prometheus and the loadtester by manifests, podinfo with
// its CanaryRelease and CanaryFinalize.
//
// kwok runs no pods, so the host data plane (dataplane/) realizes what the stack writes: it
// watches the API server, runs a test app process per scaled-up podinfo Deployment (behaviour
// by image tag, IMAGES below), configures a real NGINX from the Ingresses the release writes,
// and a real Prometheus scrapes the series NGINX's access log yields. Webhooks go to its
// loadtester, whose `hey` sends traffic through that NGINX. So the metrics the release checks
// follow the weights it sets. One stack is driven through successive ups; every scenario
// asserts what the API server holds.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CliResult, ProjectStack } from "../../scripts/lib/project-stack";
import { DataPlane, startDataPlane } from "./dataplane";
import { e2eEnv } from "./harness";
import { IMAGES, LocalAnalysisOptions, currentContext, image, localAnalysis, localStackConfig } from "../../scripts/lib/local-release";
import {
    Kube, alive, assertGone, commandLine, deployment, descendants, kill, killAll, kube, listFiles, projectStack, sleep,
} from "./stack";

const NS = "test";
const APP = "podinfo";
const WEIGHT = "nginx.ingress.kubernetes.io/canary-weight";
const STATUS_CM = `${APP}-canary-status`;
const log = (s: string) => process.stdout.write(s);

/** Success rates a 10% 5xx canary shows over a few hundred requests: wide enough for any seed. */
const BAD_RATE = /success rate (\d+(?:\.\d+)?)% < 99%/;

describe("e2e release: canary releases of index.ts inside real `pulumi up`s (nginx routing, Prometheus metrics)", function () {
    this.timeout(20 * 60_000);
    let k: Kube;
    let dp: DataPlane;
    let stack: ProjectStack;
    let destroyed = false;
    let badUpMs = 0;
    const timings: Record<string, number> = {};
    const children: number[] = [];

    /** Short analysis for a real clock: 2 s interval, threshold 2, 25% steps up to 50%, 10 s windows. */
    const analysis = (over: Partial<LocalAnalysisOptions> = {}) =>
        localAnalysis({ loadtesterUrl: dp.loadtesterUrl, namespace: NS, intervalSeconds: 2, stepWeight: 25, maxWeight: 50, ...over });

    async function up(tag: string, config: Record<string, unknown> = {}): Promise<CliResult> {
        stack.setConfig({ "canary:image": image(tag), "canary:retry": undefined, "canary:analysis": analysis(), ...config });
        return stack.up([], { onOutput: log });
    }

    async function mustUp(tag: string, config: Record<string, unknown> = {}): Promise<CliResult> {
        const r = await up(tag, config);
        assert.strictEqual(r.code, 0, `pulumi up of ${tag} failed:\n${r.out.slice(-4000)}`);
        return r;
    }

    async function failingUp(tag: string, config: Record<string, unknown> = {}): Promise<CliResult> {
        const r = await up(tag, config);
        assert.notStrictEqual(r.code, 0, `pulumi up of ${tag} succeeded, expected it to fail`);
        return r;
    }

    /** The canary Ingress's weight; 0 when the annotation is absent. */
    async function canaryWeight(): Promise<number> {
        const ing = await k.net.readNamespacedIngress({ name: `${APP}-canary`, namespace: NS });
        assert.strictEqual(ing.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary"], "true");
        return Number(ing.metadata?.annotations?.[WEIGHT] ?? "0");
    }

    const podinfo = (role: "primary" | "canary") => deployment(k, NS, `${APP}-${role}`);

    /** Messages of the release's events (reason Synced, source pulumi-canary), oldest first. */
    async function releaseEvents(): Promise<string[]> {
        const list = await k.core.listNamespacedEvent({ namespace: NS });
        return list.items
            .filter((e) => e.source?.component === "pulumi-canary" && e.reason === "Synced")
            .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion))
            .map((e) => e.message ?? "");
    }

    /** Asserts `wanted` patterns appear in `messages` in this order. */
    function assertInOrder(messages: string[], wanted: RegExp[], from = 0): void {
        let i = from;
        for (const w of wanted) {
            while (i < messages.length && !w.test(messages[i])) i++;
            assert.ok(i < messages.length, `event ${w} not found in order after index ${from}: ${JSON.stringify(messages.slice(from), null, 1)}`);
            i++;
        }
    }

    async function status(): Promise<Record<string, string>> {
        const cm = await k.core.readNamespacedConfigMap({ name: STATUS_CM, namespace: NS });
        return cm.metadata?.annotations ?? {};
    }

    /** The up's failure value of the success rate, checked to be a 10% 5xx canary's. */
    function badRate(out: string): number {
        const m = BAD_RATE.exec(out);
        assert.ok(m !== null, `no "success rate N% < 99%" in the output:\n${out.slice(-3000)}`);
        const rate = Number(m[1]);
        assert.ok(rate >= 75 && rate <= 97, `success rate ${rate}% is not a 10% 5xx canary's`);
        return rate;
    }

    /** The file backend's directory (PULUMI_BACKEND_URL file://...). */
    const stateDir = () => e2eEnv().envVars.PULUMI_BACKEND_URL.replace(/^file:\/\//, "");

    /** The stack's checkpoint file, as the file backend wrote it. */
    function checkpoint(): string {
        const files = listFiles(stateDir()).filter((f) => f.endsWith(`${stack.name}.json`));
        assert.strictEqual(files.length, 1, `expected one checkpoint of ${stack.name}: ${JSON.stringify(files)}`);
        return fs.readFileSync(path.join(stateDir(), files[0]), "utf8");
    }

    async function assertConsistent(): Promise<void> {
        const changes = await stack.preview();
        assert.deepStrictEqual(Object.keys(changes), ["same"], `stack not consistent with the cluster: ${JSON.stringify(changes)}`);
    }

    before(async function () {
        const env = e2eEnv();
        k = kube(env);
        const dir = path.join(env.runDir, "release-dataplane");
        fs.mkdirSync(dir, { recursive: true });
        dp = await startDataPlane({ kubeconfig: env.kubeconfig, namespace: NS, dir, images: IMAGES, seed: 8 });
        stack = projectStack(env, "release");
        await stack.init();
        stack.setConfig(localStackConfig({ kubeContext: currentContext(env.kubeconfig), prometheusUrl: dp.prometheusUrl, namespace: NS }));
        await stack.setSecret("canary:kubeconfig", env.kubeconfig);
    });

    after(async function () {
        this.timeout(5 * 60_000);
        killAll(children);
        try {
            if (stack !== undefined && !destroyed) {
                await stack.run(["cancel", "--yes"]);
                const r = await stack.destroy({ onOutput: log });
                if (r.code !== 0) process.stderr.write(`release: cleanup destroy failed (exit ${r.code})\n`);
            }
            await stack?.remove();
        } finally {
            await dp?.stop();
            log(`\nrelease e2e timings (ms): ${JSON.stringify(timings)}\n`);
        }
    });

    it("(1) the first up installs the stack and initializes: primary on 6.5.3, canary at 0, no canary weight", async function () {
        const r = await mustUp("6.5.3");
        timings.initialize = r.ms;
        const out = await stack.outputs();
        assert.strictEqual(out.phase, "Initialized");
        assert.deepStrictEqual([out.primaryWeight, out.canaryWeight], [100, 0]);
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.3"), replicas: 2, ready: 2 });
        assert.strictEqual((await podinfo("canary")).replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        assertInOrder(await releaseEvents(), [/^Initialization done! podinfo\.test$/]);
        // the infrastructure landed too: ingress-nginx from the local chart, Prometheus, the loadtester
        assert.strictEqual((await deployment(k, "ingress-nginx", "ingress-nginx-controller")).ready, 1);
        assert.strictEqual((await deployment(k, "monitoring", "prometheus")).ready, 1);
        assert.strictEqual((await deployment(k, NS, "flagger-loadtester")).ready, 1);
        // the kubeconfig, set as a secret, is not in the state file in clear
        assert.ok(!checkpoint().includes("client-key-data"), "the kubeconfig is in clear in the state file");
    });

    it("(2) 6.5.4 is analysed step by step under real traffic and promoted; each step's canary share follows its weight", async function () {
        const before = (await releaseEvents()).length;
        // read the weight back from the API server while the up runs; at each change, the app processes' counters
        const marks: { weight: number; counts: { primary: number; canary: number } }[] = [];
        let watching = true;
        const watcher = (async () => {
            let last = -1;
            while (watching) {
                const w = await canaryWeight().catch(() => last);
                if (w !== last) {
                    marks.push({ weight: w, counts: await dp.counts() });
                    last = w;
                }
                await sleep(100);
            }
        })();
        let r: CliResult;
        try {
            r = await mustUp("6.5.4");
        } finally {
            watching = false;
            await watcher;
        }
        marks.push({ weight: -1, counts: await dp.counts() });
        timings.promote = r.ms;

        const shares = marks.slice(0, -1).map((m, i) => {
            const next = marks[i + 1].counts;
            const primary = next.primary - m.counts.primary;
            const canary = next.canary - m.counts.canary;
            return { weight: m.weight, requests: primary + canary, share: primary + canary === 0 ? 0 : (100 * canary) / (primary + canary) };
        });
        log(`release: canary share per step: ${JSON.stringify(shares.map((s) => ({ ...s, share: Number(s.share.toFixed(1)) })))}\n`);
        const steps = shares.filter((s) => s.weight > 0);
        assert.deepStrictEqual(steps.map((s) => s.weight), [25, 50]);
        for (const s of steps) {
            assert.ok(s.requests >= 50, `weight ${s.weight}: only ${s.requests} requests reached the apps`);
            assert.ok(Math.abs(s.share - s.weight) <= 5, `weight ${s.weight}: the canary served ${s.share.toFixed(1)}% of ${s.requests} requests`);
        }

        const out = await stack.outputs();
        assert.strictEqual(out.phase, "Succeeded");
        assert.deepStrictEqual([out.primaryWeight, out.canaryWeight], [100, 0]);
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.4"), replicas: 2, ready: 2 });
        assert.deepStrictEqual(await podinfo("canary"), { image: image("6.5.4"), replicas: 0, ready: 0 });
        assert.strictEqual(await canaryWeight(), 0);
        assertInOrder(await releaseEvents(), [
            /^New revision detected! Scaling up podinfo\.test$/,
            /^Advance podinfo\.test canary weight 25$/,
            /^Advance podinfo\.test canary weight 50$/,
            /^Copying podinfo\.test template spec to podinfo-primary\.test$/,
            /^Promotion completed! Scaling down podinfo\.test$/,
        ], before);
        // the provider's progress lines reached the CLI's output
        assert.match(r.out, /new revision [0-9a-f]{12}: 2 steps every 2s up to 50%/);
        assert.match(r.out, /- Advance podinfo\.test canary weight 50/);
        const s = await status();
        assert.strictEqual(s["canary.pulumi.com/phase"], "Succeeded");
        assert.strictEqual(s["canary.pulumi.com/promoted-revision"], out.revision);
        await assertConsistent();
    });

    it("(3) 6.5.5 answering 10% 5xx is rolled back: the up fails naming the check, primary stays on 6.5.4", async function () {
        const r = await failingUp("6.5.5");
        timings.rollback = r.ms;
        badUpMs = r.ms;
        const rate = badRate(r.out);
        timings.rollbackSuccessRate = rate;

        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.4"), replicas: 2, ready: 2 });
        assert.strictEqual((await podinfo("canary")).replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        const s = await status();
        assert.strictEqual(s["canary.pulumi.com/phase"], "Failed");
        assert.notStrictEqual(s["canary.pulumi.com/failed-revision"], (await stack.outputs()).revision);
        assert.match(s["canary.pulumi.com/failed-revision"], /^[0-9a-f]{16}$/);
        assert.match(s["canary.pulumi.com/message"], BAD_RATE);
        assertInOrder(await releaseEvents(), [/^Rolling back podinfo\.test failed checks threshold reached 2/, /^Canary failed! Scaling down podinfo\.test$/]);
        assert.strictEqual(dp.running(`${APP}-canary`), false, "the canary's process still runs");
    });

    it("(4) the same bad revision fails fast without touching traffic; retry=true analyses it again", async function () {
        const failed = (await status())["canary.pulumi.com/failed-revision"];
        const events = (await releaseEvents()).length;
        const refused = await failingUp("6.5.5");
        timings.refused = refused.ms;

        assert.match(refused.out, new RegExp(`revision ${failed} of podinfo\\.test already failed analysis`));
        assert.strictEqual(await canaryWeight(), 0);
        assert.strictEqual((await podinfo("canary")).replicas, 0);
        assert.strictEqual((await releaseEvents()).length, events, "a refused revision records no event");
        // an analysis takes at least interval x steps (2 s x 2 = 4 s) more than a refusal
        assert.ok(refused.ms < badUpMs - 3000, `refusal took ${refused.ms} ms, the analysed failure ${badUpMs} ms`);

        // Pulumi's state holds the failure too: with every object the release wrote in the
        // cluster deleted, the revision is still refused (and the state has no kubeconfig in clear)
        const state = checkpoint();
        assert.ok(!state.includes("client-key-data"), "the kubeconfig is in clear in the state file after a failed release");
        assert.match(state, new RegExp(`"failedRevision":\\s*"${failed}"`));
        await k.core.deleteNamespacedConfigMap({ name: STATUS_CM, namespace: NS });
        await k.net.deleteNamespacedIngress({ name: `${APP}-canary`, namespace: NS });
        const refusedAgain = await failingUp("6.5.5");
        assert.match(refusedAgain.out, new RegExp(`revision ${failed} of podinfo\\.test already failed analysis`));
        await assertGone("canary Ingress after a refusal", () => k.net.readNamespacedIngress({ name: `${APP}-canary`, namespace: NS }));

        const retried = await failingUp("6.5.5", { "canary:retry": true });
        timings.retried = retried.ms;
        badRate(retried.out);
        assertInOrder(await releaseEvents(), [/^New revision detected!/, /^Rolling back podinfo\.test failed checks threshold reached 2/], events);
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.4"), replicas: 2, ready: 2 });
        assert.strictEqual(await canaryWeight(), 0);
    });

    /** A slower release (5 steps of 10% every 3 s), so a kill lands mid-analysis. */
    const slow = () => ({ "canary:analysis": analysis({ intervalSeconds: 3, stepWeight: 10 }) });

    /** Starts `pulumi up` of `tag` in its own process group (as a terminal does) and returns once the canary has weight. */
    async function upUntilCanaryWeighted(tag: string): Promise<{ pid: number; exited: Promise<CliResult> }> {
        stack.setConfig({ "canary:image": image(tag), "canary:retry": undefined, ...slow() });
        const { child, result } = stack.start(["up", "--yes", "--skip-preview"], { onOutput: log });
        const pid = child.pid as number;
        children.push(pid);
        const t0 = Date.now();
        let weight = 0;
        let ended = false;
        void result.then(() => (ended = true));
        while (weight === 0) {
            assert.ok(Date.now() - t0 < 180_000, "no canary weight within 180 s");
            assert.ok(!ended, "the up ended before the canary got weight");
            await sleep(250);
            weight = await canaryWeight().catch(() => 0);
        }
        return { pid, exited: result };
    }

    /** After a killed `pulumi up`: the stale lock refuses an up until `pulumi cancel`; then up again. */
    async function cancelAndUp(tag: string): Promise<CliResult> {
        log(`release: lock files after the kill: ${JSON.stringify(listFiles(path.join(stateDir(), ".pulumi", "locks")))}\n`);
        stack.setConfig({ "canary:image": image(tag), ...slow() });
        const locked = await stack.up();
        assert.ok(locked.code !== 0 && /locked/.test(locked.out), `an up right after the kill was not refused by the stale lock:\n${locked.out}`);
        const cancel = await stack.run(["cancel", "--yes"]);
        log(`release: pulumi cancel exited ${cancel.code}\n`);
        const r = await stack.up([], { onOutput: log });
        assert.strictEqual(r.code, 0, `the up after the kill failed:\n${r.out.slice(-4000)}`);
        return r;
    }

    async function assertPromoted(r: CliResult, tag: string): Promise<void> {
        // the killed CLI left the release's update pending in the checkpoint: the engine warns and goes on
        assert.match(r.out, /Attempting to deploy or update resources with 1 pending operations from previous deployment/);
        assert.deepStrictEqual(await podinfo("primary"), { image: image(tag), replicas: 2, ready: 2 });
        assert.strictEqual((await podinfo("canary")).replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        assert.strictEqual((await stack.outputs()).phase, "Succeeded");
        assert.strictEqual((await status())["canary.pulumi.com/phase"], "Succeeded");
        await assertConsistent();
    }

    /** Kills every process of an up once the canary has weight, as when a container or VM dies. */
    async function killWholeUpMidRelease(tag: string): Promise<void> {
        const { pid, exited } = await upUntilCanaryWeighted(tag);
        const tree = descendants(pid);
        kill(-pid);
        killAll(tree);
        await exited;
        children.length = 0;
        timings.killedProcesses = tree.length + 1;
        // nobody analyses the canary now: its weight stays until the next up converges
        assert.ok(await canaryWeight() > 0);
        assert.strictEqual((await podinfo("canary")).image, image(tag));
        assert.strictEqual((await status())["canary.pulumi.com/phase"], "Progressing");
    }

    it("(5) the CLI SIGKILLed mid-release: its orphaned provider puts all traffic back on the primary and exits; the next up promotes", async function () {
        await sleep(11_000); // the 10 s windows forget 6.5.5's errors
        const primaryBefore = await podinfo("primary");
        const { pid, exited } = await upUntilCanaryWeighted("6.5.6");
        // the CLI dies with its process group; the plugins it started (the dynamic provider
        // running the release) are in groups of their own and are orphaned
        const tree = descendants(pid);
        kill(-pid);
        await exited;
        children.length = 0;
        const orphans = tree.filter(alive);
        children.push(...orphans);
        // the release runs in the dynamic provider's node process; the CLI's other plugins
        // (language host, Kubernetes provider) are Pulumi's, and are stopped by pid below
        const providers = orphans.filter((p) => commandLine(p).includes("dynamic-provider"));
        log(`release: processes that outlived the CLI: ${orphans.map((p) => `${p} ${commandLine(p).slice(0, 120)}`).join("; ")}\n`);
        assert.ok(providers.length > 0, "no release provider outlived the kill of the CLI's group: this scenario tests nothing");

        const t0 = Date.now();
        while (providers.some(alive)) {
            assert.ok(Date.now() - t0 < 30_000, `the orphaned release provider (pids ${providers.filter(alive).join(", ")}) still runs 30 s after its CLI died`);
            await sleep(100);
        }
        timings.orphanExit = Date.now() - t0;
        const lingering = orphans.filter(alive);
        timings.lingeringPulumiPlugins = lingering.length;
        killAll(lingering);
        // it stopped the release on its way out: no traffic on a canary nobody analyses
        assert.strictEqual(await canaryWeight(), 0);
        assert.strictEqual((await podinfo("canary")).replicas, 0);
        assert.deepStrictEqual(await podinfo("primary"), primaryBefore);
        assert.strictEqual((await status())["canary.pulumi.com/phase"], "Failed");
        assert.match((await releaseEvents()).slice(-1)[0], /^Rolling back podinfo\.test: release interrupted, routing all traffic to primary$/);

        const r = await cancelAndUp("6.5.6");
        timings.afterOrphan = r.ms;
        // nothing left to converge: the release starts over on a clean cluster, not refused as failed
        assert.doesNotMatch(r.out, /found an unfinished release/);
        assert.doesNotMatch(r.out, /already failed analysis/);
        await assertPromoted(r, "6.5.6");
    });

    it("(6) the whole up SIGKILLed, provider too, leaves the canary weighted; the next up converges and promotes", async function () {
        await killWholeUpMidRelease("6.5.7");
        const r = await cancelAndUp("6.5.7");
        timings.converge = r.ms;
        assert.match(r.out, /found an unfinished release of revision [0-9a-f]+ \(Progressing, canary weight \d+\): routing all traffic to the primary/);
        await assertPromoted(r, "6.5.7");
    });

    it("(7) the whole up killed mid-release of 6.5.8, then the program set back to 6.5.7: the next up abandons the canary", async function () {
        await killWholeUpMidRelease("6.5.8");
        // Pulumi's state still says 6.5.7: only the status in the cluster knows a release is unfinished
        const r = await cancelAndUp("6.5.7");
        timings.abandon = r.ms;
        assert.match(r.out, /found an unfinished release of revision [0-9a-f]+ \(Progressing, canary weight \d+\) while revision [0-9a-f]+ is desired and already on the primary/);
        assert.strictEqual(await canaryWeight(), 0);
        assert.deepStrictEqual(await podinfo("canary"), { image: image("6.5.7"), replicas: 0, ready: 0 });
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.7"), replicas: 2, ready: 2 });
        assert.strictEqual((await status())["canary.pulumi.com/phase"], "Succeeded");
        assert.match((await releaseEvents()).slice(-1)[0], /^Rolling back podinfo\.test: unfinished release of revision [0-9a-f]+ abandoned, routing all traffic to primary$/);
        const out = await stack.outputs();
        assert.deepStrictEqual([out.primaryWeight, out.canaryWeight], [100, 0]);
        await assertConsistent();
    });

    it("(8) destroy removes every object: the release's, the app's and the infrastructure's", async function () {
        const r = await stack.destroy({ onOutput: log });
        timings.destroy = r.ms;
        assert.strictEqual(r.code, 0, `destroy failed:\n${r.out.slice(-4000)}`);
        destroyed = true;
        // the release removed its own objects (before the namespace went)
        assert.match(r.out, /deleting routing objects and release status/);
        await assertGone("canary Ingress", () => k.net.readNamespacedIngress({ name: `${APP}-canary`, namespace: NS }));
        await assertGone("status ConfigMap", () => k.core.readNamespacedConfigMap({ name: STATUS_CM, namespace: NS }));
        for (const ns of [NS, "monitoring", "ingress-nginx"]) await assertGone(`namespace ${ns}`, () => k.core.readNamespace({ name: ns }));
        await assertGone("ClusterRole prometheus-monitoring", () => k.rbac.readClusterRole({ name: "prometheus-monitoring" }));
    });
});
