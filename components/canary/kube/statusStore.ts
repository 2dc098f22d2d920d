// StatusStore over a ConfigMap `<app>-canary-status`: the release's state where the next
// `pulumi up` (whose Pulumi state an update that threw did not change) and humans find it.
// It is how a failed revision is remembered (invariant 4) and how an interrupted release is
// recognised. Created by the release, removed when the release is deleted.
import { ReleaseState, Target } from "../engine/types";
import { StatusStore } from "../engine/scheduler";
import { KubeApi, KubeObject } from "./api";

/** Annotation prefix: the KubeApi's patch replaces labels, annotations and spec (not data). */
export const ANNOTATION = "canary.pulumi.com";
export const STATUS_KEY = `${ANNOTATION}/state`;

export function statusName(target: Target): string {
    return `${target.name}-canary-status`;
}

/** The ConfigMap as the cluster holds it; readable annotations beside the JSON for `kubectl describe`. */
export function statusConfigMap(target: Target, state: ReleaseState): KubeObject {
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
            name: statusName(target),
            namespace: target.namespace,
            labels: { "app.kubernetes.io/managed-by": "pulumi-canary", "app.kubernetes.io/part-of": target.name },
            annotations: {
                [`${ANNOTATION}/phase`]: state.phase,
                [`${ANNOTATION}/revision`]: state.revision,
                [`${ANNOTATION}/promoted-revision`]: state.promotedRevision,
                [`${ANNOTATION}/failed-revision`]: state.failedRevision,
                [`${ANNOTATION}/canary-weight`]: String(state.canaryWeight),
                [`${ANNOTATION}/message`]: state.message,
                [STATUS_KEY]: JSON.stringify(state),
            },
        },
    };
}

export class ConfigMapStatusStore implements StatusStore {
    constructor(private readonly kube: KubeApi) {}

    async save(target: Target, state: ReleaseState): Promise<void> {
        const desired = statusConfigMap(target, state);
        const current = await this.kube.get("v1", "ConfigMap", target.namespace, desired.metadata.name);
        if (current === undefined) await this.kube.create(desired);
        else await this.kube.patch(desired);
    }

    /** The saved state, or undefined when there is none or it does not parse. */
    async load(target: Target): Promise<ReleaseState | undefined> {
        const cm = await this.kube.get("v1", "ConfigMap", target.namespace, statusName(target));
        const raw = cm?.metadata.annotations?.[STATUS_KEY];
        if (raw === undefined) return undefined;
        try {
            const parsed = JSON.parse(raw) as ReleaseState;
            return typeof parsed.phase === "string" && typeof parsed.revision === "string" ? parsed : undefined;
        } catch {
            return undefined;
        }
    }

    async remove(target: Target): Promise<void> {
        const name = statusName(target);
        if ((await this.kube.get("v1", "ConfigMap", target.namespace, name)) === undefined) return;
        await this.kube.delete("v1", "ConfigMap", target.namespace, name);
    }
}
