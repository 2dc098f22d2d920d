// Tables of transitions for the pure engine: each case drives tick() with scripted observations.
import * as assert from "assert";
import { Action, CheckResult, GateResult, Observations, Step, initialize, interrupt, finalize, needs, startRelease, tick } from "../../../components/canary/engine/advance";
import { AnalysisSpec, HookType, ReleaseState, Routes } from "../../../components/canary/engine/types";
import { ErrorRatio } from "../../../components/canary/engine/budget";
import { hook, spec, target } from "./fixtures";

interface World {
    ready?: (n: number) => boolean;
    metrics?: (n: number, s: ReleaseState) => CheckResult[];
    /** The canary's error ratio when the spec has an error budget (default 0). */
    errorRatio?: (n: number, s: ReleaseState) => ErrorRatio;
    hooks?: (n: number, type: HookType) => GateResult | undefined;
}

interface Run {
    final: ReleaseState;
    events: string[];
    routes: Routes[];
    scales: Array<"up" | 0>;
    promoted: boolean;
    ticks: number;
}

const ok = (message = "ok"): GateResult => ({ ok: true, message });
const fail = (message: string): GateResult => ({ ok: false, message });
const pass: CheckResult = { pass: true, message: "" };

/** Starts a release and ticks it, 10 s apart, until done (or maxTicks). */
function drive(s: AnalysisSpec, world: World, maxTicks = 100): Run {
    const prev = initialize(target, "rev1", 0).state;
    const started = startRelease(target, prev, "rev2", 0, false);
    assert.ok(started.ok);
    let step: Step = started.step;
    const run: Run = { final: step.state, events: [], routes: [], scales: [], promoted: false, ticks: 0 };
    const record = (actions: readonly Action[]) => {
        for (const a of actions) {
            if (a.kind === "event") run.events.push(a.message);
            if (a.kind === "setRoutes") run.routes.push(a.routes);
            if (a.kind === "scaleCanary") run.scales.push(a.replicas);
            if (a.kind === "promote") run.promoted = true;
        }
    };
    record(step.actions);
    let n = 0;
    while (step.next !== "done" && n < maxTicks) {
        n++;
        const need = needs(step.state, s);
        const hooks: Partial<Record<HookType, GateResult>> = {};
        for (const t of need.hooks) {
            const configured = s.webhooks.some((h) => h.type === t);
            const r = configured ? world.hooks?.(n, t) ?? ok() : undefined;
            if (r !== undefined) hooks[t] = r;
        }
        const obs: Observations = {
            now: n * 10_000,
            canaryReady: need.canaryReady ? { ready: world.ready?.(n) ?? true, message: "0 of 1 updated replicas are available" } : undefined,
            hooks,
            metrics: need.metrics ? world.metrics?.(n, step.state) ?? [pass] : undefined,
            ...(need.metrics && s.errorBudget !== undefined ? { errorRatio: world.errorRatio?.(n, step.state) ?? { ok: true, errorRatio: 0 } } : {}),
        };
        step = tick(target, step.state, s, obs);
        record(step.actions);
    }
    run.final = step.state;
    run.ticks = n;
    return run;
}

/**
 * Ticks of a default release until its first metric check (readiness, first weight, first check).
 * Computed inside the tests that use it, never at load time: code run while the test files load
 * is "static" to Stryker, which then restarts the test runner for every mutant it reaches.
 */
function firstCheckTick(): number {
    let first = 0;
    drive(spec({ threshold: 1 }), { metrics: (n) => { first ||= n; return [{ pass: false, message: "x" }]; } });
    return first;
}

const maxCanary = (r: Run) => Math.max(0, ...r.routes.map((x) => x.canary));

