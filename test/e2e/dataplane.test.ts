// e2e: the host data plane (test/e2e/dataplane) against the run's kube-apiserver + kwok. The
// test writes the objects a release stack writes (Namespace, Deployments podinfo-primary and
// podinfo-canary, Services podinfo / -primary / -canary, the app Ingress and a canary Ingress)
// with client-node (the canary Ingress and its route annotations built by the release's own
// nginx router functions, so they are exactly what a release writes), and checks what the data
// plane realizes from them alone: one app process
// per scaled-up Deployment answering with its image tag, NGINX splitting real requests by the
// canary Ingress's weight and header/cookie annotations, Prometheus series with the canary
// label, the loadtester reaching the canary process by its in-cluster name, scale to 0 closing
// the process's port.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@kubernetes/client-node";
import { e2eEnv } from "./harness";
import { DataPlane, INGRESS_CONTROLLER_URL, startDataPlane } from "./dataplane";
import { httpGet, waitFor } from "../integration/harness/process";
import { MatchCondition, Routes } from "../../components/canary/engine/types";
import { KubeObject } from "../../components/canary/kube/api";
import { buildCanaryIngress, routeAnnotations, withRouteAnnotations } from "../../components/canary/routers/nginx";

const APP = "podinfo";
const HOST = "app.example.com";
const PORT = 9898;
const A = "nginx.ingress.kubernetes.io/";
const IMAGES = { "1.0.0": {}, "2.0.0": {}, "2.0.1": { errorRate: 0.5 } };
const image = (tag: string) => `ghcr.io/stefanprodan/podinfo:${tag}`;

/** POST a JSON body on loopback; resolves with status and body. */
function post(url: string, body: unknown, timeoutMs = 30000): Promise<{ status: number; body: string }> {
    return fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(timeoutMs) })
        .then(async (r) => ({ status: r.status, body: await r.text() }));
}

