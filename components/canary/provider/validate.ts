// Validation of CanaryRelease inputs: pure, no I/O, so `check` can run it during preview
// (invariant 8: bad configuration fails at check time, naming the field and the value).
// Every problem is reported as `<field path>: <what is wrong>, got <value>`.
import { renderCheck, MeshProvider } from "../metrics/templates";
import { AnalysisSpec, HOOK_TYPES, MetricCheck, Webhook } from "../engine/types";
import { ALERT_PROVIDER_TYPES, ALERT_SEVERITIES } from "../alerts/types";
import { ConfigKind, configRefs } from "../kube/configRefs";
import { ReleaseInputs, ROUTINGS, LINKERD_ROUTES } from "./types";

/** The engine's marker for a value not known yet (preview); such a value is not validated. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Problem {
    readonly property: string;
    readonly reason: string;
}

const isUnknown = (v: unknown): boolean => v === UNKNOWN;
const show = (v: unknown): string => (v === undefined ? "nothing" : JSON.stringify(v));

// RFC 1123 label, as Kubernetes requires for Service and Deployment names.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// RFC 1123 subdomain, as Kubernetes requires for ConfigMap and Secret names; their data keys.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
/** 253 (a name's limit) less "-primary": the primary's copy must have a valid name too. */
const MAX_TRACKED_NAME = 253 - "-primary".length;
const PROM_DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;
const HTTP_URL = /^https?:\/\/[^\s/]+/;

/** An http:// or https:// URL with a host, that URL parses. */
export function isHttpUrl(v: unknown): v is string {
    return typeof v === "string" && HTTP_URL.test(v) && URL.canParse(v);
}