describe("engine transitions", () => {
    it("promotes a good canary through 10..50 with Flagger's events in order", () => {
        const r = drive(spec(), {});
        assert.strictEqual(r.final.phase, "Promoting");
        assert.ok(r.promoted);
        assert.deepStrictEqual(r.routes.map((x) => x.canary), [10, 20, 30, 40, 50]);
        assert.deepStrictEqual(r.events, [
            "New revision detected! Scaling up podinfo.test",
            "Starting canary analysis for podinfo.test",
            "Advance podinfo.test canary weight 10",
            "Advance podinfo.test canary weight 20",
            "Advance podinfo.test canary weight 30",
            "Advance podinfo.test canary weight 40",
            "Advance podinfo.test canary weight 50",
            "Copying podinfo.test template spec to podinfo-primary.test",
        ]);
        assert.deepStrictEqual(r.scales, ["up"]);
        assert.strictEqual(r.final.failedChecks, 0);
    });

    it("rolls back when failed checks reach the threshold, all traffic on primary, canary at 0", () => {
        const halt = "Halt podinfo.test advancement success rate 91.60% < 99%";
        const r = drive(spec({ threshold: 5 }), { metrics: (_n, s) => (s.canaryWeight >= 20 ? [{ pass: false, message: halt }] : [pass]) });
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(r.final.failedRevision, "rev2");
        assert.strictEqual(r.final.failedChecks, 5);
        assert.deepStrictEqual(r.routes.at(-1), { primary: 100, canary: 0 });
        assert.deepStrictEqual(r.scales, ["up", 0]);
        assert.strictEqual(maxCanary(r), 20, "never advanced past the failing step");
        assert.strictEqual(r.events.filter((e) => e === halt).length, 5, "each failure is one warning, not repeated by the rollback event");
        assert.ok(r.final.message.startsWith("Rolling back podinfo.test failed checks threshold reached 5"), r.final.message);
        assert.ok(r.final.message.includes("91.60% < 99%"), "the reason carries value and threshold");
        assert.strictEqual(r.events.at(-1), "Canary failed! Scaling down podinfo.test");
        assert.ok(!r.promoted);
    });

    it("rolls back in the very tick of the threshold-th failure, not one interval later", () => {
        // tick 1 readiness, 2 pre-rollout + weight 10; checks fail from tick 3 on: threshold 2 ends tick 4
        const r = drive(spec({ threshold: 2 }), { metrics: () => [{ pass: false, message: "bad" }] });
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(r.final.failedChecks, 2);
        assert.strictEqual(r.ticks, firstCheckTick() + 1, `rolled back after ${r.ticks} ticks`);
        assert.deepStrictEqual(r.events.filter((e) => e === "bad"), ["bad", "bad"]);
    });

    it("counts failed checks over the whole run, not per step", () => {
        // one failure at weight 10 and one at weight 30: threshold 2 rolls back
        const failing = new Set([3, 6]);
        const r = drive(spec({ threshold: 2 }), { metrics: (n) => (failing.has(n) ? [{ pass: false, message: "bad" }] : [pass]) });
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(r.final.failedChecks, 2);
    });

    it("tolerates failures below the threshold and still promotes", () => {
        const r = drive(spec({ threshold: 3 }), { metrics: (n) => (n === 3 ? [{ pass: false, message: "blip" }] : [pass]) });
        assert.strictEqual(r.final.phase, "Promoting");
        assert.strictEqual(r.final.failedChecks, 1);
    });

    it("rolls back a canary that never becomes ready after progressDeadlineSeconds, no traffic shifted", () => {
        const r = drive(spec({ progressDeadlineSeconds: 60 }), { ready: () => false });
        assert.strictEqual(r.final.phase, "Failed");
        assert.match(r.final.message, /not ready after 60s: progress deadline exceeded/);
        assert.match(r.final.message, /0 of 1 updated replicas are available/);
        assert.strictEqual(maxCanary(r), 0);
        assert.deepStrictEqual(r.scales, ["up", 0]);
    });

    it("waits for a slow canary within the deadline", () => {
        const r = drive(spec({ progressDeadlineSeconds: 60 }), { ready: (n) => n > 4 });
        assert.strictEqual(r.final.phase, "Promoting");
    });

    it("a failing pre-rollout hook never shifts traffic and rolls back at the threshold", () => {
        const r = drive(spec({ threshold: 2, webhooks: [hook("pre-rollout", "acceptance-test")] }), {
            hooks: (_n, t) => (t === "pre-rollout" ? fail("acceptance-test: status 500") : ok()),
        });
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(maxCanary(r), 0);
        assert.ok(r.events.includes("Halt podinfo.test advancement pre-rollout check failed: acceptance-test: status 500"), r.events.join("\n"));
    });

    it("a failing rollout hook counts as a failed check", () => {
        const r = drive(spec({ threshold: 1, webhooks: [hook("rollout", "load-test")] }), {
            hooks: (_n, t) => (t === "rollout" ? fail("load-test: connection refused") : ok()),
        });
        assert.strictEqual(r.final.phase, "Failed");
        assert.match(r.final.message, /rollout check failed: load-test: connection refused/);
    });

    it("skipAnalysis promotes without metrics once the canary is ready", () => {
        const r = drive(spec({ skipAnalysis: true }), { metrics: () => [{ pass: false, message: "never asked" }] });
        assert.strictEqual(r.final.phase, "Promoting");
        assert.ok(r.events.includes("Skipping analysis for podinfo.test"));
        assert.strictEqual(maxCanary(r), 0);
    });

    it("confirm-rollout holds the canary at zero replicas until approved", () => {
        const r = drive(spec({ webhooks: [hook("confirm-rollout", "gate")] }), { hooks: (n, t) => (t === "confirm-rollout" && n < 3 ? fail("gate: 403") : ok()) });
        assert.strictEqual(r.final.phase, "Promoting");
        assert.strictEqual(r.events[1], "Halt podinfo.test advancement waiting for approval gate: 403");
        assert.strictEqual(r.events.filter((e) => e.includes("waiting for approval")).length, 1, "a repeated wait is not re-announced");
    });

    it("a confirm-rollout gate that never opens fails after the progress deadline without scaling", () => {
        const r = drive(spec({ progressDeadlineSeconds: 30, webhooks: [hook("confirm-rollout", "gate")] }), { hooks: () => fail("gate: 403") });
        assert.strictEqual(r.final.phase, "Failed");
        assert.match(r.final.message, /confirm-rollout hook did not approve within progressDeadlineSeconds 30/);
        assert.deepStrictEqual(r.scales, [0]);
    });

    it("confirm-traffic-increase holds the weight", () => {
        const r = drive(spec({ webhooks: [hook("confirm-traffic-increase", "gate")] }), {
            hooks: (n, t) => (t === "confirm-traffic-increase" && n >= 3 && n < 6 ? fail("gate: 403") : ok()),
        });
        assert.strictEqual(r.final.phase, "Promoting");
        assert.deepStrictEqual(r.routes.map((x) => x.canary), [10, 20, 30, 40, 50]);
        assert.ok(r.ticks > 7);
    });

    it("a closed confirm-traffic-increase gate at the first step waits at weight 0 without analysing", () => {
        const r = drive(spec({ threshold: 2, webhooks: [hook("confirm-traffic-increase", "gate")] }), {
            hooks: (n, t) => (t === "confirm-traffic-increase" && n < 6 ? fail("gate: 403") : ok()),
            metrics: () => [{ pass: false, message: "no values found (no traffic at weight 0)" }],
        });
        // metrics fail once traffic flows, so the run ends Failed; but only after the gate opened
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(maxCanary(r), 10, "weight 10 was reached after the gate opened");
        assert.ok(r.ticks >= 7, `waited for the gate (${r.ticks} ticks)`);
    });

    it("confirm-promotion waits in WaitingPromotion, then promotes", () => {
        const r = drive(spec({ webhooks: [hook("confirm-promotion", "gate")] }), {
            hooks: (n, t) => (t === "confirm-promotion" && n < 8 ? fail("gate: 403") : ok()),
        });
        assert.strictEqual(r.final.phase, "Promoting");
        assert.ok(r.ticks >= 8, "promotion waited for the gate");
        assert.ok(r.events.includes("Halt podinfo.test advancement waiting for approval gate: 403"));
    });

    it("a rollback hook that answers OK rolls back at once", () => {
        const r = drive(spec({ webhooks: [hook("rollback", "manual")] }), { hooks: (n, t) => (t === "rollback" ? (n === 4 ? ok() : fail("503")) : ok()) });
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(r.final.message, "Rolling back podinfo.test manual webhook invoked");
        assert.deepStrictEqual(r.routes.at(-1), { primary: 100, canary: 0 });
    });

    it("blue/green runs iterations with all traffic on the primary", () => {
        const r = drive(spec({ iterations: 3 }), {});
        assert.strictEqual(r.final.phase, "Promoting");
        assert.deepStrictEqual(r.routes, [{ primary: 100, canary: 0 }]);
        assert.deepStrictEqual(r.events.filter((e) => e.startsWith("Advance")), [
            "Advance podinfo.test canary iteration 1/3",
            "Advance podinfo.test canary iteration 2/3",
            "Advance podinfo.test canary iteration 3/3",
        ]);
    });

    it("A/B routes matching requests to the canary during iterations", () => {
        const r = drive(spec({ iterations: 2, match: [{ headers: { "x-canary": { exact: "insider" } } }] }), {});
        assert.strictEqual(r.final.phase, "Promoting");
        assert.deepStrictEqual(r.routes, [{ primary: 100, canary: 0, match: true }]);
    });

    it("A/B with failing metrics rolls back and removes the match", () => {
        const r = drive(spec({ threshold: 2, iterations: 5, match: [{ cookie: "canary" }] }), { metrics: () => [{ pass: false, message: "bad" }] });
        assert.strictEqual(r.final.phase, "Failed");
        assert.deepStrictEqual(r.routes.at(-1), { primary: 100, canary: 0 });
    });
});

