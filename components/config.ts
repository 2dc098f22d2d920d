// Stack config, read once in the entry point into a typed object (components take plain
// values: mocks cannot mock Config). Keys live in the project's namespace `canary:`; their
// schema, types and defaults are in Pulumi.yaml, and the same defaults are applied here (an
// Automation API inline program has no Pulumi.yaml; a unit test keeps the two in step).
// Every problem is reported at once, naming the key and the value:
//   canary:analysis.stepWeight: must be 1..100, got 0
import * as pulumi from "@pulumi/pulumi";
import { AnalysisSpec, MatchCondition, MetricCheck, Webhook, HookType } from "./canary/engine/types";
import { LinkerdRoute, MetricsServer, Routing } from "./canary/provider/types";
import { validateAnalysis } from "./canary/provider/validate";

export type Cluster = "kind" | "minikube";

export interface InfraConfig {
    /** ingress-nginx by Helm (needed for nginx routing). */
    readonly ingressNginx: boolean;
    /** Prometheus by plain manifests, namespace `monitoring`. */
    readonly prometheus: boolean;
    /** Linkerd CRDs and control plane by Helm, certificates generated once. */
    readonly linkerd: boolean;
    /** Istio base and istiod by Helm. */
    readonly istio: boolean;
    /** The Flagger loadtester in the app namespace. */
    readonly loadtester: boolean;
}

export interface AppConfig {
    readonly name: string;
    readonly image: string;
    /** Replicas of the primary, and of the canary while it is analysed. */
    readonly replicas: number;
    /** Host of the app's Ingress (nginx routing). */
    readonly host: string;
}

export interface ReleaseConfig {
    /** false: deploy the app as one plain Deployment, no canary release (benchmark baseline). */
    readonly enabled: boolean;
    readonly retry: boolean;
    readonly analysis: AnalysisSpec;
    readonly metricsServer: MetricsServer;
}

export interface StackConfig {
    readonly cluster: Cluster;
    /** kubeconfig context; "" picks the cluster's usual one (kind-kind, minikube). */
    readonly kubeContext: string;
    /** Kubeconfig contents (secret); undefined: the ambient kubeconfig. */
    readonly kubeconfig?: pulumi.Output<string>;
    readonly namespace: string;
    readonly routing: Routing;
    readonly linkerdRoute: LinkerdRoute;
    readonly infra: InfraConfig;
    readonly app: AppConfig;
    readonly release: ReleaseConfig;
}

/** Flagger-style analysis as written in stack config (durations as "30s", "1m"). */
export interface AnalysisConfig {
    readonly interval?: string;
    readonly threshold?: number;
    readonly maxWeight?: number;
    readonly stepWeight?: number;
    readonly stepWeights?: number[];
    readonly iterations?: number;
    readonly match?: MatchCondition[];
    readonly skipAnalysis?: boolean;
    readonly progressDeadlineSeconds?: number;
    readonly metrics?: {
        name: string; query?: string; interval?: string;
        thresholdRange?: { min?: number; max?: number };
        templateVariables?: Record<string, string>;
    }[];
    readonly webhooks?: {
        name: string; type?: string; url: string; timeout?: string; retries?: number;
        metadata?: Record<string, string>;
    }[];
}

/** Defaults of every key; Pulumi.yaml declares the same ones. */
export const DEFAULTS = {
    cluster: "kind",
    kubeContext: "",
    namespace: "test",
    routing: "nginx",
    linkerdRoute: "httproute",
    installIngressNginx: true,
    installPrometheus: true,
    installLinkerd: false,
    installIstio: false,
    installLoadtester: true,
    appName: "podinfo",
    image: "ghcr.io/stefanprodan/podinfo:6.5.3",
    replicas: 2,
    host: "app.example.com",
    releaseEnabled: true,
    retry: false,
    metricsServer: { service: "prometheus", namespace: "monitoring", port: 9090 },
    analysis: {
        interval: "1m",
        threshold: 5,
        maxWeight: 50,
        stepWeight: 10,
        stepWeights: [],
        iterations: 0,
        match: [],
        skipAnalysis: false,
        progressDeadlineSeconds: 600,
        metrics: [
            { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" },
            { name: "request-duration", thresholdRange: { max: 500 }, interval: "1m" },
        ],
        webhooks: [],
    } as AnalysisConfig,
} as const;

/** Metric webhook defaults (Flagger: type rollout; our per-attempt timeout). */
export const WEBHOOK_DEFAULTS = { type: "rollout" as HookType, timeout: "10s", retries: 0 };

const BUILTINS = ["request-success-rate", "request-duration"] as const;

/** What the entry point reads config through (pulumi.Config, or a fake in tests). */
export interface ConfigSource {
    get(key: string): string | undefined;
    getObject<T>(key: string): T | undefined;
    getSecret(key: string): pulumi.Output<string> | undefined;
}

export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`invalid stack config:\n  ${problems.join("\n  ")}`);
    }
}

