// The CanaryRelease provider's methods as plain functions over plain values. The dynamic
// provider object (resource.ts) requires this module inside each method; tests call these
// functions directly with fake seams (seams.ts `useSeams`).
//
// Lifecycle (DESIGN.md "The release graph"):
//   check   validate every input, pure (runs during preview); a creation warns that it is a
//           first deployment (checkReleaseLive)
//   diff    a release only when the revision changes; analysis-only changes are no change,
//           unless the cluster holds an unfinished release (diffReleaseLive, one read). A new
//           routing (provider, linkerdRoute, ingressName) is an update of the same app; a new
//           target (app name or namespace) is a new app: replaced, with a warning
//   create  initialize: routes all to primary, canary to 0, "Initialization done!"
//   update  a new routing first moves the traffic (moveRouting); then startRelease +
//           runRelease; a promotion routes all to the primary and scales the canary down
//           before it returns (handOverToPrimary); a failed analysis throws after recording
//           the failure in the cluster, its error carrying the old outputs plus the failed
//           revision, which Pulumi records (so the primary keeps its template, and the
//           failure is in both)
//   delete  remove the routing objects and the status ConfigMap
//   read    the real weights from the routing objects
import { idleState, initialize, startRelease, Step } from "../engine/advance";
import { ReleaseContext, runRelease } from "../engine/scheduler";
import { ReleaseState, Routes, Target } from "../engine/types";
import { describeBudget } from "../engine/budget";
import { totalSteps } from "../engine/ladder";
import { msg } from "../engine/messages";
import { warn } from "./engineLog";
import { engineWatch } from "./engineWatch";
import { errorRatioReader, metricChecker, Seams, seamsFor } from "./seams";
import { ReleaseInputs, ReleaseOutputs } from "./types";
import { Problem, UNKNOWN, validateReleaseInputs } from "./validate";

export interface CheckFailure {
    readonly property: string;
    readonly reason: string;
}

const LINKERD_PORT_DEFAULT = 9898;

// in the provider process: exit when the CLI is gone, even between releases (engineWatch.ts)
engineWatch();

export function checkRelease(_olds: unknown, news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
    const problems: Problem[] = validateReleaseInputs(news);
    return { inputs: news, failures: problems.map((p) => ({ property: p.property, reason: p.reason })) };
}

/**
 * checkRelease, plus a warning when the release is new to the stack (no recorded inputs): a
 * first deployment, whose primary takes the template without analysis. A new `canary:appName`
 * is such a creation (the app's resources are named after it), so the preview says it here;
 * a new namespace is a change of the same resource, which diffReleaseLive warns about.
 */
export async function checkReleaseLive(olds: Record<string, unknown> | undefined, news: Record<string, unknown>): Promise<{ inputs: Record<string, unknown>; failures: CheckFailure[] }> {
    const checked = checkRelease(olds, news);
    const target = news.target as Partial<Target> | undefined;
    if (checked.failures.length === 0 && Object.keys(olds ?? {}).length === 0 && target !== undefined) await warn(firstDeploymentWarning(target));
    return checked;
}

/** Properties whose change starts a release; every other input is stored without one. */
const RELEASE_PROPERTIES = ["revision"] as const;
/**
 * Properties whose change moves the app's traffic to other routing objects: an update of the
 * same app (moveRouting), never a replacement, which would initialize again and hand the new
 * template to the primary without analysis.
 */
const ROUTING_PROPERTIES = ["routing", "linkerdRoute", "ingressName"] as const;
/** A new app name or namespace is a new app: its objects have other names, it starts anew. */
const REPLACE_PROPERTIES = ["target"] as const;

type Diff = { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean };

export function diffRelease(_id: string, olds: Partial<ReleaseOutputs>, news: Partial<Record<keyof ReleaseInputs, unknown>>): Diff {
    const same = (k: string) => stable((olds as Record<string, unknown>)[k]) === stable((news as Record<string, unknown>)[k]);
    const replaces = REPLACE_PROPERTIES.filter((k) => !same(k));
    const moved = ROUTING_PROPERTIES.filter((k) => !same(k));
    const released = RELEASE_PROPERTIES.filter((k) => !same(k) || (news as Record<string, unknown>)[k] === UNKNOWN);
    // the new app's objects have other names: it is created before the old one is deleted
    return { changes: replaces.length > 0 || moved.length > 0 || released.length > 0, replaces: [...replaces], deleteBeforeReplace: false };
}

/**
 * diffRelease, plus one read of the release's status in the cluster when the inputs alone show
 * no change: a run killed with its provider (the whole machine) can leave a canary weighted
 * while the program is then set back to the revision Pulumi last recorded. Without this the
 * release would see nothing to do and leave that traffic on the canary for good.
 */
export async function diffReleaseLive(id: string, olds: ReleaseOutputs, news: Partial<Record<keyof ReleaseInputs, unknown>>): Promise<Diff> {
    const d = diffRelease(id, olds, news);
    if (d.replaces.includes("target")) await warn(newAppWarning(olds.target, news.target));
    if (d.changes) return d;
    const s = seams(olds);
    let saved: ReleaseState | undefined;
    try {
        saved = await s.store.load(olds.target);
    } catch (err) {
        // a preview without the cluster still works; the update reads the status again
        s.log(`[${olds.target.name}.${olds.target.namespace}] could not read the release status (${(err as Error).message}); assuming no unfinished release`);
        return d;
    }
    return unfinished(saved) ? { ...d, changes: true } : d;
}

/** What `pulumi preview` and `pulumi up` say when the app's name or namespace changes. */
function newAppWarning(from: Target, to: unknown): string {
    const t = to as Partial<Target> | undefined;
    const shown = t?.name === undefined || t.namespace === undefined || String(t.name) === UNKNOWN ? "a name or namespace known after this up" : `${t.name}.${t.namespace}`;
    return `${from.name}.${from.namespace} becomes ${shown}: that is a new app, not a release. Its Deployments are created ` +
        `anew and its primary takes the template without analysis (a first deployment); ${from.name}.${from.namespace}'s ` +
        `Deployments, routing objects and release status are deleted. To release a new template, keep the app's name and namespace`;
}

/** What `pulumi preview` and `pulumi up` say when a release is created. */
function firstDeploymentWarning(t: Partial<Target>): string {
    const app = t.name === undefined || t.namespace === undefined || String(t.name) === UNKNOWN ? "an app whose name is known after this up" : `${t.name}.${t.namespace}`;
    return `${app} is a new app in this stack: its primary takes the template without analysis (a first deployment, ` +
        `"Initialization done!"). If it is an app renamed by canary:appName, the old name's Deployments, routing objects ` +
        `and release status are deleted by this up: that is a new app, not a release`;
}

/**
 * A new routing provider (or linkerdRoute, ingressName) for the same app. The traffic moves
 * without a moment on an unwatched canary or on no backend: the new routing objects are created
 * first with all traffic on the primary, then the old ones send all traffic to the primary too
 * and are deleted. The release (if the revision changed too) then runs on the new objects.
 * Returns the old outputs with the new routing: what a failed release records as its state.
 */