describe("static split and error budget", () => {
    const DAY = 86400;
    // 30 s interval, 90 s soak: three analysed intervals at weight 20
    const stat = (over: Partial<AnalysisSpec> = {}) => spec({ static: { weight: 20, soakSeconds: 90 }, ...over });
    const budget = { slo: 99.9, windowSeconds: 30 * DAY, maxBurnRate: 10, interval: "1m" };

    it("holds one weight for the soak time, one event per soaked interval, then promotes", () => {
        const r = drive(stat(), {});
        assert.strictEqual(r.final.phase, "Promoting");
        assert.deepStrictEqual(r.routes.map((x) => x.canary), [20], "one split, never a ladder");
        assert.deepStrictEqual(r.events.slice(2), [
            "Advance podinfo.test canary weight 20",
            "Static podinfo.test canary weight 20: soaked 30s of 90s",
            "Static podinfo.test canary weight 20: soaked 60s of 90s",
            "Copying podinfo.test template spec to podinfo-primary.test",
        ]);
    });

    it("analyses every soaked interval: as many checks as the soak has intervals, rounded up", () => {
        for (const [soakSeconds, want] of [[90, 3], [91, 4], [10, 1]] as const) {
            let checks = 0;
            drive(stat({ static: { weight: 20, soakSeconds } }), { metrics: () => { checks++; return [pass]; } });
            assert.strictEqual(checks, want, `soak ${soakSeconds}s at 30s`);
        }
    });

    it("a static split with failing checks rolls back at the threshold, weight never above the split", () => {
        const r = drive(stat({ threshold: 2 }), { metrics: () => [{ pass: false, message: "bad" }] });
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(maxCanary(r), 20);
        assert.deepStrictEqual(r.routes.at(-1), { primary: 100, canary: 0 });
    });

    it("a static split waits at confirm-promotion after the soak", () => {
        const s = stat({ webhooks: [hook("confirm-promotion")] });
        const r = drive(s, { hooks: (n) => (n < 12 ? fail("not yet") : ok()) });
        assert.strictEqual(r.final.phase, "Promoting");
        assert.ok(r.events.some((e) => e.startsWith("Halt podinfo.test advancement waiting for approval")), r.events.join("\n"));
    });

    it("the error budget passes a canary under the burn rate and records what it spent", () => {
        const r = drive(stat({ errorBudget: budget }), { errorRatio: () => ({ ok: true, errorRatio: 0.005 }) });
        assert.strictEqual(r.final.phase, "Promoting");
        // 3 intervals of 30 s at 5x and weight 20: 3 * 5 * 0.2 * 30 / 30d = 0.00035% of the budget
        assert.ok(Math.abs((r.final.budgetSpent ?? NaN) - 100 * 3 * 5 * 0.2 * 30 / (30 * DAY)) < 1e-12, String(r.final.budgetSpent));
    });

    it("a burn faster than maxBurnRate is a failed check, rolled back at the threshold with the rate in the reason", () => {
        const r = drive(stat({ errorBudget: budget, threshold: 2 }), { errorRatio: () => ({ ok: true, errorRatio: 0.03 }) });
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(r.final.failedChecks, 2);
        assert.ok(r.final.message.startsWith("Rolling back podinfo.test failed checks threshold reached 2: Halt podinfo.test advancement error budget burn rate 30.00x > 10x"), r.final.message);
        assert.ok(r.final.message.includes("budget spent 0.014% of 30d"), r.final.message);
    });

    it("spending past maxBudgetSpent rolls back at once, the threshold notwithstanding", () => {
        const capped = { ...budget, maxBurnRate: 1000, maxBudgetSpent: 0.001 };
        let checks = 0;
        // 50x at weight 20 for 30 s spends 0.012% of 30d in the first interval
        const r = drive(stat({ errorBudget: capped, threshold: 5 }), { errorRatio: () => { checks++; return { ok: true, errorRatio: 0.05 }; } });
        assert.strictEqual(r.final.phase, "Failed");
        assert.strictEqual(checks, 1, "one interval over the cap ends the release");
        assert.strictEqual(r.final.failedChecks, 1);
        assert.ok(r.final.message.startsWith("Rolling back podinfo.test error budget spent: Halt podinfo.test advancement error budget spent 0.012% > 0.001% of 30d"), r.final.message);
        assert.deepStrictEqual(r.routes.at(-1), { primary: 100, canary: 0 });
    });

    it("an unmeasured error ratio fails the budget check; it never passes by default", () => {
        const r = drive(stat({ errorBudget: budget, threshold: 1 }), { errorRatio: () => ({ ok: false, message: "no values found" }) });
        assert.strictEqual(r.final.phase, "Failed");
        assert.ok(r.final.message.includes("error budget (burn rate <= 10x of SLO 99.9%): no values found"), r.final.message);
    });

    it("the error budget guards a progressive ladder too, spending by each step's weight", () => {
        const r = drive(spec({ errorBudget: budget }), { errorRatio: () => ({ ok: true, errorRatio: 0.001 }) });
        assert.strictEqual(r.final.phase, "Promoting");
        // 1x at weights 10..50, one 30 s interval each: (10+20+30+40+50)% * 30 s / 30d
        assert.ok(Math.abs((r.final.budgetSpent ?? NaN) - 100 * 1.5 * 30 / (30 * DAY)) < 1e-12, String(r.final.budgetSpent));
    });

    it("a new release starts with nothing spent", () => {
        const prev = { ...initialize(target, "rev1", 0).state, budgetSpent: 0.5 };
        const started = startRelease(target, prev, "rev2", 0, false);
        assert.ok(started.ok);
        assert.strictEqual(started.step.state.budgetSpent, 0);
    });
});

