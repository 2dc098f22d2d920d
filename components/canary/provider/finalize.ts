// The CanaryFinalize provider's methods. It sits after the primary Deployment in the graph:
// once the primary runs the promoted template and is ready, post-rollout hooks run and the
// release is recorded Succeeded (Flagger's Finalising). The routes and the canary's scale are
// set again, to what the release's promotion already made them (all on the primary, 0 pods).
import { idleState } from "../engine/advance";
import { ReleaseContext, runFinalize } from "../engine/scheduler";
import { ReleaseState } from "../engine/types";
import { errorRatioReader, metricChecker, Seams, seamsFor } from "./seams";
import { FinalizeInputs, FinalizeOutputs } from "./types";

export function diffFinalize(_id: string, olds: Partial<FinalizeOutputs>, news: Partial<FinalizeInputs>): { changes: boolean } {
    return { changes: olds.revision !== news.revision || olds.phase !== news.phase };
}

function seams(inputs: FinalizeInputs): Seams {
    return seamsFor({
        target: inputs.target, routing: inputs.routing, linkerdRoute: inputs.linkerdRoute, ingressName: inputs.ingressName,
        kubeconfig: inputs.kubeconfig, kubeContext: inputs.kubeContext,
        ...(inputs.alerts === undefined ? {} : { alerts: inputs.alerts, analysis: inputs.analysis }),
        ...(inputs.pushgateway === undefined ? {} : { pushgateway: inputs.pushgateway }),
    });
}

/** Waits until `<app>-primary` has rolled out (observed, all replicas updated and ready). */
export async function waitPrimaryReady(s: Seams, inputs: FinalizeInputs, log: (l: string) => void): Promise<void> {
    const { namespace, name } = inputs.target;
    const deadline = s.clock.now() + inputs.readyTimeoutSeconds * 1000;
    let last = "";
    for (;;) {
        const d = await s.kube.getDeployment(namespace, `${name}-primary`);
        const why = !d.exists ? "not found"
            : !d.observed ? "rollout not observed yet"
                : d.updatedReplicas < d.replicas || d.readyReplicas < d.replicas ? `${d.updatedReplicas} of ${d.replicas} replicas updated, ${d.readyReplicas} ready`
                    : "";
        if (why === "") return;
        if (why !== last) log(`waiting for ${name}-primary.${namespace}: ${why}`);
        last = why;
        if (s.clock.now() >= deadline) {
            throw new Error(`deployment ${name}-primary.${namespace} not ready after ${inputs.readyTimeoutSeconds}s (${why}); ` +
                `all traffic is on it and the canary is scaled down; the next \`pulumi up\` finalizes`);
        }
        await s.clock.sleep(s.pollMs ?? 2000);
    }
}

async function finalizeRun(inputs: FinalizeInputs): Promise<FinalizeOutputs> {
    const s = seams(inputs);
    try {
        return await finalizeWith(s, inputs);
    } finally {
        await s.events.flush?.(); // alerts in flight, before the engine may stop this process
    }
}

async function finalizeWith(s: Seams, inputs: FinalizeInputs): Promise<FinalizeOutputs> {
    const prefix = `[${inputs.target.name}.${inputs.target.namespace}]`;
    const log = (l: string) => s.log(`${prefix} ${l}`);
    // initialization hands over without analysis: nothing to finalize
    if (inputs.phase !== "Promoting") return { ...inputs, finalPhase: inputs.phase, message: "", ...await weights(s, inputs) };
    await waitPrimaryReady(s, inputs, log);
    const saved = await s.store.load(inputs.target);
    const state: ReleaseState = saved !== undefined && saved.revision === inputs.revision
        ? saved
        : { ...idleState(), phase: "Promoting", revision: inputs.revision };
    const ctx: ReleaseContext = {
        target: inputs.target, spec: inputs.analysis, canaryReplicas: 0, router: s.router,
        checkMetric: metricChecker(s, inputs.routing, inputs.target, inputs.ingressName),
        readErrorRatio: errorRatioReader(s, inputs.routing, inputs.target, inputs.ingressName),
        hooks: s.hooks, kube: s.kube, events: s.events, store: s.store, clock: s.clock, log,
    };
    // the router keeps A/B match rules only when told about them
    await s.router.reconcile(inputs.target, inputs.analysis.match);
    const done = await runFinalize(ctx, state);
    return { ...inputs, finalPhase: done.phase, message: done.message, ...await weights(s, inputs) };
}

/** What the routing objects send where, as the stack's outputs report it. */
async function weights(s: Seams, inputs: FinalizeInputs): Promise<{ primaryWeight: number; canaryWeight: number }> {
    const routes = await s.router.getRoutes(inputs.target);
    return { primaryWeight: routes.primary, canaryWeight: routes.canary };
}

export async function createFinalize(inputs: FinalizeInputs): Promise<{ id: string; outs: FinalizeOutputs }> {
    return { id: `${inputs.target.namespace}/${inputs.target.name}`, outs: await finalizeRun(inputs) };
}

export async function updateFinalize(_id: string, _olds: FinalizeOutputs, news: FinalizeInputs): Promise<{ outs: FinalizeOutputs }> {
    return { outs: await finalizeRun(news) };
}