class Collector {
    readonly problems: Problem[] = [];
    add(property: string, reason: string, value: unknown): void {
        this.problems.push({ property, reason: `${property}: ${reason}, got ${show(value)}` });
    }
    /** An integer in [min, max]; returns whether it was one (unknowns pass). */
    int(property: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
        if (isUnknown(v)) return true;
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
            const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `${min}..${max}`;
            this.add(property, `must be ${range}`, v);
            return false;
        }
        return true;
    }
    str(property: string, v: unknown, pattern?: RegExp, what = "a non-empty string"): boolean {
        if (isUnknown(v)) return true;
        if (typeof v !== "string" || v.trim() === "" || (pattern !== undefined && !pattern.test(v))) {
            this.add(property, `must be ${what}`, v);
            return false;
        }
        return true;
    }
    bool(property: string, v: unknown): void {
        if (isUnknown(v)) return;
        if (typeof v !== "boolean") this.add(property, "must be true or false", v);
    }
    oneOf(property: string, v: unknown, allowed: readonly string[]): boolean {
        if (isUnknown(v)) return true;
        if (typeof v !== "string" || !allowed.includes(v)) {
            this.add(property, `must be one of ${allowed.join(", ")}`, v);
            return false;
        }
        return true;
    }
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates an analysis spec; `prefix` names it in messages (e.g. "analysis"). */
export function validateAnalysis(raw: unknown, prefix: string, routing: MeshProvider | undefined, ingress: string | undefined): Problem[] {
    const c = new Collector();
    if (isUnknown(raw)) return [];
    if (!isObject(raw)) {
        c.add(prefix, "must be an object", raw);
        return c.problems;
    }
    const a = raw as Partial<Record<keyof AnalysisSpec, unknown>>;
    const f = (name: string) => `${prefix}.${name}`;
    c.int(f("intervalSeconds"), a.intervalSeconds, 1);
    c.int(f("threshold"), a.threshold, 1);
    c.int(f("progressDeadlineSeconds"), a.progressDeadlineSeconds, 1);
    c.bool(f("skipAnalysis"), a.skipAnalysis);
    const iterationsOk = c.int(f("iterations"), a.iterations, 0);
    const iterations = iterationsOk && typeof a.iterations === "number" ? a.iterations : 0;

    const stepWeights = Array.isArray(a.stepWeights) ? a.stepWeights : undefined;
    if (!isUnknown(a.stepWeights) && stepWeights === undefined) c.add(f("stepWeights"), "must be a list of weights", a.stepWeights);
    const ladder = iterations === 0 && (stepWeights === undefined || stepWeights.length === 0);
    const maxOk = c.int(f("maxWeight"), a.maxWeight, 1, 100);
    const stepOk = c.int(f("stepWeight"), a.stepWeight, ladder ? 1 : 0, 100);
    if (ladder && maxOk && stepOk && typeof a.stepWeight === "number" && typeof a.maxWeight === "number" && a.stepWeight > a.maxWeight) {
        c.add(f("stepWeight"), `must not exceed maxWeight ${a.maxWeight}`, a.stepWeight);
    }
    let previous = 0;
    (stepWeights ?? []).forEach((w, i) => {
        if (!c.int(`${f("stepWeights")}[${i}]`, w, 1, 100)) return;
        if (typeof w === "number" && w <= previous) c.add(`${f("stepWeights")}[${i}]`, `must be greater than the previous weight ${previous}`, w);
        if (typeof w === "number") previous = w;
    });

    const match = Array.isArray(a.match) ? a.match : undefined;
    if (!isUnknown(a.match) && match === undefined) c.add(f("match"), "must be a list of match conditions", a.match);
    (match ?? []).forEach((m, i) => {
        const p = `${f("match")}[${i}]`;
        if (!isObject(m)) return c.add(p, "must be an object with headers or cookie", m);
        if (m.headers === undefined && m.cookie === undefined) c.add(p, "must set headers or cookie", m);
        if (m.cookie !== undefined) c.str(`${p}.cookie`, m.cookie);
        if (m.headers !== undefined) {
            if (!isObject(m.headers)) return c.add(`${p}.headers`, "must map header names to {exact} or {regex}", m.headers);
            for (const [name, cond] of Object.entries(m.headers)) {
                const ok = isObject(cond) && (typeof cond.exact === "string") !== (typeof cond.regex === "string");
                if (!ok) c.add(`${p}.headers.${name}`, "must be {exact: string} or {regex: string}", cond);
            }
        }
    });
    if ((match ?? []).length > 0 && iterationsOk && iterations === 0) {
        c.add(f("iterations"), "must be > 0 when match (A/B testing) is set", a.iterations);
    }

    validateStatic(c, prefix, a.static, iterations, stepWeights ?? [], match ?? []);
    validateErrorBudget(c, f("errorBudget"), a.errorBudget);

    const metrics = Array.isArray(a.metrics) ? a.metrics : undefined;
    if (!isUnknown(a.metrics) && metrics === undefined) c.add(f("metrics"), "must be a list of metric checks", a.metrics);
    const names = new Set<string>();
    (metrics ?? []).forEach((m, i) => validateMetric(c, `${f("metrics")}[${i}]`, m, names, routing, ingress));

    const hooks = Array.isArray(a.webhooks) ? a.webhooks : undefined;
    if (!isUnknown(a.webhooks) && hooks === undefined) c.add(f("webhooks"), "must be a list of webhooks", a.webhooks);
    const hookNames = new Set<string>();
    (hooks ?? []).forEach((h, i) => validateWebhook(c, `${f("webhooks")}[${i}]`, h, hookNames));
    return c.problems;
}

/** Why a ladder or A/B key next to a static split is refused (the program says the same of stepWeight and maxWeight). */
export const STATIC_CONFLICT = "cannot be set with analysis.static (one fixed weight for the soak time)";

/** A static split: one weight held for the soak time, so none of the ladder's or A/B's keys. */
function validateStatic(c: Collector, prefix: string, raw: unknown, iterations: number, stepWeights: readonly unknown[], match: readonly unknown[]): void {
    const p = `${prefix}.static`;
    if (raw === undefined || isUnknown(raw)) return;
    if (!isObject(raw)) return c.add(p, "must be an object with weight and soak", raw);
    c.int(`${p}.weight`, raw.weight, 1, 100);
    c.int(`${p}.soakSeconds`, raw.soakSeconds, 1);
    const conflicts: Array<[string, unknown, boolean]> = [["iterations", iterations, iterations > 0], ["stepWeights", stepWeights, stepWeights.length > 0], ["match", match, match.length > 0]];
    for (const [key, value, set] of conflicts) if (set) c.add(`${prefix}.${key}`, STATIC_CONFLICT, value);
}

