// The pure release state machine: (state, spec, observations) -> (state, actions).
// No I/O, no clock reads, no Pulumi: the scheduler observes, calls tick, performs the actions.
import { ErrorRatio, assessBudget } from "./budget";
import { totalSteps, weightLadder } from "./ladder";
import { msg } from "./messages";
import { AnalysisSpec, HookType, ReleaseState, Routes, Target } from "./types";

/** Aggregated result of every hook of one type (all must pass). */
export interface GateResult {
    readonly ok: boolean;
    readonly message: string;
}

export interface CheckResult {
    readonly pass: boolean;
    readonly message: string;
}

/** What the scheduler must observe before the next tick (a function of state only). */
export interface Needs {
    readonly canaryReady: boolean;
    readonly hooks: readonly HookType[];
    readonly metrics: boolean;
}

export interface Observations {
    readonly now: number;
    readonly canaryReady?: { readonly ready: boolean; readonly message: string };
    /** A type with no configured hooks is absent and counts as passed. */
    readonly hooks: Partial<Record<HookType, GateResult>>;
    readonly metrics?: readonly CheckResult[];
    /** The canary's error ratio, observed with the metrics when an error budget is set. */
    readonly errorRatio?: ErrorRatio;
}

export type Action =
    | { readonly kind: "scaleCanary"; readonly replicas: "up" | 0 }
    | { readonly kind: "setRoutes"; readonly routes: Routes }
    | { readonly kind: "event"; readonly type: "Normal" | "Warning"; readonly message: string }
    /** Fire-and-forget hooks (their failure is reported, not gating). */
    | { readonly kind: "runHooks"; readonly hookType: "post-rollout" }
    /** Hand the analysed template to the primary. */
    | { readonly kind: "promote" };

export interface Step {
    readonly state: ReleaseState;
    readonly actions: readonly Action[];
    /** "soon": poll again shortly (waiting on readiness); "interval": next analysis tick. */
    readonly next: "soon" | "interval" | "done";
}

const ALL_TO_PRIMARY: Routes = { primary: 100, canary: 0 };

export function idleState(): ReleaseState {
    return {
        phase: "Initializing", revision: "", promotedRevision: "", failedRevision: "",
        canaryWeight: 0, step: 0, failedChecks: 0, rolloutConfirmed: false, preRolloutDone: false,
        startedAt: 0, lastTransitionAt: 0, message: "",
    };
}

/** First deployment: the primary takes the template without analysis (Flagger's initialization). */
export function initialize(target: Target, revision: string, now: number): Step {
    return {
        state: { ...idleState(), phase: "Initialized", revision, promotedRevision: revision, startedAt: now, lastTransitionAt: now, message: msg.initialized(target) },
        actions: [{ kind: "setRoutes", routes: ALL_TO_PRIMARY }, { kind: "scaleCanary", replicas: 0 }, { kind: "event", type: "Normal", message: msg.initialized(target) }],
        next: "done",
    };
}

export type StartResult = { readonly ok: true; readonly step: Step } | { readonly ok: false; readonly message: string };

/**
 * A new revision: refuse a revision that already failed unless retry is asked for
 * (invariant 4), otherwise reset the analysis counters.
 */
export function startRelease(target: Target, prev: ReleaseState, revision: string, now: number, retry: boolean): StartResult {
    if (revision === prev.failedRevision && !retry) {
        return {
            ok: false,
            message: `revision ${revision} of ${target.name}.${target.namespace} already failed analysis (${prev.message}); ` +
                `not retrying it: set retry to true (config canary:retry) or change the pod template`,
        };
    }
    const state: ReleaseState = {
        ...prev, phase: "Progressing", revision, canaryWeight: 0, step: 0, failedChecks: 0, budgetSpent: 0,
        rolloutConfirmed: false, preRolloutDone: false, startedAt: now, lastTransitionAt: now,
        message: msg.newRevision(target),
    };
    return { ok: true, step: { state, actions: [{ kind: "event", type: "Normal", message: msg.newRevision(target) }], next: "soon" } };
}

