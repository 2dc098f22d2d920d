// Stack config, read once in the entry point into a typed object (components take plain
// values: mocks cannot mock Config). Keys live in the project's namespace `canary:`; their
// schema, types and defaults are in Pulumi.yaml, and the same defaults are applied here (an
// Automation API inline program has no Pulumi.yaml; a unit test keeps the two in step).
// Every problem is reported at once, naming the key and the value:
//   canary:analysis.stepWeight: must be 1..100, got 0
// (a secret's value is never shown: canary:kubeconfig problems say what is wrong without it).
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ALERT_PROVIDER_TYPES, ALERT_SEVERITIES, Alert, AlertProvider, AlertSeverity } from "./canary/alerts/types";
import { AnalysisSpec, MatchCondition, MetricCheck, MetricSource, Webhook, HookType } from "./canary/engine/types";
import { LinkerdRoute, MetricsServer, Routing } from "./canary/provider/types";
import { STATIC_CONFLICT, isHttpUrl, validateAnalysis, validateMetricSource, validateMetricsServer } from "./canary/provider/validate";

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
    /** Grafana with the canary releases dashboard, namespace `monitoring`. */
    readonly grafana: boolean;
}

export interface AppConfig {
    readonly name: string;
    readonly image: string;
    /** Replicas of the primary, and of the canary while it is analysed. */
    readonly replicas: number;
    /** Host of the app's Ingress (nginx routing). */
    readonly host: string;
    /** Environment of the app's containers from its ConfigMap `<app>-config` (tracked: a change starts a release). */
    readonly env: Record<string, string>;
    /** Environment from its Secret `<app>-secrets` (tracked as env); undefined: no Secret. */
    readonly secretEnv?: pulumi.Output<Record<string, string>>;
}

export interface ReleaseConfig {
    /** false: deploy the app as one plain Deployment, no canary release (benchmark baseline). */
    readonly enabled: boolean;
    readonly retry: boolean;
    readonly analysis: AnalysisSpec;
    /**
     * canary:analysis was set as a secret, whole or a field of it (`pulumi config set --secret
     * --path 'canary:analysis.webhooks[0].url'`): the release keeps its analysis input secret.
     */
    readonly secretAnalysis: boolean;
    readonly metricsServer: MetricsServer;
    /** Where the release's state is pushed as metrics (canary:pushgateway); undefined: nowhere. */
    readonly pushgateway?: MetricsServer;
    /** `analysis.alerts[]` with their `canary:alertProviders` resolved; a secret (the addresses carry tokens). */
    readonly alerts?: pulumi.Output<Alert[]>;
}

/**
 * Where a component's Helm charts come from (the `canary:*Charts` keys): a local folder holding
 * one sub-folder per chart, named as the chart's Helm release (see CHARTS), or a Helm
 * repository, http(s):// (an index.yaml repository) or oci:// (a registry).
 */
export type ChartSource =
    | { readonly folder: string }
    | { readonly repository: string };

/** One source per upstream repository the stack installs from. */
export interface ChartSources {
    /** ingress-nginx. */
    readonly ingressNginx: ChartSource;
    /** linkerd-crds and linkerd-control-plane (Linkerd's stable repository). */
    readonly linkerd: ChartSource;
    /** linkerd-smi (its own repository upstream). */
    readonly linkerdSmi: ChartSource;
    /** Istio's base and istiod. */
    readonly istio: ChartSource;
}

/** A chart: its name in a repository, and its sub-folder in a chart folder (the release's name). */
export interface ChartRef {
    readonly name: string;
    readonly folder: string;
}

/** Every chart the stack installs (istio's base chart sits in istio-base/, its release's name). */
export const CHARTS = {
    ingressNginx: { name: "ingress-nginx", folder: "ingress-nginx" },
    linkerdCrds: { name: "linkerd-crds", folder: "linkerd-crds" },
    linkerdControlPlane: { name: "linkerd-control-plane", folder: "linkerd-control-plane" },
    linkerdSmi: { name: "linkerd-smi", folder: "linkerd-smi" },
    istioBase: { name: "base", folder: "istio-base" },
    istiod: { name: "istiod", folder: "istiod" },
} as const satisfies Record<string, ChartRef>;

/** The chart arguments of a helm.v3.Release, from a chart source. */
export interface HelmChartArgs {
    readonly chart: string;
    readonly version?: string;
    readonly repositoryOpts?: { readonly repo: string };
}

/**
 * A folder: the chart's sub-folder, no version (a local chart installs the version its
 * Chart.yaml has; the provider ignores `version` for a local path) and no repository. An oci://
 * registry: `oci://.../<chart>` at the version (Helm finds no index.yaml there, so no repo). An
 * http(s) repository: the chart by name at the version, from that repository.
 */
