// KubeApi over @kubernetes/client-node 1.4: KubernetesObjectApi for generic objects,
// AppsV1Api for Deployments and their scale, CoreV1Api for Events. Every error names the
// verb, the kind and `name.namespace`; a get of a missing object is `undefined`, a delete of
// a missing object succeeds (so finalize and destroy can run twice).
//
// Also the way to reach in-cluster HTTP services from outside the cluster without a
// port-forward: the API server's service proxy (`serviceProxyUrl`) and an axios instance
// that carries the kubeconfig's TLS settings and credentials (`apiServerAxios`), for the
// PrometheusProvider and the webhooks.
import * as https from "https";
import axios, { AxiosInstance } from "axios";
import * as k8s from "@kubernetes/client-node";
import { DeploymentStatus, KubeApi, KubeObject, REVISION_ANNOTATION } from "./api";

/** Loads a kubeconfig from its YAML text (a secret input) or, without text, the ambient one. */
export function loadKubeConfig(kubeconfig?: string, context?: string): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    if (kubeconfig !== undefined && kubeconfig.trim() !== "") {
        kc.loadFromString(kubeconfig);
    } else {
        kc.loadFromDefault();
    }
    if (context !== undefined && context !== "") {
        if (kc.getContextObject(context) === null) {
            throw new Error(`kubeconfig has no context "${context}" (contexts: ${kc.getContexts().map((c) => c.name).join(", ")})`);
        }
        kc.setCurrentContext(context);
    }
    if (kc.getCurrentCluster() === null) {
        throw new Error("kubeconfig has no current cluster");
    }
    return kc;
}

/** The API server's base URL of the current context, without a trailing slash. */
export function apiServerUrl(kc: k8s.KubeConfig): string {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) {
        throw new Error("kubeconfig has no current cluster");
    }
    return cluster.server.replace(/\/+$/, "");
}

/**
 * URL of a Service through the API server's proxy, e.g.
 * `https://APISERVER/api/v1/namespaces/monitoring/services/prometheus:9090/proxy`.
 * `port` is the Service port's number or name; `scheme` "https" for a TLS backend.
 */
export function serviceProxyUrl(kc: k8s.KubeConfig, namespace: string, service: string, port: number | string, scheme?: "http" | "https"): string {
    const svc = `${scheme === "https" ? "https:" : ""}${service}:${port}`;
    return `${apiServerUrl(kc)}/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(svc)}/proxy`;
}

/**
 * An axios instance that talks to the API server as the kubeconfig's user: its CA, client
 * certificate and key, token (refreshed per request, so exec plugins' short-lived tokens
 * work) or basic auth. Give it to PrometheusProvider / HttpWebhookClient with a
 * `serviceProxyUrl`.
 */
export async function apiServerAxios(kc: k8s.KubeConfig): Promise<AxiosInstance> {
    const base: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(base);
    // The agent carries CA and client certificate (or a proxy); it fits the server's scheme.
    const agent = base.agent === false || base.agent === true ? undefined : base.agent;
    const instance = axios.create(apiServerUrl(kc).startsWith("https:") ? { httpsAgent: agent } : { httpAgent: agent });
    instance.interceptors.request.use(async (config) => {
        const opts: https.RequestOptions = { headers: {} };
        await kc.applyToHTTPSOptions(opts);
        for (const [k, v] of Object.entries(opts.headers ?? {})) {
            if (v !== undefined) {
                config.headers.set(k, String(v));
            }
        }
        if (typeof opts.auth === "string" && opts.auth !== "") {
            config.headers.set("Authorization", `Basic ${Buffer.from(opts.auth).toString("base64")}`);
        }
        return config;
    });
    return instance;
}

/** HTTP status of a client-node error, if it is one. */
function statusOf(err: unknown): number | undefined {
    const code = (err as { code?: unknown })?.code;
    return typeof code === "number" ? code : undefined;
}