async function moveRouting(s: Seams, ctx: ReleaseContext, olds: ReleaseOutputs, news: ReleaseInputs): Promise<ReleaseOutputs> {
    const moved = ROUTING_PROPERTIES.filter((k) => stable(olds[k]) !== stable(news[k]));
    if (moved.length === 0) return olds;
    const describe = (r: ReleaseOutputs | ReleaseInputs) => r.routing + (r.routing === "linkerd" ? ` (${r.linkerdRoute ?? "httproute"})` : r.routing === "nginx" ? ` (Ingress ${r.ingressName ?? ""})` : "");
    const what = `from ${describe(olds)} to ${describe(news)}`;
    ctx.log(`moving the routing ${what}: new routing objects first, all traffic on ${news.target.name}-primary`);
    await s.router.reconcile(news.target, []);
    await s.router.setRoutes(news.target, { primary: 100, canary: 0 });
    const old = seams(olds).router;
    await old.setRoutes(olds.target, { primary: 100, canary: 0 });
    await old.finalize(olds.target);
    await s.events.emit(news.target, { type: "Normal", reason: "Synced", message: `Routing of ${news.target.name}.${news.target.namespace} moved ${what}, all traffic on primary` });
    // no undefined values: Pulumi cannot encode them in a failed update's properties
    const routing: ReleaseOutputs = { ...olds, routing: news.routing, linkerdRoute: news.linkerdRoute, ingressName: news.ingressName };
    for (const k of ["linkerdRoute", "ingressName"] as const) if (routing[k] === undefined) delete routing[k];
    return routing;
}

/** A release a killed run left behind: traffic may still be on the canary. */
function unfinished(state: ReleaseState | undefined): state is ReleaseState {
    return state !== undefined && (state.phase === "Progressing" || state.phase === "WaitingPromotion" || state.canaryWeight > 0);
}

function stable(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
    if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${k}:${stable(o[k])}`).join(",")}}`;
    }
    return JSON.stringify(v) ?? "undefined";
}

export function releaseId(target: Target): string {
    return `${target.namespace}/${target.name}`;
}

function seams(inputs: ReleaseInputs): Seams {
    return seamsFor({
        target: inputs.target, routing: inputs.routing, linkerdRoute: inputs.linkerdRoute, ingressName: inputs.ingressName,
        metricsServer: inputs.metricsServer, kubeconfig: inputs.kubeconfig, kubeContext: inputs.kubeContext, port: portOf(inputs),
        ...(inputs.alerts === undefined ? {} : { alerts: inputs.alerts, analysis: inputs.analysis }),
        ...(inputs.pushgateway === undefined ? {} : { pushgateway: inputs.pushgateway }),
    });
}

/** The first container port of the template (HTTPRoute backends need one). */
function portOf(inputs: ReleaseInputs): number {
    const spec = (inputs.template as { spec?: { containers?: { ports?: { containerPort?: number }[] }[] } }).spec;
    return spec?.containers?.[0]?.ports?.[0]?.containerPort ?? LINKERD_PORT_DEFAULT;
}

/** Upper bound of one run: customTimeouts are not enforced for dynamic providers. */
export function runDeadlineSeconds(inputs: ReleaseInputs): number {
    const a = inputs.analysis;
    // every step may fail up to threshold times, every gate may wait up to the progress deadline
    return (totalSteps(a) + a.threshold + 2) * a.intervalSeconds + 3 * a.progressDeadlineSeconds;
}

function context(inputs: ReleaseInputs, s: Seams, signal?: AbortSignal): ReleaseContext {
    const prefix = `[${inputs.target.name}.${inputs.target.namespace}]`;
    return {
        target: inputs.target,
        spec: inputs.analysis,
        canaryReplicas: inputs.canaryReplicas,
        router: s.router,
        checkMetric: metricChecker(s, inputs.routing, inputs.target, inputs.ingressName),
        readErrorRatio: errorRatioReader(s, inputs.routing, inputs.target, inputs.ingressName),
        hooks: s.hooks,
        kube: s.kube,
        events: s.events,
        store: s.store,
        clock: s.clock,
        log: (line) => s.log(`${prefix} ${line}`),
        signal,
        pollMs: s.pollMs ?? 2000,
    };
}

/** What the primary runs: a template and the tracked data that passed analysis with it. */
type Promoted = Pick<ReleaseOutputs, "promotedTemplate" | "promotedConfigMaps" | "promotedSecrets">;

/** The inputs promoted as they are (initialization, a passed analysis). */
const promotedFrom = (inputs: ReleaseInputs): Promoted => ({
    promotedTemplate: inputs.template, promotedConfigMaps: inputs.configMaps ?? {}, promotedSecrets: inputs.secrets ?? {},
});

