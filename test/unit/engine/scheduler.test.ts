// The scheduler over in-memory seams and a fake clock: actions performed in order, hooks called
// with Flagger's payload, interruption and seam failures converge to all-primary.
import * as assert from "assert";
import { initialize, startRelease } from "../../../components/canary/engine/advance";
import { FakeClock } from "../../../components/canary/engine/clock";
import { ReleaseContext, runFinalize, runRelease } from "../../../components/canary/engine/scheduler";
import { ReleaseState, Routes, Target, Webhook } from "../../../components/canary/engine/types";
import { MemoryEventSink } from "../../../components/canary/events/sink";
import { HookPayload, HookResult, WebhookClient } from "../../../components/canary/hooks/client";
import { DeploymentStatus, KubeApi } from "../../../components/canary/kube/api";
import { Router } from "../../../components/canary/routers/router";
import { hook, spec, target } from "./fixtures";

class FakeRouter implements Router {
    history: Routes[] = [];
    failOn?: number;
    async reconcile(): Promise<void> {}
    async setRoutes(_t: Target, routes: Routes): Promise<void> {
        if (this.failOn !== undefined && routes.canary === this.failOn) throw new Error(`Ingress podinfo-canary.test patch failed: conflict`);
        this.history.push(routes);
    }
    async getRoutes(): Promise<Routes> {
        return this.history.at(-1) ?? { primary: 100, canary: 0 };
    }
    async finalize(): Promise<void> {}
}

class FakeKube implements KubeApi {
    replicas = 0;
    scales: number[] = [];
    async getDeployment(): Promise<DeploymentStatus> {
        return { exists: true, replicas: this.replicas, readyReplicas: this.replicas, updatedReplicas: this.replicas, observed: true };
    }
    async scaleDeployment(_ns: string, name: string, replicas: number): Promise<void> {
        assert.strictEqual(name, "podinfo-canary");
        this.replicas = replicas;
        this.scales.push(replicas);
    }
    async get() { return undefined; }
    async create() {}
    async patch() {}
    async delete() {}
    async event() {}
}

class RecordingHooks implements WebhookClient {
    calls: Array<{ hook: string; payload: HookPayload }> = [];
    constructor(private readonly answer: (h: Webhook) => HookResult = () => ({ ok: true, status: 200 })) {}
    async call(h: Webhook, payload: HookPayload): Promise<HookResult> {
        this.calls.push({ hook: h.name, payload });
        return this.answer(h);
    }
}

function context(over: Partial<ReleaseContext> = {}): ReleaseContext & { router: FakeRouter; kube: FakeKube; events: MemoryEventSink; hooks: RecordingHooks; lines: string[]; saved: ReleaseState[] } {
    const lines: string[] = [];
    const saved: ReleaseState[] = [];
    return {
        target, spec: spec({ intervalSeconds: 10, webhooks: [hook("rollout", "load-test"), hook("event", "notify")] }), canaryReplicas: 2,
        router: new FakeRouter(), kube: new FakeKube(), events: new MemoryEventSink(), hooks: new RecordingHooks(),
        checkMetric: async () => ({ pass: true, message: "" }),
        store: { save: async (_t, s) => { saved.push(s); } },
        clock: new FakeClock(0), log: (l) => lines.push(l), pollMs: 1000,
        lines, saved,
        ...over,
    } as ReturnType<typeof context>;
}

/** An AbortController that aborts once the router has been set to canary weight `weight`. */
function abortAtWeight(ctx: ReturnType<typeof context>, weight: number): AbortController {
    const ac = new AbortController();
    const realSet = ctx.router.setRoutes.bind(ctx.router);
    ctx.router.setRoutes = async (t, r) => {
        await realSet(t, r);
        if (r.canary === weight) ac.abort();
    };
    return ac;
}

function begin(ctx: ReleaseContext) {
    const s = startRelease(ctx.target, initialize(target, "rev1", 0).state, "rev2", ctx.clock.now(), false);
    assert.ok(s.ok);
    return s.step;
}