export function helmChart(source: ChartSource, chart: ChartRef, version: string): HelmChartArgs {
    if ("folder" in source) return { chart: path.join(source.folder, chart.folder) };
    if (source.repository.startsWith("oci://")) return { chart: `${source.repository.replace(/\/+$/, "")}/${chart.name}`, version };
    return { chart: chart.name, version, repositoryOpts: { repo: source.repository } };
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
    /** Where the Helm charts of the installed infrastructure come from. */
    readonly charts: ChartSources;
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
        /** A template of canary:metricTemplates instead of a query. */
        templateRef?: { name: string };
    }[];
    readonly webhooks?: {
        name: string; type?: string; url: string; timeout?: string; retries?: number;
        metadata?: Record<string, string>;
    }[];
    /** Flagger's alerts: each sends the release's moments at its severity or above to a provider of canary:alertProviders. */
    readonly alerts?: { name: string; severity?: string; providerRef: { name: string } }[];
    /** A fixed split held for a soak time instead of the weight ladder (the Helm walkthrough). */
    readonly static?: { weight?: number; soak?: string };
    /** An SLO error budget the canary must not burn faster than maxBurnRate. */
    readonly errorBudget?: { slo?: number; window?: string; maxBurnRate?: number; maxBudgetSpent?: number; interval?: string };
}

/** Defaults of every key; Pulumi.yaml declares the same ones. */
export const DEFAULTS = {
    cluster: "kind",
    kubeContext: "",
    /** "" means unset: the ambient kubeconfig ($KUBECONFIG or ~/.kube/config). */
    kubeconfig: "",
    namespace: "test",
    routing: "nginx",
    linkerdRoute: "httproute",
    installIngressNginx: true,
    installPrometheus: true,
    installLinkerd: false,
    installIstio: false,
    installLoadtester: true,
    installGrafana: false,
    ingressNginxCharts: "https://kubernetes.github.io/ingress-nginx",
    linkerdCharts: "https://helm.linkerd.io/stable",
    linkerdSmiCharts: "https://linkerd.github.io/linkerd-smi",
    istioCharts: "https://istio-release.storage.googleapis.com/charts",
    appName: "podinfo",
    image: "ghcr.io/stefanprodan/podinfo:6.5.3",
    replicas: 2,
    host: "app.example.com",
    /** podinfo's own default message, set through its ConfigMap. */
    appConfig: { PODINFO_UI_MESSAGE: "greetings from podinfo" } as Record<string, string>,
    appSecrets: {} as Record<string, string>,
    releaseEnabled: true,
    retry: false,
    metricsServer: { service: "prometheus", namespace: "monitoring", port: 9090 },
    /** "auto": the Pushgateway the Prometheus component installs (installPrometheus), else none. */
    pushgateway: "auto",
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
        alerts: [],
    } as AnalysisConfig,
    /** Alert providers by name: {type, address, channel, username}; set as a secret. */
    alertProviders: {} as Record<string, AlertProvider>,
    /** Metric templates by name: {provider, query}, as Flagger's MetricTemplate. */
    metricTemplates: {} as Record<string, unknown>,
} as const;

/** Metric webhook defaults (Flagger: type rollout; our per-attempt timeout). */
export const WEBHOOK_DEFAULTS = { type: "rollout" as HookType, timeout: "10s", retries: 0 };

const BUILTINS = ["request-success-rate", "request-duration"] as const;

/** What the entry point reads config through (pulumi.Config, or a fake in tests). */
export interface ConfigSource {
    /** The value as text (a secret's plaintext too, as pulumi.Config.get gives it). */
    get(key: string): string | undefined;
    getObject<T>(key: string): T | undefined;
    /** The value as a secret Output. */
    getSecret(key: string): pulumi.Output<string> | undefined;
    /** Whether the value was set as a secret (`pulumi config set --secret`). */
    isSecret(key: string): boolean;
    /** Every key set in the project's namespace, without the `canary:` prefix. */
    keys(): readonly string[];
}

export class ConfigError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(`invalid stack config:\n  ${problems.join("\n  ")}`);
    }
}

