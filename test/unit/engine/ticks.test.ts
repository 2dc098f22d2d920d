// The exact tick of every transition: a release is ticked every 10 s (tick n at n * 10 s) and
// each tick's phase, weight, counters and actions are asserted, so a gate, a rollback or a
// promotion one interval early or late (`>=` read as `>`, a deadline off by one) fails here.
import * as assert from "assert";
import { Action, CheckResult, GateResult, Observations, Step, finalize, initialize, interrupt, needs, rollback, startRelease, tick } from "../../../components/canary/engine/advance";
import { AnalysisSpec, HookType, ReleaseState } from "../../../components/canary/engine/types";
import { hook, spec, target } from "./fixtures";

interface World {
    ready?: (n: number) => boolean | undefined;
    metrics?: (n: number) => CheckResult[];
    hooks?: (n: number, type: HookType) => GateResult | undefined;
}

/** One tick: what the state became and what the engine asked for, actions as short strings. */
interface Tick {
    readonly n: number;
    readonly phase: string;
    readonly weight: number;
    readonly step: number;
    readonly failed: number;
    readonly next: Step["next"];
    readonly actions: string[];
}

const ok = (message = "ok"): GateResult => ({ ok: true, message });
const closed = (message = "gate: 403"): GateResult => ({ ok: false, message });
const pass: CheckResult = { pass: true, message: "" };
const bad: CheckResult = { pass: false, message: "bad" };

function show(a: Action): string {
    switch (a.kind) {
        case "scaleCanary": return `scale ${a.replicas}`;
        case "setRoutes": return `routes ${a.routes.primary}/${a.routes.canary}${a.routes.match === true ? " match" : ""}`;
        case "event": return `${a.type}: ${a.message}`;
        case "runHooks": return `hooks ${a.hookType}`;
        case "promote": return "promote";
    }
}

/** Starts rev2 at t=0 and ticks it until done; returns every tick and the last state. */
function run(s: AnalysisSpec, world: World = {}, maxTicks = 40): { ticks: Tick[]; final: ReleaseState; start: Step } {
    const started = startRelease(target, initialize(target, "rev1", 0).state, "rev2", 0, false);
    assert.ok(started.ok);
    let step: Step = started.step;
    const ticks: Tick[] = [];
    for (let n = 1; step.next !== "done" && n <= maxTicks; n++) {
        const need = needs(step.state, s);
        const hooks: Partial<Record<HookType, GateResult>> = {};
        for (const t of need.hooks) {
            if (!s.webhooks.some((h) => h.type === t)) continue;
            const r = world.hooks?.(n, t) ?? ok();
            if (r !== undefined) hooks[t] = r;
        }
        const ready = need.canaryReady ? world.ready?.(n) ?? true : undefined;
        const obs: Observations = {
            now: n * 10_000,
            canaryReady: ready === undefined ? undefined : { ready, message: ready ? "ready" : "0 of 1 updated replicas are available" },
            hooks,
            metrics: need.metrics ? world.metrics?.(n) ?? [pass] : undefined,
        };
        step = tick(target, step.state, s, obs);
        const st = step.state;
        ticks.push({ n, phase: st.phase, weight: st.canaryWeight, step: st.step, failed: st.failedChecks, next: step.next, actions: step.actions.map(show) });
    }
    return { ticks, final: step.state, start: started.step };
}

const at = (ticks: Tick[], n: number): Tick => {
    const t = ticks.find((x) => x.n === n);
    assert.ok(t !== undefined, `no tick ${n}; the run ended at tick ${ticks.length}`);
    return t;
};
/** The tick whose actions include `action` (first one). */
const tickOf = (ticks: Tick[], action: string): number => ticks.find((t) => t.actions.includes(action))?.n ?? -1;

const ROLLBACK_TAIL = ["routes 100/0", "scale 0", "Warning: Canary failed! Scaling down podinfo.test", "hooks post-rollout"];