/** The API server's reason for an error, from its Status body when there is one. */
function reasonOf(err: unknown): string {
    const e = err as { code?: unknown; body?: unknown; message?: string };
    if (typeof e?.code === "number") {
        let body = e.body;
        if (typeof body === "string") {
            try {
                body = JSON.parse(body);
            } catch {
                // plain text
            }
        }
        const status = body as { message?: string; reason?: string } | undefined;
        const text = typeof status === "object" && status !== null && typeof status.message === "string"
            ? status.message : typeof body === "string" ? body : JSON.stringify(body ?? "");
        return `HTTP ${e.code}${status?.reason !== undefined ? ` ${status.reason}` : ""}: ${text}`;
    }
    return e?.message ?? String(err);
}

function named(verb: string, kind: string, name: string, namespace: string, err: unknown): Error {
    return new Error(`${verb} ${kind} ${name}.${namespace}: ${reasonOf(err)}`);
}

/** client-node returns model instances with Date fields; the seam speaks plain JSON. */
function plain<T>(v: T): T {
    return JSON.parse(JSON.stringify(v)) as T;
}

export const EVENT_SOURCE = "pulumi-canary";

export class ClientKubeApi implements KubeApi {
    private readonly objects: k8s.KubernetesObjectApi;
    private readonly apps: k8s.AppsV1Api;
    private readonly core: k8s.CoreV1Api;
    /** uid of event subjects, so `kubectl describe` lists our events under them. */
    private readonly uids = new Map<string, string>();

    constructor(readonly kc: k8s.KubeConfig) {
        this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
        this.apps = kc.makeApiClient(k8s.AppsV1Api);
        this.core = kc.makeApiClient(k8s.CoreV1Api);
    }

    /** From kubeconfig text (or the ambient kubeconfig when undefined). */
    static fromString(kubeconfig?: string, context?: string): ClientKubeApi {
        return new ClientKubeApi(loadKubeConfig(kubeconfig, context));
    }

    /**
     * `replicas` is the desired count (spec.replicas, 1 when unset as the API defaults it);
     * ready and updated counts come from the status. A missing Deployment is `exists: false`.
     */
    async getDeployment(namespace: string, name: string): Promise<DeploymentStatus> {
        let d: k8s.V1Deployment;
        try {
            d = await this.apps.readNamespacedDeployment({ name, namespace });
        } catch (err) {
            if (statusOf(err) === 404) {
                return { exists: false, replicas: 0, readyReplicas: 0, updatedReplicas: 0, observed: false };
            }
            throw named("get", "Deployment", name, namespace, err);
        }
        const revision = d.metadata?.annotations?.[REVISION_ANNOTATION];
        return {
            exists: true,
            ...(revision === undefined ? {} : { revision }),
            replicas: d.spec?.replicas ?? 1,
            readyReplicas: d.status?.readyReplicas ?? 0,
            updatedReplicas: d.status?.updatedReplicas ?? 0,
            observed: (d.metadata?.generation ?? 0) <= (d.status?.observedGeneration ?? 0),
        };
    }

    /** Sets spec.replicas through the scale subresource (JSON patch). */
    async scaleDeployment(namespace: string, name: string, replicas: number): Promise<void> {
        if (!Number.isInteger(replicas) || replicas < 0) {
            throw new Error(`scale Deployment ${name}.${namespace}: replicas must be an integer >= 0, got ${replicas}`);
        }
        try {
            await this.apps.patchNamespacedDeploymentScale({
                name, namespace, body: [{ op: "replace", path: "/spec/replicas", value: replicas }],
            });
        } catch (err) {
            throw named("scale", "Deployment", name, namespace, err);
        }
    }

    async get(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
        try {
            const obj = await this.objects.read({ apiVersion, kind, metadata: { name, namespace } });
            return plain(obj) as unknown as KubeObject;
        } catch (err) {
            if (statusOf(err) === 404) {
                return undefined;
            }
            throw named("get", kind, name, namespace, err);
        }
    }