/** "30s", "1m", "1m30s", "2h", "30d" -> seconds; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
    const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
    if (m === null || text.trim() === "" || (m[1] ?? m[2] ?? m[3] ?? m[4]) === undefined) return undefined;
    return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

class Problems {
    readonly list: string[] = [];
    add(key: string, reason: string, value: unknown): void {
        this.list.push(`canary:${key}: ${reason}, got ${value === undefined ? "nothing" : JSON.stringify(value)}`);
    }
}

/** The keys each object of stack config may have; any other is refused (a typo must not pass as a default). */
const KNOWN_KEYS = {
    analysis: [...Object.keys(DEFAULTS.analysis), "static", "errorBudget"],
    static: ["weight", "soak"],
    errorBudget: ["slo", "window", "maxBurnRate", "maxBudgetSpent", "interval"],
    metric: ["name", "query", "interval", "thresholdRange", "templateVariables", "templateRef"],
    templateRef: ["name"],
    metricTemplate: ["provider", "query"],
    templateProvider: ["type", "address", "service", "namespace", "port", "bearerToken"],
    thresholdRange: ["min", "max"],
    webhook: ["name", "type", "url", "timeout", "retries", "metadata"],
    match: ["headers", "cookie"],
    headerCondition: ["exact", "regex"],
    metricsServer: ["url", "service", "namespace", "port"],
    alert: ["name", "severity", "providerRef"],
    providerRef: ["name"],
    alertProvider: ["type", "address", "channel", "username"],
} as const;

/** Reports each key of `obj` (at `key`) not in `known`, with the closest known one as a hint. */
function unknownKeys(p: Problems, key: string, obj: unknown, known: readonly string[]): void {
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return;
    for (const [k, v] of Object.entries(obj)) {
        if (!known.includes(k)) p.add(`${key}.${k}`, `unknown key${hint(k, known)}`, v);
    }
}

/** " (did you mean <prefix>x?)" for the known key nearest to `k` (at most 2 edits, or equal but for case); "" if none. */
function hint(k: string, known: readonly string[], prefix = ""): string {
    let best: string | undefined;
    let bestDistance = 3;
    for (const candidate of known) {
        const d = candidate.toLowerCase() === k.toLowerCase() ? 0 : editDistance(k, candidate);
        if (d < bestDistance) [best, bestDistance] = [candidate, d];
    }
    return best === undefined ? "" : ` (did you mean ${prefix}${best}?)`;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const next = [i];
        for (let j = 1; j <= b.length; j++) {
            next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        row = next;
    }
    return row[b.length];
}