describe("scheduler", () => {
    it("runs a good release on the fake clock: scale up, weights, promote, interval between steps", async () => {
        const ctx = context();
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.phase, "Promoting");
        assert.deepStrictEqual(ctx.kube.scales, [2]);
        assert.deepStrictEqual(ctx.router.history.map((r) => r.canary), [10, 20, 30, 40, 50]);
        // 1 s confirm + 1 s pre-rollout poll, then 5 analysis intervals of 10 s
        assert.strictEqual(ctx.clock.now(), 2_000 + 5 * 10_000);
        assert.strictEqual(ctx.saved.at(-1)?.phase, "Promoting");
        assert.ok(ctx.lines.includes("- Advance podinfo.test canary weight 30"), ctx.lines.join("\n"));
    });

    it("calls hooks with the loadtester payload and forwards every event to event hooks", async () => {
        const ctx = context();
        await runRelease(ctx, begin(ctx));
        const load = ctx.hooks.calls.filter((c) => c.hook === "load-test");
        assert.strictEqual(load.length, 5, "one rollout hook call per analysed step");
        assert.deepStrictEqual(load[0].payload, { name: "podinfo", namespace: "test", phase: "Progressing", checksum: "rev2", metadata: {} });
        const notify = ctx.hooks.calls.filter((c) => c.hook === "notify").map((c) => c.payload.eventMessage);
        assert.deepStrictEqual(notify, ctx.events.events.map((e) => e.message));
        assert.strictEqual(ctx.hooks.calls.find((c) => c.hook === "notify")?.payload.eventType, "Normal");
    });

    it("rolls back on failing metrics and leaves the canary at zero", async () => {
        const ctx = context({ checkMetric: async () => ({ pass: false, message: "Halt podinfo.test advancement success rate 90.00% < 99%" }) });
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.phase, "Failed");
        assert.deepStrictEqual(ctx.router.history.at(-1), { primary: 100, canary: 0 });
        assert.deepStrictEqual(ctx.kube.scales, [2, 0]);
        assert.ok(ctx.events.events.some((e) => e.type === "Warning" && e.message.startsWith("Rolling back podinfo.test failed checks threshold reached 5")));
    });

    it("a rollback runs the post-rollout hooks after scaling down, with phase Failed; their failure changes nothing", async () => {
        const ctx = context({
            spec: spec({ webhooks: [hook("post-rollout", "notify-done")] }),
            checkMetric: async () => ({ pass: false, message: "Halt podinfo.test advancement success rate 90.00% < 99%" }),
            hooks: new RecordingHooks(() => ({ ok: false, status: 500, message: "500 Internal Server Error" })),
        });
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.phase, "Failed");
        assert.match(final.message, /failed checks threshold reached 5/);
        assert.deepStrictEqual(ctx.hooks.calls.map((c) => [c.hook, c.payload.phase]), [["notify-done", "Failed"]]);
        assert.deepStrictEqual(ctx.kube.scales, [2, 0]);
        assert.strictEqual(ctx.events.events.at(-1)?.message, "Canary failed! Scaling down podinfo.test");
    });

    it("an abort signal mid-analysis routes all traffic back to the primary and scales the canary down", async () => {
        const ctx = context();
        const ac = abortAtWeight(ctx, 30);
        const final = await runRelease({ ...ctx, signal: ac.signal }, begin(ctx));
        assert.strictEqual(final.phase, "Failed");
        assert.strictEqual(final.failedRevision, "", "an interrupted revision is not marked failed");
        assert.deepStrictEqual(ctx.router.history.map((r) => r.canary), [10, 20, 30, 0]);
        assert.strictEqual(ctx.kube.replicas, 0);
    });

    it("a seam failure mid-run converges to all-primary and rethrows", async () => {
        const ctx = context();
        ctx.router.failOn = 30;
        await assert.rejects(runRelease(ctx, begin(ctx)), /Ingress podinfo-canary.test patch failed: conflict/);
        assert.deepStrictEqual(ctx.router.history.at(-1), { primary: 100, canary: 0 });
        assert.strictEqual(ctx.kube.replicas, 0);
    });

    it("does not call acceptance tests or load tests while the canary is not ready", async () => {
        const ctx = context({ spec: spec({ intervalSeconds: 10, progressDeadlineSeconds: 30, webhooks: [hook("pre-rollout", "acceptance"), hook("rollout", "load-test")] }) });
        ctx.kube.getDeployment = async () => ({ exists: true, replicas: 2, readyReplicas: 0, updatedReplicas: 2, observed: true });
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.phase, "Failed");
        assert.match(final.message, /progress deadline exceeded/);
        assert.deepStrictEqual(ctx.hooks.calls, []);
    });

    it("finalize sends traffic to the primary and runs post-rollout hooks", async () => {
        const ctx = context({ spec: spec({ webhooks: [hook("post-rollout", "notify-done")] }) });
        ctx.kube.replicas = 2;
        const final = await runFinalize(ctx, { ...initialize(target, "rev1", 0).state, phase: "Promoting", revision: "rev2", canaryWeight: 50 });
        assert.strictEqual(final.phase, "Succeeded");
        assert.deepStrictEqual(ctx.router.history, [{ primary: 100, canary: 0 }]);
        assert.strictEqual(ctx.kube.replicas, 0);
        assert.deepStrictEqual(ctx.hooks.calls.map((c) => c.hook), ["notify-done"]);
        assert.strictEqual(ctx.events.events.at(-1)?.message, "Promotion completed! Scaling down podinfo.test");
    });
});

