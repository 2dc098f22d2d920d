// Where the provider gets its seams. The real ones talk to the cluster named by the
// kubeconfig input; tests install fakes with `useSeams` (the provider requires this module
// by absolute path, so tests and provider share one module instance).
import type { AxiosInstance } from "axios";
import { AlertingEventSink, analysisFields } from "../alerts/sink";
import { HttpAlertNotifier } from "../alerts/notifier";
import { Alert } from "../alerts/types";
import { CheckResult } from "../engine/advance";
import { ErrorRatio } from "../engine/budget";
import { Clock, systemClock } from "../engine/clock";
import { AnalysisSpec, ErrorBudget, MetricCheck, MetricSource, Target } from "../engine/types";
import { ReleaseStore } from "../engine/scheduler";
import { EventSink } from "../events/sink";
import { WebhookClient } from "../hooks/client";
import { KubeApi } from "../kube/api";
import { assess, queryFailureText } from "../metrics/assess";
import { MetricProvider } from "../metrics/provider";
import { renderCheck } from "../metrics/templates";
import { Router } from "../routers/router";
import { PushgatewayClient, PushingStatusStore } from "../telemetry/pushgateway";
import { LinkerdRoute, MetricsServer, Routing } from "./types";

export interface Seams {
    readonly kube: KubeApi;
    readonly router: Router;
    readonly events: EventSink;
    readonly hooks: WebhookClient;
    /** Where checks run: the release's metricsServer. */
    readonly metrics: MetricProvider;
    /** Where a metric template's checks run: its own server (and token). Without it such a check fails. */
    readonly metricsAt?: (source: MetricSource) => MetricProvider;
    readonly store: ReleaseStore;
    readonly clock: Clock;
    /** Progress lines: the provider's stdout, shown by the CLI as info lines. */
    readonly log: (line: string) => void;
    /** Readiness polling period; default 2000 ms. */
    readonly pollMs?: number;
    /** An HTTP client for an in-cluster Service, through the API server's service proxy (real seams only). */
    readonly serviceHttp?: (server: { service: string; namespace: string; port: number }) => Promise<{ baseURL: string; axios: AxiosInstance }>;
}

/** The inputs the seams are built from. */
export interface SeamInputs {
    readonly target: Target;
    readonly routing: Routing;
    readonly linkerdRoute?: LinkerdRoute;
    readonly ingressName?: string;
    readonly metricsServer?: MetricsServer;
    readonly kubeconfig?: string;
    readonly kubeContext?: string;
    /** Port of the app's Services (Gateway API backend references). */
    readonly port?: number;
    /** Alerts of the release's moments; with them, the events also go to each alert. */
    readonly alerts?: readonly Alert[];
    /** The analysis, for the facts sent with a new revision. */
    readonly analysis?: AnalysisSpec;
    /** Where the release's state is pushed as metrics at every save. */
    readonly pushgateway?: MetricsServer;
}

export type SeamFactory = (inputs: SeamInputs) => Seams;

let override: SeamFactory | undefined;

/** Tests: replace the real seams (undefined restores them). */
export function useSeams(factory: SeamFactory | undefined): void {
    override = factory;
}

export function seamsFor(inputs: SeamInputs): Seams {
    return withReleaseMetrics(withAlerts((override ?? realSeams)(inputs), inputs), inputs);
}

/** The seams with every saved state also pushed to the Pushgateway, real or fake seams alike. */
function withReleaseMetrics(s: Seams, inputs: SeamInputs): Seams {
    const pg = inputs.pushgateway;
    if (pg === undefined) return s;
    const where = "url" in pg ? new URL(pg.url).origin : `service ${pg.service}.${pg.namespace}:${pg.port}`;
    const connect = async () => {
        if ("url" in pg) return { baseURL: pg.url };
        if (s.serviceHttp === undefined) throw new Error("no service proxy in these seams");
        return s.serviceHttp(pg);
    };
    const log = (l: string) => s.log(`[${inputs.target.name}.${inputs.target.namespace}] ${l}`);
    return { ...s, store: new PushingStatusStore(s.store, new PushgatewayClient(connect, s.clock), s.clock, log, where) };
}

/** The seams with events also sent to the alerts, real or fake seams alike (a real HTTP notifier). */
function withAlerts(s: Seams, inputs: SeamInputs): Seams {
    const alerts = inputs.alerts ?? [];
    if (alerts.length === 0) return s;
    const fields = inputs.analysis === undefined ? [] : analysisFields(inputs.target, inputs.analysis);
    return { ...s, events: new AlertingEventSink(s.events, alerts, new HttpAlertNotifier({ clock: s.clock }), { fields, now: () => s.clock.now(), log: (l) => s.log(`[${inputs.target.name}.${inputs.target.namespace}] ${l}`) }) };
}

/**
 * Evaluates one check: render, query (at the check's own source when it has one, else at the
 * release's metricsServer), assess. Never throws (a render error is a failed check).
 */
export function metricChecker(s: Pick<Seams, "metrics" | "metricsAt">, routing: Routing, target: Target, ingress?: string): (check: MetricCheck) => Promise<CheckResult> {
    return async (check) => {
        const metrics = check.source === undefined ? s.metrics : s.metricsAt?.(check.source);
        if (metrics === undefined) {
            return { pass: false, message: `Halt ${target.name}.${target.namespace} advancement metric "${check.name}": no provider for the server of template "${check.templateRef ?? check.name}"` };
        }
        let promql: string;
        try {
            promql = renderCheck(check, routing, target, ingress);
        } catch (err) {
            return { pass: false, message: `Halt ${target.name}.${target.namespace} advancement: ${err instanceof Error ? err.message : String(err)}` };
        }
        try {
            return assess(check, await metrics.query(promql), target);
        } catch (err) {
            return { pass: false, message: `Halt ${target.name}.${target.namespace} advancement metric "${check.name}" failed: ${err instanceof Error ? err.message : String(err)}` };
        }
    };
}