function validateErrorBudget(c: Collector, p: string, raw: unknown): void {
    if (raw === undefined || isUnknown(raw)) return;
    if (!isObject(raw)) return c.add(p, "must be an object with slo, window and maxBurnRate", raw);
    const num = (k: string, ok: (v: number) => boolean, what: string) => {
        const v = raw[k];
        if (!isUnknown(v) && (typeof v !== "number" || !Number.isFinite(v) || !ok(v))) c.add(`${p}.${k}`, `must be ${what}`, v);
    };
    num("slo", (v) => v > 0 && v < 100, "a percentage of successful requests above 0 and below 100, such as 99.9");
    num("maxBurnRate", (v) => v > 0, "a number > 0 (1 spends the budget exactly over the window)");
    if (raw.maxBudgetSpent !== undefined) num("maxBudgetSpent", (v) => v > 0 && v <= 100, "a percentage of the window's budget, above 0 and at most 100");
    c.int(`${p}.windowSeconds`, raw.windowSeconds, 1);
    c.str(`${p}.interval`, raw.interval, PROM_DURATION, "a Prometheus duration such as 1m or 30s");
}

function validateMetric(c: Collector, p: string, raw: unknown, names: Set<string>, routing: MeshProvider | undefined, ingress: string | undefined): void {
    if (isUnknown(raw)) return;
    if (!isObject(raw)) return c.add(p, "must be an object", raw);
    const m = raw as Partial<Record<keyof MetricCheck, unknown>>;
    if (c.str(`${p}.name`, m.name) && typeof m.name === "string") {
        if (names.has(m.name)) c.add(`${p}.name`, "must be unique among metrics", m.name);
        names.add(m.name);
    }
    c.str(`${p}.interval`, m.interval, PROM_DURATION, "a Prometheus duration such as 1m or 30s");
    const range = m.thresholdRange;
    if (!isObject(range) || (range.min === undefined && range.max === undefined)) {
        c.add(`${p}.thresholdRange`, "must set min, max or both", range);
    } else {
        for (const bound of ["min", "max"] as const) {
            const v = range[bound];
            if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) c.add(`${p}.thresholdRange.${bound}`, "must be a number", v);
        }
        if (typeof range.min === "number" && typeof range.max === "number" && range.min > range.max) {
            c.add(`${p}.thresholdRange`, "min must not exceed max", range);
        }
    }
    if (m.builtin !== undefined) c.oneOf(`${p}.builtin`, m.builtin, ["request-success-rate", "request-duration"]);
    if (m.templateVariables !== undefined && !isObject(m.templateVariables)) c.add(`${p}.templateVariables`, "must map names to strings", m.templateVariables);
    if (m.templateRef !== undefined) c.str(`${p}.templateRef`, m.templateRef, DNS_LABEL, "a template name (a DNS-1123 label)");
    if (m.source !== undefined) c.problems.push(...validateMetricSource(m.source, `${p}.source`));
    // the query must render for this routing provider: a missing variable fails now, not mid-release
    if (c.problems.some((x) => x.property.startsWith(`${p}.`)) || routing === undefined) return;
    if (typeof m.name !== "string" || typeof m.interval !== "string") return;
    try {
        renderCheck(raw as unknown as MetricCheck, routing, { name: "app", namespace: "ns" }, ingress);
    } catch (err) {
        c.add(`${p}.query`, `does not render: ${err instanceof Error ? err.message : String(err)}`, m.query ?? m.builtin);
    }
}

function validateWebhook(c: Collector, p: string, raw: unknown, names: Set<string>): void {
    if (isUnknown(raw)) return;
    if (!isObject(raw)) return c.add(p, "must be an object", raw);
    const h = raw as Partial<Record<keyof Webhook, unknown>>;
    if (c.str(`${p}.name`, h.name) && typeof h.name === "string") {
        if (names.has(h.name)) c.add(`${p}.name`, "must be unique among webhooks", h.name);
        names.add(h.name);
    }
    c.oneOf(`${p}.type`, h.type, HOOK_TYPES);
    c.str(`${p}.url`, h.url, HTTP_URL, "an http:// or https:// URL");
    c.int(`${p}.timeoutSeconds`, h.timeoutSeconds, 1);
    c.int(`${p}.retries`, h.retries, 0, 10);
    if (h.metadata !== undefined && !isUnknown(h.metadata)) {
        if (!isObject(h.metadata) || Object.values(h.metadata).some((v) => typeof v !== "string")) {
            c.add(`${p}.metadata`, "must map names to strings", h.metadata);
        }
    }
}