/** What the primary already runs (a state from before config tracking has no tracked data). */
const promotedBefore = (olds: ReleaseOutputs): Promoted => ({
    promotedTemplate: olds.promotedTemplate, promotedConfigMaps: olds.promotedConfigMaps ?? {}, promotedSecrets: olds.promotedSecrets ?? {},
});

function outputs(inputs: ReleaseInputs, state: ReleaseState, promoted: Promoted, routes: Routes): ReleaseOutputs {
    return {
        ...inputs,
        phase: state.phase,
        promotedRevision: state.phase === "Promoting" ? state.revision : state.promotedRevision,
        ...promoted,
        failedRevision: state.failedRevision,
        message: state.message,
        primaryWeight: routes.primary,
        canaryWeight: routes.canary,
        state,
    };
}

export async function createRelease(inputs: ReleaseInputs): Promise<{ id: string; outs: ReleaseOutputs }> {
    const s = seams(inputs);
    const ctx = context(inputs, s);
    ctx.log(`initializing: routing all traffic to ${inputs.target.name}-primary (no analysis on the first deployment)`);
    await s.router.reconcile(inputs.target, inputs.analysis.match);
    try {
        const state = await runRelease(ctx, initialize(inputs.target, inputs.revision, s.clock.now()));
        return { id: releaseId(inputs.target), outs: outputs(inputs, state, promotedFrom(inputs), { primary: 100, canary: 0 }) };
    } finally {
        await s.events.flush?.();
    }
}

/**
 * SIGINT (Ctrl-C in the CLI), SIGTERM, or the engine going away (engineWatch.ts) aborts the
 * running release: traffic goes back to the primary and the canary is scaled down.
 */
function onInterrupt(controller: AbortController, log: (line: string) => void): () => void {
    const handler = (signal: NodeJS.Signals) => {
        log(`interrupted (${signal}): routing all traffic to the primary and scaling the canary down`);
        controller.abort(new Error("interrupted"));
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    const unwatch = engineWatch()?.watch(() => {
        log("the Pulumi CLI is gone (its pipe to this provider closed): routing all traffic to the primary and scaling the canary down");
        controller.abort(new Error("engine gone"));
    });
    return () => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
        unwatch?.(); // exits the process when the engine is gone
    };
}

export async function updateRelease(id: string, recorded: ReleaseOutputs, news: ReleaseInputs): Promise<{ outs: ReleaseOutputs }> {
    const s = seams(news);
    try {
        return await update(s, id, recorded, news);
    } finally {
        await s.events.flush?.(); // alerts in flight, before the engine may stop this process
    }
}