describe("engine ticks: the exact tick of each transition", () => {
    it("a good release: scale up at tick 1, weight 10 at 2, one step per tick, promotion at tick 7", () => {
        const { ticks, final, start } = run(spec());
        assert.deepStrictEqual(start.actions.map(show), ["Normal: New revision detected! Scaling up podinfo.test"]);
        assert.strictEqual(start.next, "soon");
        assert.deepStrictEqual(ticks, [
            { n: 1, phase: "Progressing", weight: 0, step: 0, failed: 0, next: "soon", actions: ["scale up"] },
            { n: 2, phase: "Progressing", weight: 10, step: 1, failed: 0, next: "interval", actions: ["Normal: Starting canary analysis for podinfo.test", "routes 90/10", "Normal: Advance podinfo.test canary weight 10"] },
            { n: 3, phase: "Progressing", weight: 20, step: 2, failed: 0, next: "interval", actions: ["routes 80/20", "Normal: Advance podinfo.test canary weight 20"] },
            { n: 4, phase: "Progressing", weight: 30, step: 3, failed: 0, next: "interval", actions: ["routes 70/30", "Normal: Advance podinfo.test canary weight 30"] },
            { n: 5, phase: "Progressing", weight: 40, step: 4, failed: 0, next: "interval", actions: ["routes 60/40", "Normal: Advance podinfo.test canary weight 40"] },
            { n: 6, phase: "Progressing", weight: 50, step: 5, failed: 0, next: "interval", actions: ["routes 50/50", "Normal: Advance podinfo.test canary weight 50"] },
            { n: 7, phase: "Promoting", weight: 50, step: 5, failed: 0, next: "done", actions: ["Normal: Copying podinfo.test template spec to podinfo-primary.test", "promote"] },
        ]);
        assert.deepStrictEqual(final, {
            phase: "Promoting", revision: "rev2", promotedRevision: "rev1", failedRevision: "", canaryWeight: 50, step: 5, failedChecks: 0, budgetSpent: 0,
            rolloutConfirmed: true, preRolloutDone: true, startedAt: 0, lastTransitionAt: 70_000,
            message: "Copying podinfo.test template spec to podinfo-primary.test",
        });
    });

    it("a canary not ready at tick 2 delays every later step by one tick", () => {
        const { ticks } = run(spec(), { ready: (n) => n !== 2 });
        // tick 2 not ready: no transition; readiness at tick 3 starts the analysis
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.weight, t.next]), [[1, 0, "soon"], [2, 0, "soon"], [3, 10, "interval"], [4, 20, "interval"], [5, 30, "interval"], [6, 40, "interval"], [7, 50, "interval"], [8, 50, "done"]]);
    });

    it("explicit stepWeights: 5, 25, 80 at ticks 2, 3, 4 and promotion at tick 5", () => {
        const { ticks, final } = run(spec({ stepWeights: [5, 25, 80] }));
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.weight, t.step, t.phase]), [
            [1, 0, 0, "Progressing"], [2, 5, 1, "Progressing"], [3, 25, 2, "Progressing"], [4, 80, 3, "Progressing"], [5, 80, 3, "Promoting"],
        ]);
        assert.deepStrictEqual(at(ticks, 4).actions, ["routes 20/80", "Normal: Advance podinfo.test canary weight 80"]);
        assert.strictEqual(final.lastTransitionAt, 50_000);
    });

    it("threshold 2 with every check failing: first failure at tick 3, rollback in tick 4", () => {
        const { ticks, final } = run(spec({ threshold: 2 }), { metrics: (n) => (n >= 3 ? [bad] : [pass]) });
        assert.strictEqual(ticks.length, 4);
        assert.deepStrictEqual(at(ticks, 3), { n: 3, phase: "Progressing", weight: 10, step: 1, failed: 1, next: "interval", actions: ["Warning: bad"] });
        assert.deepStrictEqual(at(ticks, 4), {
            n: 4, phase: "Failed", weight: 0, step: 1, failed: 2, next: "done",
            actions: ["Warning: bad", "Warning: Rolling back podinfo.test failed checks threshold reached 2", ...ROLLBACK_TAIL],
        });
        assert.strictEqual(final.message, "Rolling back podinfo.test failed checks threshold reached 2: bad");
        assert.strictEqual(final.failedRevision, "rev2");
        assert.strictEqual(final.lastTransitionAt, 40_000);
    });

    it("threshold 1: the first failed check (tick 3) rolls back at once", () => {
        const { ticks } = run(spec({ threshold: 1 }), { metrics: () => [bad] });
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.phase, t.failed]), [[1, "Progressing", 0], [2, "Progressing", 0], [3, "Failed", 1]]);
    });

    it("failures below the threshold hold the weight for that tick and the next pass advances", () => {
        const { ticks } = run(spec({ threshold: 3 }), { metrics: (n) => (n === 4 || n === 5 ? [bad] : [pass]) });
        // weight 20 set at tick 3; ticks 4 and 5 fail at 20; tick 6 passes and goes to 30
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.weight, t.failed, t.phase]), [
            [1, 0, 0, "Progressing"], [2, 10, 0, "Progressing"], [3, 20, 0, "Progressing"], [4, 20, 1, "Progressing"], [5, 20, 2, "Progressing"],
            [6, 30, 2, "Progressing"], [7, 40, 2, "Progressing"], [8, 50, 2, "Progressing"], [9, 50, 2, "Promoting"],
        ]);
    });

    it("a failing rollout hook and a failing metric in one tick: two warnings, one failed check, both in the message", () => {
        const { ticks, final } = run(spec({ threshold: 2, webhooks: [hook("rollout", "load-test")] }), {
            hooks: (n, t) => (t === "rollout" && n >= 3 ? closed("load-test: 500") : ok()),
            metrics: (n) => (n >= 3 ? [{ pass: false, message: "success rate 90.00% < 99%" }] : [pass]),
        });
        assert.deepStrictEqual(at(ticks, 3).actions, [
            "Warning: Halt podinfo.test advancement rollout check failed: load-test: 500",
            "Warning: success rate 90.00% < 99%",
        ]);
        assert.strictEqual(at(ticks, 3).failed, 1);
        assert.strictEqual(at(ticks, 4).phase, "Failed");
        assert.strictEqual(final.message,
            "Rolling back podinfo.test failed checks threshold reached 2: Halt podinfo.test advancement rollout check failed: load-test: 500; success rate 90.00% < 99%");
    });

    it("a canary never ready with progressDeadlineSeconds 60: waits at ticks 2..7, rolled back at tick 8 (70 s after scale-up)", () => {
        const { ticks, final } = run(spec({ progressDeadlineSeconds: 60 }), { ready: () => false });
        assert.strictEqual(ticks.length, 8);
        for (let n = 2; n <= 7; n++) assert.deepStrictEqual(at(ticks, n), { n, phase: "Progressing", weight: 0, step: 0, failed: 0, next: "soon", actions: [] });
        const reason = "Canary deployment podinfo-canary.test not ready after 60s: progress deadline exceeded (0 of 1 updated replicas are available)";
        assert.deepStrictEqual(at(ticks, 8).actions, [`Warning: ${reason}`, ...ROLLBACK_TAIL]);
        assert.strictEqual(final.message, reason);
    });

    it("while not ready the state says why, and says so when readiness is unknown", () => {
        const confirmed: ReleaseState = { ...startedState(), rolloutConfirmed: true, lastTransitionAt: 10_000 };
        const notReady = tick(target, confirmed, spec(), { now: 20_000, canaryReady: { ready: false, message: "scaled to zero" }, hooks: {} });
        assert.deepStrictEqual(notReady, { state: { ...confirmed, message: "Halt advancement podinfo-canary.test scaled to zero" }, actions: [], next: "soon" });
        const unknown = tick(target, confirmed, spec(), { now: 20_000, hooks: {} });
        assert.strictEqual(unknown.state.message, "Halt advancement podinfo-canary.test readiness unknown");
        const late = tick(target, confirmed, spec({ progressDeadlineSeconds: 5 }), { now: 20_000, hooks: {} });
        assert.strictEqual(late.state.message, "Canary deployment podinfo-canary.test not ready after 5s: progress deadline exceeded (readiness unknown)");
    });

    it("the readiness deadline is strict: exactly progressDeadlineSeconds after the last transition still waits", () => {
        const confirmed: ReleaseState = { ...startedState(), rolloutConfirmed: true, lastTransitionAt: 10_000 };
        const s = spec({ progressDeadlineSeconds: 60 });
        const notReady = { ready: false, message: "x" };
        assert.strictEqual(tick(target, confirmed, s, { now: 70_000, canaryReady: notReady, hooks: {} }).next, "soon");
        assert.strictEqual(tick(target, confirmed, s, { now: 70_001, canaryReady: notReady, hooks: {} }).state.phase, "Failed");
    });

    it("a confirm-rollout gate closed for good with deadline 30: announced at tick 1, rolled back at tick 4, canary never scaled", () => {
        const { ticks, final } = run(spec({ progressDeadlineSeconds: 30, webhooks: [hook("confirm-rollout", "gate")] }), { hooks: () => closed() });
        const waiting = "Halt podinfo.test advancement waiting for approval gate: 403";
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.phase, t.next, t.actions]), [
            [1, "Progressing", "interval", [`Normal: ${waiting}`]],
            [2, "Progressing", "interval", []],
            [3, "Progressing", "interval", []],
            [4, "Failed", "done", [`Warning: confirm-rollout hook did not approve within progressDeadlineSeconds 30: ${waiting}`, ...ROLLBACK_TAIL]],
        ]);
        assert.strictEqual(final.message, `confirm-rollout hook did not approve within progressDeadlineSeconds 30: ${waiting}`);
    });

    it("a confirm-rollout gate that opens at tick 3 scales the canary up in tick 3", () => {
        const { ticks } = run(spec({ webhooks: [hook("confirm-rollout", "gate")] }), { hooks: (n) => (n < 3 ? closed() : ok()) });
        assert.strictEqual(tickOf(ticks, "scale up"), 3);
        assert.strictEqual(tickOf(ticks, "routes 90/10"), 4);
        assert.strictEqual(ticks.at(-1)?.n, 9);
        assert.strictEqual(ticks.at(-1)?.phase, "Promoting");
    });

    it("a gate's changed answer is announced again, the same answer is not", () => {
        const answers = ["gate: 403", "gate: 403", "gate: 503"];
        const { ticks } = run(spec({ webhooks: [hook("confirm-rollout", "gate")] }), { hooks: (n) => (n <= 3 ? closed(answers[n - 1]) : ok()) });
        assert.deepStrictEqual(ticks.slice(0, 4).map((t) => t.actions), [
            ["Normal: Halt podinfo.test advancement waiting for approval gate: 403"],
            [],
            ["Normal: Halt podinfo.test advancement waiting for approval gate: 503"],
            ["scale up"],
        ]);
    });

    it("confirm-traffic-increase closed at ticks 3..5: the weight stays 10 and moves to 20 in tick 6", () => {
        const { ticks } = run(spec({ webhooks: [hook("confirm-traffic-increase", "gate")] }), {
            hooks: (n, t) => (t === "confirm-traffic-increase" && n >= 3 && n < 6 ? closed() : ok()),
        });
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.weight, t.phase]), [
            [1, 0, "Progressing"], [2, 10, "Progressing"], [3, 10, "Progressing"], [4, 10, "Progressing"], [5, 10, "Progressing"],
            [6, 20, "Progressing"], [7, 30, "Progressing"], [8, 40, "Progressing"], [9, 50, "Progressing"], [10, 50, "Promoting"],
        ]);
        assert.deepStrictEqual(at(ticks, 3).actions, ["Normal: Halt podinfo.test advancement waiting for approval gate: 403"]);
        assert.deepStrictEqual(at(ticks, 4).actions, []);
    });

    it("confirm-traffic-increase closed for good with deadline 30: rolled back at tick 6 (40 s after weight 10)", () => {
        const { ticks, final } = run(spec({ progressDeadlineSeconds: 30, webhooks: [hook("confirm-traffic-increase", "gate")] }), {
            hooks: (n, t) => (t === "confirm-traffic-increase" && n >= 3 ? closed() : ok()),
        });
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.phase, t.weight]), [[1, "Progressing", 0], [2, "Progressing", 10], [3, "Progressing", 10], [4, "Progressing", 10], [5, "Progressing", 10], [6, "Failed", 0]]);
        assert.match(final.message, /^confirm-traffic-increase hook did not approve within progressDeadlineSeconds 30: Halt podinfo\.test advancement waiting for approval gate: 403$/);
    });

    it("confirm-traffic-increase closed at the first step: starts the analysis at tick 2 at weight 0, weight 10 when it opens (tick 4)", () => {
        const { ticks } = run(spec({ webhooks: [hook("confirm-traffic-increase", "gate")] }), {
            hooks: (n, t) => (t === "confirm-traffic-increase" && n < 4 ? closed() : ok()),
            metrics: () => [bad],
        });
        assert.deepStrictEqual(at(ticks, 2), {
            n: 2, phase: "Progressing", weight: 0, step: 0, failed: 0, next: "interval",
            actions: ["Normal: Starting canary analysis for podinfo.test", "Normal: Halt podinfo.test advancement waiting for approval gate: 403"],
        });
        // tick 3: no traffic yet, so nothing is analysed (the failing metric is not asked)
        assert.deepStrictEqual(at(ticks, 3), { n: 3, phase: "Progressing", weight: 0, step: 0, failed: 0, next: "interval", actions: [] });
        assert.deepStrictEqual(at(ticks, 4).actions, ["routes 90/10", "Normal: Advance podinfo.test canary weight 10"]);
        assert.strictEqual(at(ticks, 5).failed, 1);
    });

    it("confirm-promotion closed until tick 8: WaitingPromotion from tick 7, promoted in tick 8", () => {
        const { ticks, final } = run(spec({ webhooks: [hook("confirm-promotion", "gate")] }), { hooks: (n, t) => (t === "confirm-promotion" && n < 8 ? closed() : ok()) });
        assert.deepStrictEqual(at(ticks, 7), {
            n: 7, phase: "WaitingPromotion", weight: 50, step: 5, failed: 0, next: "interval",
            actions: ["Normal: Halt podinfo.test advancement waiting for approval gate: 403"],
        });
        assert.deepStrictEqual(at(ticks, 8), {
            n: 8, phase: "Promoting", weight: 50, step: 5, failed: 0, next: "done",
            actions: ["Normal: Copying podinfo.test template spec to podinfo-primary.test", "promote"],
        });
        assert.strictEqual(ticks.length, 8);
        assert.strictEqual(final.lastTransitionAt, 80_000);
    });

    it("confirm-promotion closed for good with deadline 30: waiting from tick 7, rolled back at tick 11", () => {
        const { ticks } = run(spec({ progressDeadlineSeconds: 30, webhooks: [hook("confirm-promotion", "gate")] }), { hooks: (_n, t) => (t === "confirm-promotion" ? closed() : ok()) });
        assert.deepStrictEqual(ticks.slice(6).map((t) => [t.n, t.phase]), [[7, "WaitingPromotion"], [8, "WaitingPromotion"], [9, "WaitingPromotion"], [10, "WaitingPromotion"], [11, "Failed"]]);
        assert.match(at(ticks, 11).actions[0], /^Warning: confirm-promotion hook did not approve within progressDeadlineSeconds 30: /);
    });

    it("WaitingPromotion is not analysed again: a failing metric there changes nothing", () => {
        const { ticks } = run(spec({ threshold: 1, webhooks: [hook("confirm-promotion", "gate")] }), {
            hooks: (n, t) => (t === "confirm-promotion" && n < 9 ? closed() : ok()),
            metrics: (n) => (n >= 8 ? [bad] : [pass]),
        });
        assert.deepStrictEqual(ticks.slice(6).map((t) => [t.n, t.phase, t.failed]), [[7, "WaitingPromotion", 0], [8, "WaitingPromotion", 0], [9, "Promoting", 0]]);
    });

    it("a failing pre-rollout hook with threshold 2: failed checks at ticks 2 and 3, rolled back in tick 3 without traffic", () => {
        const { ticks, final } = run(spec({ threshold: 2, webhooks: [hook("pre-rollout", "acceptance-test")] }), {
            hooks: (_n, t) => (t === "pre-rollout" ? closed("acceptance-test: status 500") : ok()),
        });
        const halt = "Halt podinfo.test advancement pre-rollout check failed: acceptance-test: status 500";
        assert.deepStrictEqual(at(ticks, 2), { n: 2, phase: "Progressing", weight: 0, step: 0, failed: 1, next: "interval", actions: [`Warning: ${halt}`] });
        assert.deepStrictEqual(at(ticks, 3).actions, [`Warning: ${halt}`, "Warning: Rolling back podinfo.test failed checks threshold reached 2", ...ROLLBACK_TAIL]);
        assert.strictEqual(final.preRolloutDone, false);
    });

    it("a pre-rollout hook that passes at tick 3 starts the analysis in tick 3", () => {
        const { ticks } = run(spec({ webhooks: [hook("pre-rollout", "acceptance-test")] }), { hooks: (n, t) => (t === "pre-rollout" && n < 3 ? closed("500") : ok()) });
        assert.strictEqual(tickOf(ticks, "Normal: Starting canary analysis for podinfo.test"), 3);
        assert.strictEqual(at(ticks, 3).weight, 10);
        assert.strictEqual(at(ticks, 3).failed, 1);
    });

    it("a rollback hook that answers OK at tick 4 rolls back in tick 4", () => {
        const { ticks, final } = run(spec({ webhooks: [hook("rollback", "manual")] }), { hooks: (n, t) => (t === "rollback" ? (n === 4 ? ok() : closed("503")) : ok()) });
        assert.strictEqual(ticks.length, 4);
        assert.deepStrictEqual(at(ticks, 3).weight, 20);
        assert.deepStrictEqual(at(ticks, 4).actions, ["Warning: Rolling back podinfo.test manual webhook invoked", ...ROLLBACK_TAIL]);
        assert.strictEqual(final.failedRevision, "rev2");
    });

    it("a rollback hook that approves before the canary is even confirmed rolls back in that tick", () => {
        const { ticks } = run(spec({ webhooks: [hook("rollback", "manual"), hook("confirm-rollout", "gate")] }), { hooks: (n, t) => (t === "rollback" ? (n === 2 ? ok() : closed()) : closed()) });
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.phase]), [[1, "Progressing"], [2, "Failed"]]);
    });

    it("blue/green, 3 iterations: routes pinned at tick 2, iterations at ticks 3, 4, 5, promoted in tick 5", () => {
        const { ticks } = run(spec({ iterations: 3 }));
        assert.deepStrictEqual(ticks, [
            { n: 1, phase: "Progressing", weight: 0, step: 0, failed: 0, next: "soon", actions: ["scale up"] },
            { n: 2, phase: "Progressing", weight: 0, step: 0, failed: 0, next: "interval", actions: ["Normal: Starting canary analysis for podinfo.test", "routes 100/0"] },
            { n: 3, phase: "Progressing", weight: 0, step: 1, failed: 0, next: "interval", actions: ["Normal: Advance podinfo.test canary iteration 1/3"] },
            { n: 4, phase: "Progressing", weight: 0, step: 2, failed: 0, next: "interval", actions: ["Normal: Advance podinfo.test canary iteration 2/3"] },
            { n: 5, phase: "Promoting", weight: 0, step: 3, failed: 0, next: "done", actions: ["Normal: Advance podinfo.test canary iteration 3/3", "Normal: Copying podinfo.test template spec to podinfo-primary.test", "promote"] },
        ]);
    });

    it("A/B, 2 iterations behind a confirm-promotion gate: match routes at tick 2, waiting after iteration 2/2 in tick 4, promoted in tick 5", () => {
        const { ticks } = run(spec({ iterations: 2, match: [{ cookie: "canary" }], webhooks: [hook("confirm-promotion", "gate")] }), {
            hooks: (n, t) => (t === "confirm-promotion" && n < 5 ? closed() : ok()),
        });
        assert.deepStrictEqual(at(ticks, 2).actions, ["Normal: Starting canary analysis for podinfo.test", "routes 100/0 match"]);
        assert.deepStrictEqual(at(ticks, 4), {
            n: 4, phase: "WaitingPromotion", weight: 0, step: 2, failed: 0, next: "interval",
            actions: ["Normal: Advance podinfo.test canary iteration 2/2", "Normal: Halt podinfo.test advancement waiting for approval gate: 403"],
        });
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.phase]), [[1, "Progressing"], [2, "Progressing"], [3, "Progressing"], [4, "WaitingPromotion"], [5, "Promoting"]]);
    });

    it("skipAnalysis: scale up at tick 1, promoted at tick 2 without checks", () => {
        const { ticks } = run(spec({ skipAnalysis: true }), { metrics: () => [bad] });
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.phase, t.actions]), [
            [1, "Progressing", ["scale up"]],
            [2, "Promoting", ["Normal: Skipping analysis for podinfo.test", "Normal: Copying podinfo.test template spec to podinfo-primary.test", "promote"]],
        ]);
    });

    it("skipAnalysis still waits for readiness (ticks 2, 3) and promotes when ready (tick 4)", () => {
        const { ticks } = run(spec({ skipAnalysis: true }), { ready: (n) => n >= 4 });
        assert.deepStrictEqual(ticks.map((t) => [t.n, t.phase, t.next]), [[1, "Progressing", "soon"], [2, "Progressing", "soon"], [3, "Progressing", "soon"], [4, "Promoting", "done"]]);
    });
});

