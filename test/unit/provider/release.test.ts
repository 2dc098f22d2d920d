// CanaryRelease provider methods called directly, with in-memory seams.
import { strict as assert } from "assert";
import { AnalysisSpec } from "../../../components/canary/engine/types";
import { statusName, STATUS_KEY } from "../../../components/canary/kube/statusStore";
import { checkRelease, createRelease, deleteRelease, diffRelease, diffReleaseLive, readRelease, updateRelease } from "../../../components/canary/provider/release";
import { createFinalize, diffFinalize } from "../../../components/canary/provider/finalize";
import { useSeams } from "../../../components/canary/provider/seams";
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
    webhooks: [
        { name: "acceptance-test", type: "pre-rollout", url: "http://flagger-loadtester.test/", timeoutSeconds: 30, retries: 0, metadata: { type: "bash", cmd: "curl" } },
        { name: "load-test", type: "rollout", url: "http://flagger-loadtester.test/", timeoutSeconds: 5, retries: 0, metadata: { cmd: "hey" } },
    ],
};

const template = (image: string) => ({ metadata: { labels: { app: "podinfo-canary" } }, spec: { containers: [{ name: "podinfod", image, ports: [{ name: "http", containerPort: 9898 }] }] } });

function inputs(over: Partial<ReleaseInputs> = {}): ReleaseInputs {
    return {
        target: { name: "podinfo", namespace: "test" },
        template: template("podinfo:6.5.3"),
        revision: "rev-1",
        analysis,
        routing: "nginx",
        ingressName: "podinfo",
        metricsServer: { service: "prometheus", namespace: "monitoring", port: 9090 },
        kubeconfig: "apiVersion: v1\nkind: Config\n# secret",
        canaryReplicas: 2,
        retry: false,
        ...over,
    };
}