/**
 * The canary's error ratio for an error budget: the routing's builtin success rate over the
 * budget's interval, at the release's metricsServer. Never throws.
 */
export function errorRatioReader(s: Pick<Seams, "metrics">, routing: Routing, target: Target, ingress?: string): (budget: ErrorBudget) => Promise<ErrorRatio> {
    return async (budget) => {
        const check: MetricCheck = { name: "error-budget", builtin: "request-success-rate", thresholdRange: {}, interval: budget.interval, templateVariables: {} };
        try {
            const r = await s.metrics.query(renderCheck(check, routing, target, ingress));
            if (!r.ok) return { ok: false, message: `${queryFailureText(r)} for the canary's success rate: ${r.message}` };
            return { ok: true, errorRatio: Math.min(1, Math.max(0, 1 - r.value / 100)) };
        } catch (err) {
            return { ok: false, message: `the canary's success rate failed: ${err instanceof Error ? err.message : String(err)}` };
        }
    };
}

function realSeams(inputs: SeamInputs): Seams {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const client = require("../kube/client") as typeof import("../kube/client");
    const { ConfigMapStatusStore } = require("../kube/statusStore") as typeof import("../kube/statusStore");
    const { createRouter } = require("../routers/factory") as typeof import("../routers/factory");
    const { KubeEventSink } = require("../events/kube") as typeof import("../events/kube");
    const { HttpWebhookClient } = require("../hooks/webhook") as typeof import("../hooks/webhook");
    const { PrometheusProvider } = require("../metrics/prometheus") as typeof import("../metrics/prometheus");
    /* eslint-enable @typescript-eslint/no-require-imports */
    const kube = client.ClientKubeApi.fromString(inputs.kubeconfig, inputs.kubeContext);
    const log = (line: string) => console.log(line);
    // the API server's credentials go only to the API server: proxied calls get them, direct ones not
    const proxied = client.apiServerAxios(kube.kc);
    // a Prometheus by URL, or through the service proxy (with the API server's credentials,
    // so a bearer token of a template's own goes only to a server it reaches directly)
    const prometheusAt = (server: MetricsServer, bearerToken?: string): MetricProvider => "url" in server
        ? new PrometheusProvider({ baseURL: server.url, ...(bearerToken === undefined ? {} : { bearerToken }) })
        : lazyMetrics(async () => new PrometheusProvider({ baseURL: client.serviceProxyUrl(kube.kc, server.namespace, server.service, server.port), axios: await proxied }));
    const ms = inputs.metricsServer;
    const metrics: MetricProvider = ms === undefined
        ? { query: async () => ({ ok: false, reason: "unreachable", message: "no metrics server configured" }) }
        : prometheusAt(ms);
    const bySource = new Map<string, MetricProvider>();
    const metricsAt = (source: MetricSource): MetricProvider => {
        const key = JSON.stringify([source.server, source.bearerToken ?? ""]);
        const made = bySource.get(key) ?? prometheusAt(source.server, source.bearerToken);
        bySource.set(key, made);
        return made;
    };
    const direct = new HttpWebhookClient();
    const hooks: WebhookClient = {
        async call(hook, payload) {
            const url = inClusterUrl(hook.url);
            if (url === undefined) return direct.call(hook, payload);
            const viaProxy = new HttpWebhookClient({ axios: await proxied });
            const proxyUrl = `${client.serviceProxyUrl(kube.kc, url.namespace, url.service, url.port)}${url.path}`;
            return viaProxy.call({ ...hook, url: proxyUrl }, payload);
        },
    };
    return {
        kube,
        router: createRouter(inputs.routing, kube, { ingressName: inputs.ingressName, linkerdRoute: inputs.linkerdRoute, port: inputs.port }),
        events: new KubeEventSink(kube, { onError: (err) => log(`! could not record event: ${err.message}`) }),
        hooks,
        metrics,
        metricsAt,
        store: new ConfigMapStatusStore(kube),
        clock: systemClock,
        log,
        serviceHttp: async (server) => ({ baseURL: client.serviceProxyUrl(kube.kc, server.namespace, server.service, server.port), axios: await proxied }),
    };
}

function lazyMetrics(make: () => Promise<MetricProvider>): MetricProvider {
    let made: Promise<MetricProvider> | undefined;
    return {
        async query(promql) {
            made = made ?? make();
            return (await made).query(promql);
        },
    };
}

/**
 * An in-cluster Service URL (`http://svc.ns[.svc[.cluster.local]][:port]/path`), which the
 * provider, running outside the cluster, reaches through the API server's service proxy.
 * Anything else (a dotted public host, an IP, localhost) is called directly.
 */
export function inClusterUrl(url: string): { service: string; namespace: string; port: number | string; path: string } | undefined {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        return undefined;
    }
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.svc(\.cluster\.local)?)?$/.exec(u.hostname);
    if (m === null || u.protocol !== "http:") return undefined;
    // a two-label host with a public-looking suffix is not a namespace
    if (m[5] === undefined && PUBLIC_SUFFIXES.has(m[3])) return undefined;
    return { service: m[1], namespace: m[3], port: u.port === "" ? 80 : Number(u.port), path: `${u.pathname}${u.search}` };
}

const PUBLIC_SUFFIXES = new Set(["com", "org", "net", "io", "dev", "app", "local", "localhost", "internal", "example"]);