function startedState(): ReleaseState {
    const s = startRelease(target, initialize(target, "rev1", 0).state, "rev2", 0, false);
    assert.ok(s.ok);
    return s.step.state;
}

describe("engine: one tick from a given state", () => {
    const analysing = (over: Partial<ReleaseState> = {}): ReleaseState => ({
        ...startedState(), rolloutConfirmed: true, preRolloutDone: true, step: 2, canaryWeight: 20, lastTransitionAt: 20_000,
        message: "Halt podinfo.test advancement success rate 90.00% < 99%", ...over,
    });
    const ready = { ready: true, message: "ready" };

    it("failed checks already at a threshold lowered mid-run roll back before anything else, keeping the last reason", () => {
        const s = tick(target, analysing({ failedChecks: 2 }), spec({ threshold: 2 }), { now: 30_000, canaryReady: ready, hooks: {}, metrics: [pass] });
        assert.strictEqual(s.state.phase, "Failed");
        assert.strictEqual(s.state.message, "Rolling back podinfo.test failed checks threshold reached 2: Halt podinfo.test advancement success rate 90.00% < 99%");
        assert.deepStrictEqual(s.actions.map(show), ["Warning: Rolling back podinfo.test failed checks threshold reached 2: Halt podinfo.test advancement success rate 90.00% < 99%", ...ROLLBACK_TAIL]);
    });

    it("failed checks one below the threshold do not roll back", () => {
        const s = tick(target, analysing({ failedChecks: 1 }), spec({ threshold: 2 }), { now: 30_000, canaryReady: ready, hooks: {}, metrics: [pass] });
        assert.strictEqual(s.state.phase, "Progressing");
        assert.strictEqual(s.state.canaryWeight, 30);
        assert.strictEqual(s.state.failedChecks, 1);
    });

    it("a gate deadline counts from the last transition and is strict", () => {
        const s = spec({ progressDeadlineSeconds: 30, webhooks: [hook("confirm-traffic-increase", "gate")] });
        const gate = { "confirm-traffic-increase": closed() };
        assert.strictEqual(tick(target, analysing(), s, { now: 50_000, canaryReady: ready, hooks: gate, metrics: [pass] }).state.phase, "Progressing");
        assert.strictEqual(tick(target, analysing(), s, { now: 50_001, canaryReady: ready, hooks: gate, metrics: [pass] }).state.phase, "Failed");
    });

    it("a terminal or idle phase does not advance, whatever it observes", () => {
        for (const phase of ["Initialized", "Promoting", "Succeeded", "Failed"] as const) {
            const state = analysing({ phase });
            const s = tick(target, state, spec(), { now: 99_000, canaryReady: ready, hooks: { rollback: ok() }, metrics: [bad] });
            assert.deepStrictEqual(s, { state, actions: [], next: "done" }, phase);
        }
    });
});

