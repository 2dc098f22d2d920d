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
        const ac = new AbortController();
        const ctx = context();
        const realSet = ctx.router.setRoutes.bind(ctx.router);
        ctx.router.setRoutes = async (t, r) => {
            await realSet(t, r);
            if (r.canary === 30) ac.abort();
        };
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