/** Each `canary:` key that Pulumi.yaml does not declare; a secret's value is not shown. */
function unknownTopLevelKeys(p: Problems, c: ConfigSource): void {
    const known = Object.keys(DEFAULTS);
    for (const k of c.keys()) {
        if (known.includes(k)) continue;
        const reason = `unknown key${hint(k, known, "canary:")}`;
        if (c.isSecret(k)) p.list.push(`canary:${k}: ${reason}, got a secret value (not shown)`);
        else p.add(k, reason, c.get(k));
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
function toAnalysisSpec(p: Problems, raw: AnalysisConfig, templates: Record<string, MetricTemplate>, unresolved: Set<number>): AnalysisSpec {
    unknownKeys(p, "analysis", raw, KNOWN_KEYS.analysis);
    const a = { ...DEFAULTS.analysis, ...raw };
    const seconds = (key: string, text: string | undefined, fallback: number): number => {
        if (text === undefined) return fallback;
        const s = typeof text === "string" ? parseDuration(text) : undefined;
        if (s === undefined || s < 1) {
            p.add(key, "must be a duration such as 30s, 1m, 1m30s or 30d", text);
            return fallback;
        }
        return s;
    };
    const required = (key: string, text: string | undefined, fallback: number): number => {
        if (text === undefined) p.add(key, "must be set, a duration such as 30s, 1m, 1m30s or 30d", text);
        return seconds(key, text, fallback);
    };
    const metrics: MetricCheck[] = (Array.isArray(a.metrics) ? a.metrics : []).map((m, i) => {
        unknownKeys(p, `analysis.metrics[${i}]`, m, KNOWN_KEYS.metric);
        unknownKeys(p, `analysis.metrics[${i}].thresholdRange`, m?.thresholdRange, KNOWN_KEYS.thresholdRange);
        const common = { name: m?.name, thresholdRange: m?.thresholdRange ?? {}, interval: m?.interval ?? "1m", templateVariables: m?.templateVariables ?? {} };
        if (m?.templateRef !== undefined) {
            const resolved = templateCheck(p, `analysis.metrics[${i}]`, m, templates);
            if (resolved === undefined) unresolved.add(i);
            return { ...common, ...(resolved ?? { query: "" }) };
        }
        const builtin = (BUILTINS as readonly string[]).includes(m?.name) && (m.query === undefined || m.query === "") ? (m.name as MetricCheck["builtin"]) : undefined;
        return { ...common, ...(builtin === undefined ? { query: m?.query } : { builtin }) };
    });
    (Array.isArray(a.match) ? a.match : []).forEach((m, i) => {
        unknownKeys(p, `analysis.match[${i}]`, m, KNOWN_KEYS.match);
        const headers = m?.headers;
        if (typeof headers === "object" && headers !== null) {
            for (const [name, cond] of Object.entries(headers)) unknownKeys(p, `analysis.match[${i}].headers.${name}`, cond, KNOWN_KEYS.headerCondition);
        }
    });
    const webhooks: Webhook[] = (Array.isArray(a.webhooks) ? a.webhooks : []).map((h, i) => (unknownKeys(p, `analysis.webhooks[${i}]`, h, KNOWN_KEYS.webhook), {
        name: h?.name,
        type: (h?.type ?? WEBHOOK_DEFAULTS.type) as HookType,
        url: h?.url,
        timeoutSeconds: seconds(`analysis.webhooks[${i}].timeout`, h?.timeout ?? WEBHOOK_DEFAULTS.timeout, 10),
        retries: h?.retries ?? WEBHOOK_DEFAULTS.retries,
        metadata: h?.metadata ?? {},
    }));
    let split: AnalysisSpec["static"];
    if (raw.static !== undefined) {
        unknownKeys(p, "analysis.static", raw.static, KNOWN_KEYS.static);
        // a static split has one weight: a ladder key next to it is a contradiction, not a default
        // (validateAnalysis refuses stepWeights, iterations and match; these two have defaults it cannot tell from)
        for (const k of ["stepWeight", "maxWeight"] as const) if (raw[k] !== undefined) p.add(`analysis.${k}`, STATIC_CONFLICT, raw[k]);
        split = { weight: raw.static?.weight as number, soakSeconds: required("analysis.static.soak", raw.static?.soak, 60) };
    }
    let budget: AnalysisSpec["errorBudget"];
    if (raw.errorBudget !== undefined) {
        const b = raw.errorBudget;
        unknownKeys(p, "analysis.errorBudget", b, KNOWN_KEYS.errorBudget);
        budget = {
            slo: b?.slo as number, windowSeconds: required("analysis.errorBudget.window", b?.window, 30 * 86400), maxBurnRate: b?.maxBurnRate as number,
            ...(b?.maxBudgetSpent === undefined ? {} : { maxBudgetSpent: b.maxBudgetSpent }),
            interval: b?.interval ?? "1m",
        };
    }
    return {
        ...(split === undefined ? {} : { static: split }),
        ...(budget === undefined ? {} : { errorBudget: budget }),
        intervalSeconds: seconds("analysis.interval", a.interval, 60),
        threshold: a.threshold as number,
        maxWeight: a.maxWeight as number,
        stepWeight: a.stepWeight as number,
        stepWeights: a.stepWeights ?? [],
        iterations: a.iterations as number,
        match: a.match ?? [],
        skipAnalysis: a.skipAnalysis as boolean,
        progressDeadlineSeconds: a.progressDeadlineSeconds as number,
        // not a list: kept as written, for validateAnalysis to report
        metrics: Array.isArray(a.metrics) ? metrics : (a.metrics as unknown as MetricCheck[]),
        webhooks: Array.isArray(a.webhooks) ? webhooks : (a.webhooks as unknown as Webhook[]),
    };
}

/** An object-valued key, or its default when unset: `value` is undefined when what was read (`raw`) is no object. */
function objectKey(c: ConfigSource, key: "alertProviders" | "metricTemplates" | "appConfig" | "appSecrets"): { value?: Record<string, unknown>; raw: unknown } {
    let raw: unknown;
    try {
        raw = c.getObject<unknown>(key) ?? DEFAULTS[key];
    } catch {
        raw = undefined; // not JSON
    }
    return typeof raw === "object" && raw !== null && !Array.isArray(raw) ? { value: raw as Record<string, unknown>, raw } : { raw };
}

/**
 * canary:alertProviders: {NAME: {type, address, channel, username}}, set as a secret (every
 * address carries its chat's token): no problem shows a value of it but the type.
 */
function alertProviders(p: Problems, c: ConfigSource): Record<string, AlertProvider> {
    const { value: raw } = objectKey(c, "alertProviders");
    if (raw === undefined) {
        p.list.push("canary:alertProviders: must be an object of {NAME: {type, address}}, got another value (not shown: a secret)");
        return {};
    }
    const entries = Object.entries(raw);
    if (entries.length > 0 && !c.isSecret("alertProviders")) {
        p.list.push("canary:alertProviders: must be set as a secret (its addresses carry tokens: pulumi config set --secret --path 'canary:alertProviders.NAME.address' URL), got a plaintext value (not shown)");
    }
    const providers: Record<string, AlertProvider> = {};
    for (const [name, v] of entries) {
        const key = `alertProviders.${name}`;
        if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) p.add(key, "the name must be a DNS-1123 label", name);
        if (typeof v !== "object" || v === null || Array.isArray(v)) {
            p.list.push(`canary:${key}: must be {type, address, channel, username}, got another value (not shown: a secret)`);
            continue;
        }
        const o = v as Record<string, unknown>;
        for (const k of Object.keys(o)) if (!(KNOWN_KEYS.alertProvider as readonly string[]).includes(k)) p.list.push(`canary:${key}.${k}: unknown key${hint(k, KNOWN_KEYS.alertProvider)}, got a secret value (not shown)`);
        if (!(ALERT_PROVIDER_TYPES as readonly unknown[]).includes(o.type)) p.add(`${key}.type`, `must be one of ${ALERT_PROVIDER_TYPES.join(", ")}`, o.type);
        if (!isHttpUrl(o.address)) {
            p.list.push(`canary:${key}.address: must be an http:// or https:// URL, got ${o.address === undefined ? "nothing" : "another value (not shown: a secret)"}`);
        }
        for (const k of ["channel", "username"] as const) if (o[k] !== undefined && (typeof o[k] !== "string" || o[k] === "")) p.add(`${key}.${k}`, "must be a non-empty string", o[k]);
        providers[name] = {
            type: o.type as AlertProvider["type"], address: o.address as string,
            ...(typeof o.channel === "string" ? { channel: o.channel } : {}), ...(typeof o.username === "string" ? { username: o.username } : {}),
        };
    }
    return providers;
}

/** A resolved metric template: its query, and where it runs when not at canary:metricsServer. */
interface MetricTemplate {
    readonly query: string;
    readonly source?: MetricSource;
}

/**
 * canary:metricTemplates: {NAME: {provider: {type: prometheus, address | service, namespace,
 * port; bearerToken}, query}}, as Flagger's MetricTemplate. No provider: canary:metricsServer.
 * With a bearerToken the key must be a secret, and no message shows the token.
 */
function metricTemplates(p: Problems, c: ConfigSource): Record<string, MetricTemplate> {
    const { value: raw } = objectKey(c, "metricTemplates");
    if (raw === undefined) {
        p.list.push("canary:metricTemplates: must be an object of {NAME: {provider, query}}, got another value (not shown: it may hold a token)");
        return {};
    }
    const templates: Record<string, MetricTemplate> = {};
    for (const [name, v] of Object.entries(raw)) {
        const key = `metricTemplates.${name}`;
        if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) p.add(key, "the name must be a DNS-1123 label", name);
        if (typeof v !== "object" || v === null || Array.isArray(v)) {
            p.add(key, "must be {provider, query}", v);
            continue;
        }
        const t = v as { provider?: unknown; query?: unknown };
        unknownKeys(p, key, t, KNOWN_KEYS.metricTemplate);
        if (typeof t.query !== "string" || t.query.trim() === "") p.add(`${key}.query`, "must be a PromQL query", t.query);
        let source: MetricSource | undefined;
        if (t.provider !== undefined) {
            if (typeof t.provider !== "object" || t.provider === null || Array.isArray(t.provider)) {
                p.list.push(`canary:${key}.provider: must be {type, address} or {type, service, namespace, port}, got another value (not shown: it may hold a token)`);
            } else {
                const pr = t.provider as Record<string, unknown>;
                for (const k of Object.keys(pr)) if (!(KNOWN_KEYS.templateProvider as readonly string[]).includes(k)) p.add(`${key}.provider.${k}`, `unknown key${hint(k, KNOWN_KEYS.templateProvider)}`, k === "bearerToken" ? "(not shown)" : pr[k]);
                if (pr.type !== undefined && pr.type !== "prometheus") p.add(`${key}.provider.type`, "must be prometheus", pr.type);
                const server: unknown = pr.address !== undefined ? { url: pr.address, ...(pr.service === undefined ? {} : { service: pr.service }) } : { service: pr.service, namespace: pr.namespace, port: pr.port };
                source = { server: server as MetricSource["server"], ...(pr.bearerToken === undefined ? {} : { bearerToken: pr.bearerToken as string }) };
                if (pr.bearerToken !== undefined && !c.isSecret("metricTemplates")) {
                    p.list.push(`canary:${key}.provider.bearerToken: must be set as a secret (pulumi config set --secret --path 'canary:${key}.provider.bearerToken' TOKEN), got a plaintext value (not shown)`);
                }
                const problems = validateMetricSource(source, `${key}.provider`);
                for (const problem of problems) p.list.push(`canary:${problem.reason.replace(`${key}.provider.server.url`, `${key}.provider.address`).replace(`${key}.provider.server`, `${key}.provider`)}`);
            }
        }
        templates[name] = { query: typeof t.query === "string" ? t.query : "", ...(source === undefined ? {} : { source }) };
    }
    return templates;
}