describe("engine: start, rollback, interrupt, finalize, whole values", () => {
    it("initialize: the primary takes the template, all traffic to it, canary at zero", () => {
        assert.deepStrictEqual(initialize(target, "rev1", 5), {
            state: {
                phase: "Initialized", revision: "rev1", promotedRevision: "rev1", failedRevision: "", canaryWeight: 0, step: 0, failedChecks: 0,
                rolloutConfirmed: false, preRolloutDone: false, startedAt: 5, lastTransitionAt: 5, message: "Initialization done! podinfo.test",
            },
            actions: [
                { kind: "setRoutes", routes: { primary: 100, canary: 0 } },
                { kind: "scaleCanary", replicas: 0 },
                { kind: "event", type: "Normal", message: "Initialization done! podinfo.test" },
            ],
            next: "done",
        });
    });

    it("startRelease resets every counter of the previous run and keeps the promoted and failed revisions", () => {
        const prev: ReleaseState = {
            phase: "Failed", revision: "rev2", promotedRevision: "rev1", failedRevision: "rev2", canaryWeight: 30, step: 3, failedChecks: 4, budgetSpent: 0.3,
            rolloutConfirmed: true, preRolloutDone: true, startedAt: 1, lastTransitionAt: 2, message: "x",
        };
        const r = startRelease(target, prev, "rev3", 9, false);
        assert.deepStrictEqual(r, {
            ok: true,
            step: {
                state: {
                    phase: "Progressing", revision: "rev3", promotedRevision: "rev1", failedRevision: "rev2", canaryWeight: 0, step: 0, failedChecks: 0, budgetSpent: 0,
                    rolloutConfirmed: false, preRolloutDone: false, startedAt: 9, lastTransitionAt: 9, message: "New revision detected! Scaling up podinfo.test",
                },
                actions: [{ kind: "event", type: "Normal", message: "New revision detected! Scaling up podinfo.test" }],
                next: "soon",
            },
        });
        assert.deepStrictEqual(startRelease(target, prev, "rev2", 9, false), {
            ok: false,
            message: "revision rev2 of podinfo.test already failed analysis (x); not retrying it: set retry to true (config canary:retry) or change the pod template",
        });
    });

    it("rollback: the revision marked failed, all to primary, post-rollout hooks last; the event may be shorter than the reason", () => {
        const state: ReleaseState = { ...startedState(), canaryWeight: 40, step: 4 };
        assert.deepStrictEqual(rollback(target, state, 7, "long reason", "short"), {
            state: { ...state, phase: "Failed", failedRevision: "rev2", canaryWeight: 0, lastTransitionAt: 7, message: "long reason" },
            actions: [
                { kind: "event", type: "Warning", message: "short" },
                { kind: "setRoutes", routes: { primary: 100, canary: 0 } },
                { kind: "scaleCanary", replicas: 0 },
                { kind: "event", type: "Warning", message: "Canary failed! Scaling down podinfo.test" },
                { kind: "runHooks", hookType: "post-rollout" },
            ],
            next: "done",
        });
        assert.strictEqual((rollback(target, state, 7, "reason").actions[0] as { message: string }).message, "reason");
    });

    it("interrupt: all to primary, canary to zero, the revision not marked failed", () => {
        const state: ReleaseState = { ...startedState(), canaryWeight: 40, step: 4 };
        assert.deepStrictEqual(interrupt(target, state, 8), {
            state: { ...state, phase: "Failed", canaryWeight: 0, lastTransitionAt: 8, message: "Rolling back podinfo.test: release interrupted, routing all traffic to primary" },
            actions: [
                { kind: "setRoutes", routes: { primary: 100, canary: 0 } },
                { kind: "scaleCanary", replicas: 0 },
                { kind: "event", type: "Warning", message: "Rolling back podinfo.test: release interrupted, routing all traffic to primary" },
            ],
            next: "done",
        });
    });

    it("finalize: the analysed revision is the promoted one, weight and step back to zero", () => {
        const state: ReleaseState = { ...startedState(), phase: "Promoting", canaryWeight: 50, step: 5 };
        assert.deepStrictEqual(finalize(target, state, 9), {
            state: { ...state, phase: "Succeeded", promotedRevision: "rev2", canaryWeight: 0, step: 0, lastTransitionAt: 9, message: "Promotion completed! Scaling down podinfo.test" },
            actions: [
                { kind: "setRoutes", routes: { primary: 100, canary: 0 } },
                { kind: "scaleCanary", replicas: 0 },
                { kind: "runHooks", hookType: "post-rollout" },
                { kind: "event", type: "Normal", message: "Promotion completed! Scaling down podinfo.test" },
            ],
            next: "done",
        });
    });
});