/** "30s", "1m", "1m30s", "2h" -> seconds; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
    if (m === null || text.trim() === "" || (m[1] ?? m[2] ?? m[3]) === undefined) return undefined;
    return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

class Problems {
    readonly list: string[] = [];
    add(key: string, reason: string, value: unknown): void {
        this.list.push(`canary:${key}: ${reason}, got ${value === undefined ? "nothing" : JSON.stringify(value)}`);
    }
}

function str(c: ConfigSource, key: string, fallback: string): string {
    return c.get(key) ?? fallback;
}

function oneOf<T extends string>(p: Problems, c: ConfigSource, key: string, allowed: readonly T[], fallback: T): T {
    const v = c.get(key) ?? fallback;
    if (!(allowed as readonly string[]).includes(v)) {
        p.add(key, `must be one of ${allowed.join(", ")}`, v);
        return fallback;
    }
    return v as T;
}

function bool(p: Problems, c: ConfigSource, key: string, fallback: boolean): boolean {
    const v = c.get(key);
    if (v === undefined) return fallback;
    if (v === "true") return true;
    if (v === "false") return false;
    p.add(key, "must be true or false", v);
    return fallback;
}

function int(p: Problems, c: ConfigSource, key: string, fallback: number, min: number): number {
    const v = c.get(key);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
        p.add(key, `must be an integer >= ${min}`, v);
        return fallback;
    }
    return n;
}

/** Converts the Flagger-style analysis of stack config to the engine's AnalysisSpec. */
function toAnalysisSpec(p: Problems, raw: AnalysisConfig): AnalysisSpec {
    const a = { ...DEFAULTS.analysis, ...raw };
    const seconds = (key: string, text: string | undefined, fallback: number): number => {
        if (text === undefined) return fallback;
        const s = typeof text === "string" ? parseDuration(text) : undefined;
        if (s === undefined || s < 1) {
            p.add(key, "must be a duration such as 30s, 1m or 1m30s", text);
            return fallback;
        }
        return s;
    };
    const metrics: MetricCheck[] = (Array.isArray(a.metrics) ? a.metrics : []).map((m) => {
        const builtin = (BUILTINS as readonly string[]).includes(m?.name) && (m.query === undefined || m.query === "") ? (m.name as MetricCheck["builtin"]) : undefined;
        return {
            name: m?.name,
            ...(builtin === undefined ? { query: m?.query } : { builtin }),
            thresholdRange: m?.thresholdRange ?? {},
            interval: m?.interval ?? "1m",
            templateVariables: m?.templateVariables ?? {},
        };
    });
    const webhooks: Webhook[] = (Array.isArray(a.webhooks) ? a.webhooks : []).map((h, i) => ({
        name: h?.name,
        type: (h?.type ?? WEBHOOK_DEFAULTS.type) as HookType,
        url: h?.url,
        timeoutSeconds: seconds(`analysis.webhooks[${i}].timeout`, h?.timeout ?? WEBHOOK_DEFAULTS.timeout, 10),
        retries: h?.retries ?? WEBHOOK_DEFAULTS.retries,
        metadata: h?.metadata ?? {},
    }));
    return {
        intervalSeconds: seconds("analysis.interval", a.interval, 60),
        threshold: a.threshold as number,
        maxWeight: a.maxWeight as number,
        stepWeight: a.stepWeight as number,
        stepWeights: a.stepWeights ?? [],
        iterations: a.iterations as number,
        match: a.match ?? [],
        skipAnalysis: a.skipAnalysis as boolean,
        progressDeadlineSeconds: a.progressDeadlineSeconds as number,
        metrics,
        webhooks,
    };
}