export function needs(state: ReleaseState, spec: AnalysisSpec): Needs {
    if (state.phase !== "Progressing" && state.phase !== "WaitingPromotion") return { canaryReady: false, hooks: [], metrics: false };
    if (!state.rolloutConfirmed) return { canaryReady: false, hooks: ["rollback", "confirm-rollout"], metrics: false };
    if (spec.skipAnalysis) return { canaryReady: true, hooks: ["rollback"], metrics: false };
    if (state.phase === "WaitingPromotion") return { canaryReady: true, hooks: ["rollback", "confirm-promotion"], metrics: false };
    if (!state.preRolloutDone) return { canaryReady: true, hooks: ["rollback", "pre-rollout", "confirm-traffic-increase"], metrics: false };
    // pre-rollout passed but the first weight is still waiting on its gate: nothing to analyse yet
    if (spec.iterations === 0 && state.step === 0) return { canaryReady: true, hooks: ["rollback", "confirm-traffic-increase"], metrics: false };
    const gate: HookType = isLastStep(state, spec) ? "confirm-promotion" : "confirm-traffic-increase";
    return { canaryReady: true, hooks: ["rollback", "rollout", gate], metrics: true };
}

/** The analysis now running decides promotion (last rung of the ladder, or last iteration). */
function isLastStep(state: ReleaseState, spec: AnalysisSpec): boolean {
    if (spec.iterations > 0) return state.step + 1 >= spec.iterations;
    if (spec.static !== undefined) return state.step >= totalSteps(spec);
    return state.step >= weightLadder(spec).length;
}

const passed = (g: GateResult | undefined) => g === undefined || g.ok;

/** One scheduler tick. Each check is a short early return, in Flagger's order. */
export function tick(target: Target, state: ReleaseState, spec: AnalysisSpec, obs: Observations): Step {
    const { now } = obs;
    // terminal and idle phases do not advance
    if (state.phase !== "Progressing" && state.phase !== "WaitingPromotion") return { state, actions: [], next: "done" };

    // a rollback hook that answers OK is a manual rollback
    const rb = obs.hooks.rollback;
    if (rb !== undefined && rb.ok) return rollback(target, state, now, msg.manualRollback(target));

    // failed checks counted over the whole run (reached here when the threshold was lowered mid-run)
    if (state.failedChecks >= spec.threshold) return rollback(target, state, now, `${msg.thresholdReached(target, state.failedChecks)}: ${state.message}`);

    // confirm-rollout gates scaling up the canary
    if (!state.rolloutConfirmed) {
        const gate = obs.hooks["confirm-rollout"];
        if (!passed(gate)) return waitOrFail(target, state, spec, now, msg.waitingApproval(target, gate?.message ?? ""), "confirm-rollout");
        return {
            state: { ...state, rolloutConfirmed: true, lastTransitionAt: now },
            actions: [{ kind: "scaleCanary", replicas: "up" }],
            next: "soon",
        };
    }

    // a canary that never becomes ready is rolled back after progressDeadlineSeconds
    const ready = obs.canaryReady;
    if (ready === undefined || !ready.ready) {
        const why = ready?.message ?? "readiness unknown";
        if (now - state.lastTransitionAt > spec.progressDeadlineSeconds * 1000) {
            return rollback(target, state, now, `${msg.deadlineExceeded(target, spec.progressDeadlineSeconds)} (${why})`);
        }
        return { state: { ...state, message: msg.notReady(target, why) }, actions: [], next: "soon" };
    }

    // skipAnalysis promotes without checks
    if (spec.skipAnalysis) return promote(target, state, now, [{ kind: "event", type: "Normal", message: msg.skipAnalysis(target) }]);

    // waiting on confirm-promotion
    if (state.phase === "WaitingPromotion") return promotionGate(target, state, spec, obs);

    // pre-rollout hooks run once, before any traffic shifts; failures count toward the threshold
    if (!state.preRolloutDone) {
        const pre = obs.hooks["pre-rollout"];
        if (!passed(pre)) return failedCheck(target, state, spec, now, [msg.preRolloutFailed(target, pre?.message ?? "")]);
        const started: ReleaseState = { ...state, preRolloutDone: true, lastTransitionAt: now };
        const startEvent: Action = { kind: "event", type: "Normal", message: msg.startingAnalysis(target) };
        if (spec.iterations > 0) {
            // blue/green keeps users on the primary; A/B sends matching requests to the canary
            const routes: Routes = spec.match.length > 0 ? { primary: 100, canary: 0, match: true } : ALL_TO_PRIMARY;
            return { state: { ...started, message: msg.startingAnalysis(target) }, actions: [startEvent, { kind: "setRoutes", routes }], next: "interval" };
        }
        return increaseWeight(target, started, spec, obs, [startEvent]);
    }

    // the first weight waits on confirm-traffic-increase; a canary with no traffic is not analysed
    if (spec.iterations === 0 && state.step === 0) return increaseWeight(target, state, spec, obs, []);

    // analysis of the current step: rollout hooks (load), metrics, the error budget
    const failures: string[] = [];
    const rollout = obs.hooks.rollout;
    if (!passed(rollout)) failures.push(msg.rolloutHookFailed(target, rollout?.message ?? ""));
    for (const m of obs.metrics ?? []) if (!m.pass) failures.push(m.message);
    let analysed = state;
    if (spec.errorBudget !== undefined) {
        const reading = obs.errorRatio ?? { ok: false, message: "the canary's error ratio was not measured" };
        const b = assessBudget(target, spec.errorBudget, reading, state.canaryWeight, spec.intervalSeconds, state.budgetSpent ?? 0);
        analysed = { ...state, budgetSpent: b.spent };
        if (!b.pass) failures.push(b.message);
        // spent budget only grows: once over its cap, waiting for the threshold would spend more
        if (b.exhausted) return failedCheck(target, analysed, spec, now, failures, msg.budgetExhausted(target));
    }
    if (failures.length > 0) return failedCheck(target, analysed, spec, now, failures);

    if (spec.iterations > 0) {
        const iteration = analysed.step + 1;
        const advanced: ReleaseState = { ...analysed, step: iteration, lastTransitionAt: now, message: msg.advanceIteration(target, iteration, spec.iterations) };
        const ev: Action = { kind: "event", type: "Normal", message: advanced.message };
        if (iteration >= spec.iterations) return promotionGate(target, advanced, spec, obs, [ev]);
        return { state: advanced, actions: [ev], next: "interval" };
    }
    if (spec.static !== undefined) {
        // the weight holds; each passed interval soaks, the last one decides promotion
        if (isLastStep(analysed, spec)) return promotionGate(target, analysed, spec, obs);
        const soaked = Math.min(analysed.step * spec.intervalSeconds, spec.static.soakSeconds);
        const advanced: ReleaseState = { ...analysed, step: analysed.step + 1, lastTransitionAt: now, message: msg.soaking(target, spec.static.weight, soaked, spec.static.soakSeconds) };
        return { state: advanced, actions: [{ kind: "event", type: "Normal", message: advanced.message }], next: "interval" };
    }
    if (analysed.step >= weightLadder(spec).length) return promotionGate(target, analysed, spec, obs);
    return increaseWeight(target, analysed, spec, obs, []);
}