describe("engine: needs, the cases the tables above do not reach", () => {
    const confirmed = (): ReleaseState => ({ ...startedState(), rolloutConfirmed: true });
    it("skipAnalysis after confirm-rollout: readiness and the rollback hook only", () => {
        assert.deepStrictEqual(needs(confirmed(), spec({ skipAnalysis: true })), { canaryReady: true, hooks: ["rollback"], metrics: false });
    });
    it("skipAnalysis before confirm-rollout still asks confirm-rollout", () => {
        assert.deepStrictEqual(needs(startedState(), spec({ skipAnalysis: true })), { canaryReady: false, hooks: ["rollback", "confirm-rollout"], metrics: false });
    });
    it("the first weight of a ladder waits on confirm-traffic-increase without metrics", () => {
        assert.deepStrictEqual(needs({ ...confirmed(), preRolloutDone: true }, spec()), { canaryReady: true, hooks: ["rollback", "confirm-traffic-increase"], metrics: false });
    });
    it("the first iteration of blue/green is analysed (no weight to wait for)", () => {
        assert.deepStrictEqual(needs({ ...confirmed(), preRolloutDone: true }, spec({ iterations: 3 })), { canaryReady: true, hooks: ["rollback", "rollout", "confirm-traffic-increase"], metrics: true });
    });
    it("one rung before the last still gates the next weight", () => {
        assert.deepStrictEqual(needs({ ...confirmed(), preRolloutDone: true, step: 4 }, spec()).hooks, ["rollback", "rollout", "confirm-traffic-increase"]);
        assert.deepStrictEqual(needs({ ...confirmed(), preRolloutDone: true, step: 1 }, spec({ iterations: 3 })).hooks, ["rollback", "rollout", "confirm-traffic-increase"]);
    });
    it("idle and terminal phases need nothing", () => {
        for (const phase of ["Initializing", "Initialized", "Promoting", "Finalising", "Succeeded"] as const) {
            assert.deepStrictEqual(needs({ ...confirmed(), phase }, spec()), { canaryReady: false, hooks: [], metrics: false }, phase);
        }
    });
});