function metricsServer(p: Problems, c: ConfigSource): MetricsServer {
    // a URL string, or {service, namespace, port}
    const text = c.get("metricsServer");
    if (text === undefined) return DEFAULTS.metricsServer;
    if (/^https?:\/\//.test(text)) return { url: text };
    const obj = c.getObject<Record<string, unknown>>("metricsServer");
    if (obj === undefined || typeof obj !== "object" || obj === null) {
        p.add("metricsServer", "must be an http(s) URL or {service, namespace, port}", text);
        return DEFAULTS.metricsServer;
    }
    if (typeof obj.url === "string") return { url: obj.url };
    return {
        service: obj.service as string,
        namespace: obj.namespace as string,
        port: obj.port as number,
    };
}

/**
 * Reads and validates every key. Throws a ConfigError listing every problem; nothing is
 * deployed with a bad config.
 */
export function readStackConfig(c: ConfigSource): StackConfig {
    const p = new Problems();
    const cluster = oneOf<Cluster>(p, c, "cluster", ["kind", "minikube"], DEFAULTS.cluster);
    const routing = oneOf<Routing>(p, c, "routing", ["nginx", "linkerd", "istio"], DEFAULTS.routing);
    const linkerdRoute = oneOf<LinkerdRoute>(p, c, "linkerdRoute", ["httproute", "smi"], DEFAULTS.linkerdRoute);
    const namespace = str(c, "namespace", DEFAULTS.namespace);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) p.add("namespace", "must be a DNS-1123 label", namespace);
    const appName = str(c, "appName", DEFAULTS.appName);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(appName) || appName.length > 40) p.add("appName", "must be a DNS-1123 label of at most 40 characters", appName);
    const image = str(c, "image", DEFAULTS.image);
    if (image.trim() === "") p.add("image", "must be an image reference", image);
    const infra: InfraConfig = {
        ingressNginx: bool(p, c, "installIngressNginx", DEFAULTS.installIngressNginx),
        prometheus: bool(p, c, "installPrometheus", DEFAULTS.installPrometheus),
        linkerd: bool(p, c, "installLinkerd", DEFAULTS.installLinkerd),
        istio: bool(p, c, "installIstio", DEFAULTS.installIstio),
        loadtester: bool(p, c, "installLoadtester", DEFAULTS.installLoadtester),
    };
    if (infra.linkerd && infra.istio) p.add("installIstio", "cannot be true together with installLinkerd (one mesh per cluster)", true);

    let rawAnalysis: AnalysisConfig = DEFAULTS.analysis;
    try {
        rawAnalysis = c.getObject<AnalysisConfig>("analysis") ?? DEFAULTS.analysis;
    } catch (err) {
        p.add("analysis", `must be an object (${err instanceof Error ? err.message : String(err)})`, c.get("analysis"));
    }
    if (typeof rawAnalysis !== "object" || rawAnalysis === null || Array.isArray(rawAnalysis)) {
        p.add("analysis", "must be an object", rawAnalysis);
        rawAnalysis = DEFAULTS.analysis;
    }
    const analysis = toAnalysisSpec(p, rawAnalysis);
    const ingress = routing === "nginx" ? appName : undefined;
    for (const problem of validateAnalysis(analysis, "analysis", routing, ingress)) {
        const text = problem.reason.replace(/\.intervalSeconds: must be an integer >= 1/, ".interval: must be at least 1s");
        p.list.push(`canary:${text}`);
    }

    const release: ReleaseConfig = {
        enabled: bool(p, c, "releaseEnabled", DEFAULTS.releaseEnabled),
        retry: bool(p, c, "retry", DEFAULTS.retry),
        analysis,
        metricsServer: metricsServer(p, c),
    };
    const ms = release.metricsServer;
    if ("url" in ms ? typeof ms.url !== "string" : typeof ms.service !== "string" || typeof ms.namespace !== "string" || !Number.isInteger(ms.port)) {
        p.add("metricsServer", "must be an http(s) URL or {service, namespace, port}", ms);
    }

    const cfg: StackConfig = {
        cluster,
        kubeContext: str(c, "kubeContext", DEFAULTS.kubeContext),
        kubeconfig: c.getSecret("kubeconfig"),
        namespace,
        routing,
        linkerdRoute,
        infra,
        app: { name: appName, image, replicas: int(p, c, "replicas", DEFAULTS.replicas, 1), host: str(c, "host", DEFAULTS.host) },
        release,
    };
    if (p.list.length > 0) throw new ConfigError(p.list);
    return cfg;
}

/** The kubeconfig context to use: the configured one, or the cluster's usual name. */
export function contextFor(cfg: Pick<StackConfig, "cluster" | "kubeContext">): string {
    if (cfg.kubeContext !== "") return cfg.kubeContext;
    return cfg.cluster === "kind" ? "kind-kind" : "minikube";
}

/** pulumi.Config as a ConfigSource (the entry point's only use of Config). */
export function pulumiConfigSource(config: pulumi.Config = new pulumi.Config()): ConfigSource {
    return {
        get: (key) => {
            // objects come back as JSON text from get; booleans and numbers as text
            return config.get(key);
        },
        getObject: <T>(key: string) => config.getObject<T>(key),
        getSecret: (key) => config.getSecret(key),
    };
}