async function update(s: Seams, _id: string, recorded: ReleaseOutputs, news: ReleaseInputs): Promise<{ outs: ReleaseOutputs }> {
    let olds = recorded;
    const ctx0 = context(news, s);
    // no new revision (only settings changed, e.g. a replace-free property): store the inputs,
    // after abandoning a release of another revision that a killed run left in the cluster
    if (olds.revision === news.revision) {
        olds = await moveRouting(s, ctx0, olds, news);
        const saved = await s.store.load(news.target);
        if (unfinished(saved)) return { outs: await abandon(s, ctx0, olds, news, saved) };
        const routes = await s.router.getRoutes(news.target);
        return { outs: outputs(news, olds.state ?? idleState(), promotedBefore(olds), routes) };
    }
    // the cluster's record wins (written at every step); without it, Pulumi state's, which a
    // failed release updates too (failedRelease)
    const saved = await s.store.load(news.target);
    const prev: ReleaseState = saved ?? olds.state ?? { ...idleState(), phase: "Initialized", revision: olds.revision, promotedRevision: olds.promotedRevision };

    // refuse a revision that already failed before anything is touched (invariant 4)
    const started = startRelease(news.target, prev, news.revision, s.clock.now(), news.retry);
    if (!started.ok) throw new Error(started.message);
    await refuseStaleCanary(s, news);
    olds = await moveRouting(s, ctx0, olds, news);

    await s.router.reconcile(news.target, news.analysis.match);
    // a release left behind by a killed `pulumi up`: converge before starting over (invariant 5)
    if (unfinished(prev)) {
        ctx0.log(`found an unfinished release of revision ${prev.revision} (${prev.phase}, canary weight ${prev.canaryWeight}): routing all traffic to the primary`);
        await stopCanary(s, news.target);
    }

    const controller = new AbortController();
    const deadline = setTimeout(() => {
        ctx0.log(`release did not finish within ${runDeadlineSeconds(news)}s: routing all traffic to the primary`);
        controller.abort(new Error("deadline"));
    }, runDeadlineSeconds(news) * 1000);
    const release = onInterrupt(controller, ctx0.log);
    let state: ReleaseState;
    try {
        ctx0.log(`new revision ${news.revision.slice(0, 12)}: ${describePlan(news)}`);
        state = await runRelease(context(news, s, controller.signal), started.step as Step);
        // inside the watch: once it ends, an engine that died meanwhile (a SIGKILLed CLI) exits
        // this process, and a promoted canary must not keep its weight
        if (state.phase !== "Failed") {
            ctx0.log(`promoting revision ${news.revision.slice(0, 12)} to ${news.target.name}-primary`);
            state = await handOverToPrimary(s, news, state);
        }
    } finally {
        clearTimeout(deadline);
        release();
    }
    if (state.phase === "Failed") {
        throw failedRelease(_id, olds, state, `canary release of ${news.target.name}.${news.target.namespace} failed, all traffic is on the primary: ${state.message}`);
    }
    return { outs: outputs(news, state, promotedFrom(news), { primary: 100, canary: 0 }) };
}

/**
 * The canary Deployment must run this release's template: with `pulumi up --target` of the
 * release without the canary Deployment, its pods would still run the previous template, and
 * analysing them would promote a template no analysis saw. Refused before anything is touched.
 */
async function refuseStaleCanary(s: Seams, news: ReleaseInputs): Promise<void> {
    const { name, namespace } = news.target;
    const canary = await s.kube.getDeployment(namespace, `${name}-canary`);
    if (canary.revision === undefined || canary.revision === news.revision) return;
    throw new Error(`deployment ${name}-canary.${namespace} runs revision ${canary.revision}, not revision ${news.revision} of this release: ` +
        `it was left out of this \`pulumi up\` (a --target without it?). Nothing was changed; run \`pulumi up\` with the canary Deployment too`);
}

/**
 * A promoted release sends all traffic back to the primary and scales the canary down before
 * its step ends: the up may end before the primary and the finalizer run (`--target` of the
 * release alone, a primary that fails to update), and neither traffic nor pods may stay on a
 * canary that nobody analyses any more. The primary serves the previous revision until its
 * rolling update brings this one; finalization then runs the post-rollout hooks.
 */
async function handOverToPrimary(s: Seams, news: ReleaseInputs, state: ReleaseState): Promise<ReleaseState> {
    let routed = state;
    if (state.canaryWeight > 0) {
        await s.router.setRoutes(news.target, { primary: 100, canary: 0 });
        routed = { ...state, canaryWeight: 0 };
        await s.store.save(news.target, routed);
    }
    await s.kube.scaleDeployment(news.target.namespace, `${news.target.name}-canary`, 0);
    return routed;
}

/**
 * The error a failed release throws. It carries the resource's id and properties, which Pulumi
 * records as the resource's state although the update failed: the old outputs (so the primary
 * keeps its template and the next up sees the failed revision as a change again) with the
 * failed revision added. So a failed revision is refused even when every object the release
 * writes in the cluster is gone. Which record wins: the status ConfigMap when it exists (it is
 * written at every step, Pulumi state only when an up ends), else Pulumi state.
 */
