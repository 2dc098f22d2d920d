// KubeApi seam: the narrow set of Kubernetes calls the release needs.

/**
 * Annotation of the canary Deployment: the revision of the pod template the program gave it.
 * The release compares it with its own revision, so it never analyses pods of another template.
 */
export const REVISION_ANNOTATION = "canary.pulumi.com/revision";

export interface DeploymentStatus {
    readonly exists: boolean;
    /** The REVISION_ANNOTATION, when the Deployment has one. */
    readonly revision?: string;
    readonly replicas: number;
    readonly readyReplicas: number;
    readonly updatedReplicas: number;
    /** metadata.generation <= status.observedGeneration */
    readonly observed: boolean;
}

export interface KubeObject {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string>; readonly [k: string]: unknown };
    readonly [k: string]: unknown;
}

export interface KubeApi {
    getDeployment(namespace: string, name: string): Promise<DeploymentStatus>;
    scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
    /** Returns undefined when the object does not exist. */
    get(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject | undefined>;
    create(obj: KubeObject): Promise<void>;
    /** Replaces spec, labels and annotations of an existing object with `obj`'s (keys absent from `obj` are removed). */
    patch(obj: KubeObject): Promise<void>;
    delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void>;
    event(namespace: string, involved: { kind: string; name: string; apiVersion: string }, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}
