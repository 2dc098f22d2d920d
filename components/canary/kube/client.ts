// KubeApi over @kubernetes/client-node 1.4: KubernetesObjectApi for generic objects,
// AppsV1Api for Deployments and their scale, CoreV1Api for Events. Every error names the
// verb, the kind and `name.namespace`; a get of a missing object is `undefined`, a delete of
// a missing object succeeds (so finalize and destroy can run twice).
//
// Every call survives transient API errors, as client-go does: 429 (API priority and
// fairness), 500/502/503/504 and dropped connections are retried with a capped exponential
// backoff (or the server's Retry-After) within a bounded number of attempts and time
// (`withRetry`, `RetryPolicy`). A release runs for minutes; one blip must not fail it.
// Writes are retried too because each is safe to repeat: a create whose earlier attempt
// may have landed takes AlreadyExists as success, a replace carries the read
// resourceVersion (a landed one answers Conflict, and patch reads again), the scale patch
// sets an absolute value, a delete of a missing object succeeds.
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

/** HTTP status of a client-node error (ApiException's `code`), if it is one. */
function statusOf(err: unknown): number | undefined {
    const code = (err as { code?: unknown })?.code;
    return typeof code === "number" ? code : undefined;
}

/** An ApiException's body, parsed when it is JSON text (a Status, usually). */
function bodyOf(err: unknown): unknown {
    const body = (err as { body?: unknown })?.body;
    if (typeof body === "string") {
        try {
            return JSON.parse(body);
        } catch {
            // plain text
        }
    }
    return body;
}

/** The API server's reason for an error, from its Status body when there is one. */
function reasonOf(err: unknown): string {
    const e = err as { code?: unknown; message?: string };
    if (typeof e?.code === "number") {
        const body = bodyOf(err);
        const status = body as { message?: string; reason?: string } | undefined;
        const text = typeof status === "object" && status !== null && typeof status.message === "string"
            ? status.message : typeof body === "string" ? body : JSON.stringify(body ?? "");
        return `HTTP ${e.code}${status?.reason !== undefined ? ` ${status.reason}` : ""}: ${text}`;
    }
    return e?.message ?? String(err);
}

function isAlreadyExists(err: unknown): boolean {
    return statusOf(err) === 409 && (bodyOf(err) as { reason?: unknown } | undefined)?.reason === "AlreadyExists";
}

/**
 * How ClientKubeApi retries transient API errors. The defaults ride out an API server
 * restart or a control-plane failover (seconds) and APF throttling, and still report a real
 * outage within about ten seconds instead of hiding it from the release.
 */
export interface RetryPolicy {
    /** Attempts per call, the first included. Default 6 (`DEFAULT_RETRY.attempts`). */
    readonly attempts: number;
    /** Wait before the second attempt, in ms; it doubles per attempt. Default 200. */
    readonly initialDelayMs: number;
    /** Cap on one backoff wait, in ms. Default 2000. */
    readonly maxDelayMs: number;
    /** Cap on a wait the server asks for with Retry-After, in ms. Default 5000. */
    readonly maxRetryAfterMs: number;
    /** No attempt starts whose wait would end later than this after the first began, in ms. Default 10000. */
    readonly budgetMs: number;
    /** Backoff waits are stretched by up to this fraction at random, so clients throttled together do not come back together. Default 0.1. */
    readonly jitter: number;
}

/**
 * 200 ms doubling to the 2 s cap gives waits 0.2, 0.4, 0.8, 1.6, 2 s: five waits (5 s)
 * between six attempts, which spans an API server restart behind a load balancer and leaves
 * room in the 10 s budget for the requests themselves. Retry-After is the server's estimate
 * (APF asks for 1 s), trusted up to 5 s so one answer cannot take the whole budget. Jitter
 * 0.1 as client-go's wait.Backoff defaults.
 */
export const DEFAULT_RETRY: RetryPolicy = {
    attempts: 6,
    initialDelayMs: 200,
    maxDelayMs: 2000,
    maxRetryAfterMs: 5000,
    budgetMs: 10000,
    jitter: 0.1,
};

export interface ClientKubeApiOptions {
    /** Overrides of `DEFAULT_RETRY`, field by field (tests use millisecond waits). */
    readonly retry?: Partial<RetryPolicy>;
}

/** HTTP statuses that say "try again": throttled (429), or the server or a proxy in front of it failing. */
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
// Error codes of a request that got no HTTP response because the connection failed or
// dropped (node-fetch copies the socket's code; ERR_STREAM_PREMATURE_CLOSE is a body cut off).
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ERR_STREAM_PREMATURE_CLOSE"]);

