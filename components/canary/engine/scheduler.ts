// The thin scheduler: observes through the seams, ticks the pure engine, performs its actions.
import { EventSink, ReleaseEvent } from "../events/sink";
import { HookPayload, WebhookClient } from "../hooks/client";
import { KubeApi } from "../kube/api";
import { Router } from "../routers/router";
import { Action, CheckResult, GateResult, Observations, Step, finalize, interrupt, needs, tick } from "./advance";
import { ErrorRatio } from "./budget";
import { Clock } from "./clock";
import { AnalysisSpec, ErrorBudget, HookType, MetricCheck, ReleaseState, Target } from "./types";

/** Saves release state where the next `pulumi up` (or a human) can find it. */
export interface StatusStore {
    save(target: Target, state: ReleaseState): Promise<void>;
}

/** The StatusStore the provider needs: save (engine), load and remove (provider). */
export interface ReleaseStore extends StatusStore {
    load(target: Target): Promise<ReleaseState | undefined>;
    remove(target: Target): Promise<void>;
}

/** Everything one release run needs, instead of threading ten arguments. */
export interface ReleaseContext {
    readonly target: Target;
    readonly spec: AnalysisSpec;
    /** Replicas the canary is scaled to while under analysis. */
    readonly canaryReplicas: number;
    readonly router: Router;
    /** Evaluates one metric check (render, query, assess); never throws. */
    readonly checkMetric: (check: MetricCheck) => Promise<CheckResult>;
    /** Measures the canary's error ratio for the error budget; never throws. Without it a budget check fails. */
    readonly readErrorRatio?: (budget: ErrorBudget) => Promise<ErrorRatio>;
    readonly hooks: WebhookClient;
    readonly kube: KubeApi;
    readonly events: EventSink;
    readonly store?: StatusStore;
    readonly clock: Clock;
    /** Progress lines for the CLI (the provider's stdout). */
    readonly log: (line: string) => void;
    /** Aborted on SIGINT or the run's own deadline: traffic goes back to the primary. */
    readonly signal?: AbortSignal;
    /** How often readiness is polled while waiting ("soon" ticks). */
    readonly pollMs?: number;
}

/**
 * Runs a release from its first step until it is promoted (phase Promoting), rolled back
 * (Failed) or interrupted. Never leaves traffic on a canary it stops analysing.
 */
export async function runRelease(ctx: ReleaseContext, start: Step): Promise<ReleaseState> {
    let step = start;
    await perform(ctx, step.state, step.actions);
    try {
        while (step.next !== "done") {
            await wait(ctx, step.next === "soon" ? ctx.pollMs ?? 1000 : ctx.spec.intervalSeconds * 1000);
            if (ctx.signal?.aborted) throw new Interrupted();
            const obs = await observe(ctx, step.state);
            if (ctx.signal?.aborted) throw new Interrupted();
            step = tick(ctx.target, step.state, ctx.spec, obs);
            await perform(ctx, step.state, step.actions);
        }
        return step.state;
    } catch (err) {
        // interrupted or a seam failed mid-run: converge to all-primary before reporting
        const stopped = interrupt(ctx.target, step.state, ctx.clock.now());
        await perform(ctx, stopped.state, stopped.actions).catch((e) => ctx.log(`cleanup after interruption failed: ${errorText(e)}`));
        if (err instanceof Interrupted) return stopped.state;
        throw err;
    }
}

/** Runs finalization once the primary is ready on the promoted template. */
export async function runFinalize(ctx: ReleaseContext, state: ReleaseState): Promise<ReleaseState> {
    const step = finalize(ctx.target, state, ctx.clock.now());
    await perform(ctx, step.state, step.actions);
    return step.state;
}

class Interrupted extends Error {}

async function wait(ctx: ReleaseContext, ms: number): Promise<void> {
    if (ctx.signal === undefined) return ctx.clock.sleep(ms);
    const signal = ctx.signal;
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener("abort", onAbort, { once: true });
        ctx.clock.sleep(ms).then(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
        }, resolve);
    });
}