describe("startRelease", () => {
    const failed = (): ReleaseState => ({ ...initialize(target, "rev1", 0).state, phase: "Failed", failedRevision: "rev2", message: "success rate 91.60% < 99%" });
    it("refuses a revision that already failed unless retry is set", () => {
        const r = startRelease(target, failed(), "rev2", 1, false);
        assert.ok(!r.ok);
        assert.match(r.message, /revision rev2 of podinfo.test already failed analysis \(success rate 91.60% < 99%\)/);
        assert.match(r.message, /set retry to true/);
    });
    it("retries a failed revision when asked", () => {
        const r = startRelease(target, failed(), "rev2", 1, true);
        assert.ok(r.ok);
        assert.strictEqual(r.step.state.phase, "Progressing");
        assert.strictEqual(r.step.state.failedChecks, 0);
    });
    it("starts a different revision after a failure", () => {
        assert.ok(startRelease(target, failed(), "rev3", 1, false).ok);
    });
});

describe("needs", () => {
    // the state right after startRelease (a literal: nothing of the engine runs while the file loads)
    const s0: ReleaseState = {
        phase: "Progressing", revision: "rev2", promotedRevision: "rev1", failedRevision: "", canaryWeight: 0, step: 0, failedChecks: 0, budgetSpent: 0,
        rolloutConfirmed: false, preRolloutDone: false, startedAt: 0, lastTransitionAt: 0, message: "New revision detected! Scaling up podinfo.test",
    };
    it("starts from the state startRelease returns", () => {
        const base = startRelease(target, initialize(target, "rev1", 0).state, "rev2", 0, false);
        assert.ok(base.ok);
        assert.deepStrictEqual(base.step.state, s0);
    });
    const cases: Array<[string, ReleaseState, AnalysisSpec, { canaryReady: boolean; hooks: HookType[]; metrics: boolean }]> = [
        ["before confirm-rollout", s0, spec(), { canaryReady: false, hooks: ["rollback", "confirm-rollout"], metrics: false }],
        ["before pre-rollout", { ...s0, rolloutConfirmed: true }, spec(), { canaryReady: true, hooks: ["rollback", "pre-rollout", "confirm-traffic-increase"], metrics: false }],
        ["mid ladder", { ...s0, rolloutConfirmed: true, preRolloutDone: true, step: 2, canaryWeight: 20 }, spec(), { canaryReady: true, hooks: ["rollback", "rollout", "confirm-traffic-increase"], metrics: true }],
        ["last rung", { ...s0, rolloutConfirmed: true, preRolloutDone: true, step: 5, canaryWeight: 50 }, spec(), { canaryReady: true, hooks: ["rollback", "rollout", "confirm-promotion"], metrics: true }],
        ["last iteration", { ...s0, rolloutConfirmed: true, preRolloutDone: true, step: 2 }, spec({ iterations: 3 }), { canaryReady: true, hooks: ["rollback", "rollout", "confirm-promotion"], metrics: true }],
        ["waiting promotion", { ...s0, phase: "WaitingPromotion", rolloutConfirmed: true, preRolloutDone: true }, spec(), { canaryReady: true, hooks: ["rollback", "confirm-promotion"], metrics: false }],
        ["failed", { ...s0, phase: "Failed" }, spec(), { canaryReady: false, hooks: [], metrics: false }],
    ];
    for (const [name, state, s, want] of cases) it(name, () => assert.deepStrictEqual(needs(state, s), want));
});