export function failedRelease(id: string, olds: ReleaseOutputs, failed: ReleaseState, message: string): Error & { id: string; properties: ReleaseOutputs; reasons: string[] } {
    const recorded = olds.state ?? { ...idleState(), phase: "Initialized", revision: olds.revision, promotedRevision: olds.promotedRevision };
    const properties: ReleaseOutputs = {
        ...olds,
        failedRevision: failed.failedRevision,
        message: failed.message,
        state: { ...recorded, failedRevision: failed.failedRevision, message: failed.message },
    };
    return Object.assign(new Error(message), { id, properties, reasons: [message] });
}

/**
 * The program wants the revision Pulumi last recorded, but the cluster holds an unfinished
 * release of another one: route everything to the primary (which runs the recorded revision),
 * scale the canary down and record the recorded revision's state again. The abandoned revision
 * is not marked failed: it was never judged.
 */
async function abandon(s: Seams, ctx: ReleaseContext, olds: ReleaseOutputs, news: ReleaseInputs, saved: ReleaseState): Promise<ReleaseOutputs> {
    ctx.log(`found an unfinished release of revision ${saved.revision} (${saved.phase}, canary weight ${saved.canaryWeight}) while revision ${news.revision.slice(0, 12)} is desired and already on the primary: routing all traffic to the primary`);
    const recorded = olds.state ?? idleState();
    const state: ReleaseState = {
        ...recorded,
        phase: recorded.phase === "Initialized" ? "Initialized" : "Succeeded",
        revision: olds.revision,
        promotedRevision: olds.promotedRevision,
        failedRevision: saved.failedRevision,
        canaryWeight: 0,
        step: 0,
        failedChecks: 0,
        lastTransitionAt: s.clock.now(),
        message: msg.abandoned(news.target, saved.revision),
    };
    await stopCanary(s, news.target);
    await s.events.emit(news.target, { type: "Warning", reason: "Synced", message: state.message });
    await s.store.save(news.target, state);
    ctx.log(`! ${state.message}`);
    return outputs(news, state, promotedBefore(olds), await s.router.getRoutes(news.target));
}

/** All traffic to the primary, the canary scaled to zero: what every unfinished release converges to. */
async function stopCanary(s: Seams, target: Target): Promise<void> {
    await s.router.setRoutes(target, { primary: 100, canary: 0 });
    await s.kube.scaleDeployment(target.namespace, `${target.name}-canary`, 0);
}

function describePlan(inputs: ReleaseInputs): string {
    const a = inputs.analysis;
    const budget = a.errorBudget === undefined ? [] : [describeBudget(a.errorBudget)];
    const checks = [...a.metrics.map((m) => m.name), ...budget].join(", ") || "no metrics";
    if (a.static !== undefined) {
        return `static ${a.static.weight}% for ${a.static.soakSeconds}s (${totalSteps(a)} checks every ${a.intervalSeconds}s), threshold ${a.threshold}, checks: ${checks}`;
    }
    if (a.iterations > 0) return `${a.iterations} iterations every ${a.intervalSeconds}s, checks: ${checks}`;
    return `${totalSteps(a)} steps every ${a.intervalSeconds}s up to ${a.stepWeights.length > 0 ? a.stepWeights[a.stepWeights.length - 1] : a.maxWeight}%, threshold ${a.threshold}, checks: ${checks}`;
}

export async function deleteRelease(_id: string, props: ReleaseOutputs): Promise<void> {
    const s = seams(props);
    s.log(`[${props.target.name}.${props.target.namespace}] deleting routing objects and release status`);
    await s.router.finalize(props.target);
    await s.store.remove(props.target);
}

export async function readRelease(id: string, props: ReleaseOutputs): Promise<{ id: string; props: ReleaseOutputs }> {
    const s = seams(props);
    const routes = await s.router.getRoutes(props.target);
    const saved = await s.store.load(props.target);
    const state = saved ?? props.state;
    return { id, props: { ...props, primaryWeight: routes.primary, canaryWeight: routes.canary, state, failedRevision: state.failedRevision, message: state.message } };
}