/** A failure worth another attempt: how long the server asked to wait, and whether the request may have been applied. */
interface Transient {
    readonly retryAfterMs?: number;
    readonly mayHaveApplied: boolean;
}

/** Whether `err` is transient; undefined for a definite answer (4xx other than 429) or a local failure (TLS, credentials). */
function transientOf(err: unknown): Transient | undefined {
    const status = statusOf(err);
    if (status !== undefined) {
        if (!RETRY_STATUSES.has(status)) {
            return undefined;
        }
        const header = (err as { headers?: Record<string, string> }).headers?.["retry-after"]; // node-fetch lowercases names
        const seconds = header !== undefined && /^\s*\d+\s*$/.test(header) ? Number(header) : undefined; // an HTTP-date falls back to the backoff
        // A 429 is refused before the request is handled; a 5xx may come after it was applied.
        return { ...(seconds === undefined ? {} : { retryAfterMs: seconds * 1000 }), mayHaveApplied: status !== 429 };
    }
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e?.code === "string" ? e.code : "";
    if (NETWORK_CODES.has(code) || (typeof e?.message === "string" && e.message.includes("socket hang up"))) {
        // A refused connection never sent the request; any other may have lost only the answer.
        return { mayHaveApplied: code !== "ECONNREFUSED" };
    }
    return undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one API call with `policy`'s retries. `call` gets whether an earlier attempt may
 * have been applied (its answer lost), so a create can take AlreadyExists as its own.
 * The final error names the verb, kind, `name.namespace` and the API's reason, with the
 * attempts when there was more than one; its `cause` is client-node's error.
 */
async function withRetry<T>(policy: RetryPolicy, verb: string, kind: string, name: string, namespace: string,
    call: (mayHaveApplied: boolean) => Promise<T>): Promise<T> {
    const start = Date.now();
    let mayHaveApplied = false;
    for (let attempt = 1; ; attempt++) {
        try {
            return await call(mayHaveApplied);
        } catch (err) {
            const elapsed = Date.now() - start;
            const transient = transientOf(err);
            const backoff = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1) * (1 + Math.random() * policy.jitter));
            const wait = transient?.retryAfterMs !== undefined ? Math.min(transient.retryAfterMs, policy.maxRetryAfterMs) : backoff;
            if (transient === undefined || attempt >= policy.attempts || elapsed + wait > policy.budgetMs) {
                const after = attempt > 1 ? ` (after ${attempt} attempts over ${(elapsed / 1000).toFixed(1)}s)` : "";
                throw new Error(`${verb} ${kind} ${name}.${namespace}: ${reasonOf(err)}${after}`, { cause: err });
            }
            mayHaveApplied = mayHaveApplied || transient.mayHaveApplied;
            await sleep(wait);
        }
    }
}

/** A create, where AlreadyExists after an attempt that may have landed is that attempt's object. */
async function created(mayHaveApplied: boolean, create: () => Promise<unknown>): Promise<void> {
    try {
        await create();
    } catch (err) {
        if (mayHaveApplied && isAlreadyExists(err)) {
            return;
        }
        throw err;
    }
}