describe("scheduler: timing, readiness, hooks and logs", () => {
    it("polls readiness every pollMs (default 1000 ms) and analyses every intervalSeconds", async () => {
        const fast = context({ pollMs: 250 });
        await runRelease(fast, begin(fast));
        assert.strictEqual(fast.clock.now(), 2 * 250 + 5 * 10_000);
        const dflt = context({ pollMs: undefined });
        await runRelease(dflt, begin(dflt));
        assert.strictEqual(dflt.clock.now(), 2 * 1000 + 5 * 10_000);
    });

    it("prints one line per event, '-' for Normal and '!' for Warning, and saves the state after every step", async () => {
        const ctx = context({ spec: spec({ intervalSeconds: 10, threshold: 1 }), checkMetric: async () => ({ pass: false, message: "Halt podinfo.test advancement success rate 90.00% < 99%" }) });
        const final = await runRelease(ctx, begin(ctx));
        assert.deepStrictEqual(ctx.lines, [
            "- New revision detected! Scaling up podinfo.test",
            "- Starting canary analysis for podinfo.test",
            "- Advance podinfo.test canary weight 10",
            "! Halt podinfo.test advancement success rate 90.00% < 99%",
            "! Rolling back podinfo.test failed checks threshold reached 1",
            "! Canary failed! Scaling down podinfo.test",
        ]);
        assert.deepStrictEqual(ctx.events.events.map((e) => [e.type, e.reason]), [["Normal", "Synced"], ["Normal", "Synced"], ["Normal", "Synced"], ["Warning", "Synced"], ["Warning", "Synced"], ["Warning", "Synced"]]);
        // start, confirm, weight 10, rollback: one save per step, the last one the result
        assert.deepStrictEqual(ctx.saved.map((s) => [s.phase, s.canaryWeight, s.failedChecks]), [["Progressing", 0, 0], ["Progressing", 0, 0], ["Progressing", 10, 0], ["Failed", 0, 1]]);
        assert.deepStrictEqual(ctx.saved.at(-1), final);
    });

    it("event hooks get the event's message and type, with the release's phase and revision", async () => {
        const ctx = context({ spec: spec({ intervalSeconds: 10, webhooks: [{ ...hook("event", "notify"), metadata: { channel: "#deploys" } }] }) });
        await runRelease(ctx, begin(ctx));
        assert.deepStrictEqual(ctx.hooks.calls[0], {
            hook: "notify",
            payload: { name: "podinfo", namespace: "test", phase: "Progressing", checksum: "rev2", metadata: { channel: "#deploys" }, eventMessage: "New revision detected! Scaling up podinfo.test", eventType: "Normal" },
        });
        assert.strictEqual(ctx.hooks.calls.at(-1)?.payload.phase, "Promoting");
    });

    const readiness: Array<[string, DeploymentStatus, string]> = [
        ["a missing canary Deployment", { exists: false, replicas: 0, readyReplicas: 0, updatedReplicas: 0, observed: false }, "deployment podinfo-canary.test not found"],
        ["a rollout not observed yet", { exists: true, replicas: 2, readyReplicas: 2, updatedReplicas: 2, observed: false }, "waiting for rollout to be observed"],
        ["a canary scaled to zero", { exists: true, replicas: 0, readyReplicas: 0, updatedReplicas: 0, observed: true }, "scaled to zero"],
        ["pods not all updated", { exists: true, replicas: 2, readyReplicas: 2, updatedReplicas: 1, observed: true }, "waiting for rollout to finish: 2 of 2 updated replicas are available"],
        ["pods not all ready", { exists: true, replicas: 2, readyReplicas: 1, updatedReplicas: 2, observed: true }, "waiting for rollout to finish: 1 of 2 updated replicas are available"],
    ];
    for (const [name, status, why] of readiness) {
        it(`${name} is not ready, and the deadline's reason says why`, async () => {
            const ctx = context({ spec: spec({ intervalSeconds: 10, progressDeadlineSeconds: 5 }) });
            ctx.kube.getDeployment = async () => status;
            const final = await runRelease(ctx, begin(ctx));
            assert.strictEqual(final.message, `Canary deployment podinfo-canary.test not ready after 5s: progress deadline exceeded (${why})`);
            assert.deepStrictEqual(ctx.router.history, [{ primary: 100, canary: 0 }]);
        });
    }

    it("a canary with every replica updated and ready is ready", async () => {
        const ctx = context({ spec: spec({ intervalSeconds: 10, progressDeadlineSeconds: 5 }) });
        ctx.kube.getDeployment = async () => ({ exists: true, replicas: 3, readyReplicas: 3, updatedReplicas: 3, observed: true });
        assert.strictEqual((await runRelease(ctx, begin(ctx))).phase, "Promoting");
    });

    it("while the canary is not ready only the rollback hooks are called, and a manual rollback still works", async () => {
        const hooks = new RecordingHooks();
        const ctx = context({ hooks, spec: spec({ intervalSeconds: 10, webhooks: [hook("rollback", "manual"), hook("pre-rollout", "acceptance")] }) });
        ctx.kube.getDeployment = async () => ({ exists: true, replicas: 2, readyReplicas: 0, updatedReplicas: 2, observed: true });
        let calls = 0;
        hooks.call = async (h) => {
            calls++;
            // the rollback hook answers "roll back" only from its second call on
            return h.name === "manual" && calls > 1 ? { ok: true, status: 200 } : { ok: false, message: "no" };
        };
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.message, "Rolling back podinfo.test manual webhook invoked");
        assert.strictEqual(calls, 2, "tick 1 (confirm) and tick 2 (not ready): the rollback hook only");
    });

    it("metrics are not queried while the canary is not ready", async () => {
        let queried = 0;
        const ctx = context({ spec: spec({ intervalSeconds: 10, progressDeadlineSeconds: 5 }), checkMetric: async () => { queried++; return { pass: true, message: "" }; } });
        ctx.kube.getDeployment = async () => ({ exists: true, replicas: 2, readyReplicas: 1, updatedReplicas: 2, observed: true });
        await runRelease(ctx, begin(ctx));
        assert.strictEqual(queried, 0);
    });

    it("an error budget's ratio is read once per analysed step, with the budget, and a static split holds its weight", async () => {
        const budget = { slo: 99.9, windowSeconds: 86400, maxBurnRate: 10, interval: "30s" };
        const asked: unknown[] = [];
        const ctx = context({
            spec: spec({ intervalSeconds: 10, static: { weight: 20, soakSeconds: 30 }, errorBudget: budget }),
            readErrorRatio: async (b) => { asked.push(b); return { ok: true, errorRatio: 0.002 }; },
        });
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.phase, "Promoting");
        assert.deepStrictEqual(asked, [budget, budget, budget], "three 10 s intervals soak 30 s");
        assert.deepStrictEqual(ctx.router.history.map((r) => r.canary), [20]);
        // 2x at 20% for 30 s of a day: 2 * 0.2 * 30 / 86400 of the budget
        assert.ok(Math.abs((final.budgetSpent ?? NaN) - 100 * 2 * 0.2 * 30 / 86400) < 1e-12, String(final.budgetSpent));
    });

    it("an error budget with no reader in the context fails its check, never passes by default", async () => {
        const ctx = context({ spec: spec({ intervalSeconds: 10, threshold: 1, errorBudget: { slo: 99, windowSeconds: 3600, maxBurnRate: 1, interval: "1m" } }) });
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.phase, "Failed");
        assert.ok(final.message.includes("no error-ratio reader in this release's context"), final.message);
    });

    it("every metric check is asked once per analysed step", async () => {
        const asked: string[] = [];
        const s = spec({ intervalSeconds: 10, metrics: [...spec().metrics, { name: "p99", builtin: "request-duration", thresholdRange: { max: 500 }, interval: "1m", templateVariables: {} }] });
        const ctx = context({ spec: s, checkMetric: async (m) => { asked.push(m.name); return { pass: true, message: "" }; } });
        await runRelease(ctx, begin(ctx));
        assert.deepStrictEqual(asked, Array(5).fill(["request-success-rate", "p99"]).flat());
    });

    it("failing hooks of one type are reported together, each by name", async () => {
        const hooks = new RecordingHooks((h) => ({ ok: false, message: `${h.name === "a" ? "403" : "timeout"}` }));
        const ctx = context({ hooks, spec: spec({ intervalSeconds: 10, progressDeadlineSeconds: 15, webhooks: [hook("confirm-rollout", "a"), hook("confirm-rollout", "b")] }) });
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.message, "confirm-rollout hook did not approve within progressDeadlineSeconds 15: Halt podinfo.test advancement waiting for approval a: 403; b: timeout");
        assert.deepStrictEqual(ctx.kube.scales, [0]);
    });

    it("a confirm hook passes only when every hook of its type passes", async () => {
        const hooks = new RecordingHooks((h) => (h.name === "a" ? { ok: true, status: 200 } : { ok: false, message: "403" }));
        const ctx = context({ hooks, spec: spec({ intervalSeconds: 10, progressDeadlineSeconds: 15, webhooks: [hook("confirm-rollout", "a"), hook("confirm-rollout", "b")] }) });
        const final = await runRelease(ctx, begin(ctx));
        assert.strictEqual(final.phase, "Failed");
        assert.match(final.message, /waiting for approval b: 403$/);
    });

    it("failing post-rollout hooks after a rollback are logged, naming each hook", async () => {
        const ctx = context({
            spec: spec({ intervalSeconds: 10, threshold: 1, webhooks: [hook("post-rollout", "notify-done")] }),
            checkMetric: async () => ({ pass: false, message: "bad" }),
            hooks: new RecordingHooks(() => ({ ok: false, message: "500 Internal Server Error" })),
        });
        await runRelease(ctx, begin(ctx));
        assert.strictEqual(ctx.lines.at(-1), "! post-rollout hooks failed: notify-done: 500 Internal Server Error");
    });

    it("passing post-rollout hooks log nothing", async () => {
        const ctx = context({ spec: spec({ intervalSeconds: 10, threshold: 1, webhooks: [hook("post-rollout", "notify-done")] }), checkMetric: async () => ({ pass: false, message: "bad" }) });
        await runRelease(ctx, begin(ctx));
        assert.strictEqual(ctx.lines.at(-1), "! Canary failed! Scaling down podinfo.test");
    });

    it("an abort during a step's observations stops before that tick is applied and waits no further", async () => {
        const ac = new AbortController();
        let loads = 0;
        const hooks = new RecordingHooks(() => {
            if (++loads === 2) ac.abort();
            return { ok: true, status: 200 };
        });
        const ctx = context({ hooks, spec: spec({ intervalSeconds: 10, webhooks: [hook("rollout", "load-test")] }) });
        const final = await runRelease({ ...ctx, signal: ac.signal }, begin(ctx));
        // the second load test ran at weight 20: weight 30 is never set
        assert.deepStrictEqual(ctx.router.history.map((r) => r.canary), [10, 20, 0]);
        assert.strictEqual(final.message, "Rolling back podinfo.test: release interrupted, routing all traffic to primary");
        assert.strictEqual(final.lastTransitionAt, 2_000 + 2 * 10_000);
        assert.strictEqual(ctx.clock.now(), 2_000 + 2 * 10_000, "no wait after the abort");
    });

    it("an abort while a step is applied ends the run without another observation or wait", async () => {
        const ctx = context();
        const ac = abortAtWeight(ctx, 30);
        await runRelease({ ...ctx, signal: ac.signal }, begin(ctx));
        assert.strictEqual(ctx.hooks.calls.filter((c) => c.hook === "load-test").length, 2, "load tests at weights 10 and 20 only");
        assert.strictEqual(ctx.clock.now(), 2_000 + 2 * 10_000);
    });

    it("an abort during a long wait ends the wait at once", async function () {
        this.timeout(5000);
        const ac = new AbortController();
        let now = 0;
        const waits: number[] = [];
        // a clock whose analysis interval never passes: only the abort can end the wait
        const clock = { now: () => now, sleep: (ms: number) => { waits.push(ms); if (ms < 10_000) { now += ms; return Promise.resolve(); } return new Promise<void>(() => undefined); } };
        const ctx = context({ clock });
        setTimeout(() => ac.abort(), 20);
        const final = await runRelease({ ...ctx, signal: ac.signal }, begin(ctx));
        assert.strictEqual(final.phase, "Failed");
        assert.deepStrictEqual(waits, [1000, 1000, 10_000]);
        assert.deepStrictEqual(ctx.router.history.map((r) => r.canary), [10, 0]);
    });

    it("a cleanup that fails after a seam failure is logged and the first error is the one thrown", async () => {
        const ctx = context();
        ctx.router.setRoutes = async (_t, r) => {
            if (r.canary === 20) throw new Error("patch failed: conflict");
            if (r.canary === 0) throw "connection reset"; // not an Error: reported as text
        };
        await assert.rejects(runRelease(ctx, begin(ctx)), /^Error: patch failed: conflict$/);
        assert.strictEqual(ctx.lines.at(-1), "cleanup after interruption failed: connection reset");
    });

    it("a cleanup failing with an Error logs its message", async () => {
        const ctx = context();
        ctx.router.setRoutes = async (_t, r) => {
            throw new Error(r.canary === 0 ? "API server gone" : "conflict");
        };
        await assert.rejects(runRelease(ctx, begin(ctx)), /conflict/);
        assert.strictEqual(ctx.lines.at(-1), "cleanup after interruption failed: API server gone");
    });

    it("scales the canary to canaryReplicas while analysing and to zero afterwards", async () => {
        const ctx = context({ canaryReplicas: 3, checkMetric: async () => ({ pass: false, message: "bad" }) });
        await runRelease(ctx, begin(ctx));
        assert.deepStrictEqual(ctx.kube.scales, [3, 0]);
    });

    it("without a status store the run still completes", async () => {
        const ctx = context({ store: undefined });
        assert.strictEqual((await runRelease(ctx, begin(ctx))).phase, "Promoting");
    });
});