async function observe(ctx: ReleaseContext, state: ReleaseState): Promise<Observations> {
    const need = needs(state, ctx.spec);
    // readiness first: while the canary is not ready only a manual rollback can change anything,
    // so acceptance tests, gates and load tests are not called for nothing
    const canaryReady = need.canaryReady ? await canaryReadiness(ctx) : undefined;
    const hookTypes = canaryReady?.ready === false ? need.hooks.filter((t) => t === "rollback") : need.hooks;
    const hooks: Partial<Record<HookType, GateResult>> = {};
    for (const type of hookTypes) {
        const result = await runHooks(ctx, state, type);
        if (result !== undefined) hooks[type] = result;
    }
    // metrics only once the canary serves: a not-ready canary is handled by the deadline check
    const analyse = need.metrics && canaryReady?.ready === true;
    const metrics = analyse ? await Promise.all(ctx.spec.metrics.map((m) => ctx.checkMetric(m))) : undefined;
    const budget = ctx.spec.errorBudget;
    const errorRatio = analyse && budget !== undefined
        ? await (ctx.readErrorRatio?.(budget) ?? Promise.resolve<ErrorRatio>({ ok: false, message: "no error-ratio reader in this release's context" }))
        : undefined;
    return { now: ctx.clock.now(), canaryReady, hooks, metrics, ...(errorRatio === undefined ? {} : { errorRatio }) };
}

async function canaryReadiness(ctx: ReleaseContext): Promise<{ ready: boolean; message: string }> {
    const { namespace, name } = ctx.target;
    const d = await ctx.kube.getDeployment(namespace, `${name}-canary`);
    if (!d.exists) return { ready: false, message: `deployment ${name}-canary.${namespace} not found` };
    if (!d.observed) return { ready: false, message: `waiting for rollout to be observed` };
    if (d.replicas === 0) return { ready: false, message: `scaled to zero` };
    if (d.updatedReplicas < d.replicas || d.readyReplicas < d.replicas) {
        return { ready: false, message: `waiting for rollout to finish: ${d.readyReplicas} of ${d.replicas} updated replicas are available` };
    }
    return { ready: true, message: "ready" };
}

/** Runs every hook of one type; undefined when none is configured. */
async function runHooks(ctx: ReleaseContext, state: ReleaseState, type: HookType, event?: ReleaseEvent): Promise<GateResult | undefined> {
    const hooks = ctx.spec.webhooks.filter((h) => h.type === type);
    if (hooks.length === 0) return undefined;
    const failures: string[] = [];
    for (const hook of hooks) {
        const payload: HookPayload = {
            name: ctx.target.name,
            namespace: ctx.target.namespace,
            phase: state.phase,
            checksum: state.revision,
            metadata: hook.metadata,
            ...(event === undefined ? {} : { eventMessage: event.message, eventType: event.type }),
        };
        const r = await ctx.hooks.call(hook, payload);
        if (!r.ok) failures.push(`${hook.name}: ${r.message}`);
    }
    // a rollback hook "passes" when it asks for a rollback; report it that way
    if (failures.length === 0) return { ok: true, message: hooks.map((h) => h.name).join(", ") };
    return { ok: false, message: failures.join("; ") };
}

async function perform(ctx: ReleaseContext, state: ReleaseState, actions: readonly Action[]): Promise<void> {
    const { target } = ctx;
    for (const a of actions) {
        switch (a.kind) {
            case "setRoutes":
                await ctx.router.setRoutes(target, a.routes);
                break;
            case "scaleCanary":
                await ctx.kube.scaleDeployment(target.namespace, `${target.name}-canary`, a.replicas === "up" ? ctx.canaryReplicas : 0);
                break;
            case "event": {
                const ev: ReleaseEvent = { type: a.type, reason: "Synced", message: a.message };
                ctx.log(`${a.type === "Warning" ? "!" : "-"} ${a.message}`);
                await ctx.events.emit(target, ev);
                await runHooks(ctx, state, "event", ev);
                break;
            }
            case "runHooks": {
                const r = await runHooks(ctx, state, a.hookType);
                if (r !== undefined && !r.ok) ctx.log(`! ${a.hookType} hooks failed: ${r.message}`);
                break;
            }
            case "promote":
                // the caller hands the template to the primary; nothing to do against the cluster
                break;
            default: {
                const never: never = a;
                throw new Error(`unknown action ${JSON.stringify(never)}`);
            }
        }
    }
    if (ctx.store !== undefined) await ctx.store.save(target, state);
}

function errorText(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
}