/** A metric's templateRef resolved: the template's query and source; a metric sets a query or a templateRef, not both. */
function templateCheck(p: Problems, key: string, m: { query?: string; templateRef?: { name: string } }, templates: Record<string, MetricTemplate>): Partial<MetricCheck> | undefined {
    unknownKeys(p, `${key}.templateRef`, m.templateRef, KNOWN_KEYS.templateRef);
    if (m.query !== undefined) p.add(`${key}.query`, "set query or templateRef, not both", m.query);
    const name = m.templateRef?.name;
    const t = typeof name === "string" ? templates[name] : undefined;
    if (t === undefined) {
        const known = Object.keys(templates);
        p.add(`${key}.templateRef.name`, `must name a template of canary:metricTemplates (${known.length === 0 ? "none is set" : `set: ${known.join(", ")}`})`, name);
        return undefined;
    }
    return { query: t.query, templateRef: name, ...(t.source === undefined ? {} : { source: t.source }) };
}

/** analysis.alerts[], each {name, severity (default info), providerRef: {name}} naming a provider of canary:alertProviders. */
function resolveAlerts(p: Problems, raw: AnalysisConfig, providers: Record<string, AlertProvider>): Alert[] {
    const list = raw.alerts ?? [];
    if (!Array.isArray(list)) {
        p.add("analysis.alerts", "must be a list of {name, severity, providerRef: {name}}", list);
        return [];
    }
    const names = new Set<string>();
    return list.flatMap((a, i): Alert[] => {
        const key = `analysis.alerts[${i}]`;
        if (typeof a !== "object" || a === null || Array.isArray(a)) {
            p.add(key, "must be {name, severity, providerRef: {name}}", a);
            return [];
        }
        unknownKeys(p, key, a, KNOWN_KEYS.alert);
        unknownKeys(p, `${key}.providerRef`, a.providerRef, KNOWN_KEYS.providerRef);
        if (typeof a.name !== "string" || a.name === "") p.add(`${key}.name`, "must be a non-empty string", a.name);
        else if (names.has(a.name)) p.add(`${key}.name`, "must be unique among alerts", a.name);
        else names.add(a.name);
        const severity = a.severity ?? "info";
        if (!(ALERT_SEVERITIES as readonly string[]).includes(severity)) p.add(`${key}.severity`, `must be one of ${ALERT_SEVERITIES.join(", ")}`, severity);
        const ref = a.providerRef?.name;
        const provider = typeof ref === "string" ? providers[ref] : undefined;
        if (provider === undefined) {
            const known = Object.keys(providers);
            p.add(`${key}.providerRef.name`, `must name a provider of canary:alertProviders (${known.length === 0 ? "none is set" : `set: ${known.join(", ")}`})`, ref);
            return [];
        }
        return [{ name: a.name, severity: severity as AlertSeverity, provider }];
    });
}