function retryPolicy(overrides: Partial<RetryPolicy> | undefined): RetryPolicy {
    const p: RetryPolicy = {
        attempts: overrides?.attempts ?? DEFAULT_RETRY.attempts,
        initialDelayMs: overrides?.initialDelayMs ?? DEFAULT_RETRY.initialDelayMs,
        maxDelayMs: overrides?.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
        maxRetryAfterMs: overrides?.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs,
        budgetMs: overrides?.budgetMs ?? DEFAULT_RETRY.budgetMs,
        jitter: overrides?.jitter ?? DEFAULT_RETRY.jitter,
    };
    if (!Number.isInteger(p.attempts) || p.attempts < 1) {
        throw new Error(`retry.attempts must be an integer >= 1, got ${p.attempts}`);
    }
    for (const key of ["initialDelayMs", "maxDelayMs", "maxRetryAfterMs", "budgetMs", "jitter"] as const) {
        if (!Number.isFinite(p[key]) || p[key] < 0) {
            throw new Error(`retry.${key} must be a number >= 0, got ${p[key]}`);
        }
    }
    return p;
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
    /** Retries of transient errors, for every call. */
    readonly retry: RetryPolicy;
    /** uid of event subjects, so `kubectl describe` lists our events under them. */
    private readonly uids = new Map<string, string>();

    constructor(readonly kc: k8s.KubeConfig, options: ClientKubeApiOptions = {}) {
        this.retry = retryPolicy(options.retry);
        this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
        this.apps = kc.makeApiClient(k8s.AppsV1Api);
        this.core = kc.makeApiClient(k8s.CoreV1Api);
    }

    /** From kubeconfig text (or the ambient kubeconfig when undefined). */
    static fromString(kubeconfig?: string, context?: string, options?: ClientKubeApiOptions): ClientKubeApi {
        return new ClientKubeApi(loadKubeConfig(kubeconfig, context), options);
    }

    /**
     * `replicas` is the desired count (spec.replicas, 1 when unset as the API defaults it);
     * ready and updated counts come from the status. A missing Deployment is `exists: false`.
     */
    async getDeployment(namespace: string, name: string): Promise<DeploymentStatus> {
        const d = await withRetry(this.retry, "get", "Deployment", name, namespace, async () => {
            try {
                return await this.apps.readNamespacedDeployment({ name, namespace });
            } catch (err) {
                if (statusOf(err) === 404) {
                    return undefined;
                }
                throw err;
            }
        });
        if (d === undefined) {
            return { exists: false, replicas: 0, readyReplicas: 0, updatedReplicas: 0, observed: false };
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

    /** Sets spec.replicas through the scale subresource (JSON patch: an absolute value, safe to repeat). */
    async scaleDeployment(namespace: string, name: string, replicas: number): Promise<void> {
        if (!Number.isInteger(replicas) || replicas < 0) {
            throw new Error(`scale Deployment ${name}.${namespace}: replicas must be an integer >= 0, got ${replicas}`);
        }
        await withRetry(this.retry, "scale", "Deployment", name, namespace, () => this.apps.patchNamespacedDeploymentScale({
            name, namespace, body: [{ op: "replace", path: "/spec/replicas", value: replicas }],
        }));
    }

    async get(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
        return withRetry(this.retry, "get", kind, name, namespace, async () => {
            try {
                const obj = await this.objects.read({ apiVersion, kind, metadata: { name, namespace } });
                return plain(obj) as unknown as KubeObject;
            } catch (err) {
                if (statusOf(err) === 404) {
                    return undefined;
                }
                throw err;
            }
        });
    }

    async create(obj: KubeObject): Promise<void> {
        await withRetry(this.retry, "create", obj.kind, obj.metadata.name, obj.metadata.namespace ?? "",
            (mayHaveApplied) => created(mayHaveApplied, () => this.objects.create(obj as k8s.KubernetesObject)));
    }

    /**
     * Replaces spec, labels and annotations of an existing object with `obj`'s (a key absent
     * from `obj` is removed, which a JSON merge patch could not do without nulls). Read, then
     * update with the read resourceVersion; read again on a conflict (3 times at most), each
     * read and update retried on transient errors.
     */
    async patch(obj: KubeObject): Promise<void> {
        const { apiVersion, kind } = obj;
        const { name } = obj.metadata;
        const namespace = obj.metadata.namespace ?? "";
        for (let attempt = 1; ; attempt++) {
            const current = await this.get(apiVersion, kind, namespace, name).catch((err: Error) => {
                throw new Error(`patch ${kind} ${name}.${namespace}: ${err.message}`, { cause: err.cause });
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
                await withRetry(this.retry, "patch", kind, name, namespace, () => this.objects.replace(next as k8s.KubernetesObject));
                return;
            } catch (err) {
                // Someone wrote in between, or our own earlier attempt landed with its answer
                // lost: the resourceVersion is stale either way, so read again.
                if (statusOf((err as Error).cause) === 409 && attempt < 3) {
                    continue;
                }
                throw err;
            }
        }
    }

    async delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void> {
        await withRetry(this.retry, "delete", kind, name, namespace, async () => {
            try {
                await this.objects.delete({ apiVersion, kind, metadata: { name, namespace } });
            } catch (err) {
                if (statusOf(err) === 404) {
                    return; // already gone, or an earlier attempt deleted it
                }
                throw err;
            }
        });
    }

    /** A core/v1 Event on `involved`, as Flagger records them (source component pulumi-canary). */
    async event(namespace: string, involved: { kind: string; name: string; apiVersion: string }, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
        const uid = await this.uidOf(namespace, involved);
        // Built once, so a retried create sends the same name and an AlreadyExists is ours.
        const body = buildEvent(namespace, involved, uid, type, reason, message, new Date());
        await withRetry(this.retry, "create", "Event", body.metadata.name as string, namespace,
            (mayHaveApplied) => created(mayHaveApplied, () => this.core.createNamespacedEvent({ namespace, body })));
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