/** Validates every input of a CanaryRelease. */
export function validateReleaseInputs(raw: Partial<Record<keyof ReleaseInputs, unknown>>): Problem[] {
    const c = new Collector();
    const target = raw.target;
    if (!isUnknown(target)) {
        if (!isObject(target)) c.add("target", "must be {name, namespace}", target);
        else {
            c.str("target.name", target.name, DNS_LABEL, "a DNS-1123 label (lowercase letters, digits, '-')");
            c.str("target.namespace", target.namespace, DNS_LABEL, "a DNS-1123 label (lowercase letters, digits, '-')");
        }
    }
    c.str("revision", raw.revision);
    if (!isUnknown(raw.template) && !isObject(raw.template)) c.add("template", "must be a pod template object", raw.template);
    const routingOk = c.oneOf("routing", raw.routing, ROUTINGS);
    const routing = routingOk && typeof raw.routing === "string" ? (raw.routing as MeshProvider) : undefined;
    if (raw.linkerdRoute !== undefined) c.oneOf("linkerdRoute", raw.linkerdRoute, LINKERD_ROUTES);
    if (routing === "nginx") c.str("ingressName", raw.ingressName, DNS_LABEL, "the name of the app's Ingress (required for nginx routing)");
    c.int("canaryReplicas", raw.canaryReplicas, 1);
    c.bool("retry", raw.retry);
    if (raw.kubeContext !== undefined && !isUnknown(raw.kubeContext) && typeof raw.kubeContext !== "string") c.add("kubeContext", "must be a string", raw.kubeContext);
    if (raw.kubeconfig !== undefined && !isUnknown(raw.kubeconfig) && typeof raw.kubeconfig !== "string") c.add("kubeconfig", "must be a string", "[secret]");
    checkMetricsServer(c, raw.metricsServer);
    if (raw.pushgateway !== undefined) checkMetricsServer(c, raw.pushgateway, "pushgateway");
    const ingress = typeof raw.ingressName === "string" && !isUnknown(raw.ingressName) ? raw.ingressName : undefined;
    trackedConfig(c, "configMaps", "ConfigMap", raw.configMaps, raw.template);
    trackedConfig(c, "secrets", "Secret", raw.secrets, raw.template);
    return [...c.problems, ...validateAnalysis(raw.analysis, "analysis", routing, routing === "nginx" ? ingress ?? "ingress" : ingress), ...validateAlerts(raw.alerts)];
}

/**
 * configMaps / secrets: {NAME: {KEY: value}}, each object one the template uses (a tracked
 * object nothing reads is a typo of its name). A Secret's values are never shown.
 */
function trackedConfig(c: Collector, property: "configMaps" | "secrets", kind: ConfigKind, raw: unknown, template: unknown): void {
    if (raw === undefined || isUnknown(raw)) return;
    const secret = kind === "Secret";
    if (!isObject(raw)) return c.add(property, `must map ${kind} names to their data`, secret ? "[secret]" : raw);
    const used = isObject(template) && isObject(template.spec)
        ? configRefs({ spec: template.spec }).filter((r) => r.kind === kind).map((r) => r.name)
        : undefined;
    for (const [name, data] of Object.entries(raw)) {
        const p = `${property}.${name}`;
        if (!DNS_SUBDOMAIN.test(name) || name.length > MAX_TRACKED_NAME) {
            c.add(p, `the name must be a DNS-1123 subdomain of at most ${MAX_TRACKED_NAME} characters (its copy is ${name}-primary)`, name);
        }
        if (used !== undefined && !used.includes(name)) {
            c.add(p, `the pod template does not use this ${kind} (env valueFrom, envFrom, volumes${used.length === 0 ? "; it uses none" : `; it uses ${used.join(", ")}`})`, name);
        }
        if (isUnknown(data)) continue;
        if (!isObject(data)) {
            c.add(p, "must map keys to string values", secret ? "[secret]" : data);
            continue;
        }
        for (const [key, value] of Object.entries(data)) {
            if (!CONFIG_KEY.test(key) || key.length > 253) c.add(`${p}.${key}`, "the key must be letters, digits, '-', '_' or '.'", key);
            if (!isUnknown(value) && typeof value !== "string") c.add(`${p}.${key}`, "must be a string", secret ? "[secret]" : value);
        }
    }
}