/** canary:metricsServer: a URL string, or {service, namespace, port} (checked by the provider's own validator). */
function metricsServer(p: Problems, c: ConfigSource): MetricsServer {
    return serverKey(p, c, "metricsServer", "an http(s) URL or {service, namespace, port}") ?? DEFAULTS.metricsServer;
}

/** The Pushgateway the Prometheus component installs beside Prometheus. */
export const STACK_PUSHGATEWAY: MetricsServer = { service: "pushgateway", namespace: "monitoring", port: 9091 };

/**
 * canary:pushgateway: "auto" (the default: the stack's own when installPrometheus, else none),
 * "none", a URL, or {service, namespace, port}.
 */
function pushgateway(p: Problems, c: ConfigSource, installed: boolean): MetricsServer | undefined {
    const text = c.get("pushgateway") ?? DEFAULTS.pushgateway;
    if (text === "auto") return installed ? STACK_PUSHGATEWAY : undefined;
    if (text === "none") return undefined;
    return serverKey(p, c, "pushgateway", 'an http(s) URL, {service, namespace, port}, "auto" or "none"');
}

/** A server key: a URL string or {service, namespace, port}; undefined (reported as not `what`) when it is neither. */
function serverKey(p: Problems, c: ConfigSource, key: "metricsServer" | "pushgateway", what: string): MetricsServer | undefined {
    const text = c.get(key);
    if (text === undefined) return undefined;
    if (/^https?:\/\//.test(text)) return { url: text };
    let obj: unknown;
    try {
        obj = c.getObject<unknown>(key);
    } catch {
        obj = undefined; // not JSON: a bare word such as prometheus:9090
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
        p.add(key, `must be ${what}`, text);
        return undefined;
    }
    unknownKeys(p, key, obj, KNOWN_KEYS.metricsServer);
    for (const problem of validateMetricsServer(obj, key)) p.list.push(`canary:${problem.reason}`);
    return obj as MetricsServer;
}

/**
 * canary:kubeconfig: "" (the default) means unset, the ambient kubeconfig. The plaintext is read
 * only to tell "" from a value and is neither kept nor shown; a value goes on as the secret
 * Output, and one not set as a secret is refused (Pulumi.yaml cannot declare the key
 * `secret: true`, see there).
 */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * canary:appConfig / canary:appSecrets: {NAME: value}, environment variables of the app from
 * its ConfigMap / Secret. Numbers and booleans are taken as their text (a ConfigMap holds
 * strings). A secret's values are never shown; canary:appSecrets must be set as a secret.
 */
function appEnv(p: Problems, c: ConfigSource, key: "appConfig" | "appSecrets"): Record<string, string> {
    const secret = key === "appSecrets";
    const { value: obj, raw } = objectKey(c, key);
    if (obj === undefined) {
        if (secret) p.list.push(`canary:${key}: must be an object of {NAME: value}, got another value (not shown: a secret)`);
        else p.add(key, "must be an object of {NAME: value}", raw);
        return {};
    }
    const entries = Object.entries(obj);
    if (secret && entries.length > 0 && !c.isSecret(key)) {
        p.list.push(`canary:${key}: must be set as a secret (pulumi config set --secret --path 'canary:${key}.NAME' VALUE), got a plaintext value (not shown)`);
    }
    const env: Record<string, string> = {};
    for (const [name, v] of entries) {
        if (!ENV_NAME.test(name)) p.add(`${key}.${name}`, "the name must be an environment variable name (letters, digits, '_', not starting with a digit)", name);
        if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") env[name] = String(v);
        else if (secret) p.list.push(`canary:${key}.${name}: must be a string, got another value (not shown: a secret)`);
        else p.add(`${key}.${name}`, "must be a string", v);
    }
    return env;
}

function kubeconfig(p: Problems, c: ConfigSource): pulumi.Output<string> | undefined {
    const raw = c.get("kubeconfig") ?? DEFAULTS.kubeconfig;
    if (raw === "") return undefined;
    if (raw.trim() === "") {
        p.list.push('canary:kubeconfig: must be kubeconfig contents, or "" for the ambient kubeconfig, got a blank value');
        return undefined;
    }
    if (!c.isSecret("kubeconfig")) {
        p.list.push("canary:kubeconfig: must be set as a secret (pulumi config set --secret canary:kubeconfig < FILE), got a plaintext value (not shown)");
        return undefined;
    }
    return c.getSecret("kubeconfig");
}

/**
 * A `canary:*Charts` key: an http(s):// or oci:// URL is a Helm repository; anything else is a
 * folder, relative to projectDir, resolved to an absolute path. The folder must hold a chart
 * (a sub-folder with Chart.yaml) for each of `needed`, which is checked only when the component
 * that installs them is on (needed undefined: not installed).
 */
function chartSource(p: Problems, c: ConfigSource, key: keyof typeof DEFAULTS & `${string}Charts`, needed: readonly ChartRef[] | undefined, projectDir: string): ChartSource {
    const fallback = DEFAULTS[key];
    const v = c.get(key) ?? fallback;
    if (/^(https?|oci):\/\/[^\s/]/.test(v)) return { repository: v };
    if (v.trim() === "" || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v)) {
        p.add(key, "must be a Helm repository URL (http://, https:// or oci://) or a chart folder", v);
        return { repository: fallback };
    }
    const folder = path.resolve(projectDir, v);
    if (needed === undefined) return { folder };
    if (!isDirectory(folder)) {
        p.add(key, `no folder ${folder}`, v);
        return { folder };
    }
    for (const chart of needed) {
        if (!fs.existsSync(path.join(folder, chart.folder, "Chart.yaml"))) p.add(key, `no chart folder ${chart.folder} in ${folder}`, v);
    }
    return { folder };
}