describe("CanaryRelease provider", () => {
    let w: World;
    beforeEach(() => {
        w = world();
        w.kube.replicas.set("test/podinfo-canary", 0);
        w.kube.replicas.set("test/podinfo-primary", 2);
        useSeams(() => w.seams);
    });
    afterEach(() => useSeams(undefined));

    describe("check", () => {
        const cases: [string, Record<string, unknown>, string][] = [
            ["stepWeight 0", { analysis: { ...analysis, stepWeight: 0 } }, "analysis.stepWeight: must be 1..100, got 0"],
            ["maxWeight 101", { analysis: { ...analysis, maxWeight: 101 } }, "analysis.maxWeight: must be 1..100, got 101"],
            ["stepWeight above maxWeight", { analysis: { ...analysis, stepWeight: 60 } }, "analysis.stepWeight: must not exceed maxWeight 50, got 60"],
            ["threshold 0", { analysis: { ...analysis, threshold: 0 } }, "analysis.threshold: must be an integer >= 1, got 0"],
            ["interval 0", { analysis: { ...analysis, intervalSeconds: 0 } }, "analysis.intervalSeconds: must be an integer >= 1, got 0"],
            ["falling stepWeights", { analysis: { ...analysis, stepWeights: [10, 5] } }, "analysis.stepWeights[1]: must be greater than the previous weight 10, got 5"],
            ["match without iterations", { analysis: { ...analysis, match: [{ headers: { "x-canary": { exact: "insider" } } }] } }, "analysis.iterations: must be > 0 when match (A/B testing) is set, got 0"],
            ["metric without bounds", { analysis: { ...analysis, metrics: [{ ...analysis.metrics[0], thresholdRange: {} }] } }, "analysis.metrics[0].thresholdRange: must set min, max or both, got {}"],
            ["bad metric interval", { analysis: { ...analysis, metrics: [{ ...analysis.metrics[0], interval: "one minute" }] } }, 'analysis.metrics[0].interval: must be a Prometheus duration such as 1m or 30s, got "one minute"'],
            ["custom query with unknown variable", { analysis: { ...analysis, metrics: [{ name: "errors", query: "sum(x{a=\"{{ variables.nope }}\"})", thresholdRange: { max: 1 }, interval: "1m", templateVariables: {} }] } }, "analysis.metrics[0].query: does not render"],
            ["hook type", { analysis: { ...analysis, webhooks: [{ ...analysis.webhooks[0], type: "pre-rollot" }] } }, 'analysis.webhooks[0].type: must be one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event, got "pre-rollot"'],
            ["hook url", { analysis: { ...analysis, webhooks: [{ ...analysis.webhooks[0], url: "flagger-loadtester" }] } }, 'analysis.webhooks[0].url: must be an http:// or https:// URL, got "flagger-loadtester"'],
            ["duplicate hook", { analysis: { ...analysis, webhooks: [analysis.webhooks[0], analysis.webhooks[0]] } }, 'analysis.webhooks[1].name: must be unique among webhooks, got "acceptance-test"'],
            ["routing", { routing: "traefik" }, 'routing: must be one of nginx, linkerd, istio, got "traefik"'],
            ["nginx without ingress", { ingressName: undefined }, "ingressName: must be the name of the app's Ingress (required for nginx routing), got nothing"],
            ["target name", { target: { name: "Podinfo", namespace: "test" } }, 'target.name: must be a DNS-1123 label (lowercase letters, digits, \'-\'), got "Podinfo"'],
            ["canary replicas", { canaryReplicas: 0 }, "canaryReplicas: must be an integer >= 1, got 0"],
            ["metrics server", { metricsServer: { service: "prometheus", namespace: "monitoring", port: 0 } }, "metricsServer.port: must be 1..65535, got 0"],
            ["metrics url", { metricsServer: { url: "prometheus:9090" } }, 'metricsServer.url: must be an http:// or https:// URL, got "prometheus:9090"'],
        ];
        for (const [name, over, reason] of cases) {
            it(`rejects ${name}, naming the field and the value`, () => {
                const { failures } = checkRelease({}, { ...inputs(), ...over } as Record<string, unknown>);
                assert.ok(failures.some((f) => f.reason.startsWith(reason)), `${JSON.stringify(failures)} lacks ${reason}`);
                const field = reason.split(":")[0];
                assert.ok(failures.some((f) => f.property === field), `no failure on property ${field}: ${JSON.stringify(failures)}`);
            });
        }
        it("accepts the walkthrough settings", () => {
            assert.deepEqual(checkRelease({}, inputs() as unknown as Record<string, unknown>).failures, []);
        });
        it("passes unknown values (preview) and never names the kubeconfig's contents", () => {
            assert.deepEqual(checkRelease({}, { ...inputs(), revision: UNKNOWN, template: UNKNOWN, kubeconfig: UNKNOWN } as unknown as Record<string, unknown>).failures, []);
            const bad = checkRelease({}, { ...inputs(), kubeconfig: 42 } as unknown as Record<string, unknown>).failures;
            assert.equal(bad[0].reason, 'kubeconfig: must be a string, got "[secret]"');
        });
        it("touches nothing", () => {
            checkRelease({}, { ...inputs(), routing: "bad" } as unknown as Record<string, unknown>);
            assert.deepEqual(w.kube.calls, []);
            assert.deepEqual(w.router.history, []);
        });
    });

    describe("diff", () => {
        const olds = { ...inputs(), phase: "Initialized" } as unknown as ReleaseOutputs;
        it("a new revision (template change) is an update, not a replace", () => {
            assert.deepEqual(diffRelease("id", olds, { ...inputs(), template: template("podinfo:6.5.4"), revision: "rev-2" }), { changes: true, replaces: [], deleteBeforeReplace: false });
        });
        it("an unknown revision (preview) is a change", () => {
            assert.equal(diffRelease("id", olds, { ...inputs(), revision: UNKNOWN }).changes, true);
        });
        it("analysis-only, retry, kubeconfig or replica changes start no release (invariant 6)", () => {
            assert.equal(diffRelease("id", olds, { ...inputs(), analysis: { ...analysis, stepWeight: 5, threshold: 2 } }).changes, false);
            assert.equal(diffRelease("id", olds, { ...inputs(), retry: true }).changes, false);
            assert.equal(diffRelease("id", olds, { ...inputs(), kubeconfig: "other" }).changes, false);
            assert.equal(diffRelease("id", olds, { ...inputs(), canaryReplicas: 5 }).changes, false);
        });
        it("a new routing provider, linkerdRoute or ingressName is an update of the same app, never a replacement", () => {
            const none = { changes: true, replaces: [], deleteBeforeReplace: false };
            assert.deepEqual(diffRelease("id", olds, { ...inputs(), routing: "istio", ingressName: undefined }), none);
            assert.deepEqual(diffRelease("id", olds, { ...inputs(), ingressName: "web" }), none);
            const linkerd = { ...olds, routing: "linkerd" as const, ingressName: undefined, linkerdRoute: "smi" as const };
            assert.deepEqual(diffRelease("id", linkerd, { ...inputs(), routing: "linkerd", ingressName: undefined, linkerdRoute: "httproute" }), none);
        });
        it("a new app name or namespace is a new app: replaced, the new one created first (its objects have other names)", () => {
            assert.deepEqual(diffRelease("id", olds, { ...inputs(), target: { name: "podinfo", namespace: "prod" } }), { changes: true, replaces: ["target"], deleteBeforeReplace: false });
        });
        it("touches nothing", () => {
            diffRelease("id", olds, { ...inputs(), revision: "rev-2" });
            assert.deepEqual(w.kube.calls, []);
            assert.deepEqual(w.router.history, []);
        });
    });

    describe("create", () => {
        it("initializes: all traffic to primary, canary at 0, Initialization done!, template handed over", async () => {
            const { id, outs } = await createRelease(inputs());
            assert.equal(id, "test/podinfo");
            assert.equal(outs.phase, "Initialized");
            assert.equal(outs.promotedRevision, "rev-1");
            assert.deepEqual(outs.promotedTemplate, template("podinfo:6.5.3"));
            assert.deepEqual([outs.primaryWeight, outs.canaryWeight], [100, 0]);
            assert.deepEqual(w.router.history, [{ primary: 100, canary: 0 }]);
            assert.deepEqual(w.router.reconciled, []);
            assert.equal(w.kube.replicas.get("test/podinfo-canary"), 0);
            assert.deepEqual(w.events.events.map((e) => e.message), ["Initialization done! podinfo.test"]);
            assert.equal(w.hooks.calls.length, 0);
            const cm = await w.kube.get("v1", "ConfigMap", "test", statusName({ name: "podinfo", namespace: "test" }));
            assert.equal(JSON.parse(cm?.metadata.annotations?.[STATUS_KEY] ?? "{}").phase, "Initialized");
        });
    });

    async function created(): Promise<ReleaseOutputs> {
        const { outs } = await createRelease(inputs());
        w.events.events.length = 0;
        w.router.history.length = 0;
        w.kube.calls.length = 0;
        return outs;
    }
    const v2 = () => inputs({ template: template("podinfo:6.5.4"), revision: "rev-2" });

    describe("update", () => {
        it("analyses a new revision step by step and promotes it", async () => {
            const olds = await created();
            const { outs } = await updateRelease("test/podinfo", olds, v2());
            assert.equal(outs.phase, "Promoting");
            assert.equal(outs.promotedRevision, "rev-2");
            assert.deepEqual(outs.promotedTemplate, template("podinfo:6.5.4"));
            // promoted: all traffic back on the primary before the step ends (the up may end here)
            assert.deepEqual(w.router.history.map((r) => r.canary), [10, 20, 30, 40, 50, 0]);
            assert.deepEqual([outs.primaryWeight, outs.canaryWeight], [100, 0]);
            assert.deepEqual(w.events.events.map((e) => e.message), [
                "New revision detected! Scaling up podinfo.test",
                "Starting canary analysis for podinfo.test",
                "Advance podinfo.test canary weight 10",
                "Advance podinfo.test canary weight 20",
                "Advance podinfo.test canary weight 30",
                "Advance podinfo.test canary weight 40",
                "Advance podinfo.test canary weight 50",
                "Copying podinfo.test template spec to podinfo-primary.test",
            ]);
            assert.deepEqual(w.hooks.calls.slice(0, 2), [{ hook: "acceptance-test", phase: "Progressing" }, { hook: "load-test", phase: "Progressing" }]);
            // and the canary scaled down: nothing may run unwatched if the primary or the finalizer never runs
            assert.equal(w.kube.replicas.get("test/podinfo-canary"), 0);
            assert.deepEqual(w.kube.calls.filter((c) => c.startsWith("scale")), ["scale podinfo-canary 2", "scale podinfo-canary 0"]);
            // one progress line per step, prefixed with the app
            assert.ok(w.lines.includes("[podinfo.test] - Advance podinfo.test canary weight 30"), w.lines.join("\n"));
            assert.ok(w.metrics.queries.some((q) => q.includes('ingress="podinfo"')));
        });

        it("then finalize routes everything to the primary and scales the canary down", async () => {
            const olds = await created();
            const { outs } = await updateRelease("test/podinfo", olds, v2());
            const fin = await createFinalize({
                target: outs.target, revision: outs.promotedRevision, phase: outs.phase, routing: "nginx", ingressName: "podinfo",
                analysis, readyTimeoutSeconds: 60,
            });
            assert.equal(fin.outs.finalPhase, "Succeeded");
            assert.deepEqual(w.router.routes, { primary: 100, canary: 0 });
            assert.deepEqual([fin.outs.primaryWeight, fin.outs.canaryWeight], [100, 0]);
            assert.equal(w.kube.replicas.get("test/podinfo-canary"), 0);
            assert.equal(w.events.events.at(-1)?.message, "Promotion completed! Scaling down podinfo.test");
        });

        it("refuses to analyse a canary Deployment that runs another revision (left out of a --target), touching nothing", async () => {
            const olds = await created();
            w.kube.revisions.set("test/podinfo-canary", "rev-1");
            await assert.rejects(updateRelease("test/podinfo", olds, v2()),
                /deployment podinfo-canary\.test runs revision rev-1, not revision rev-2 of this release: it was left out of this `pulumi up`/);
            assert.deepEqual([w.router.history, w.events.events, w.kube.calls, w.hooks.calls], [[], [], [], []]);
            // with the canary Deployment updated too, the release runs
            w.kube.revisions.set("test/podinfo-canary", "rev-2");
            assert.equal((await updateRelease("test/podinfo", olds, v2())).outs.phase, "Promoting");
        });

        it("a new routing provider moves the traffic: new objects first with all on the primary, then the old ones to the primary and deleted; then the release runs on the new ones", async () => {
            const olds = await created();
            const journal: string[] = [];
            const logged = (name: string): MemoryRouter => Object.assign(new MemoryRouter(), {
                async reconcile() { journal.push(`${name} reconcile`); },
                async setRoutes(this: MemoryRouter, _t: unknown, r: { primary: number; canary: number }) { journal.push(`${name} ${r.primary}/${r.canary}`); this.routes = r; },
                async finalize() { journal.push(`${name} finalize`); },
            });
            const nginx = logged("nginx");
            const istio = logged("istio");
            useSeams((i) => ({ ...w.seams, router: i.routing === "istio" ? istio : nginx }));
            const news = inputs({ template: template("podinfo:6.5.4"), revision: "rev-2", routing: "istio", ingressName: undefined });
            // a failed analysis records the new routing (its objects are the ones in the cluster), the old template
            w.metrics.successRate = { ok: true, value: 50 };
            await assert.rejects(updateRelease("test/podinfo", olds, news), (e: { properties: ReleaseOutputs }) => {
                assert.deepEqual([e.properties.routing, e.properties.ingressName, e.properties.revision], ["istio", undefined, "rev-1"]);
                // no undefined values: the engine cannot encode them (the CLI would hang on the update)
                assert.ok(!Object.values(e.properties).includes(undefined), JSON.stringify(Object.keys(e.properties)));
                return true;
            });
            w.metrics.successRate = { ok: true, value: 100 };
            journal.length = 0;
            const { outs } = await updateRelease("test/podinfo", olds, { ...news, retry: true });
            assert.deepEqual(journal.slice(0, 5), ["istio reconcile", "istio 100/0", "nginx 100/0", "nginx finalize", "istio reconcile"]);
            // the analysis ran on istio's objects only, and ended with all traffic on the primary
            assert.deepEqual(journal.slice(5).filter((j) => j.startsWith("nginx")), []);
            assert.deepEqual(journal.slice(-2), ["istio 50/50", "istio 100/0"]);
            assert.equal(outs.phase, "Promoting");
            assert.equal(w.events.events[0].message, "Routing of podinfo.test moved from nginx (Ingress podinfo) to istio, all traffic on primary");
        });

        it("a failed revision is refused before the routing moves", async () => {
            const olds = { ...(await created()), failedRevision: "rev-2", state: { ...(await created()).state, failedRevision: "rev-2" } };
            await w.seams.store.remove(olds.target);
            const istio = new MemoryRouter();
            useSeams((i) => ({ ...w.seams, router: i.routing === "istio" ? istio : w.router }));
            await assert.rejects(updateRelease("test/podinfo", olds, inputs({ revision: "rev-2", routing: "istio", ingressName: undefined })), /already failed analysis/);
            assert.deepEqual([istio.history, istio.reconciled, w.router.finalized], [[], undefined, false]);
        });

        it("rolls a bad revision back and fails naming the check, its value and threshold (invariant 4)", async () => {
            const olds = await created();
            w.metrics.successRate = { ok: true, value: 91.6 };
            await assert.rejects(updateRelease("test/podinfo", olds, v2()), (err: Error) => {
                assert.match(err.message, /canary release of podinfo.test failed, all traffic is on the primary/);
                assert.match(err.message, /success rate 91\.60% < 99%/);
                assert.match(err.message, /failed checks threshold reached 5/);
                return true;
            });
            assert.deepEqual(w.router.routes, { primary: 100, canary: 0 });
            assert.equal(w.kube.replicas.get("test/podinfo-canary"), 0);
            assert.deepEqual(w.router.history.map((r) => r.canary), [10, 0]);
            assert.equal(w.events.events.at(-1)?.message, "Canary failed! Scaling down podinfo.test");
            const saved = await w.seams.store.load({ name: "podinfo", namespace: "test" });
            assert.equal(saved?.failedRevision, "rev-2");
            assert.equal(saved?.phase, "Failed");
        });

        it("refuses the same failed revision without touching traffic, and runs it with retry", async () => {
            const olds = await created();
            w.metrics.successRate = { ok: true, value: 50 };
            await assert.rejects(updateRelease("test/podinfo", olds, v2()));
            w.router.history.length = 0;
            w.kube.calls.length = 0;
            await assert.rejects(updateRelease("test/podinfo", olds, v2()), /revision rev-2 of podinfo.test already failed analysis .*set retry to true/);
            assert.deepEqual(w.router.history, []);
            assert.deepEqual(w.kube.calls, []);
            w.metrics.successRate = { ok: true, value: 100 };
            const { outs } = await updateRelease("test/podinfo", olds, { ...v2(), retry: true });
            assert.equal(outs.phase, "Promoting");
        });

        it("tracked config is promoted with its template, and a failed release keeps the promoted data", async () => {
            const data = (m: string) => ({ configMaps: { "podinfo-config": { MESSAGE: m } }, secrets: { "podinfo-secrets": { TOKEN: m } } });
            const { outs: first } = await createRelease(inputs(data("v1")));
            assert.deepEqual([first.promotedConfigMaps, first.promotedSecrets], [data("v1").configMaps, data("v1").secrets]);
            // a data change alone is a new revision (the component's checksum annotation changes the template)
            const { outs: promoted } = await updateRelease("test/podinfo", first, { ...v2(), ...data("v2") });
            assert.deepEqual([promoted.promotedConfigMaps, promoted.promotedSecrets], [data("v2").configMaps, data("v2").secrets]);
            w.metrics.successRate = { ok: true, value: 50 };
            const v3 = inputs({ template: template("podinfo:6.5.5"), revision: "rev-3", ...data("v3") });
            await assert.rejects(updateRelease("test/podinfo", promoted, v3), (err: Error & { properties?: ReleaseOutputs }) => {
                assert.deepEqual([err.properties?.promotedConfigMaps, err.properties?.promotedSecrets], [data("v2").configMaps, data("v2").secrets]);
                return true;
            });
            // settings alone keep the promoted data too
            const { outs: kept } = await updateRelease("test/podinfo", promoted, { ...v2(), ...data("v2"), retry: true });
            assert.deepEqual(kept.promotedConfigMaps, data("v2").configMaps);
        });

        it("a failed release's error carries the state Pulumi records: old outputs plus the failed revision, refused even with the cluster's record gone", async () => {
            const olds = await created();
            w.metrics.successRate = { ok: true, value: 50 };
            let recorded: ReleaseOutputs | undefined;
            await assert.rejects(updateRelease("test/podinfo", olds, v2()), (err: Error & { id?: string; properties?: ReleaseOutputs; reasons?: string[] }) => {
                assert.equal(err.id, "test/podinfo");
                assert.deepEqual(err.reasons, [err.message]);
                recorded = err.properties;
                return true;
            });
            assert.ok(recorded !== undefined);
            // the primary keeps its template; the revision stays the old one, so the next up is a change again
            assert.equal(recorded.revision, olds.revision);
            assert.deepEqual(recorded.promotedTemplate, olds.promotedTemplate);
            assert.equal(recorded.failedRevision, "rev-2");
            assert.equal(recorded.state?.failedRevision, "rev-2");
            assert.equal(recorded.state?.phase, olds.state?.phase);
            // every object the release wrote is deleted: Pulumi's record still refuses the revision
            for (const k of [...w.kube.objects.keys()]) w.kube.objects.delete(k);
            w.router.history.length = 0;
            await assert.rejects(updateRelease("test/podinfo", recorded, v2()), /revision rev-2 of podinfo.test already failed analysis/);
            assert.deepEqual(w.router.history, []);
        });

        it("no data is a failed check, never a pass (invariant 3)", async () => {
            const olds = await created();
            w.metrics.durationMs = { ok: false, reason: "no-data", message: "empty vector" };
            await assert.rejects(updateRelease("test/podinfo", olds, v2()), /no values found for metric "request-duration" \(threshold <= 500ms\)/);
        });

        it("converges a release left behind by a killed run before starting over (invariant 5)", async () => {
            const olds = await created();
            // a killed `pulumi up` left 30% on the canary and the state Progressing in the cluster
            const store = w.seams.store;
            const prev = await store.load({ name: "podinfo", namespace: "test" });
            await store.save({ name: "podinfo", namespace: "test" }, { ...prev!, phase: "Progressing", revision: "rev-2", canaryWeight: 30 });
            w.router.routes = { primary: 70, canary: 30 };
            w.kube.replicas.set("test/podinfo-canary", 2);
            const { outs } = await updateRelease("test/podinfo", olds, v2());
            assert.deepEqual(w.router.history[0], { primary: 100, canary: 0 });
            assert.equal(w.kube.calls[w.kube.calls.indexOf("scale podinfo-canary 0")], "scale podinfo-canary 0");
            assert.equal(outs.phase, "Promoting");
        });

        it("a killed release of rev-2 with the program set back to rev-1: diff reads the cluster, update abandons it", async () => {
            const olds = await created();
            const target = { name: "podinfo", namespace: "test" };
            assert.equal((await diffReleaseLive("test/podinfo", olds, inputs())).changes, false);
            // the whole run was killed (provider too) with 30% on a canary of rev-2
            const prev = await w.seams.store.load(target);
            await w.seams.store.save(target, { ...prev!, phase: "Progressing", revision: "rev-2", canaryWeight: 30, failedRevision: "rev-0" });
            w.router.routes = { primary: 70, canary: 30 };
            w.kube.replicas.set("test/podinfo-canary", 2);
            const history = w.router.history.length;

            const d = await diffReleaseLive("test/podinfo", olds, inputs());
            assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.equal(w.router.history.length, history, "diff wrote to the router");

            const { outs } = await updateRelease("test/podinfo", olds, inputs());
            assert.deepEqual(w.router.routes, { primary: 100, canary: 0 });
            assert.equal(w.kube.replicas.get("test/podinfo-canary"), 0);
            assert.equal(outs.revision, "rev-1");
            assert.equal(outs.promotedRevision, "rev-1");
            assert.equal(outs.canaryWeight, 0);
            const msg = "Rolling back podinfo.test: unfinished release of revision rev-2 abandoned, routing all traffic to primary";
            assert.equal(outs.message, msg);
            assert.equal(w.events.events.at(-1)?.message, msg);
            const after = await w.seams.store.load(target);
            assert.equal(after?.revision, "rev-1");
            assert.equal(after?.failedRevision, "rev-0", "rev-2 was never judged: not marked failed, the earlier failure kept");
            // converged: nothing more to do
            assert.equal((await diffReleaseLive("test/podinfo", { ...olds, ...outs }, inputs())).changes, false);
        });

        it("a preview that cannot read the release status sees no change and says why", async () => {
            const olds = await created();
            w.seams.store.load = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443"));
            assert.equal((await diffReleaseLive("test/podinfo", olds, inputs())).changes, false);
            assert.ok(w.lines.some((l) => l.includes("could not read the release status (connect ECONNREFUSED 127.0.0.1:6443)")), w.lines.join("\n"));
        });

        it("SIGINT aborts the run: traffic back to the primary, the revision not marked failed", async () => {
            const olds = await created();
            w.router.onSet = (r) => {
                if (r.canary === 20) process.emit("SIGINT");
            };
            await assert.rejects(updateRelease("test/podinfo", olds, v2()), /release interrupted, routing all traffic to primary/);
            assert.deepEqual(w.router.routes, { primary: 100, canary: 0 });
            assert.equal(w.kube.replicas.get("test/podinfo-canary"), 0);
            assert.equal((await w.seams.store.load({ name: "podinfo", namespace: "test" }))?.failedRevision, "");
            assert.equal(process.listenerCount("SIGINT"), 0);
        });
    });

    describe("finalize diff", () => {
        it("runs only for a new promoted revision or phase", () => {
            const base = { target: { name: "podinfo", namespace: "test" }, revision: "rev-1", phase: "Initialized" as const };
            assert.equal(diffFinalize("id", base, base).changes, false);
            assert.equal(diffFinalize("id", base, { ...base, revision: "rev-2", phase: "Promoting" }).changes, true);
        });
        it("does nothing after initialization", async () => {
            const fin = await createFinalize({ target: { name: "podinfo", namespace: "test" }, revision: "rev-1", phase: "Initialized", routing: "nginx", ingressName: "podinfo", analysis, readyTimeoutSeconds: 60 });
            assert.equal(fin.outs.finalPhase, "Initialized");
            assert.deepEqual(w.router.history, []);
        });
        it("fails naming the primary when it never becomes ready", async () => {
            w.kube.replicas.delete("test/podinfo-primary");
            await assert.rejects(createFinalize({ target: { name: "podinfo", namespace: "test" }, revision: "rev-2", phase: "Promoting", routing: "nginx", ingressName: "podinfo", analysis, readyTimeoutSeconds: 10 }),
                /deployment podinfo-primary.test not ready after 10s \(not found\)/);
        });
    });

    describe("delete and read", () => {
        it("delete removes the routing objects and the status ConfigMap (invariant 7)", async () => {
            const outs = await created();
            await deleteRelease("test/podinfo", outs);
            assert.equal(w.router.finalized, true);
            assert.equal(await w.kube.get("v1", "ConfigMap", "test", "podinfo-canary-status"), undefined);
        });
        it("read reports the weights the router holds", async () => {
            const outs = await created();
            w.router.routes = { primary: 60, canary: 40 };
            const r = await readRelease("test/podinfo", outs);
            assert.deepEqual([r.props.primaryWeight, r.props.canaryWeight], [60, 40]);
        });
    });
});