/**
 * Validates the resolved alerts (`analysis.alerts[]`, each with its provider). An address is a
 * secret (it carries the chat's token): a problem with it says what is wrong, never the value.
 */
export function validateAlerts(raw: unknown, prefix = "alerts"): Problem[] {
    const c = new Collector();
    if (raw === undefined || isUnknown(raw)) return [];
    if (!Array.isArray(raw)) {
        c.add(prefix, "must be a list of {name, severity, provider}", "[secret]");
        return c.problems;
    }
    const names = new Set<string>();
    raw.forEach((a: unknown, i) => {
        const p = `${prefix}[${i}]`;
        if (isUnknown(a)) return;
        if (!isObject(a)) return c.add(p, "must be {name, severity, provider}", "[secret]");
        if (c.str(`${p}.name`, a.name) && typeof a.name === "string") {
            if (names.has(a.name)) c.add(`${p}.name`, "must be unique among alerts", a.name);
            names.add(a.name);
        }
        c.oneOf(`${p}.severity`, a.severity, ALERT_SEVERITIES);
        const provider = a.provider;
        if (isUnknown(provider)) return;
        if (!isObject(provider)) return c.add(`${p}.provider`, "must be {type, address}", "[secret]");
        c.oneOf(`${p}.provider.type`, provider.type, ALERT_PROVIDER_TYPES);
        const address = provider.address;
        if (!isUnknown(address) && !isHttpUrl(address)) {
            c.problems.push({ property: `${p}.provider.address`, reason: `${p}.provider.address: must be an http:// or https:// URL (the value is a secret, not shown)` });
        }
        for (const k of ["channel", "username"] as const) if (provider[k] !== undefined) c.str(`${p}.provider.${k}`, provider[k]);
    });
    return c.problems;
}

/** Validates a metrics server: {url} or {service, namespace, port}. */
export function validateMetricsServer(v: unknown, prefix = "metricsServer"): Problem[] {
    const c = new Collector();
    checkMetricsServer(c, v, prefix);
    return c.problems;
}

function checkMetricsServer(c: Collector, v: unknown, prefix = "metricsServer"): void {
    if (isUnknown(v)) return;
    if (!isObject(v)) return c.add(prefix, "must be {url} or {service, namespace, port}", v);
    if (v.url !== undefined) {
        if (v.service !== undefined) c.add(prefix, "set url or service, not both", v);
        c.str(`${prefix}.url`, v.url, HTTP_URL, "an http:// or https:// URL");
        return;
    }
    c.str(`${prefix}.service`, v.service, DNS_LABEL, "a Service name");
    c.str(`${prefix}.namespace`, v.namespace, DNS_LABEL, "a namespace name");
    c.int(`${prefix}.port`, v.port, 1, 65535);
}

/**
 * A metric template's source: its server, and a bearer token (a secret, never shown) only for a
 * server reached directly: through the API server's service proxy the Authorization header is
 * the API server's.
 */
export function validateMetricSource(v: unknown, prefix: string): Problem[] {
    const c = new Collector();
    if (isUnknown(v)) return [];
    if (!isObject(v)) return [{ property: prefix, reason: `${prefix}: must be {server, bearerToken}, got another value (not shown: it may hold a token)` }];
    checkMetricsServer(c, v.server, `${prefix}.server`);
    const token = v.bearerToken;
    if (token !== undefined && !isUnknown(token)) {
        if (typeof token !== "string" || token.trim() === "") c.problems.push({ property: `${prefix}.bearerToken`, reason: `${prefix}.bearerToken: must be a non-empty string (a secret, not shown)` });
        else if (isObject(v.server) && v.server.url === undefined) {
            c.problems.push({ property: `${prefix}.bearerToken`, reason: `${prefix}.bearerToken: needs a server by URL (through the API server's service proxy the Authorization header is the API server's)` });
        }
    }
    return c.problems;
}