function isDirectory(p: string): boolean {
    try {
        return fs.statSync(p).isDirectory();
    } catch {
        return false;
    }
}

export interface ReadOptions {
    /** What relative chart folders resolve against. Default process.cwd(): the project directory when the CLI runs the program. */
    readonly projectDir?: string;
}

/**
 * Reads and validates every key. Throws a ConfigError listing every problem; nothing is
 * deployed with a bad config.
 */
export function readStackConfig(c: ConfigSource, opts: ReadOptions = {}): StackConfig {
    const p = new Problems();
    const projectDir = opts.projectDir ?? process.cwd();
    unknownTopLevelKeys(p, c);
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
        grafana: bool(p, c, "installGrafana", DEFAULTS.installGrafana),
    };
    if (infra.linkerd && infra.istio) p.add("installIstio", "cannot be true together with installLinkerd (one mesh per cluster)", true);
    const charts: ChartSources = {
        ingressNginx: chartSource(p, c, "ingressNginxCharts", infra.ingressNginx ? [CHARTS.ingressNginx] : undefined, projectDir),
        linkerd: chartSource(p, c, "linkerdCharts", infra.linkerd ? [CHARTS.linkerdCrds, CHARTS.linkerdControlPlane] : undefined, projectDir),
        linkerdSmi: chartSource(p, c, "linkerdSmiCharts", infra.linkerd && linkerdRoute === "smi" ? [CHARTS.linkerdSmi] : undefined, projectDir),
        istio: chartSource(p, c, "istioCharts", infra.istio ? [CHARTS.istioBase, CHARTS.istiod] : undefined, projectDir),
    };

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
    const unresolved = new Set<number>();
    const analysis = toAnalysisSpec(p, rawAnalysis, metricTemplates(p, c), unresolved);
    const ingress = routing === "nginx" ? appName : undefined;
    // a template's source is reported under canary:metricTemplates by its own keys, a metric
    // naming no template by its templateRef
    const reported = (property: string) => /^analysis\.metrics\[\d+\]\.source/.test(property) ||
        [...unresolved].some((i) => property.startsWith(`analysis.metrics[${i}].query`));
    for (const problem of validateAnalysis(analysis, "analysis", routing, ingress).filter((x) => !reported(x.property))) {
        const text = problem.reason.replace(/\.intervalSeconds: must be an integer >= 1/, ".interval: must be at least 1s");
        p.list.push(`canary:${text}`);
    }

    const alerts = resolveAlerts(p, rawAnalysis, alertProviders(p, c));
    const env = appEnv(p, c, "appConfig");
    const secretEnv = appEnv(p, c, "appSecrets");
    const server = metricsServer(p, c);
    const pushTo = pushgateway(p, c, infra.prometheus);
    const release: ReleaseConfig = {
        enabled: bool(p, c, "releaseEnabled", DEFAULTS.releaseEnabled),
        retry: bool(p, c, "retry", DEFAULTS.retry),
        analysis,
        // a metric template's token is in the analysis
        secretAnalysis: c.isSecret("analysis") || (Array.isArray(analysis.metrics) && analysis.metrics.some((m) => m.source?.bearerToken !== undefined)),
        metricsServer: server,
        ...(pushTo === undefined ? {} : { pushgateway: pushTo }),
        ...(alerts.length === 0 ? {} : { alerts: pulumi.secret(alerts) }),
    };

    const cfg: StackConfig = {
        cluster,
        kubeContext: str(c, "kubeContext", DEFAULTS.kubeContext),
        kubeconfig: kubeconfig(p, c),
        namespace,
        routing,
        linkerdRoute,
        infra,
        charts,
        app: {
            name: appName, image, replicas: int(p, c, "replicas", DEFAULTS.replicas, 1), host: str(c, "host", DEFAULTS.host),
            env,
            ...(Object.keys(secretEnv).length === 0 ? {} : { secretEnv: pulumi.secret(secretEnv) }),
        },
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
        isSecret: (key) => isConfigSecret(`${config.name}:${key}`),
        keys: () => Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(`${config.name}:`)).map((k) => k.slice(config.name.length + 1)),
    };
}

/**
 * Whether the CLI (PULUMI_CONFIG_SECRET_KEYS) or the Automation API passed this key encrypted.
 * @pulumi/pulumi's runtime exports isConfigSecret but leaves it out of its type declarations.
 */
function isConfigSecret(fullKey: string): boolean {
    const fn = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
    if (typeof fn !== "function") throw new Error(`@pulumi/pulumi has no runtime.isConfigSecret: cannot tell whether ${fullKey} was set as a secret`);
    return fn(fullKey);
}