function increaseWeight(target: Target, state: ReleaseState, spec: AnalysisSpec, obs: Observations, before: Action[]): Step {
    const gate = obs.hooks["confirm-traffic-increase"];
    if (!passed(gate)) {
        const w = waitOrFail(target, state, spec, obs.now, msg.waitingApproval(target, gate?.message ?? ""), "confirm-traffic-increase");
        return { ...w, actions: [...before, ...w.actions] };
    }
    const ladder = weightLadder(spec);
    const weight = ladder[state.step];
    const next: ReleaseState = { ...state, step: state.step + 1, canaryWeight: weight, lastTransitionAt: obs.now, message: msg.advanceWeight(target, weight) };
    return {
        state: next,
        actions: [...before, { kind: "setRoutes", routes: { primary: 100 - weight, canary: weight } }, { kind: "event", type: "Normal", message: next.message }],
        next: "interval",
    };
}

function promotionGate(target: Target, state: ReleaseState, spec: AnalysisSpec, obs: Observations, before: Action[] = []): Step {
    const gate = obs.hooks["confirm-promotion"];
    if (!passed(gate)) {
        const waiting: ReleaseState = state.phase === "WaitingPromotion" ? state : { ...state, phase: "WaitingPromotion", lastTransitionAt: obs.now };
        const w = waitOrFail(target, waiting, spec, obs.now, msg.waitingApproval(target, gate?.message ?? ""), "confirm-promotion");
        return { ...w, actions: [...before, ...w.actions] };
    }
    return promote(target, state, obs.now, before);
}