    async create(obj: KubeObject): Promise<void> {
        try {
            await this.objects.create(obj as k8s.KubernetesObject);
        } catch (err) {
            throw named("create", obj.kind, obj.metadata.name, obj.metadata.namespace ?? "", err);
        }
    }

    /**
     * Replaces spec, labels and annotations of an existing object with `obj`'s (a key absent
     * from `obj` is removed, which a JSON merge patch could not do without nulls). Read, then
     * update with the read resourceVersion; retried on a conflict.
     */
    async patch(obj: KubeObject): Promise<void> {
        const { apiVersion, kind } = obj;
        const { name } = obj.metadata;
        const namespace = obj.metadata.namespace ?? "";
        for (let attempt = 1; ; attempt++) {
            const current = await this.get(apiVersion, kind, namespace, name).catch((err: Error) => {
                throw new Error(`patch ${kind} ${name}.${namespace}: ${err.message}`);
            });
            if (current === undefined) {
                throw new Error(`patch ${kind} ${name}.${namespace}: not found`);
            }
            const next: Record<string, unknown> = {
                ...current,
                metadata: { ...current.metadata, labels: obj.metadata.labels ?? {}, annotations: obj.metadata.annotations ?? {} },
            };
            if ("spec" in obj) {
                next.spec = obj.spec;
            }
            try {
                await this.objects.replace(next as k8s.KubernetesObject);
                return;
            } catch (err) {
                if (statusOf(err) === 409 && attempt < 3) {
                    continue; // someone wrote in between: read again
                }
                throw named("patch", kind, name, namespace, err);
            }
        }
    }

    async delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void> {
        try {
            await this.objects.delete({ apiVersion, kind, metadata: { name, namespace } });
        } catch (err) {
            if (statusOf(err) === 404) {
                return;
            }
            throw named("delete", kind, name, namespace, err);
        }
    }

    /** A core/v1 Event on `involved`, as Flagger records them (source component pulumi-canary). */
    async event(namespace: string, involved: { kind: string; name: string; apiVersion: string }, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
        const uid = await this.uidOf(namespace, involved);
        const body = buildEvent(namespace, involved, uid, type, reason, message, new Date());
        try {
            await this.core.createNamespacedEvent({ namespace, body });
        } catch (err) {
            throw named("create", "Event", body.metadata.name as string, namespace, err);
        }
    }

    private async uidOf(namespace: string, involved: { kind: string; name: string; apiVersion: string }): Promise<string | undefined> {
        const key = `${involved.apiVersion}/${involved.kind}/${namespace}/${involved.name}`;
        if (!this.uids.has(key)) {
            // An event is worth recording even when its subject cannot be read.
            const obj = await this.get(involved.apiVersion, involved.kind, namespace, involved.name).catch(() => undefined);
            const uid = obj?.metadata.uid;
            if (typeof uid !== "string") {
                return undefined;
            }
            this.uids.set(key, uid);
        }
        return this.uids.get(key);
    }
}

/** The Event object (pure, for tests): name `<involved>.<hex time><random>`, as client-go's recorder. */
export function buildEvent(
    namespace: string,
    involved: { kind: string; name: string; apiVersion: string },
    uid: string | undefined,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    now: Date,
): k8s.CoreV1Event {
    const nanos = BigInt(now.getTime()) * BigInt(1000000);
    const suffix = `${nanos.toString(16)}${Math.floor(Math.random() * 0x1000).toString(16).padStart(3, "0")}`;
    return {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${involved.name}.${suffix}`, namespace },
        involvedObject: { apiVersion: involved.apiVersion, kind: involved.kind, name: involved.name, namespace, ...(uid !== undefined ? { uid } : {}) },
        type,
        reason,
        message,
        source: { component: EVENT_SOURCE },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
    };
}