describe("terminal steps", () => {
    const running: ReleaseState = {
        phase: "Progressing", revision: "rev2", promotedRevision: "rev1", failedRevision: "", canaryWeight: 30, step: 3, failedChecks: 0,
        rolloutConfirmed: true, preRolloutDone: true, startedAt: 0, lastTransitionAt: 0, message: "Advance podinfo.test canary weight 30",
    };
    it("interrupt routes to the primary without marking the revision failed", () => {
        const s = interrupt(target, running, 5);
        assert.strictEqual(s.state.phase, "Failed");
        assert.strictEqual(s.state.failedRevision, "");
        assert.deepStrictEqual(s.actions.slice(0, 2), [{ kind: "setRoutes", routes: { primary: 100, canary: 0 } }, { kind: "scaleCanary", replicas: 0 }]);
    });
    it("finalize routes to primary, scales down, runs post-rollout, then reports", () => {
        const s = finalize(target, { ...running, phase: "Promoting" }, 9);
        assert.strictEqual(s.state.phase, "Succeeded");
        assert.strictEqual(s.state.promotedRevision, "rev2");
        assert.deepStrictEqual(s.actions.map((a) => a.kind), ["setRoutes", "scaleCanary", "runHooks", "event"]);
        assert.deepStrictEqual(s.actions[3], { kind: "event", type: "Normal", message: "Promotion completed! Scaling down podinfo.test" });
    });
    it("initialize sends all traffic to the primary and says so", () => {
        const s = initialize(target, "rev1", 0);
        assert.strictEqual(s.state.phase, "Initialized");
        assert.strictEqual(s.state.promotedRevision, "rev1");
        assert.deepStrictEqual(s.actions.at(-1), { kind: "event", type: "Normal", message: "Initialization done! podinfo.test" });
    });
    it("ticks on a terminal phase do nothing", () => {
        const s = tick(target, { ...running, phase: "Failed" }, spec(), { now: 1, hooks: {} });
        assert.deepStrictEqual(s.actions, []);
        assert.strictEqual(s.next, "done");
    });
});