function promote(target: Target, state: ReleaseState, now: number, before: Action[]): Step {
    return {
        state: { ...state, phase: "Promoting", lastTransitionAt: now, message: msg.copying(target) },
        actions: [...before, { kind: "event", type: "Normal", message: msg.copying(target) }, { kind: "promote" }],
        next: "done",
    };
}

/** Gates wait, but not forever: an IaC run must end, so a gate is bounded by the progress deadline. */
function waitOrFail(target: Target, state: ReleaseState, spec: AnalysisSpec, now: number, message: string, gate: HookType): Step {
    if (now - state.lastTransitionAt > spec.progressDeadlineSeconds * 1000) {
        return rollback(target, state, now, `${gate} hook did not approve within progressDeadlineSeconds ${spec.progressDeadlineSeconds}: ${message}`);
    }
    const repeated = state.message === message;
    return {
        state: { ...state, message },
        actions: repeated ? [] : [{ kind: "event", type: "Normal", message }],
        next: "interval",
    };
}

/**
 * One failed check: its failures as warnings, rolled back once `threshold` are reached, or at
 * once with `rollingBack` (why the threshold does not apply, e.g. an exhausted error budget).
 */
function failedCheck(target: Target, state: ReleaseState, spec: AnalysisSpec, now: number, failures: string[], rollingBack?: string): Step {
    const failedChecks = state.failedChecks + 1;
    const message = failures.join("; ");
    const next: ReleaseState = { ...state, failedChecks, message };
    const events: Action[] = failures.map((m) => ({ kind: "event", type: "Warning", message: m }));
    const reason = rollingBack ?? (failedChecks >= spec.threshold ? msg.thresholdReached(target, failedChecks) : undefined);
    if (reason !== undefined) {
        // the state (and so the error of `pulumi up`) carries the failures; the event does not repeat them
        const rb = rollback(target, next, now, `${reason}: ${message}`, reason);
        return { ...rb, actions: [...events, ...rb.actions] };
    }
    return { state: next, actions: events, next: "interval" };
}

/**
 * All traffic back to the primary, canary to zero, the revision recorded as failed; then, as
 * Flagger does after a rollback, the post-rollout hooks (phase Failed; their failure is
 * reported and changes nothing).
 */
export function rollback(target: Target, state: ReleaseState, now: number, reason: string, eventMessage: string = reason): Step {
    return {
        state: { ...state, phase: "Failed", failedRevision: state.revision, canaryWeight: 0, lastTransitionAt: now, message: reason },
        actions: [
            { kind: "event", type: "Warning", message: eventMessage },
            { kind: "setRoutes", routes: ALL_TO_PRIMARY },
            { kind: "scaleCanary", replicas: 0 },
            { kind: "event", type: "Warning", message: msg.canaryFailed(target) },
            { kind: "runHooks", hookType: "post-rollout" },
        ],
        next: "done",
    };
}

/**
 * An interrupted release (SIGINT, deadline of the run) routes everything to the primary but
 * does not mark the revision failed: nobody judged it, so the next `pulumi up` analyses it again.
 */
export function interrupt(target: Target, state: ReleaseState, now: number): Step {
    return {
        state: { ...state, phase: "Failed", canaryWeight: 0, lastTransitionAt: now, message: msg.interrupted(target) },
        actions: [
            { kind: "setRoutes", routes: ALL_TO_PRIMARY },
            { kind: "scaleCanary", replicas: 0 },
            { kind: "event", type: "Warning", message: msg.interrupted(target) },
        ],
        next: "done",
    };
}

/** After the primary runs the promoted template: routes back to primary, canary to zero, post-rollout. */
export function finalize(target: Target, state: ReleaseState, now: number): Step {
    return {
        state: { ...state, phase: "Succeeded", promotedRevision: state.revision, canaryWeight: 0, step: 0, lastTransitionAt: now, message: msg.promotionCompleted(target) },
        actions: [
            { kind: "setRoutes", routes: ALL_TO_PRIMARY },
            { kind: "scaleCanary", replicas: 0 },
            { kind: "runHooks", hookType: "post-rollout" },
            { kind: "event", type: "Normal", message: msg.promotionCompleted(target) },
        ],
        next: "done",
    };
}
