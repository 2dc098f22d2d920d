// The CanaryRelease provider functions' exact values: the run deadline, the seams' inputs, the
// progress lines, what a release without a new revision stores, and each unfinished state.
import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { AnalysisSpec, ReleaseState } from "../../../components/canary/engine/types";
import { createFinalize } from "../../../components/canary/provider/finalize";
import { checkReleaseLive, createRelease, deleteRelease, diffRelease, diffReleaseLive, failedRelease, readRelease, runDeadlineSeconds, updateRelease } from "../../../components/canary/provider/release";
import { SeamInputs, useSeams } from "../../../components/canary/provider/seams";
import { ReleaseInputs, ReleaseOutputs } from "../../../components/canary/provider/types";
import { UNKNOWN } from "../../../components/canary/provider/validate";
import { MemoryRouter, world, World } from "./fakes";

const analysis: AnalysisSpec = {
    intervalSeconds: 30, threshold: 5, maxWeight: 50, stepWeight: 10, stepWeights: [], iterations: 0, match: [],
    skipAnalysis: false, progressDeadlineSeconds: 600,
    metrics: [
        { name: "request-success-rate", builtin: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m", templateVariables: {} },
        { name: "request-duration", builtin: "request-duration", thresholdRange: { max: 500 }, interval: "1m", templateVariables: {} },
    ],
    webhooks: [],
};
const target = { name: "podinfo", namespace: "test" };
const template = (image: string, port?: number) => ({ spec: { containers: [{ name: "podinfod", image, ...(port === undefined ? {} : { ports: [{ containerPort: port }] }) }] } });

function inputs(over: Partial<ReleaseInputs> = {}): ReleaseInputs {
    return {
        target, template: template("podinfo:6.5.3", 9898), revision: "rev-1", analysis, routing: "nginx", ingressName: "podinfo",
        metricsServer: { service: "prometheus", namespace: "monitoring", port: 9090 }, kubeconfig: "kubeconfig", kubeContext: "kind-kind",
        canaryReplicas: 2, retry: false, ...over,
    };
}
/** What `fn` writes to stderr (where the provider's warnings go outside a provider process). */
async function stderrOf(fn: () => Promise<void>): Promise<string[]> {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
    try {
        await fn();
    } finally {
        process.stderr.write = write;
    }
    return written;
}
const v2 = (over: Partial<ReleaseInputs> = {}) => inputs({ template: template("podinfo:6.5.4", 9898), revision: "rev-2", ...over });

describe("CanaryRelease provider: exact values", () => {
    let w: World;
    let seamInputs: SeamInputs[];
    beforeEach(() => {
        w = world();
        w.kube.replicas.set("test/podinfo-canary", 0);
        w.kube.replicas.set("test/podinfo-primary", 2);
        seamInputs = [];
        useSeams((i) => { seamInputs.push(i); return w.seams; });
    });
    afterEach(() => useSeams(undefined));

    async function created(over: Partial<ReleaseInputs> = {}): Promise<ReleaseOutputs> {
        const { outs } = await createRelease(inputs(over));
        w.events.events.length = 0;
        w.router.history.length = 0;
        w.kube.calls.length = 0;
        w.lines.length = 0;
        seamInputs.length = 0;
        return outs;
    }

    it("alerts: a release and its finalization send their moments to a real receiver; a dead one is logged and changes nothing", async () => {
        const got: { severity: string; message: string; fields: Record<string, string> }[] = [];
        const server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (c) => (raw += c));
            req.on("end", () => {
                got.push(JSON.parse(raw));
                res.writeHead(200).end();
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
            const alerts = [
                { name: "chat", severity: "info" as const, provider: { type: "webhook" as const, address } },
                { name: "dead", severity: "info" as const, provider: { type: "webhook" as const, address: "http://127.0.0.1:9/" } },
            ];
            const olds = await created();
            const { outs } = await updateRelease("test/podinfo", olds, v2({ alerts }));
            assert.equal(outs.phase, "Promoting");
            await createFinalize({ target, revision: outs.promotedRevision, phase: outs.phase, routing: "nginx", ingressName: "podinfo", analysis, readyTimeoutSeconds: 60, alerts });
            assert.deepEqual(got.map((b) => `${b.severity}: ${b.message}`), ["info: New revision detected! Scaling up podinfo.test", "info: Promotion completed! Scaling down podinfo.test"]);
            assert.deepEqual(got[0].fields, { "Target": "Deployment/podinfo.test", "Failed checks threshold": "5", "Progress deadline": "600s", "Traffic routing": "Weight step: 10 max: 50" });
            assert.deepEqual(w.lines.filter((l) => l.includes("alert")), [
                '[podinfo.test] ! alert "dead" (webhook) POST http://127.0.0.1:9/: request failed: ECONNREFUSED',
                '[podinfo.test] ! alert "dead" (webhook) POST http://127.0.0.1:9/: request failed: ECONNREFUSED',
            ]);
        } finally {
            server.close();
        }
    });

    it("runDeadlineSeconds: every step failing threshold times plus two, every gate up to three progress deadlines", () => {
        assert.equal(runDeadlineSeconds(inputs()), (5 + 5 + 2) * 30 + 3 * 600);
        assert.equal(runDeadlineSeconds(inputs({ analysis: { ...analysis, iterations: 4, threshold: 1, intervalSeconds: 10, progressDeadlineSeconds: 60 } })), (4 + 1 + 2) * 10 + 3 * 60);
    });

    it("the seams are built from the inputs, with the template's first container port", async () => {
        await createRelease(inputs({ routing: "linkerd", linkerdRoute: "smi", ingressName: undefined, template: template("podinfo:6.5.3", 8080) }));
        assert.deepEqual(seamInputs, [{
            target, routing: "linkerd", linkerdRoute: "smi", ingressName: undefined,
            metricsServer: { service: "prometheus", namespace: "monitoring", port: 9090 }, kubeconfig: "kubeconfig", kubeContext: "kind-kind", port: 8080,
        }]);
    });

    it("a template without a container port gives the Services' default port 9898", async () => {
        await createRelease(inputs({ template: template("podinfo:6.5.3") }));
        assert.equal(seamInputs[0].port, 9898);
        await createRelease(inputs({ template: {} }));
        assert.equal(seamInputs[1].port, 9898);
    });

    it("create: one progress line, the match conditions handed to the router, the outputs", async () => {
        const reconciled: unknown[] = [];
        w.router.reconcile = async (_t, m) => { reconciled.push(m); };
        const match = [{ cookie: "canary" }];
        const { id, outs } = await createRelease(inputs({ analysis: { ...analysis, iterations: 2, match } }));
        assert.equal(id, "test/podinfo");
        assert.deepEqual(reconciled, [match]);
        assert.deepEqual(w.lines, [
            "[podinfo.test] initializing: routing all traffic to podinfo-primary (no analysis on the first deployment)",
            "[podinfo.test] - Initialization done! podinfo.test",
        ]);
        assert.equal(outs.message, "Initialization done! podinfo.test");
        assert.equal(outs.failedRevision, "");
        assert.equal(outs.state.phase, "Initialized");
    });

    it("update: the plan, one line per step, the promotion line; the default poll is 2 s", async () => {
        const olds = await created();
        const t0 = w.clock.now();
        const seams = { ...w.seams, pollMs: undefined };
        useSeams(() => seams);
        const { outs } = await updateRelease("test/podinfo", olds, v2({ revision: "0123456789abcdef0123" }));
        assert.equal(w.lines[0], "[podinfo.test] new revision 0123456789ab: 5 steps every 30s up to 50%, threshold 5, checks: request-success-rate, request-duration");
        assert.equal(w.lines.at(-1), "[podinfo.test] promoting revision 0123456789ab to podinfo-primary");
        assert.equal(w.clock.now() - t0, 2 * 2000 + 5 * 30_000);
        assert.equal(outs.promotedRevision, "0123456789abcdef0123");
    });

    const plans: [string, Partial<AnalysisSpec>, string][] = [
        ["iterations", { iterations: 3, intervalSeconds: 60 }, "3 iterations every 60s, checks: request-success-rate, request-duration"],
        ["explicit weights", { stepWeights: [5, 25, 80] }, "3 steps every 30s up to 80%, threshold 5, checks: request-success-rate, request-duration"],
        ["no metrics", { metrics: [], threshold: 2 }, "5 steps every 30s up to 50%, threshold 2, checks: no metrics"],
    ];
    for (const [name, over, plan] of plans) {
        it(`the plan line: ${name}`, async () => {
            const olds = await created();
            await updateRelease("test/podinfo", olds, v2({ analysis: { ...analysis, ...over } }));
            assert.equal(w.lines[0], `[podinfo.test] new revision rev-2: ${plan}`);
        });
    }

    it("a promoted release routes all traffic back to the primary and records weight 0", async () => {
        const olds = await created();
        const { outs } = await updateRelease("test/podinfo", olds, v2());
        assert.deepEqual(w.router.history.map((r) => r.canary), [10, 20, 30, 40, 50, 0]);
        assert.deepEqual([outs.primaryWeight, outs.canaryWeight, outs.state.canaryWeight, outs.phase], [100, 0, 0, "Promoting"]);
        assert.equal((await w.seams.store.load(target))?.canaryWeight, 0);
    });

    it("a promoted blue/green release (no weight on the canary) writes no extra route", async () => {
        const olds = await created();
        await updateRelease("test/podinfo", olds, v2({ analysis: { ...analysis, iterations: 2 } }));
        assert.deepEqual(w.router.history, [{ primary: 100, canary: 0 }]);
    });

    it("a canary Deployment of another revision is refused before anything is touched", async () => {
        const olds = await created();
        w.kube.revisions.set("test/podinfo-canary", "rev-1");
        await assert.rejects(updateRelease("test/podinfo", olds, v2()), (err: Error) => {
            assert.equal(err.message, "deployment podinfo-canary.test runs revision rev-1, not revision rev-2 of this release: " +
                "it was left out of this `pulumi up` (a --target without it?). Nothing was changed; run `pulumi up` with the canary Deployment too");
            return true;
        });
        assert.deepEqual(w.router.history, []);
        assert.deepEqual(w.kube.calls, []);
        w.kube.revisions.set("test/podinfo-canary", "rev-2");
        assert.equal((await updateRelease("test/podinfo", olds, v2())).outs.phase, "Promoting");
    });

    it("the same revision with other settings stores them, keeps the promoted template and reads the weights back", async () => {
        const olds = await created();
        w.router.routes = { primary: 100, canary: 0 };
        const news = inputs({ analysis: { ...analysis, threshold: 2 }, canaryReplicas: 3 });
        const { outs } = await updateRelease("test/podinfo", olds, news);
        assert.deepEqual(outs, {
            ...news, phase: "Initialized", promotedRevision: "rev-1", promotedTemplate: olds.promotedTemplate, promotedConfigMaps: {}, promotedSecrets: {}, failedRevision: "", message: "Initialization done! podinfo.test",
            primaryWeight: 100, canaryWeight: 0, state: olds.state,
        });
        assert.deepEqual(w.router.history, []);
        assert.deepEqual(w.events.events, []);
    });

    it("the same revision without a recorded state starts from the idle state", async () => {
        const olds = await created();
        for (const k of [...w.kube.objects.keys()]) w.kube.objects.delete(k);
        const { outs } = await updateRelease("test/podinfo", { ...olds, state: undefined } as unknown as ReleaseOutputs, inputs());
        assert.equal(outs.phase, "Initializing");
        assert.equal(outs.state.revision, "");
    });

    it("a new revision without any record starts from the recorded revisions", async () => {
        const olds = await created();
        for (const k of [...w.kube.objects.keys()]) w.kube.objects.delete(k);
        const { outs } = await updateRelease("test/podinfo", { ...olds, state: undefined } as unknown as ReleaseOutputs, v2());
        assert.equal(outs.phase, "Promoting");
        assert.equal(outs.state.promotedRevision, "rev-1");
    });

    const leftBehind: [string, Partial<ReleaseState>, boolean][] = [
        ["Progressing", { phase: "Progressing", canaryWeight: 0 }, true],
        ["WaitingPromotion", { phase: "WaitingPromotion", canaryWeight: 50 }, true],
        ["Promoting with weight on the canary", { phase: "Promoting", canaryWeight: 50 }, true],
        ["Promoting with all traffic on the primary", { phase: "Promoting", canaryWeight: 0 }, false],
        ["Failed", { phase: "Failed", canaryWeight: 0 }, false],
        ["Succeeded", { phase: "Succeeded", canaryWeight: 0 }, false],
    ];
    for (const [name, over, unfinished] of leftBehind) {
        it(`a saved ${name} release is ${unfinished ? "" : "not "}unfinished`, async () => {
            const olds = await created();
            const prev = await w.seams.store.load(target);
            await w.seams.store.save(target, { ...prev!, revision: "rev-2", ...over });
            w.kube.calls.length = 0;
            assert.equal((await diffReleaseLive("test/podinfo", olds, inputs())).changes, unfinished);
            await updateRelease("test/podinfo", olds, inputs());
            assert.deepEqual(w.router.history, unfinished ? [{ primary: 100, canary: 0 }] : []);
            assert.deepEqual(w.kube.calls, unfinished ? ["scale podinfo-canary 0", "patch ConfigMap podinfo-canary-status"] : []);
        });
    }

    it("abandoning says what it found and what it does, and keeps a Succeeded record Succeeded", async () => {
        const olds = await created();
        const prev = await w.seams.store.load(target);
        await w.seams.store.save(target, { ...prev!, phase: "Progressing", revision: "rev-2", canaryWeight: 30 });
        const recorded = { ...olds, state: { ...olds.state, phase: "Succeeded" as const } };
        const { outs } = await updateRelease("test/podinfo", recorded, inputs());
        assert.deepEqual(w.lines, [
            "[podinfo.test] found an unfinished release of revision rev-2 (Progressing, canary weight 30) while revision rev-1 is desired and already on the primary: routing all traffic to the primary",
            "[podinfo.test] ! Rolling back podinfo.test: unfinished release of revision rev-2 abandoned, routing all traffic to primary",
        ]);
        assert.equal(outs.phase, "Succeeded");
        assert.deepEqual(w.events.events, [{ type: "Warning", reason: "Synced", message: "Rolling back podinfo.test: unfinished release of revision rev-2 abandoned, routing all traffic to primary" }]);
        const saved = await w.seams.store.load(target);
        assert.deepEqual([saved?.phase, saved?.step, saved?.failedChecks, saved?.canaryWeight, saved?.lastTransitionAt], ["Succeeded", 0, 0, 0, w.clock.now()]);
    });

    it("a new revision over an unfinished one says so before converging", async () => {
        const olds = await created();
        const prev = await w.seams.store.load(target);
        await w.seams.store.save(target, { ...prev!, phase: "WaitingPromotion", revision: "rev-0", canaryWeight: 50 });
        w.kube.calls.length = 0;
        await updateRelease("test/podinfo", olds, v2());
        assert.equal(w.lines[0], "[podinfo.test] found an unfinished release of revision rev-0 (WaitingPromotion, canary weight 50): routing all traffic to the primary");
        assert.deepEqual(w.kube.calls.slice(0, 1), ["scale podinfo-canary 0"]);
    });

    it("SIGTERM aborts the run like SIGINT and the handlers are removed afterwards", async () => {
        const olds = await created();
        w.router.onSet = (r) => {
            if (r.canary === 10) process.emit("SIGTERM", "SIGTERM"); // as node does: the signal name is the argument
        };
        await assert.rejects(updateRelease("test/podinfo", olds, v2()), /release interrupted/);
        assert.ok(w.lines.includes("[podinfo.test] interrupted (SIGTERM): routing all traffic to the primary and scaling the canary down"), w.lines.join("\n"));
        assert.equal(process.listenerCount("SIGTERM"), 0);
        assert.equal(process.listenerCount("SIGINT"), 0);
    });

    it("failedRelease without a recorded state records the old revisions with the failure", () => {
        const olds = { ...inputs(), phase: "Initialized", promotedRevision: "rev-1", promotedTemplate: {}, failedRevision: "", message: "", primaryWeight: 100, canaryWeight: 0 } as unknown as ReleaseOutputs;
        const failed = { phase: "Failed", failedRevision: "rev-2", message: "bad" } as ReleaseState;
        const err = failedRelease("test/podinfo", olds, failed, "canary release failed");
        assert.equal(err.message, "canary release failed");
        assert.deepEqual(err.properties.state, {
            phase: "Initialized", revision: "rev-1", promotedRevision: "rev-1", failedRevision: "rev-2", canaryWeight: 0, step: 0, failedChecks: 0,
            rolloutConfirmed: false, preRolloutDone: false, startedAt: 0, lastTransitionAt: 0, message: "bad",
        });
        assert.deepEqual([err.properties.failedRevision, err.properties.message, err.properties.revision], ["rev-2", "bad", "rev-1"]);
    });

    it("a new routing provider for the same revision moves the traffic and says from what to what", async () => {
        const olds = await created({ routing: "linkerd", ingressName: undefined });
        const oldRouter = new MemoryRouter();
        const newRouter = new MemoryRouter();
        useSeams((i) => ({ ...w.seams, router: i.routing === "linkerd" ? oldRouter : newRouter }));
        const { outs } = await updateRelease("test/podinfo", olds, inputs({ routing: "nginx", ingressName: "web" }));
        assert.equal(w.lines[0], "[podinfo.test] moving the routing from linkerd (httproute) to nginx (Ingress web): new routing objects first, all traffic on podinfo-primary");
        assert.deepEqual(w.events.events.map((e) => e.message), ["Routing of podinfo.test moved from linkerd (httproute) to nginx (Ingress web), all traffic on primary"]);
        assert.deepEqual(newRouter.history, [{ primary: 100, canary: 0 }]);
        assert.deepEqual(oldRouter.history, [{ primary: 100, canary: 0 }]);
        assert.equal(oldRouter.finalized, true);
        assert.deepEqual([outs.routing, outs.ingressName], ["nginx", "web"]);
    });

    it("routing descriptions: an SMI route and istio", async () => {
        const olds = await created({ routing: "linkerd", linkerdRoute: "smi", ingressName: undefined });
        useSeams(() => ({ ...w.seams, router: new MemoryRouter() }));
        await updateRelease("test/podinfo", olds, inputs({ routing: "istio", ingressName: undefined }));
        assert.equal(w.events.events[0].message, "Routing of podinfo.test moved from linkerd (smi) to istio, all traffic on primary");
    });

    it("the same routing moves nothing", async () => {
        const olds = await created();
        await updateRelease("test/podinfo", olds, inputs({ canaryReplicas: 4 }));
        assert.deepEqual(w.events.events, []);
        assert.equal(w.router.finalized, false);
    });

    it("diff compares values, not key order; an unknown revision is a change, other unknowns are compared as given", () => {
        const olds = { ...inputs(), phase: "Initialized" } as unknown as ReleaseOutputs;
        assert.equal(diffRelease("id", olds, { ...inputs(), target: { namespace: "test", name: "podinfo" } }).changes, false);
        assert.equal(diffRelease("id", olds, { ...inputs(), linkerdRoute: undefined }).changes, false);
        assert.equal(diffRelease("id", { ...olds, revision: UNKNOWN }, { ...inputs(), revision: UNKNOWN }).changes, true);
        assert.equal(diffRelease("id", olds, { ...inputs(), routing: "istio" }).changes, true);
        assert.deepEqual(diffRelease("id", olds, { ...inputs(), target: { name: "web", namespace: "test" } }), { changes: true, replaces: ["target"], deleteBeforeReplace: false });
        assert.equal(diffRelease("id", olds, { ...inputs(), template: template("other", 1) }).changes, false, "the template alone is the revision's business");
    });

    it("a new app name warns in the CLI what that means", async () => {
        const olds = await created();
        const written = await stderrOf(async () => {
            await diffReleaseLive("test/podinfo", olds, { ...inputs(), target: { name: "web", namespace: "prod" } });
            await diffReleaseLive("test/podinfo", olds, { ...inputs(), target: UNKNOWN });
        });
        assert.deepEqual(written, [
            "warning: podinfo.test becomes web.prod: that is a new app, not a release. Its Deployments are created anew and its primary takes the template without analysis (a first deployment); podinfo.test's Deployments, routing objects and release status are deleted. To release a new template, keep the app's name and namespace\n",
            "warning: podinfo.test becomes a name or namespace known after this up: that is a new app, not a release. Its Deployments are created anew and its primary takes the template without analysis (a first deployment); podinfo.test's Deployments, routing objects and release status are deleted. To release a new template, keep the app's name and namespace\n",
        ]);
    });

    it("a creation (a first deployment, or an app renamed by canary:appName) warns that the primary takes the template without analysis; a checked update or a refused input does not", async () => {
        const olds = await created();
        const written = await stderrOf(async () => {
            await checkReleaseLive({}, { ...inputs(), target: { name: "web", namespace: "test" } } as unknown as Record<string, unknown>);
            await checkReleaseLive(undefined, { ...inputs(), target: { name: UNKNOWN, namespace: "test" } } as unknown as Record<string, unknown>);
            await checkReleaseLive(olds as unknown as Record<string, unknown>, inputs() as unknown as Record<string, unknown>);
            const refused = await checkReleaseLive({}, { ...inputs(), canaryReplicas: 0 } as unknown as Record<string, unknown>);
            assert.equal(refused.failures.length, 1);
        });
        assert.deepEqual(written, [
            "warning: web.test is a new app in this stack: its primary takes the template without analysis (a first deployment, \"Initialization done!\"). If it is an app renamed by canary:appName, the old name's Deployments, routing objects and release status are deleted by this up: that is a new app, not a release\n",
            "warning: an app whose name is known after this up is a new app in this stack: its primary takes the template without analysis (a first deployment, \"Initialization done!\"). If it is an app renamed by canary:appName, the old name's Deployments, routing objects and release status are deleted by this up: that is a new app, not a release\n",
        ]);
    });

    it("delete says what it removes; read takes the cluster's record, else the recorded state", async () => {
        const outs = await created();
        const r1 = await readRelease("test/podinfo", outs);
        assert.deepEqual(r1.props.state, await w.seams.store.load(target));
        await deleteRelease("test/podinfo", outs);
        assert.deepEqual(w.lines, ["[podinfo.test] deleting routing objects and release status"]);
        const failedState = { ...outs.state, failedRevision: "rev-9", message: "earlier failure" };
        const r2 = await readRelease("test/podinfo", { ...outs, state: failedState });
        assert.deepEqual([r2.props.state, r2.props.failedRevision, r2.props.message], [failedState, "rev-9", "earlier failure"]);
        assert.equal(r2.id, "test/podinfo");
    });
});
