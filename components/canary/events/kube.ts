// EventSink that records release events as Kubernetes Events, worded as Flagger's.
//
// The subject is the canary Deployment `<app>-canary`, not `<app>-primary`:
// - it is what Flagger's events are about (the targetRef whose template is analysed; Flagger
//   records them on the Canary object, which has no counterpart in the cluster here);
// - it exists for the whole life of the release (scaled to 0 when idle), while the primary's
//   template only changes once analysis passes;
// - `kubectl describe deployment <app>-canary` then shows the analysis next to the canary's
//   own rollout events, and `kubectl get events --field-selector involvedObject.name=<app>-canary`
//   lists a release's history.
import { Target } from "../engine/types";
import { KubeApi } from "../kube/api";
import { EventSink, ReleaseEvent } from "./sink";

export interface KubeEventSinkOptions {
    /**
     * Called instead of throwing when an Event cannot be written (e.g. RBAC forbids events), so
     * a release is not failed by its own bookkeeping. Without it, emit rejects.
     */
    readonly onError?: (err: Error, event: ReleaseEvent) => void;
}

/** The object the events of a release are recorded on. */
export function eventSubject(target: Target): { apiVersion: string; kind: string; name: string } {
    return { apiVersion: "apps/v1", kind: "Deployment", name: `${target.name}-canary` };
}

export class KubeEventSink implements EventSink {
    constructor(private readonly kube: KubeApi, private readonly opts: KubeEventSinkOptions = {}) {}

    async emit(target: Target, event: ReleaseEvent): Promise<void> {
        try {
            await this.kube.event(target.namespace, eventSubject(target), event.type, event.reason, event.message);
        } catch (err) {
            const e = err instanceof Error ? err : new Error(String(err));
            if (this.opts.onError === undefined) {
                throw e;
            }
            this.opts.onError(e, event);
        }
    }
}
