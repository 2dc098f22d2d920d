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
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import { isDeepStrictEqual } from "util";
import * as path from "path";
import * as k8s from "@kubernetes/client-node";
import * as YAML from "yaml";
import { CliResult, ProjectStack } from "../../scripts/lib/project-stack";
import { dashboardQueries, releaseDashboard, withVariables } from "../../components/canary/telemetry/dashboard";
import { waitFor } from "../integration/harness/process";
import { DataPlane, startDataPlane } from "./dataplane";
import { e2eEnv } from "./harness";
import { FINALIZE_INPUT_ROWS, RELEASE_INPUT_ROWS } from "./input-changes";
import { CHARTS, IMAGES, LocalAnalysisOptions, currentContext, image, localAnalysis, localStackConfig } from "../../scripts/lib/local-release";
import {
    Kube, alive, assertGone, canaryIngressWeight, commandLine, deployment, descendants, kill, killAll, kube, listFiles, projectStack,
    releaseEvents as releaseEventsOf, sleep,
} from "./stack";

const NS = "test";
const APP = "podinfo";
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

    /**
     * A metric template of canary:metricTemplates, as Flagger's MetricTemplate: the canary's P95
     * through NGINX, the quantile a template variable, at its own server (a recording proxy in
     * front of the data plane's Prometheus) with a bearer token set as a secret.
     */
    const TEMPLATE_QUERY = 'histogram_quantile({{ variables.quantile }}, sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket{namespace="{{ namespace }}", ingress="{{ variables.ingress }}", canary!=""}[{{ interval }}]))) * 1000';
    const templateToken = `prom${crypto.randomBytes(12).toString("hex")}`;
    const templateQueries: { query: string; authorization?: string }[] = [];
    let templateProxy: http.Server | undefined;

    /** Short analysis for a real clock: 2 s interval, threshold 2, 25% steps up to 50%, 10 s windows; the metric template's check too. */
    const analysis = (over: Partial<LocalAnalysisOptions> = {}) => {
        const a = localAnalysis({ loadtesterUrl: dp.loadtesterUrl, namespace: NS, intervalSeconds: 2, stepWeight: 25, maxWeight: 50, ...over });
        const p95 = { name: "latency-p95", templateRef: { name: "nginx-latency" }, templateVariables: { quantile: "0.95", ingress: APP }, thresholdRange: { max: 500 }, interval: "10s" };
        return { ...a, metrics: [...(a.metrics as unknown[]), p95] };
    };

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

    const canaryWeight = () => canaryIngressWeight(k, NS, APP);

    const podinfo = (role: "primary" | "canary") => deployment(k, NS, `${APP}-${role}`);

    const releaseEvents = () => releaseEventsOf(k, NS);

    /** Asserts `wanted` patterns appear in `messages` in this order. */
    function assertInOrder(messages: string[], wanted: RegExp[], from = 0): void {
        let i = from;
        for (const w of wanted) {
            while (i < messages.length && !w.test(messages[i])) i++;
            assert.ok(i < messages.length, `event ${w} not found in order after index ${from}: ${JSON.stringify(messages.slice(from), null, 1)}`);
            i++;
        }
    }

    interface Share { weight: number; requests: number; share: number }

    /**
     * Runs `run` while reading the canary weight back from the API server every 100 ms; at each
     * change, the app processes' counters. Returns each weight the canary held (> 0) with the
     * share of requests the canary served while it held it.
     */
    async function withShares<T>(run: () => Promise<T>): Promise<{ result: T; steps: Share[] }> {
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
        let result: T;
        try {
            result = await run();
        } finally {
            watching = false;
            await watcher;
        }
        marks.push({ weight: -1, counts: await dp.counts() });
        const shares = marks.slice(0, -1).map((m, i) => {
            const next = marks[i + 1].counts;
            const primary = next.primary - m.counts.primary;
            const canary = next.canary - m.counts.canary;
            return { weight: m.weight, requests: primary + canary, share: primary + canary === 0 ? 0 : (100 * canary) / (primary + canary) };
        });
        log(`release: canary share per step: ${JSON.stringify(shares.map((s) => ({ ...s, share: Number(s.share.toFixed(1)) })))}\n`);
        return { result, steps: shares.filter((s) => s.weight > 0) };
    }

    function assertSharesFollowWeights(steps: Share[]): void {
        for (const s of steps) {
            assert.ok(s.requests >= 50, `weight ${s.weight}: only ${s.requests} requests reached the apps`);
            assert.ok(Math.abs(s.share - s.weight) <= 5, `weight ${s.weight}: the canary served ${s.share.toFixed(1)}% of ${s.requests} requests`);
        }
    }

    /** The values of a series over the last `ms` and 5 s before (a range query at 1 s steps). */
    const rangeValues = (series: string, ms: number) => dp.prometheus.queryRange(series, ms / 1000 + 5);

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
        stack.setConfig(localStackConfig({ kubeContext: currentContext(env.kubeconfig), prometheusUrl: dp.prometheusUrl, pushgatewayUrl: dp.pushgatewayUrl, namespace: NS }));
        await stack.setSecret("canary:kubeconfig", env.kubeconfig);
        // the template's own server: forwards to the data plane's Prometheus, recording each query and its Authorization
        const prom = new URL(dp.prometheusUrl);
        templateProxy = http.createServer((req, res) => {
            const query = new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "";
            templateQueries.push({ query, ...(req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization }) });
            const upstream = http.get({ host: prom.hostname, port: prom.port, path: req.url }, (r) => {
                res.writeHead(r.statusCode ?? 502, r.headers);
                r.pipe(res);
            });
            upstream.on("error", (err) => res.writeHead(502).end(String(err)));
        });
        await new Promise<void>((r) => templateProxy?.listen(0, "127.0.0.1", r));
        const proxyUrl = `http://127.0.0.1:${(templateProxy.address() as AddressInfo).port}`;
        stack.setConfig({ "canary:metricTemplates": { "nginx-latency": { provider: { type: "prometheus", address: proxyUrl }, query: TEMPLATE_QUERY } } });
        await stack.setSecret("canary:metricTemplates.nginx-latency.provider.bearerToken", templateToken, { path: true });
    });

    after(async function () {
        this.timeout(5 * 60_000);
        killAll(children);
        templateProxy?.close();
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
        const r = await mustUp("6.5.3", { "canary:installGrafana": true });
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
        assert.strictEqual((await deployment(k, "monitoring", "pushgateway")).ready, 1);
        // Grafana (installGrafana) with the dashboard the program generates for the stack's routing
        assert.strictEqual((await deployment(k, "monitoring", "grafana")).ready, 1);
        const dashboards = await k.core.readNamespacedConfigMap({ name: "grafana-dashboards", namespace: "monitoring" });
        assert.deepStrictEqual(JSON.parse(dashboards.data?.["canary-releases.json"] ?? "{}"), JSON.parse(JSON.stringify(releaseDashboard("nginx"))));
        const rules = await k.core.readNamespacedConfigMap({ name: "prometheus", namespace: "monitoring" });
        assert.match(rules.data?.["canary-rules.yml"] ?? "", /alert: CanaryFailed/);
        // the kubeconfig, set as a secret, is not in the state file in clear
        assert.ok(!checkpoint().includes("client-key-data"), "the kubeconfig is in clear in the state file");
    });

    it("(2) 6.5.4 is analysed step by step under real traffic and promoted; each step's canary share follows its weight", async function () {
        const before = (await releaseEvents()).length;
        const { result: r, steps } = await withShares(() => mustUp("6.5.4"));
        timings.promote = r.ms;
        assert.deepStrictEqual(steps.map((s) => s.weight), [25, 50]);
        assertSharesFollowWeights(steps);

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
        // the metric template's check ran at its own server, rendered for the canary, with its token
        const rendered = 'histogram_quantile(0.95, sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket{namespace="test", ingress="podinfo", canary!=""}[10s]))) * 1000';
        assert.ok(templateQueries.length >= 2, `the template's server got ${templateQueries.length} queries`);
        assert.deepStrictEqual([...new Set(templateQueries.map((q) => `${q.authorization} ${q.query}`))], [`Bearer ${templateToken} ${rendered}`]);
        // the provider's progress lines reached the CLI's output
        assert.match(r.out, /new revision [0-9a-f]{12}: 2 steps every 2s up to 50%/);
        assert.match(r.out, /- Advance podinfo\.test canary weight 50/);
        const s = await status();
        assert.strictEqual(s["canary.pulumi.com/phase"], "Succeeded");
        assert.strictEqual(s["canary.pulumi.com/promoted-revision"], out.revision);
        await assertConsistent();

        // the release's state over time is in Prometheus (pushed at every step, scraped from the Pushgateway)
        const app = `app="${APP}",namespace="${NS}"`;
        await waitFor("the finalized release in Prometheus", async () => (await dp.prometheus.query(`canary_release_status{${app}} == 1`)).length === 1, 20_000);
        const weights = await rangeValues(`canary_release_weight{${app},role="canary"}`, r.ms);
        assert.deepStrictEqual([...new Set(weights)].filter((w) => w > 0), [25, 50], `canary weights over the up: ${JSON.stringify(weights)}`);
        assert.deepStrictEqual((await dp.prometheus.query(`canary_release_info{${app}}`)).map((x) => x.metric.promoted_revision), [out.revision]);
        assert.deepStrictEqual((await dp.prometheus.query(`canary_release_phase{${app},phase="Succeeded"}`)).map((x) => x.value[1]), ["1"]);
        assert.ok(Number((await dp.prometheus.query(`canary_release_duration_seconds{${app}}`))[0]?.value[1]) > 0, "no release duration");
        // every query of the Grafana dashboard returns data for this release
        const empty: string[] = [];
        for (const q of dashboardQueries(releaseDashboard("nginx")).map((x) => withVariables(x, NS, APP))) {
            if ((await rangeValues(q, r.ms)).length === 0) empty.push(q);
        }
        assert.deepStrictEqual(empty, [], "dashboard queries without data over the release");
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
        // the Prometheus rule the stack ships fires on the failed release
        await waitFor("CanaryFailed to fire", async () => (await dp.prometheus.query(`ALERTS{alertname="CanaryFailed",alertstate="firing",app="${APP}",namespace="${NS}"}`)).length === 1, 20_000);
        assert.strictEqual((await dp.prometheus.query(`canary_release_failed_checks{app="${APP}",namespace="${NS}"}`))[0]?.value[1], "2");
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

    /** The URN of the stack's resource of `type` named `name` (e.g. podinfo-release), from `pulumi stack export`. */
    /** The URNs of the stack's resources by `type::name`, from one `pulumi stack export`. */
    async function urns(): Promise<Map<string, string>> {
        const exported = JSON.parse((await stack.mustRun(["stack", "export"])).out) as { deployment: { resources: { urn: string; type: string }[] } };
        return new Map(exported.deployment.resources.map((r) => [`${r.type}::${r.urn.slice(r.urn.lastIndexOf("::") + 2)}`, r.urn]));
    }

    it("(8) `pulumi up --target` of the primary, the finalizer, the release, the canary alone: the primary never runs an unanalysed template, no traffic stays on the canary", async function () {
        const types: Record<string, string> = {
            primary: "kubernetes:apps/v1:Deployment", canary: "kubernetes:apps/v1:Deployment",
            release: "pulumi-nodejs:dynamic/canary:CanaryRelease", finalize: "pulumi-nodejs:dynamic/canary:CanaryFinalize",
        };
        const all = await urns();
        const urnOf = Object.fromEntries(Object.entries(types).map(([role, type]) => {
            const u = all.get(`${type}::${APP}-${role}`);
            assert.ok(u !== undefined, `no ${type} named ${APP}-${role} in the state`);
            return [role, u] as const;
        }));
        const before = (await releaseEvents()).length;
        const targeted = async (role: string): Promise<CliResult> => {
            stack.setConfig({ "canary:image": image("6.5.8"), "canary:retry": undefined, "canary:analysis": analysis() });
            const r = await stack.up(["--target", urnOf[role]], { onOutput: log });
            timings[`target-${role}`] = r.ms;
            // whatever was targeted: the primary keeps the analysed 6.5.7 and no traffic is on the canary
            assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.7"), replicas: 2, ready: 2 }, `after --target ${role}`);
            assert.strictEqual(await canaryWeight(), 0, `canary weight after --target ${role}`);
            return r;
        };
        for (const role of ["primary", "finalize"]) {
            const r = await targeted(role);
            assert.strictEqual(r.code, 0, `--target ${role} failed:\n${r.out.slice(-3000)}`);
        }
        assert.strictEqual((await releaseEvents()).length, before, "a --target of the primary or the finalizer started a release");

        // the release alone would analyse the canary's pods, which still run 6.5.7: refused, nothing touched
        const refused = await targeted("release");
        assert.notStrictEqual(refused.code, 0, "--target of the release alone ran a release of a canary still on the old template");
        assert.match(refused.out, /deployment podinfo-canary\.test runs revision [0-9a-f]{16}, not revision [0-9a-f]{16} of this release: it was left out of this `pulumi up`/);
        assert.strictEqual((await podinfo("canary")).replicas, 0);
        assert.strictEqual((await releaseEvents()).length, before);

        // the canary alone takes the new template, scaled to zero; then the release alone analyses it
        const canary = await targeted("canary");
        assert.strictEqual(canary.code, 0, `--target canary failed:\n${canary.out.slice(-3000)}`);
        assert.deepStrictEqual(await podinfo("canary"), { image: image("6.5.8"), replicas: 0, ready: 0 });
        const release = await targeted("release");
        assert.strictEqual(release.code, 0, `--target release failed:\n${release.out.slice(-3000)}`);
        assertInOrder(await releaseEvents(), [/^New revision detected!/, /^Advance podinfo\.test canary weight 50$/, /^Copying podinfo\.test template spec/], before);

        // the next full up hands the analysed template to the primary and finalizes, without analysing it again
        const events = (await releaseEvents()).length;
        const full = await mustUp("6.5.8");
        timings.targetFullUp = full.ms;
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.8"), replicas: 2, ready: 2 });
        assert.strictEqual((await podinfo("canary")).replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        const later = (await releaseEvents()).slice(events);
        assert.ok(!later.some((m) => /^New revision detected!/.test(m)), `the full up analysed 6.5.8 again: ${JSON.stringify(later)}`);
        assertInOrder(later, [/^Promotion completed! Scaling down podinfo\.test$/]);
        assert.strictEqual((await stack.outputs()).phase, "Succeeded");
        await assertConsistent();
    });

    /** Istio's CRDs from the offline istio-base chart, as in a cluster that already runs Istio (canary:installIstio stays false). */
    async function installIstioCrds(): Promise<() => Promise<void>> {
        const ext = k.ext;
        const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(CHARTS, "istio-base", "crds", "crd-all.gen.yaml"), "utf8"))
            .map((d) => d.toJS() as k8s.V1CustomResourceDefinition).filter((d) => d?.kind === "CustomResourceDefinition");
        for (const crd of docs) await ext.createCustomResourceDefinition({ body: crd });
        const t0 = Date.now();
        for (;;) {
            const vs = await ext.readCustomResourceDefinition({ name: "virtualservices.networking.istio.io" });
            if (vs.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
            assert.ok(Date.now() - t0 < 30_000, "Istio's VirtualService CRD not established within 30 s");
            await sleep(200);
        }
        return async () => {
            for (const crd of docs) await ext.deleteCustomResourceDefinition({ name: crd.metadata?.name as string });
        };
    }

    it("(9) routing nginx -> istio with a new image: same app, no replacement; traffic moves to a VirtualService, the new template is analysed, the primary is never re-created", async function () {
        const removeCrds = await installIstioCrds();
        let watching = true;
        let watcher: Promise<void> = Promise.resolve();
        try {
            const primaryUid = (await k.apps.readNamespacedDeployment({ name: `${APP}-primary`, namespace: NS })).metadata?.uid;
            type Vs = { spec?: { http?: { route?: { destination?: { host?: string }; weight?: number }[] }[] } };
            const vsCanaryWeight = async (): Promise<number | undefined> => {
                try {
                    const vs = await k.custom.getNamespacedCustomObject({ group: "networking.istio.io", version: "v1beta1", namespace: NS, plural: "virtualservices", name: APP }) as Vs;
                    return vs.spec?.http?.at(-1)?.route?.find((r) => r.destination?.host === `${APP}-canary`)?.weight ?? 0;
                } catch {
                    return undefined;
                }
            };
            // from outside, while the ups run: the primary Deployment (same object, pods ready) and both routing objects
            const seen: string[] = [];
            watcher = (async () => {
                while (watching) {
                    const d = await k.apps.readNamespacedDeployment({ name: `${APP}-primary`, namespace: NS }).catch(() => undefined);
                    if (d?.metadata?.uid !== primaryUid) seen.push("primary Deployment re-created or missing");
                    else if ((d?.status?.readyReplicas ?? 0) === 0) seen.push("no ready primary pods");
                    await sleep(100);
                }
            })();
            const events = (await releaseEvents()).length;
            stack.setConfig({ "canary:routing": "istio", "canary:image": image("6.5.4"), "canary:retry": undefined, "canary:analysis": analysis() });
            const plan = await stack.preview();
            assert.strictEqual(plan.replace, undefined, `the preview replaces something: ${JSON.stringify(plan)}`);
            const toIstio = await stack.up([], { onOutput: log });
            timings.routingToIstio = toIstio.ms;
            // the host data plane has no mesh, so no Istio metrics: the analysis fails, it is not skipped
            assert.notStrictEqual(toIstio.code, 0, "the release on Istio passed on a data plane without Istio metrics");
            assert.match(toIstio.out, /moving the routing from nginx \(Ingress podinfo\) to istio/);
            assert.match(toIstio.out, /request-success-rate/);
            const after = (await releaseEvents()).slice(events);
            assertInOrder(after, [/^Routing of podinfo\.test moved from nginx \(Ingress podinfo\) to istio, all traffic on primary$/, /^New revision detected!/, /^Rolling back podinfo\.test failed checks threshold reached 2/]);
            assert.ok(!after.some((m) => /^Initialization done!/.test(m)), `the app was initialized again: ${JSON.stringify(after)}`);
            assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.8"), replicas: 2, ready: 2 });
            assert.strictEqual(await vsCanaryWeight(), 0);
            await assertGone("canary Ingress after the move to Istio", () => k.net.readNamespacedIngress({ name: `${APP}-canary`, namespace: NS }));

            // and back to nginx with the primary's image: the routing moves back, nothing to analyse
            stack.setConfig({ "canary:routing": undefined, "canary:image": image("6.5.8") });
            const back = await stack.up([], { onOutput: log });
            timings.routingToNginx = back.ms;
            assert.strictEqual(back.code, 0, `the move back to nginx failed:\n${back.out.slice(-4000)}`);
            watching = false;
            await watcher;
            assert.deepStrictEqual([...new Set(seen)], [], "the primary was not there throughout");
            assert.strictEqual(await vsCanaryWeight(), undefined, `VirtualService ${APP}.${NS} still there`);
            assert.strictEqual(await canaryWeight(), 0);
            assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.8"), replicas: 2, ready: 2 });
            await assertConsistent();

            // another namespace is another app: the preview says so
            stack.setConfig({ "canary:namespace": "prod" });
            const renamed = await stack.run(["preview"]);
            stack.setConfig({ "canary:namespace": NS });
            assert.strictEqual(renamed.code, 0, renamed.out.slice(-3000));
            assert.match(renamed.out, /warning: podinfo\.test becomes podinfo\.prod: that is a new app, not a release/);
        } finally {
            watching = false;
            await watcher;
            await removeCrds();
        }
    });

    /** The stack's resources' inputs by `type::name`, secrets decrypted, from one `pulumi stack export --show-secrets`. */
    async function stateInputs(): Promise<Map<string, Record<string, unknown>>> {
        const reveal = (v: unknown): unknown => {
            if (Array.isArray(v)) return v.map(reveal);
            if (v !== null && typeof v === "object") {
                const o = v as Record<string, unknown>;
                if (typeof o.plaintext === "string") return reveal(JSON.parse(o.plaintext));
                return Object.fromEntries(Object.entries(o).map(([k2, x]) => [k2, reveal(x)]));
            }
            return v;
        };
        const exported = JSON.parse((await stack.mustRun(["stack", "export", "--show-secrets"])).out) as { deployment: { resources: { urn: string; type: string; inputs?: Record<string, unknown> }[] } };
        return new Map(exported.deployment.resources.map((r) => [`${r.type}::${r.urn.slice(r.urn.lastIndexOf("::") + 2)}`, reveal(r.inputs ?? {}) as Record<string, unknown>]));
    }

    it("(10) every input of CanaryRelease and CanaryFinalize changed alone: an analysis of the new template, or the primary's template kept; never replaced", async function () {
        const RELEASE = `pulumi-nodejs:dynamic/canary:CanaryRelease::${APP}-release`;
        const env = e2eEnv();
        const doc = YAML.parse(env.kubeconfig) as { contexts: { name: string; context: Record<string, unknown> }[] };
        const current = doc.contexts.find((c) => c.name === currentContext(env.kubeconfig));
        assert.ok(current !== undefined, "the run's kubeconfig has no current context");
        // the same cluster and user under another name
        const aliased = YAML.stringify({ ...doc, contexts: [...doc.contexts, { name: "e2e-alias", context: current.context }] });
        const promUrl = new URL(dp.prometheusUrl);
        const localhostProm = `http://localhost:${promUrl.port}`;
        const localhostPushgateway = `http://localhost:${new URL(dp.pushgatewayUrl).port}`;
        interface Change { readonly id: string; readonly apply: () => Promise<void>; readonly stored: (inputs: Record<string, unknown>) => boolean; readonly primaryReplicas: number }
        const set = (values: Record<string, unknown>) => async () => stack.setConfig(values);
        const changes: Change[] = [
            { id: "analysis", apply: set({ "canary:analysis": analysis({ threshold: 3 }) }), stored: (i) => (i.analysis as { threshold: number }).threshold === 3, primaryReplicas: 2 },
            { id: "retry", apply: set({ "canary:retry": true }), stored: (i) => i.retry === true, primaryReplicas: 2 },
            { id: "metricsServer", apply: set({ "canary:metricsServer": localhostProm }), stored: (i) => (i.metricsServer as { url: string }).url === localhostProm, primaryReplicas: 2 },
            { id: "kubeconfig", apply: () => stack.setSecret("canary:kubeconfig", aliased), stored: (i) => String(i.kubeconfig).includes("e2e-alias"), primaryReplicas: 2 },
            { id: "kubeContext", apply: set({ "canary:kubeContext": "e2e-alias" }), stored: (i) => i.kubeContext === "e2e-alias", primaryReplicas: 2 },
            { id: "pushgateway", apply: set({ "canary:pushgateway": localhostPushgateway }), stored: (i) => (i.pushgateway as { url: string }).url === localhostPushgateway, primaryReplicas: 2 },
            { id: "replicas", apply: set({ "canary:replicas": 3 }), stored: (i) => i.canaryReplicas === 3, primaryReplicas: 3 },
            {
                id: "alerts", primaryReplicas: 3,
                apply: async () => {
                    stack.setConfig({ "canary:analysis": { ...analysis({ threshold: 3 }), alerts: [{ name: "chat", severity: "warn", providerRef: { name: "chat" } }] }, "canary:alertProviders": { chat: { type: "webhook" } } });
                    await stack.setSecret("canary:alertProviders.chat.address", "http://127.0.0.1:9/alerts", { path: true });
                },
                // state keeps object keys sorted: compared as values
                stored: (i) => isDeepStrictEqual(i.alerts, [{ name: "chat", severity: "warn", provider: { type: "webhook", address: "http://127.0.0.1:9/alerts" } }]),
            },
            {
                id: "all back", primaryReplicas: 2,
                apply: async () => {
                    stack.setConfig({ "canary:analysis": analysis(), "canary:alertProviders": undefined, "canary:retry": undefined, "canary:metricsServer": dp.prometheusUrl, "canary:pushgateway": dp.pushgatewayUrl, "canary:kubeContext": currentContext(env.kubeconfig), "canary:replicas": undefined });
                    await stack.setSecret("canary:kubeconfig", env.kubeconfig);
                },
                stored: (i) => (i.analysis as { threshold: number }).threshold === 2 && i.alerts === undefined && (i.pushgateway as { url: string }).url === dp.pushgatewayUrl && i.retry === false && i.kubeContext === currentContext(env.kubeconfig) && i.canaryReplicas === 2 && !String(i.kubeconfig).includes("e2e-alias"),
            },
        ];
        // every input the table says this scenario changes has its row here
        for (const [input, r] of [...Object.entries(RELEASE_INPUT_ROWS), ...Object.entries(FINALIZE_INPUT_ROWS)]) {
            const id = /^\(10\) (.+)$/.exec(r.by.split(", ").find((b) => b.startsWith("(10)")) ?? "")?.[1];
            if (id !== undefined) assert.ok(changes.some((c) => c.id === id) || ["appName", "routing"].includes(id), `input ${input}: no row "${id}" in scenario (10)`);
        }
        const readPrimary = async () => {
            const d = await k.apps.readNamespacedDeployment({ name: `${APP}-primary`, namespace: NS });
            return { uid: d.metadata?.uid, template: JSON.stringify(d.spec?.template), replicas: d.spec?.replicas };
        };
        const primary0 = await readPrimary();
        const measured: string[] = [];
        for (const c of changes) {
            await c.apply();
            const plan = await stack.plan();
            const opOf = (type: string, name: string) => plan.find((s) => s.type === type && s.name === name)?.op ?? "absent";
            for (const [type, name] of [["pulumi-nodejs:dynamic/canary:CanaryRelease", `${APP}-release`], ["pulumi-nodejs:dynamic/canary:CanaryFinalize", `${APP}-finalize`], ["kubernetes:apps/v1:Deployment", `${APP}-primary`]]) {
                assert.ok(["same", "update"].includes(opOf(type, name)), `${c.id}: the plan has ${opOf(type, name)} for ${name}: ${JSON.stringify(plan.filter((s) => s.op !== "same"))}`);
            }
            const events = (await releaseEvents()).length;
            const r = await stack.up([], { onOutput: log });
            assert.strictEqual(r.code, 0, `${c.id}: the up failed:\n${r.out.slice(-4000)}`);
            timings[`input-${c.id}`] = r.ms;
            const later = (await releaseEvents()).slice(events);
            assert.deepStrictEqual(later.filter((m) => /^(New revision detected|Initialization done|Copying)/.test(m)), [], `${c.id}: a release or an initialization ran`);
            const p = await readPrimary();
            assert.deepStrictEqual({ uid: p.uid, template: p.template }, { uid: primary0.uid, template: primary0.template }, `${c.id}: the primary Deployment was re-created or its template changed`);
            assert.strictEqual(p.replicas, c.primaryReplicas, `${c.id}: primary replicas`);
            assert.strictEqual(await canaryWeight(), 0);
            assert.strictEqual((await podinfo("canary")).replicas, 0);
            const inputs = (await stateInputs()).get(RELEASE);
            assert.ok(inputs !== undefined && c.stored(inputs), `${c.id}: the release's stored inputs do not hold the change: ${JSON.stringify({ ...inputs, __provider: undefined, template: undefined }).slice(0, 3000)}`);
            measured.push(`${c.id} ${(r.ms / 1000).toFixed(1)}s`);
        }
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.8"), replicas: 2, ready: 2 });
        await assertConsistent();

        // a new app name is a new app (ingressName follows it): the preview says so, the old app is not re-created in place
        stack.setConfig({ "canary:appName": "podinfo2" });
        const renamed = await stack.run(["preview"]);
        const renamedPlan = await stack.plan();
        stack.setConfig({ "canary:appName": undefined });
        assert.strictEqual(renamed.code, 0, renamed.out.slice(-3000));
        assert.match(renamed.out, /warning: podinfo2\.test is a new app in this stack: its primary takes the template without analysis .* If it is an app renamed by canary:appName, the old name's Deployments, routing objects and release status are deleted by this up/);
        assert.strictEqual(renamedPlan.find((s) => s.type === "kubernetes:apps/v1:Deployment" && s.name === `${APP}-primary`)?.op, "delete");
        assert.strictEqual(renamedPlan.find((s) => s.type === "kubernetes:apps/v1:Deployment" && s.name === "podinfo2-primary")?.op, "create");

        // another routing provider is an update of the same app (the template gains the mesh's annotation: analysed), the primary is not replaced
        stack.setConfig({ "canary:routing": "linkerd" });
        const meshPlan = await stack.plan();
        stack.setConfig({ "canary:routing": undefined });
        const meshOp = (type: string, name: string) => meshPlan.find((s) => s.type === type && s.name === name)?.op;
        assert.strictEqual(meshOp("pulumi-nodejs:dynamic/canary:CanaryRelease", `${APP}-release`), "update", JSON.stringify(meshPlan.filter((s) => s.op !== "same")));
        assert.ok(["same", "update"].includes(meshOp("kubernetes:apps/v1:Deployment", `${APP}-primary`) ?? "absent"), JSON.stringify(meshPlan.filter((s) => s.op !== "same")));
        log(`\ninput changes, each alone (no release, primary template and object kept): ${measured.join(", ")}\n`);
    });

    /** The kubeconfig's secrets: each user's key, token, password (and the decoded key's body line). */
    function kubeconfigSecrets(kubeconfig: string): string[] {
        const users = ((YAML.parse(kubeconfig) as { users?: { user?: Record<string, string> }[] }).users ?? []).map((u) => u.user ?? {});
        const values = users.flatMap((u) => [u["client-key-data"], u.token, u.password]).filter((v): v is string => typeof v === "string" && v.length >= 8);
        const pemLines = users.flatMap((u) => u["client-key-data"] === undefined ? [] : Buffer.from(u["client-key-data"], "base64").toString().split("\n").filter((l) => l.length >= 32 && !l.startsWith("-----")).slice(0, 1));
        return [...values, ...pemLines];
    }

    it("(11) a webhook URL and an alert address carrying tokens and the kubeconfig, set as secrets, are in clear nowhere: state, stack export, ConfigMaps, Events, CLI output; the alerts arrive", async function () {
        const token = `tok${crypto.randomBytes(16).toString("hex")}`;
        const alertToken = `alert${crypto.randomBytes(16).toString("hex")}`;
        const secrets = { "webhook token": [token], "alert address token": [alertToken], "metric template token": [templateToken], kubeconfig: kubeconfigSecrets(e2eEnv().kubeconfig) };
        assert.ok(secrets.kubeconfig.length > 0, "the run's kubeconfig holds no key, token or password: nothing to look for");
        const cli: string[] = [];
        const callsBefore = dp.loadtester.calls.length;
        // a chat's incoming webhook: a generic JSON alert receiver on 127.0.0.1, its path the secret
        const alerts: { path: string; body: { severity: string; message: string; fields: Record<string, string> } }[] = [];
        const receiver = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (c) => (raw += c));
            req.on("end", () => {
                alerts.push({ path: req.url ?? "", body: JSON.parse(raw) });
                res.writeHead(200).end("ok");
            });
        });
        await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
        const alertAddress = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts/${alertToken}`;
        /** The plain analysis with an alert, then each webhook's URL (pre-rollout, rollout) and the alert address replaced by secrets carrying the tokens. */
        async function configure(tag: string, paths: [string, string]): Promise<void> {
            stack.setConfig({
                "canary:image": image(tag), "canary:retry": undefined, "canary:alertProviders": { chat: { type: "webhook" } },
                "canary:analysis": { ...analysis(), alerts: [{ name: "chat", severity: "info", providerRef: { name: "chat" } }] },
            });
            for (const [i, p] of paths.entries()) {
                await stack.setSecret(`canary:analysis.webhooks[${i}].url`, `${dp.loadtesterUrl}${p}?token=${token}`, { path: true });
            }
            await stack.setSecret("canary:alertProviders.chat.address", alertAddress, { path: true });
            const file = fs.readFileSync(stack.file, "utf8");
            assert.ok(!file.includes(token) && !file.includes(alertToken), "a token is in clear in the stack file");
        }
        try {

            await configure("6.5.6", ["/", "/"]);
            const good = await stack.up([], { onOutput: log });
            cli.push(good.out);
            assert.strictEqual(good.code, 0, `pulumi up of 6.5.6 failed:\n${good.out.slice(-4000)}`);
            assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.6"), replicas: 2, ready: 2 });

            // a release that fails: its pre-rollout hook posts to a path the loadtester does not
            // serve, and the 404 echoes the request URL, token included
            await configure("6.5.3", ["/missing", "/"]);
            const bad = await stack.up([], { onOutput: log });
            cli.push(bad.out);
            assert.notStrictEqual(bad.code, 0, "the up with a failing pre-rollout hook succeeded");
            assert.match(bad.out, /webhook "acceptance-test" \(pre-rollout\) POST http:\/\/127\.0\.0\.1:\d+\/…: status 404: unknown path \/missing\?token=…/);
            assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.6"), replicas: 2, ready: 2 });
            assert.strictEqual(await canaryWeight(), 0);

            // the alerts of both releases, in order, at the secret address: start (with the facts) and promotion, then start, the halt, the rollback
            assert.ok(alerts.every((a) => a.path === `/alerts/${alertToken}`), JSON.stringify(alerts.map((a) => a.path)));
            const said = alerts.map((a) => `${a.body.severity}: ${a.body.message}`);
            const expected = [/^info: New revision detected! Scaling up podinfo\.test$/, /^info: Promotion completed! Scaling down podinfo\.test$/,
                /^info: New revision detected! Scaling up podinfo\.test$/, /^warn: Halt podinfo\.test advancement pre-rollout check failed: /, /^error: Rolling back podinfo\.test failed checks threshold reached 2$/];
            let at = 0;
            for (const line of said) if (at < expected.length && expected[at].test(line)) at++;
            if (at < expected.length) assert.fail(`alerts received: ${JSON.stringify(said, null, 1)}; missing from ${expected[at]}`);
            assert.deepStrictEqual(Object.keys(alerts[0].body.fields), ["Target", "Failed checks threshold", "Progress deadline", "Traffic routing"]);

            // the secret URLs were used: the token reached the hooks
            const calls = dp.loadtester.calls.slice(callsBefore).filter((c) => c.query === `?token=${token}`);
            assert.deepStrictEqual([...new Set(calls.map((c) => `${c.path} ${c.status}`))].sort(), ["/ 200", "/missing 404"]);

            cli.push((await stack.mustRun(["stack", "output", "--json"])).out);
            const places: Record<string, string> = {
                "the state file": checkpoint(),
                "pulumi stack export": (await stack.mustRun(["stack", "export"])).out,
                "the cluster's ConfigMaps": JSON.stringify((await k.core.listConfigMapForAllNamespaces()).items),
                "the cluster's Events": JSON.stringify((await k.core.listEventForAllNamespaces()).items),
                "the CLI's output": cli.join("\n"),
            };
            const found: string[] = [];
            for (const [place, text] of Object.entries(places)) {
                for (const [what, values] of Object.entries(secrets)) {
                    if (values.some((v) => text.includes(v))) found.push(`${what} in ${place}`);
                }
            }
            const swept = Object.values(secrets).flat().length;
            log(`secrets: ${swept} values swept in ${Object.keys(places).length} places, ${found.length} found in clear\n`);
            assert.deepStrictEqual(found, []);

            // the analysis (the webhook URLs) is kept encrypted in state: the release's and the finalizer's, inputs and outputs
            const deployment = (JSON.parse(places["pulumi stack export"]) as { deployment: { resources: { urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[] } }).deployment;
            const holders = deployment.resources.filter((r) => r.inputs?.analysis !== undefined);
            assert.strictEqual(holders.length, 2, `expected the release and the finalizer to hold the analysis: ${holders.map((r) => r.urn).join(" ")}`);
            const SECRET_SIG = "4dabf18193072939515e22adb298388d";
            for (const r of holders) {
                for (const [side, props] of [["inputs", r.inputs], ["outputs", r.outputs]] as const) {
                    const a = props?.analysis as Record<string, unknown> | undefined;
                    if (a !== undefined) assert.strictEqual(a[SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270", `${r.urn} ${side}.analysis is not a secret`);
                }
            }
            // and the alerts (their addresses)
            const alerting = deployment.resources.filter((r) => r.inputs?.alerts !== undefined);
            assert.strictEqual(alerting.length, 2, `expected the release and the finalizer to hold the alerts: ${alerting.map((r) => r.urn).join(" ")}`);
            for (const r of alerting) {
                for (const [side, props] of [["inputs", r.inputs], ["outputs", r.outputs]] as const) {
                    const a = props?.alerts as Record<string, unknown> | undefined;
                    if (a !== undefined) assert.strictEqual(a[SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270", `${r.urn} ${side}.alerts is not a secret`);
                }
            }
        } finally {
            receiver.close();
            stack.setConfig({ "canary:alertProviders": undefined, "canary:analysis": analysis() });
        }
    });

    it("(12) config tracking: the data of podinfo's ConfigMap and Secret alone starts a release; the primary reads -primary copies of the promoted data, which a failed release leaves as they were; secrets stay secret", async function () {
        const tokens = ["a", "b", "c"].map((x) => `${x}tok${crypto.randomBytes(12).toString("hex")}`);
        const readData = async (kind: "ConfigMap" | "Secret", name: string): Promise<Record<string, string>> => {
            if (kind === "ConfigMap") return (await k.core.readNamespacedConfigMap({ name, namespace: NS })).data ?? {};
            const data = (await k.core.readNamespacedSecret({ name, namespace: NS })).data ?? {};
            return Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v, "base64").toString()]));
        };
        // as plain values (the client's are class instances)
        const envFrom = async (role: "primary" | "canary") =>
            JSON.parse(JSON.stringify((await k.apps.readNamespacedDeployment({ name: `${APP}-${role}`, namespace: NS })).spec?.template.spec?.containers[0].envFrom)) as unknown;
        const copies = async () => ({ message: (await readData("ConfigMap", `${APP}-config-primary`)).PODINFO_UI_MESSAGE, token: (await readData("Secret", `${APP}-secrets-primary`)).TOKEN });
        const upWith = async (tag: string, message: string, token: string) => {
            stack.setConfig({ "canary:image": image(tag), "canary:retry": undefined, "canary:analysis": analysis(), "canary:appConfig": { PODINFO_UI_MESSAGE: message } });
            await stack.setSecret("canary:appSecrets.TOKEN", token, { path: true });
            return stack.up([], { onOutput: log });
        };
        const cli: string[] = [];

        // the stack's ConfigMap from the start (podinfo's default message), a Secret added now: the primary reads both copies
        assert.deepStrictEqual(await readData("ConfigMap", `${APP}-config-primary`), { PODINFO_UI_MESSAGE: "greetings from podinfo" });
        const first = await upWith("6.5.6", "greetings from podinfo", tokens[0]);
        cli.push(first.out);
        assert.strictEqual(first.code, 0, first.out.slice(-4000));
        assert.deepStrictEqual(await envFrom("canary"), [{ configMapRef: { name: `${APP}-config` } }, { secretRef: { name: `${APP}-secrets` } }]);
        assert.deepStrictEqual(await envFrom("primary"), [{ configMapRef: { name: `${APP}-config-primary` } }, { secretRef: { name: `${APP}-secrets-primary` } }]);
        assert.deepStrictEqual(await copies(), { message: "greetings from podinfo", token: tokens[0] });

        // the data alone (same image, same template but for the checksum): a release runs, then the copies hold the new data
        const primaryBefore = await k.apps.readNamespacedDeployment({ name: `${APP}-primary`, namespace: NS });
        const events = (await releaseEvents()).length;
        const second = await upWith("6.5.6", "hello from a tracked ConfigMap", tokens[1]);
        cli.push(second.out);
        assert.strictEqual(second.code, 0, second.out.slice(-4000));
        assertInOrder(await releaseEvents(), [/^New revision detected! Scaling up podinfo\.test$/, /^Advance podinfo\.test canary weight 50$/, /^Promotion completed! Scaling down podinfo\.test$/], events);
        assert.deepStrictEqual(await copies(), { message: "hello from a tracked ConfigMap", token: tokens[1] });
        const primaryAfter = await k.apps.readNamespacedDeployment({ name: `${APP}-primary`, namespace: NS });
        const withoutChecksum = (d: typeof primaryAfter) => {
            const t = JSON.parse(JSON.stringify(d.spec?.template)) as { metadata: { annotations: Record<string, string> } };
            delete t.metadata.annotations["canary.pulumi.com/config-checksum"];
            return t;
        };
        assert.deepStrictEqual(withoutChecksum(primaryAfter), withoutChecksum(primaryBefore), "the primary's template changed beyond the config checksum");
        assert.notStrictEqual(primaryAfter.spec?.template.metadata?.annotations?.["canary.pulumi.com/config-checksum"], primaryBefore.spec?.template.metadata?.annotations?.["canary.pulumi.com/config-checksum"]);
        assert.strictEqual(primaryAfter.metadata?.uid, primaryBefore.metadata?.uid);

        // a failed release (6.5.5 answers 10% 5xx) with new data: the canary read the new originals, the primary's copies keep the promoted data
        const third = await upWith("6.5.5", "a message that fails", tokens[2]);
        cli.push(third.out);
        assert.notStrictEqual(third.code, 0, "the up of 6.5.5 succeeded");
        badRate(third.out);
        assert.deepStrictEqual(await readData("ConfigMap", `${APP}-config`), { PODINFO_UI_MESSAGE: "a message that fails" });
        assert.deepStrictEqual((await readData("Secret", `${APP}-secrets`)).TOKEN, tokens[2]);
        assert.deepStrictEqual(await copies(), { message: "hello from a tracked ConfigMap", token: tokens[1] });
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.5.6"), replicas: 2, ready: 2 });
        assert.deepStrictEqual(await envFrom("primary"), [{ configMapRef: { name: `${APP}-config-primary` } }, { secretRef: { name: `${APP}-secrets-primary` } }]);

        // the Secret's values are in clear nowhere Pulumi writes; the release keeps them as secrets
        const exported = (await stack.mustRun(["stack", "export"])).out;
        const places: Record<string, string> = { "the state file": checkpoint(), "pulumi stack export": exported, "the CLI's output": cli.join("\n"), "the stack file": fs.readFileSync(stack.file, "utf8") };
        const found = Object.entries(places).flatMap(([place, text]) => tokens.filter((t) => text.includes(t)).map((t) => `${t.slice(0, 4)} in ${place}`));
        assert.deepStrictEqual(found, []);
        const release = (JSON.parse(exported) as { deployment: { resources: { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[] } })
            .deployment.resources.find((r) => r.type === "pulumi-nodejs:dynamic/canary:CanaryRelease");
        const SECRET_SIG = "4dabf18193072939515e22adb298388d";
        for (const [side, key] of [["inputs", "secrets"], ["outputs", "secrets"], ["outputs", "promotedSecrets"]] as const) {
            const v = release?.[side]?.[key] as Record<string, unknown> | undefined;
            assert.strictEqual(v?.[SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270", `the release's ${side}.${key} is not a secret: ${JSON.stringify(v)?.slice(0, 200)}`);
        }
        log(`config tracking: a data-only change released in ${(second.ms / 1000).toFixed(1)} s; the failed release left the copies as promoted\n`);
    });

    /** The Helm walkthrough's static split: 20% for an 8 s soak, checked every 2 s, under an error budget of SLO 99.9% over an hour. */
    const staticAnalysis = (budget: Record<string, unknown>, metrics?: unknown[]) => {
        // no ladder keys: the program refuses stepWeight and maxWeight beside a static split
        const a: Record<string, unknown> = { ...analysis() };
        delete a.stepWeight;
        delete a.maxWeight;
        return { ...a, static: { weight: 20, soak: "8s" }, errorBudget: { slo: 99.9, window: "1h", interval: "10s", ...budget }, ...(metrics === undefined ? {} : { metrics }) };
    };

    it("(13) a static split: 6.6.0 holds 20% of the traffic for its soak under an error budget and is promoted", async function () {
        const events = (await releaseEvents()).length;
        const { result: r, steps } = await withShares(() => mustUp("6.6.0", { "canary:analysis": staticAnalysis({ maxBurnRate: 10, maxBudgetSpent: 5 }) }));
        timings.staticPromote = r.ms;
        assert.deepStrictEqual(steps.map((s) => s.weight), [20], "one split, held; never a ladder");
        assertSharesFollowWeights(steps);
        assert.match(r.out, /new revision [0-9a-f]{12}: static 20% for 8s \(4 checks every 2s\), threshold 2, checks: request-success-rate, request-duration, latency-p95, error budget \(burn rate <= 10x of SLO 99\.9%\)/);
        assertInOrder(await releaseEvents(), [
            /^Advance podinfo\.test canary weight 20$/,
            /^Static podinfo\.test canary weight 20: soaked 2s of 8s$/,
            /^Static podinfo\.test canary weight 20: soaked 6s of 8s$/,
            /^Copying podinfo\.test template spec to podinfo-primary\.test$/,
            /^Promotion completed! Scaling down podinfo\.test$/,
        ], events);
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.6.0"), replicas: 2, ready: 2 });
        const state = JSON.parse((await status())["canary.pulumi.com/state"]) as { budgetSpent?: number };
        assert.strictEqual(state.budgetSpent, 0, "a canary with no errors spends none of the budget");
    });

    it("(14) a static split of 6.6.1 answering 8% 5xx is rolled back by its error budget: the failure gives the burn rate and the budget spent", async function () {
        // the success-rate check left out: the budget is what must catch it (8% errors burn 80x an SLO of 99.9%)
        const latencyOnly = (analysis().metrics as { name: string }[]).filter((m) => m.name !== "request-success-rate");
        const r = await failingUp("6.6.1", { "canary:analysis": staticAnalysis({ maxBurnRate: 10 }, latencyOnly) });
        timings.budgetRollback = r.ms;
        const m = /error budget burn rate (\d+\.\d\d)x > 10x \(canary error ratio (\d+\.\d\d)% against SLO 99\.9%\); budget spent ([0-9.e+-]+)% of 1h/.exec(r.out);
        assert.ok(m !== null, `no error-budget failure in the output:\n${r.out.slice(-3000)}`);
        const [rate, ratio, spent] = [Number(m[1]), Number(m[2]), Number(m[3])];
        assert.ok(Math.abs(rate - ratio / 0.1) < 0.1, `burn rate ${rate}x is not error ratio ${ratio}% / 0.1%`);
        assert.ok(ratio > 1 && ratio < 30, `error ratio ${ratio}% is not an 8% 5xx canary's`);
        // at 20% weight over 2 s intervals of an hour: each failed interval spends rate * 0.2 * 2 / 3600 of the budget
        assert.ok(spent > 0 && spent <= 100 * rate * 0.2 * 2 * 4 / 3600, `budget spent ${spent}% is not what ${rate}x spends in at most 4 intervals`);
        assert.match(r.out, /canary release of podinfo\.test failed, all traffic is on the primary: Rolling back podinfo\.test failed checks threshold reached 2/);
        assert.deepStrictEqual(await podinfo("primary"), { image: image("6.6.0"), replicas: 2, ready: 2 });
        assert.strictEqual((await podinfo("canary")).replicas, 0);
        assert.strictEqual(await canaryWeight(), 0);
        assert.strictEqual((await status())["canary.pulumi.com/phase"], "Failed");
    });

    it("(15) destroy removes every object: the release's, the app's and the infrastructure's", async function () {
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