describe("e2e data plane: app processes, NGINX, Prometheus and the loadtester realized from API-server objects", function () {
    this.timeout(5 * 60_000);
    const ns = `dataplane-${process.pid}`;
    let apps: k8s.AppsV1Api;
    let core: k8s.CoreV1Api;
    let net: k8s.NetworkingV1Api;
    let dp: DataPlane | undefined;
    const measured: Record<string, unknown> = {};

    const plane = (): DataPlane => {
        if (dp === undefined) throw new Error("the data plane did not start");
        return dp;
    };

    /** Read, change, replace (no patch content types to get wrong). */
    async function updateDeployment(name: string, change: (d: k8s.V1Deployment) => void): Promise<void> {
        const d = await apps.readNamespacedDeployment({ name, namespace: ns });
        change(d);
        await apps.replaceNamespacedDeployment({ name, namespace: ns, body: d });
    }

    /** The canary Ingress's route annotations as the release's NginxRouter.setRoutes writes them. */
    async function setRoutes(routes: Routes, match: readonly MatchCondition[] = []): Promise<void> {
        const ing = await net.readNamespacedIngress({ name: `${APP}-canary`, namespace: ns });
        const routed = withRouteAnnotations(ing as unknown as KubeObject, routeAnnotations(routes, match));
        ing.metadata = { ...ing.metadata, annotations: routed.metadata.annotations };
        await net.replaceNamespacedIngress({ name: `${APP}-canary`, namespace: ns, body: ing });
    }

    /** Raw annotation edits (what no release writes, e.g. a bad weight). */
    async function setCanaryAnnotations(annotations: Record<string, string | undefined>): Promise<void> {
        const ing = await net.readNamespacedIngress({ name: `${APP}-canary`, namespace: ns });
        const a = { ...(ing.metadata?.annotations ?? {}) };
        for (const [k, v] of Object.entries(annotations)) {
            if (v === undefined) delete a[A + k];
            else a[A + k] = v;
        }
        ing.metadata = { ...ing.metadata, annotations: a };
        await net.replaceNamespacedIngress({ name: `${APP}-canary`, namespace: ns, body: ing });
    }

    /** n requests to / through NGINX (Host app.example.com), 4 at a time; versions answered, counted. */
    async function through(n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
        const seen: Record<string, number> = {};
        let next = 0;
        await Promise.all(Array.from({ length: 4 }, async () => {
            while (next < n) {
                next++;
                const r = await httpGet(`${plane().ingressUrl}/`, { host: HOST, ...headers });
                const key = r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
                seen[key] = (seen[key] ?? 0) + 1;
            }
        }));
        return seen;
    }

    /** The canary's share (%) of n requests, from the two app processes' own counters. */
    async function canaryShare(n: number, headers: Record<string, string> = {}): Promise<{ share: number; primary: number; canary: number; versions: Record<string, number> }> {
        const before = await plane().counts();
        const versions = await through(n, headers);
        const after = await plane().counts();
        const primary = after.primary - before.primary;
        const canary = after.canary - before.canary;
        return { share: (100 * canary) / Math.max(primary + canary, 1), primary, canary, versions };
    }

    const service = (name: string, selects: string): k8s.V1Service => ({
        metadata: { name, namespace: ns },
        spec: { type: "ClusterIP", selector: { app: selects }, ports: [{ name: "http", port: PORT, targetPort: "http", protocol: "TCP" }] },
    });
    const deployment = (role: "primary" | "canary", tag: string, replicas: number): k8s.V1Deployment => ({
        metadata: { name: `${APP}-${role}`, namespace: ns },
        spec: {
            replicas,
            selector: { matchLabels: { app: `${APP}-${role}` } },
            template: {
                metadata: { labels: { app: `${APP}-${role}`, "app.kubernetes.io/name": APP } },
                spec: { containers: [{ name: "podinfod", image: image(tag), ports: [{ name: "http", containerPort: PORT }] }] },
            },
        },
    });
    const ingress = (name: string, svc: string, annotations: Record<string, string>): k8s.V1Ingress => ({
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name, namespace: ns, annotations },
        spec: {
            ingressClassName: "nginx",
            rules: [{ host: HOST, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: svc, port: { number: PORT } } } }] } }],
        },
    });

    before(async function () {
        const env = e2eEnv();
        const kc = new k8s.KubeConfig();
        kc.loadFromString(env.kubeconfig);
        apps = kc.makeApiClient(k8s.AppsV1Api);
        core = kc.makeApiClient(k8s.CoreV1Api);
        net = kc.makeApiClient(k8s.NetworkingV1Api);
        const dir = path.join(env.runDir, "dataplane-test");
        fs.mkdirSync(dir, { recursive: true });
        const t0 = Date.now();
        // started before the namespace exists: it must pick everything up from the watches
        dp = await startDataPlane({ kubeconfig: env.kubeconfig, namespace: ns, dir, images: IMAGES, seed: 5 });
        measured.startMs = Date.now() - t0;
        await core.createNamespace({ body: { metadata: { name: ns } } });
        for (const [name, selects] of [[APP, `${APP}-primary`], [`${APP}-primary`, `${APP}-primary`], [`${APP}-canary`, `${APP}-canary`]]) {
            await core.createNamespacedService({ namespace: ns, body: service(name, selects) });
        }
        await apps.createNamespacedDeployment({ namespace: ns, body: deployment("primary", "1.0.0", 2) });
        await apps.createNamespacedDeployment({ namespace: ns, body: deployment("canary", "2.0.0", 2) });
        const app = ingress(APP, APP, { "pulumi.com/skipAwait": "true" });
        await net.createNamespacedIngress({ namespace: ns, body: app });
        // what the release's reconcile creates, then its setRoutes at weight 30
        const canary = withRouteAnnotations(buildCanaryIngress(app as unknown as KubeObject, { name: APP, namespace: ns }), routeAnnotations({ primary: 70, canary: 30 }, []));
        await net.createNamespacedIngress({ namespace: ns, body: canary as unknown as k8s.V1Ingress });
    });

    after(async function () {
        if (dp !== undefined && this.currentTest?.state === "failed") process.stdout.write(`--- data plane log:\n${dp.log().slice(-40).join("\n")}\n`);
        await dp?.stop();
        process.stdout.write(`      measured: ${JSON.stringify(measured)}\n`);
        await core?.deleteNamespace({ name: ns }).catch(() => undefined);
    });

    it("runs one app process per scaled-up Deployment, answering with its image tag", async function () {
        const d = plane();
        await waitFor("both app processes", async () => d.ready(`${APP}-primary`) && d.ready(`${APP}-canary`), 30000);
        for (const [role, tag] of [["primary", "1.0.0"], ["canary", "2.0.0"]]) {
            // POST /token, not GET /: the requests to / the apps count all come through NGINX
            const token = await post(`http://127.0.0.1:${d.port(`${APP}-${role}`)}/token`, {});
            assert.match(token.body, new RegExp(`"token":"token-${tag.replace(/\./g, "\\.")}-\\d+"`));
            assert.strictEqual(d.version(`${APP}-${role}`), tag);
        }
        assert.deepStrictEqual(await d.counts(), { primary: 0, canary: 0 });
    });

    it("splits real requests by the canary Ingress's weight: 30% to the canary, counted by the apps", async function () {
        const d = plane();
        await d.nginx.waitWeight(30);
        const s = await canaryShare(400);
        measured.weight30 = s;
        assert.deepStrictEqual(Object.keys(s.versions).sort(), ["1.0.0", "2.0.0"]);
        assert.strictEqual(s.primary + s.canary, 400);
        assert.ok(Math.abs(s.share - 30) <= 3, `canary share ${s.share}% at weight 30: ${JSON.stringify(s)}`);
        assert.strictEqual(s.versions["2.0.0"], s.canary);
    });

    it("follows a weight change within a reload, and weight 0 sends the canary nothing", async function () {
        const d = plane();
        const t0 = Date.now();
        await setRoutes({ primary: 25, canary: 75 });
        await d.nginx.waitWeight(75);
        measured.weightChangeMs = Date.now() - t0;
        const s75 = await canaryShare(200);
        assert.ok(Math.abs(s75.share - 75) <= 3, `canary share ${s75.share}% at weight 75`);
        await setRoutes({ primary: 100, canary: 0 });
        await d.nginx.waitWeight(0);
        const s0 = await canaryShare(100);
        assert.deepStrictEqual([s0.primary, s0.canary], [100, 0]);
        assert.deepStrictEqual(s0.versions, { "1.0.0": 100 });
        const last = d.nginx.reloads()[d.nginx.reloads().length - 1];
        measured.lastReload = last;
        assert.strictEqual(last.generation, d.nginx.generation());
        assert.deepStrictEqual(last.weights, { [APP]: 0 });
        assert.ok(last.latencyMs < 5000, `reload ${JSON.stringify(last)}`);
    });

    it("routes a header match and a cookie to the canary, everything else by weight", async function () {
        const d = plane();
        // A/B as the release writes it: weight 0, header value and cookie
        await setRoutes({ primary: 100, canary: 0, match: true }, [{ headers: { "x-canary": { exact: "insider" } } }, { cookie: "canary" }]);
        await waitFor("the header rule", async () => d.nginx.routes()[0]?.canary?.rules.length === 2, 15000);
        assert.deepStrictEqual(d.nginx.routes()[0].canary?.rules, ["header x-canary == insider", "cookie canary always/never"]);
        assert.deepStrictEqual((await canaryShare(40, { "x-canary": "insider" })).versions, { "2.0.0": 40 });
        assert.deepStrictEqual((await canaryShare(20, { "x-canary": "outsider" })).versions, { "1.0.0": 20 });
        assert.deepStrictEqual((await canaryShare(20, { cookie: "canary=always" })).versions, { "2.0.0": 20 });
        assert.deepStrictEqual((await canaryShare(20)).versions, { "1.0.0": 20 });
        // a regex (canary-by-header-pattern) at weight 100: cookie "never" beats the weight
        await setRoutes({ primary: 0, canary: 100, match: true }, [{ headers: { "x-canary": { regex: "^in.*" } } }, { cookie: "canary" }]);
        await d.nginx.waitWeight(100);
        assert.deepStrictEqual(d.nginx.routes()[0].canary?.rules, ["header x-canary =~ ^in.*", "cookie canary always/never"]);
        assert.deepStrictEqual((await canaryShare(20, { "x-canary": "inside" })).versions, { "2.0.0": 20 });
        assert.deepStrictEqual((await canaryShare(20, { cookie: "canary=never" })).versions, { "1.0.0": 20 });
        assert.deepStrictEqual((await canaryShare(20)).versions, { "2.0.0": 20 });
        await setRoutes({ primary: 70, canary: 30 });
        await d.nginx.waitWeight(30);
        assert.deepStrictEqual(d.nginx.routes()[0].canary?.rules, []);
    });

    it("exports nginx_ingress_controller_requests with the canary label to Prometheus", async function () {
        const d = plane();
        const q = `sum by (canary) (nginx_ingress_controller_requests{namespace="${ns}",ingress="${APP}",status="200"})`;
        let byCanary: Record<string, number> = {};
        const counts = await d.counts();
        // scraped every second: wait until Prometheus has seen every request the canary counted (all came through NGINX)
        await waitFor("Prometheus to see the canary's requests", async () => {
            byCanary = Object.fromEntries((await d.prometheus.query(q)).map((r) => [r.metric.canary ?? "", Number(r.value[1])]));
            return byCanary[`${ns}-${APP}-canary-${PORT}`] === counts.canary && byCanary[""] === counts.primary;
        }, 15000).catch((e: Error) => {
            throw new Error(`${e.message}: Prometheus ${JSON.stringify(byCanary)}, apps ${JSON.stringify(counts)}`);
        });
        measured.prometheus = byCanary;
    });

    it("runs the loadtester's commands against in-cluster names: curl | grep to the canary, /acceptance, hey through the ingress", async function () {
        const d = plane();
        const canaryPort = d.port(`${APP}-canary`);
        const tokens = async () => (JSON.parse((await httpGet(`http://127.0.0.1:${canaryPort}/admin/faults`)).body) as { requests: Record<string, number> }).requests["/token 200"] ?? 0;
        const hook = (metadata: Record<string, string>) => ({ name: APP, namespace: ns, phase: "Progressing", checksum: "x", metadata });
        const before = await tokens();
        const bash = await post(`${d.loadtesterUrl}/`, hook({ type: "bash", cmd: `curl -sd 'test' http://${APP}-canary.${ns}:${PORT}/token | grep token` }));
        assert.strictEqual(bash.status, 200, bash.body);
        assert.match(bash.body, /"token":"token-2\.0\.0-\d+"/);
        assert.strictEqual(await tokens(), before + 1, "the token request did not reach the canary process");
        // the long form of the name, and Flagger's acceptance endpoint
        const acc = await post(`${d.loadtesterUrl}/acceptance`, hook({ url: `http://${APP}-canary.${ns}.svc.cluster.local:${PORT}/healthz` }));
        assert.strictEqual(acc.status, 200, acc.body);
        assert.match(acc.body, new RegExp(`\\(http://127\\.0\\.0\\.1:${canaryPort}/healthz\\) answered 200`));
        // a pipeline's status is its last command's: grep not finding the word fails the hook
        const noMatch = await post(`${d.loadtesterUrl}/`, hook({ type: "bash", cmd: `curl -sd 'test' http://${APP}-canary.${ns}:${PORT}/token | grep -q nonesuch` }));
        assert.deepStrictEqual([noMatch.status, /failed \(exit 1\)/.test(noMatch.body)], [500, true], noMatch.body);
        // refused: not a pipeline of curl/grep/hey; a port the Service does not have
        const refused = await post(`${d.loadtesterUrl}/`, hook({ type: "bash", cmd: `curl -s http://${APP}-canary.${ns}:${PORT}/ > /tmp/x` }));
        assert.deepStrictEqual([refused.status, /shell syntax ">" is not supported/.test(refused.body)], [400, true], refused.body);
        const badPort = await post(`${d.loadtesterUrl}/`, hook({ type: "bash", cmd: `curl -s http://${APP}-canary.${ns}:8080/` }));
        assert.deepStrictEqual([badPort.status, /has no port 8080/.test(badPort.body)], [500, true], badPort.body);
        // hey through the ingress controller's in-cluster name, as the stack's load test writes it
        const c0 = await d.counts();
        const hey = await post(`${d.loadtesterUrl}/`, hook({ cmd: `hey -n 100 -c 2 -host ${HOST} ${INGRESS_CONTROLLER_URL}`, blocking: "true" }));
        assert.strictEqual(hey.status, 200, hey.body);
        assert.match(hey.body, /\[200\]\s+100 responses/);
        const c1 = await d.counts();
        assert.strictEqual(c1.primary + c1.canary - c0.primary - c0.canary, 100);
        assert.ok(Math.abs(c1.canary - c0.canary - 30) <= 3, `canary served ${c1.canary - c0.canary} of hey's 100 at weight 30`);
    });

    it("restarts a process on a new image with its behaviour, keeping the Deployment's counts", async function () {
        const d = plane();
        const pid = await tokenPid(d.port(`${APP}-canary`));
        const before = await d.counts();
        await updateDeployment(`${APP}-canary`, (x) => {
            if (x.spec?.template.spec !== undefined) x.spec.template.spec.containers[0].image = image("2.0.1");
        });
        await waitFor("the canary on 2.0.1", async () => d.version(`${APP}-canary`) === "2.0.1", 30000);
        // no traffic meanwhile: the stopped process's count is kept, the new one starts at 0
        assert.deepStrictEqual(await d.counts(), before);
        assert.notStrictEqual(await tokenPid(d.port(`${APP}-canary`)), pid);
        // 2.0.1 answers 50% 500s, drawn at random
        await setRoutes({ primary: 0, canary: 100 });
        await d.nginx.waitWeight(100);
        const v = await through(200);
        measured.errors201 = v;
        const errors = v["status 500"] ?? 0;
        assert.ok(errors > 60 && errors < 140, `2.0.1 answered ${errors} of 200 with 500: ${JSON.stringify(v)}`);
        assert.strictEqual(errors + (v["2.0.1"] ?? 0), 200);
        await setRoutes({ primary: 70, canary: 30 });
        await d.nginx.waitWeight(30);
    });

    it("stops the canary's process at 0 replicas: its port closes, NGINX and the Service have no canary endpoint", async function () {
        const d = plane();
        const port = d.port(`${APP}-canary`);
        await updateDeployment(`${APP}-canary`, (x) => {
            if (x.spec !== undefined) x.spec.replicas = 0;
        });
        await waitFor("the canary process to stop", async () => !d.running(`${APP}-canary`), 15000);
        await assert.rejects(httpGet(`http://127.0.0.1:${port}/readyz`), /ECONNREFUSED/);
        await d.nginx.waitWeight(undefined);
        const s = await canaryShare(50);
        assert.deepStrictEqual(s.versions, { "1.0.0": 50 });
        const acc = await post(`${d.loadtesterUrl}/acceptance`, { name: APP, namespace: ns, phase: "Progressing", checksum: "x", metadata: { url: `http://${APP}-canary.${ns}:${PORT}/healthz` } });
        assert.strictEqual(acc.status, 500);
        assert.match(acc.body, /has no ready endpoints/);
        // scaled up again: back on the same port
        await updateDeployment(`${APP}-canary`, (x) => {
            if (x.spec !== undefined) x.spec.replicas = 1;
        });
        await waitFor("the canary process again", async () => d.ready(`${APP}-canary`), 30000);
        assert.strictEqual(d.port(`${APP}-canary`), port);
        await d.nginx.waitWeight(30);
    });

    it("recorded no problems", function () {
        const d = plane();
        assert.deepStrictEqual(d.problems(), []);
        measured.reloads = d.nginx.reloads().map((r) => `g${r.generation} ${r.latencyMs}/${r.reloadMs}ms`);
    });

    it("reports a canary Ingress it cannot serve as a problem and leaves the canary out", async function () {
        const d = plane();
        await setCanaryAnnotations({ "canary-weight": "thirty" });
        await waitFor("the problem to be recorded", async () => d.problems().length > 0, 15000);
        assert.match(d.problems()[0], /canary Ingress podinfo-canary\.dataplane-\d+: nginx\.ingress\.kubernetes\.io\/canary-weight "thirty" is not a weight in 0\.\.100/);
        await d.nginx.waitWeight(undefined);
        assert.deepStrictEqual((await canaryShare(20)).versions, { "1.0.0": 20 });
    });
});

/** The pid in an app's token (`token-<version>-<pid>`): which process answers on `port`. */
async function tokenPid(port: number | undefined): Promise<number> {
    const r = await post(`http://127.0.0.1:${port}/token`, {});
    return Number(/-(\d+)"/.exec(r.body)?.[1]);
}
