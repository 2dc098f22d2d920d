// The fault suite's table: every fault, the phase of the release it is injected at, how it is
// injected, the outcome the release must have and the text the product must report (or, for a
// fault the product must absorb, the text that must not appear). faults.test.ts runs one
// `pulumi up` per release below, arms each row's injection when its phase is seen from outside
// (the canary weight and the release's Events read from the API server directly, not through a
// proxy), and asserts every row.
//
// Three proxies (proxy.ts) sit between the release and what it talks to:
//   apiserver   kube-apiserver, for everything the stack does (the Kubernetes provider's and the
//               release provider's traffic): rules match the release's own writes narrowly
//   prometheus  the data plane's Prometheus (canary:metricsServer)
//   hooks       the data plane's loadtester (every webhook URL; each hook is told apart by its
//               `?hook=NAME` query, which the loadtester ignores)
// A refused connection is a hook URL to a port nothing listens on (`dead`), or the prometheus
// proxy down. Nothing answers there to count it, so those injections are counted from the
// product's own reports of them (each `connect ECONNREFUSED 127.0.0.1:PORT`, times its attempts).
//
// The analysis: 1 s interval, weights 20, 40, 60 (first check at 20, mid-ladder at 40, the last
// check at 60 decides promotion), success rate >= 99% and P99 <= 500 ms over 10 s, a pre-rollout
// acceptance test, a blocking 2 s load test per step, a confirm-promotion gate and a post-rollout
// notification, all through the loadtester. Transient faults share releases (threshold raised so
// that their failed checks fit); each persistent fault has a release of its own.
import { DEFAULT_RETRY } from "../../../components/canary/kube/client";
import { FaultAction, RuleMatch } from "./proxy";

export const NS = "faults";
export const APP = "podinfo";

export type Outcome = "promoted" | "rolled back" | "up failed";
export type Phase = "scale-up" | "pre-rollout" | "first check" | "first weight" | "mid-ladder" | "last check" | "promotion" | "finalization" | "whole analysis";
export type ProxyName = "apiserver" | "prometheus" | "hooks";

/** When an injection is armed (or a down proxy brought back), seen from outside the product. */
export type Trigger =
    | { readonly at: "start" }
    /** The canary Ingress the API server holds first has this weight. */
    | { readonly at: "weight"; readonly weight: number }
    /** A release Event (any type) matching this, recorded during this up. */
    | { readonly at: "event"; readonly match: RegExp };

export type Injection =
    /** A rule on a proxy, added when `arm` fires, removed when the up ends. */
    | { readonly kind: "rule"; readonly proxy: ProxyName; readonly arm: Trigger; readonly match: RuleMatch; readonly action: FaultAction; readonly skip?: number; readonly times?: number }
    /** The proxy stops listening when `arm` fires and listens again when `until` fires (or the up ends). */
    | { readonly kind: "down"; readonly proxy: ProxyName; readonly arm: Trigger; readonly until?: Trigger }
    /** A webhook whose URL is a port nothing listens on (the release's `analysis` points it there). */
    | { readonly kind: "dead hook"; readonly hook: string };

export interface Row {
    /** Unique; the proxy rule's name. */
    readonly id: string;
    readonly fault: string;
    readonly phase: Phase;
    readonly expected: Outcome;
    /** Must each appear in the up's CLI output or its Warning Events. */
    readonly texts: readonly RegExp[];
    /** For a fault the product absorbs: what it would have said had it not; must not appear. */
    readonly absent?: RegExp;
    /** What the fault may also bring about (not required): e.g. no data once a load test did not run. */
    readonly mayAlso?: readonly RegExp[];
    /** Injections the row must make: exactly `times` when its rule has it, else at least 1. */
    readonly inject: Injection;
}

export interface Release {
    readonly name: string;
    /** Failed checks tolerated before rollback (the analysis' threshold). */
    readonly threshold: number;
    /** Overrides of the base analysis (progressDeadlineSeconds, hooks' retries, an extra hook). */
    readonly analysis?: (a: Analysis, u: HookUrls) => Analysis;
    readonly rows: readonly Row[];
}

export interface Hook {
    readonly name: string;
    readonly type: string;
    readonly url: string;
    readonly timeout: string;
    readonly retries?: number;
    readonly metadata: Readonly<Record<string, string>>;
}

export interface Analysis {
    readonly interval: string;
    readonly threshold: number;
    readonly stepWeight: number;
    readonly maxWeight: number;
    readonly progressDeadlineSeconds: number;
    readonly metrics: readonly Record<string, unknown>[];
    readonly webhooks: readonly Hook[];
}

/** Where the analysis' hooks point. */
export interface HookUrls {
    /** The hooks proxy (in front of the loadtester). */
    readonly hooks: string;
    /** A port nothing listens on. */
    readonly dead: string;
}

const token = (role: string) => `curl -sd 'test' http://${APP}-${role}.${NS}:9898/token | grep token`;

export function baseAnalysis(u: HookUrls, threshold: number): Analysis {
    const hook = (name: string, type: string, timeout: string, metadata: Record<string, string>): Hook =>
        ({ name, type, url: `${u.hooks}/?hook=${name}`, timeout, metadata });
    return {
        interval: "1s",
        threshold,
        stepWeight: 20,
        maxWeight: 60,
        progressDeadlineSeconds: 30,
        metrics: [
            { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "10s" },
            { name: "request-duration", thresholdRange: { max: 500 }, interval: "10s" },
        ],
        webhooks: [
            hook("acceptance-test", "pre-rollout", "5s", { type: "bash", cmd: token("canary") }),
            hook("load-test", "rollout", "4s", { cmd: `hey -z 2s -q 25 -c 2 -host app.example.com http://ingress-nginx-controller.ingress-nginx/`, blocking: "true" }),
            hook("promotion-gate", "confirm-promotion", "3s", { type: "bash", cmd: token("canary") }),
            hook("notify", "post-rollout", "3s", { type: "bash", cmd: token("primary") }),
        ],
    };
}

/** The analysis with hook `name` changed. */
export function withHook(a: Analysis, name: string, change: (h: Hook) => Hook): Analysis {
    if (!a.webhooks.some((h) => h.name === name)) throw new Error(`no webhook ${name}`);
    return { ...a, webhooks: a.webhooks.map((h) => (h.name === name ? change(h) : h)) };
}

// ---- what the proxies match ----
const api = (p: string) => new RegExp(`^${p}$`);
const CANARY_INGRESS = api(`/apis/networking\\.k8s\\.io/v1/namespaces/${NS}/ingresses/${APP}-canary`);
const CANARY_SCALE = api(`/apis/apps/v1/namespaces/${NS}/deployments/${APP}-canary/scale`);
const PRIMARY = api(`/apis/apps/v1/namespaces/${NS}/deployments/${APP}-primary`);
const STATUS_CM = api(`/api/v1/namespaces/${NS}/configmaps/${APP}-canary-status`);
const EVENTS = api(`/api/v1/namespaces/${NS}/events`);
const QUERY = /^\/api\/v1\/query$/;
/** The builtin queries, told apart by their series (letters and underscores are not URL-encoded). */
const SUCCESS_RATE = /nginx_ingress_controller_requests/;
const DURATION = /nginx_ingress_controller_request_duration_seconds_bucket/;
const hookQuery = (name: string) => new RegExp(`(^|&)hook=${name}($|&)`);
const weightBody = (w: number) => new RegExp(`"nginx\\.ingress\\.kubernetes\\.io/canary-weight":"${w}"`);
const statusBody = (field: string, value: string) => new RegExp(`"canary\\.pulumi\\.com/${field}":"${value}"`);
/** Not a dry run (the Kubernetes provider previews its patches with ?dryRun=All). */
const NOT_DRY_RUN = /^(?!.*dryRun)/;

// ---- what the proxies answer ----
const status = (code: number, reason: string, message: string) =>
    JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
const CONFLICT: FaultAction = {
    kind: "answer", status: 409,
    body: status(409, "Conflict", "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again (injected)"),
};
const THROTTLED: FaultAction = { kind: "answer", status: 429, headers: { "retry-after": "1" }, body: status(429, "TooManyRequests", "the server has received too many requests and has asked us to try again later (injected)") };
const INTERNAL: FaultAction = { kind: "answer", status: 500, body: status(500, "InternalError", "Internal error occurred: injected") };
const prom = (data: unknown) => JSON.stringify({ status: "success", data });
const NAN: FaultAction = { kind: "answer", status: 200, body: () => prom({ resultType: "vector", result: [{ metric: {}, value: [Date.now() / 1000, "NaN"] }] }) };
const EMPTY: FaultAction = { kind: "answer", status: 200, body: prom({ resultType: "vector", result: [] }) };
const BAD_DATA: FaultAction = { kind: "answer", status: 400, body: JSON.stringify({ status: "error", errorType: "bad_data", error: "1:5: parse error: unexpected character (injected)" }) };
/** Past the provider's Prometheus query timeout (5000 ms, plus its 250 ms grace). */
const SLOW_QUERY: FaultAction = { kind: "delay", ms: 6500 };
const HOOK_500: FaultAction = { kind: "answer", status: 500, headers: { "content-type": "text/plain" }, body: "injected failure" };
const HOOK_202: FaultAction = { kind: "answer", status: 202, headers: { "content-type": "text/plain" }, body: "accepted (injected)" };

const start: Trigger = { at: "start" };
const weight = (w: number): Trigger => ({ at: "weight", weight: w });

// ---- texts (components/canary/metrics/assess.ts, prometheus.ts, hooks/webhook.ts, kube/client.ts, engine/messages.ts) ----
const ID = `${APP}\\.${NS}`;
const halt = (reason: string, metric: string, rest: string) => new RegExp(`Halt ${ID} advancement ${reason} for metric "${metric}" \\(threshold [^)]*\\): ${rest}`);
/** The same halt for both builtin checks (a fault of every query fails both). */
const haltBoth = (reason: string, rest: string) => [halt(reason, "request-success-rate", rest), halt(reason, "request-duration", rest)];
const UNREACHABLE = "Prometheus at http://127\\.0\\.0\\.1:\\d+/api/v1/query is unreachable \\(ECONNREFUSED";
const TIMED_OUT = "Prometheus at http://127\\.0\\.0\\.1:\\d+/api/v1/query did not answer within 5000ms";
const REJECTED = "Prometheus rejected the query \\(HTTP 400, bad_data\\): 1:5: parse error: unexpected character \\(injected\\)";
const HOOK_URL = "POST http://127\\.0\\.0\\.1:\\d+/…";
const hookFailed = (name: string, type: string, rest: string) => new RegExp(`${name}: webhook "${name}" \\(${type}\\) ${HOOK_URL}: ${rest}`);
const deadHookFailed = (name: string, type: string) => new RegExp(`${name}: webhook "${name}" \\(${type}\\) POST http://127\\.0\\.0\\.1:\\d+/: request failed: ECONNREFUSED`);
const ATTEMPTS = DEFAULT_RETRY.attempts;

/** The releases, in the order they run. */
export const RELEASES: readonly Release[] = [
    {
        name: "transient Prometheus answers, API retries, a 202",
        threshold: 4,
        rows: [
            {
                id: "nan-once", fault: "Prometheus answers NaN", phase: "first check", expected: "promoted",
                texts: [halt("value is not a number", "request-success-rate", "query returned NaN")],
                inject: { kind: "rule", proxy: "prometheus", arm: weight(20), match: { path: QUERY, query: SUCCESS_RATE }, action: NAN, times: 1 },
            },
            {
                id: "empty-once", fault: "Prometheus answers an empty vector", phase: "mid-ladder", expected: "promoted",
                texts: [halt("no values found", "request-duration", "query returned an empty vector")],
                inject: { kind: "rule", proxy: "prometheus", arm: weight(40), match: { path: QUERY, query: DURATION }, action: EMPTY, times: 1 },
            },
            {
                id: "query-error-once", fault: "Prometheus answers a query error", phase: "last check", expected: "promoted",
                texts: [halt("query failed", "request-success-rate", REJECTED)],
                inject: { kind: "rule", proxy: "prometheus", arm: weight(60), match: { path: QUERY, query: SUCCESS_RATE }, action: BAD_DATA, times: 1 },
            },
            {
                id: "api-429-scale-up", fault: "API server answers 429 (Retry-After 1)", phase: "scale-up", expected: "promoted",
                texts: [], absent: /scale Deployment podinfo-canary\.faults: HTTP 429/,
                inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PATCH", path: CANARY_SCALE, body: /"value":2\b/ }, action: THROTTLED, times: 3 },
            },
            {
                id: "api-409-first-weight", fault: "API server answers 409", phase: "first weight", expected: "promoted",
                texts: [], absent: /patch Ingress podinfo-canary\.faults: HTTP 409/,
                inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PUT", path: CANARY_INGRESS, body: weightBody(20) }, action: CONFLICT, times: 2 },
            },
            {
                id: "hook-202-pre-rollout", fault: "webhook answers 202", phase: "pre-rollout", expected: "promoted",
                texts: [], absent: /pre-rollout check failed/,
                inject: { kind: "rule", proxy: "hooks", arm: start, match: { method: "POST", path: /^\/$/, query: hookQuery("acceptance-test") }, action: HOOK_202, times: 1 },
            },
        ],
    },
    {
        name: "transient slow and down Prometheus, retried and failing hooks, API retries",
        threshold: 3,
        analysis: (a, u) => {
            const retried = withHook(withHook(a, "load-test", (h) => ({ ...h, retries: 1 })), "promotion-gate", (h) => ({ ...h, retries: 1 }));
            return { ...retried, webhooks: [...retried.webhooks, { name: "notify-dead", type: "post-rollout", url: `${u.dead}/`, timeout: "3s", metadata: { type: "bash", cmd: token("primary") } }] };
        },
        rows: [
            {
                id: "slow-once", fault: "Prometheus slow (past the query timeout)", phase: "first check", expected: "promoted",
                texts: haltBoth("query timed out", TIMED_OUT),
                inject: { kind: "rule", proxy: "prometheus", arm: weight(20), match: { path: QUERY }, action: SLOW_QUERY, times: 2 },
            },
            {
                id: "down-once", fault: "Prometheus down", phase: "mid-ladder", expected: "promoted",
                texts: haltBoth("Prometheus unreachable", UNREACHABLE),
                inject: { kind: "down", proxy: "prometheus", arm: weight(40), until: { at: "event", match: /Prometheus unreachable for metric/ } },
            },
            {
                id: "hook-500-rollout-retried", fault: "webhook answers 500", phase: "last check", expected: "promoted",
                texts: [], absent: /rollout check failed/,
                inject: { kind: "rule", proxy: "hooks", arm: weight(60), match: { method: "POST", query: hookQuery("load-test"), path: /^\/$/ }, action: HOOK_500, times: 1 },
            },
            {
                id: "hook-timeout-gate-retried", fault: "webhook times out", phase: "promotion", expected: "promoted",
                texts: [], absent: /waiting for approval/,
                inject: { kind: "rule", proxy: "hooks", arm: start, match: { method: "POST", query: hookQuery("promotion-gate"), path: /^\/$/ }, action: { kind: "delay", ms: 4000 }, times: 1 },
            },
            {
                id: "hook-500-post-rollout", fault: "webhook answers 500", phase: "finalization", expected: "promoted",
                texts: [new RegExp(`! post-rollout hooks failed: .*${hookFailed("notify", "post-rollout", "status 500: injected failure").source}`)],
                inject: { kind: "rule", proxy: "hooks", arm: start, match: { method: "POST", query: hookQuery("notify"), path: /^\/$/ }, action: HOOK_500 },
            },
            {
                id: "hook-refused-post-rollout", fault: "webhook refuses the connection", phase: "finalization", expected: "promoted",
                texts: [new RegExp(`! post-rollout hooks failed: .*${deadHookFailed("notify-dead", "post-rollout").source}`)],
                inject: { kind: "dead hook", hook: "notify-dead" },
            },
            {
                id: "api-429-primary", fault: "API server answers 429 (Retry-After 1)", phase: "promotion", expected: "promoted",
                texts: [], absent: /podinfo-primary[^\n]*(429|TooManyRequests|too many requests)/,
                inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PATCH", path: PRIMARY, query: NOT_DRY_RUN }, action: THROTTLED, times: 1 },
            },
            {
                id: "api-500-finalize", fault: "API server answers 500", phase: "finalization", expected: "promoted",
                texts: [], absent: /scale Deployment podinfo-canary\.faults: HTTP 500/,
                // the release's own scale-down at promotion goes through; the finalizer's is the second
                inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PATCH", path: CANARY_SCALE, body: /"value":0\b/ }, action: INTERNAL, skip: 1, times: 2 },
            },
        ],
    },
    {
        name: "API retries at other phases, a 202 gate, a retried pre-rollout, a slow notification",
        threshold: 2,
        analysis: (a) => withHook(a, "acceptance-test", (h) => ({ ...h, retries: 1 })),
        rows: [
            {
                id: "api-500-status-mid", fault: "API server answers 500", phase: "mid-ladder", expected: "promoted",
                texts: [], absent: /ConfigMap podinfo-canary-status\.faults: HTTP 500/,
                inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PUT", path: STATUS_CM, body: statusBody("canary-weight", "40") }, action: INTERNAL, times: 2 },
            },
            {
                id: "api-409-status-finalize", fault: "API server answers 409", phase: "finalization", expected: "promoted",
                texts: [], absent: /ConfigMap podinfo-canary-status\.faults: HTTP 409/,
                inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PUT", path: STATUS_CM, body: statusBody("phase", "Succeeded") }, action: CONFLICT, times: 1 },
            },
            {
                id: "api-429-event-promotion", fault: "API server answers 429 (Retry-After 1)", phase: "promotion", expected: "promoted",
                texts: [], absent: /could not record event/,
                inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "POST", path: EVENTS, body: /Copying podinfo\.faults template spec/ }, action: THROTTLED, times: 2 },
            },
            {
                id: "hook-202-gate", fault: "webhook answers 202", phase: "promotion", expected: "promoted",
                texts: [], absent: /waiting for approval/,
                inject: { kind: "rule", proxy: "hooks", arm: start, match: { method: "POST", query: hookQuery("promotion-gate"), path: /^\/$/ }, action: HOOK_202 },
            },
            {
                id: "hook-500-pre-rollout-retried", fault: "webhook answers 500", phase: "pre-rollout", expected: "promoted",
                texts: [], absent: /pre-rollout check failed/,
                inject: { kind: "rule", proxy: "hooks", arm: start, match: { method: "POST", query: hookQuery("acceptance-test"), path: /^\/$/ }, action: HOOK_500, times: 1 },
            },
            {
                id: "hook-timeout-post-rollout", fault: "webhook times out", phase: "finalization", expected: "promoted",
                texts: [new RegExp(`! post-rollout hooks failed: .*${hookFailed("notify", "post-rollout", "no answer within 3s \\(timeout\\)").source}`)],
                inject: { kind: "rule", proxy: "hooks", arm: start, match: { method: "POST", query: hookQuery("notify"), path: /^\/$/ }, action: { kind: "delay", ms: 4000 } },
            },
        ],
    },
    {
        name: "Prometheus down for the whole analysis",
        threshold: 2,
        rows: [{
            id: "down-all", fault: "Prometheus down", phase: "whole analysis", expected: "rolled back",
            texts: haltBoth("Prometheus unreachable", UNREACHABLE),
            inject: { kind: "down", proxy: "prometheus", arm: start },
        }],
    },
    {
        name: "Prometheus slow from mid-ladder",
        threshold: 2,
        rows: [{
            id: "slow-mid", fault: "Prometheus slow (past the query timeout)", phase: "mid-ladder", expected: "rolled back",
            texts: haltBoth("query timed out", TIMED_OUT),
            inject: { kind: "rule", proxy: "prometheus", arm: weight(40), match: { path: QUERY }, action: SLOW_QUERY },
        }],
    },
    {
        name: "Prometheus NaN from mid-ladder",
        threshold: 2,
        rows: [{
            id: "nan-mid", fault: "Prometheus answers NaN", phase: "mid-ladder", expected: "rolled back",
            texts: haltBoth("value is not a number", "query returned NaN"),
            inject: { kind: "rule", proxy: "prometheus", arm: weight(40), match: { path: QUERY }, action: NAN },
        }],
    },
    {
        name: "Prometheus empty vector from the first check",
        threshold: 2,
        rows: [{
            id: "empty-first", fault: "Prometheus answers an empty vector", phase: "first check", expected: "rolled back",
            texts: haltBoth("no values found", "query returned an empty vector"),
            inject: { kind: "rule", proxy: "prometheus", arm: weight(20), match: { path: QUERY }, action: EMPTY },
        }],
    },
    {
        name: "Prometheus query error from the first check",
        threshold: 2,
        rows: [{
            id: "query-error-first", fault: "Prometheus answers a query error", phase: "first check", expected: "rolled back",
            texts: haltBoth("query failed", REJECTED),
            inject: { kind: "rule", proxy: "prometheus", arm: weight(20), match: { path: QUERY }, action: BAD_DATA },
        }],
    },
    {
        name: "pre-rollout hook answering 500",
        threshold: 2,
        rows: [{
            id: "hook-500-pre-rollout", fault: "webhook answers 500", phase: "pre-rollout", expected: "rolled back",
            texts: [new RegExp(`Halt ${ID} advancement pre-rollout check failed: ${hookFailed("acceptance-test", "pre-rollout", "status 500: injected failure").source}`)],
            inject: { kind: "rule", proxy: "hooks", arm: start, match: { method: "POST", query: hookQuery("acceptance-test"), path: /^\/$/ }, action: HOOK_500 },
        }],
    },
    {
        name: "pre-rollout hook refusing the connection",
        threshold: 2,
        analysis: (a, u) => withHook(a, "acceptance-test", (h) => ({ ...h, url: `${u.dead}/` })),
        rows: [{
            id: "hook-refused-pre-rollout", fault: "webhook refuses the connection", phase: "pre-rollout", expected: "rolled back",
            texts: [new RegExp(`Halt ${ID} advancement pre-rollout check failed: ${deadHookFailed("acceptance-test", "pre-rollout").source}`)],
            inject: { kind: "dead hook", hook: "acceptance-test" },
        }],
    },
    {
        name: "load test timing out from mid-ladder",
        threshold: 2,
        rows: [{
            id: "hook-timeout-rollout", fault: "webhook times out", phase: "mid-ladder", expected: "rolled back",
            texts: [new RegExp(`Halt ${ID} advancement rollout check failed: ${hookFailed("load-test", "rollout", "no answer within 4s \\(timeout\\)").source}`)],
            // the proxy forwards nothing once the hook gave up: no load, so the canary's metrics may see no requests
            mayAlso: [halt("no values found", "request-(success-rate|duration)", "query returned an empty vector")],
            inject: { kind: "rule", proxy: "hooks", arm: weight(40), match: { method: "POST", query: hookQuery("load-test"), path: /^\/$/ }, action: { kind: "delay", ms: 5000 } },
        }],
    },
    {
        name: "rollback hook answering 202 mid-ladder",
        threshold: 2,
        // the loadtester answers 404 on /rollback/check: no rollback asked, until the proxy answers 202
        analysis: (a, u) => ({ ...a, webhooks: [...a.webhooks, { name: "rollback-check", type: "rollback", url: `${u.hooks}/rollback/check?hook=rollback-check`, timeout: "3s", metadata: { type: "bash", cmd: "grep never" } }] }),
        rows: [{
            id: "hook-202-rollback", fault: "webhook answers 202", phase: "mid-ladder", expected: "rolled back",
            texts: [new RegExp(`Rolling back ${ID} manual webhook invoked`)],
            inject: { kind: "rule", proxy: "hooks", arm: weight(40), match: { method: "POST", query: hookQuery("rollback-check"), path: /^\/rollback\/check$/ }, action: HOOK_202 },
        }],
    },
    {
        name: "confirm-promotion gate answering 500",
        threshold: 2,
        analysis: (a) => ({ ...a, progressDeadlineSeconds: 8 }),
        rows: [{
            id: "hook-500-gate", fault: "webhook answers 500", phase: "promotion", expected: "rolled back",
            texts: [new RegExp(`confirm-promotion hook did not approve within progressDeadlineSeconds 8: Halt ${ID} advancement waiting for approval ${hookFailed("promotion-gate", "confirm-promotion", "status 500: injected failure").source}`)],
            inject: { kind: "rule", proxy: "hooks", arm: start, match: { method: "POST", query: hookQuery("promotion-gate"), path: /^\/$/ }, action: HOOK_500 },
        }],
    },
    {
        name: "API server answering 409 to the canary Ingress mid-ladder",
        threshold: 2,
        rows: [{
            id: "api-409-mid", fault: "API server answers 409", phase: "mid-ladder", expected: "up failed",
            texts: [/patch Ingress podinfo-canary\.faults: HTTP 409 Conflict: Operation cannot be fulfilled/],
            // the release's patch reads again on a conflict, 3 attempts in all
            inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PUT", path: CANARY_INGRESS, body: weightBody(40) }, action: CONFLICT, times: 3 },
        }],
    },
    {
        name: "API server answering 500 to the primary's update",
        threshold: 2,
        rows: [{
            id: "api-500-primary", fault: "API server answers 500", phase: "promotion", expected: "up failed",
            texts: [/podinfo-primary/],
            inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PATCH", path: PRIMARY, query: NOT_DRY_RUN }, action: INTERNAL, times: 1 },
        }],
    },
    {
        name: "API server answering 500 to the scale-up",
        threshold: 2,
        rows: [{
            id: "api-500-scale-up", fault: "API server answers 500", phase: "scale-up", expected: "up failed",
            texts: [new RegExp(`scale Deployment podinfo-canary\\.faults: HTTP 500 InternalError: Internal error occurred: injected \\(after ${ATTEMPTS} attempts over [\\d.]+s\\)`)],
            inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PATCH", path: CANARY_SCALE, body: /"value":2\b/ }, action: INTERNAL, times: ATTEMPTS },
        }],
    },
    {
        name: "API server answering 429 to the status write at promotion",
        threshold: 2,
        rows: [{
            id: "api-429-status-promotion", fault: "API server answers 429 (Retry-After 1)", phase: "promotion", expected: "up failed",
            texts: [new RegExp(`patch ConfigMap podinfo-canary-status\\.faults: HTTP 429 TooManyRequests: the server has received too many requests.* \\(after ${ATTEMPTS} attempts over [\\d.]+s\\)`)],
            inject: { kind: "rule", proxy: "apiserver", arm: start, match: { method: "PUT", path: STATUS_CM, body: statusBody("phase", "Promoting") }, action: THROTTLED, times: ATTEMPTS },
        }],
    },
];

/**
 * What an outcome itself prints beyond the rows' texts (the rollback, Pulumi's summary lines):
 * a line matching one of these is explained only in a release expecting that outcome.
 */
export const CONSEQUENCES: Readonly<Record<Outcome, readonly RegExp[]>> = {
    "promoted": [],
    "rolled back": [
        new RegExp(`Rolling back ${ID} (failed checks threshold reached \\d+|manual webhook invoked)$`),
        new RegExp(`Canary failed! Scaling down ${ID}$`),
        // Pulumi's summary line, and its wrapper of the provider's error (the error itself is on the next line)
        /error: update failed$/,
        /error: 1 error occurred:$/,
    ],
    "up failed": [
        // a seam that failed mid-run: the release routes all traffic to the primary first
        new RegExp(`Rolling back ${ID}: release interrupted, routing all traffic to primary$`),
        /error: update failed$/,
        /error: 1 error occurred:$/,
    ],
};

/**
 * Warnings every `pulumi up` of this stack prints, with or without a fault. The suite checks
 * them against its first, fault-free up: each of its problem lines must be one of these.
 */
export const BASELINE: readonly { readonly line: RegExp; readonly why: string; readonly timing?: true }[] = [
    { line: /warning: using pulumi-resource-pulumi-nodejs from \$PATH at \S+$/, why: "the e2e toolchain puts the dynamic-provider shim on PATH (scripts/lib/pulumi-env.ts)" },
    { line: /warning: podinfo\.faults is a new app in this stack: its primary takes the template without analysis /, why: "the release's note at its creation (a first deployment)" },
    { line: /warning: Undefined value \(loadtesterUrl\) will not show as a stack output\.$/, why: "the app-only stack (canary:installLoadtester false) exports no loadtesterUrl" },
    { line: /kubernetes:apps\/v1:Deployment podinfo-canary .*warning: Replicas scaled to 0 for Deployment "podinfo-canary"$/, why: "the Kubernetes provider's note on the idle canary, whose replicas the release owns" },
    // printed only when the provider reads the Deployment before its pods are ready: timing, not a fault
    { line: /kubernetes:apps\/v1:Deployment podinfo-primary .*warning: \[MinimumReplicasUnavailable\] Deployment does not have minimum availability\.$/, why: "the Kubernetes provider's note while the primary's new pods start", timing: true },
];

/**
 * The Kubernetes provider, awaiting podinfo-canary, prints every Warning Event on it, the ones
 * of earlier ups too (the release records its Events on that Deployment). Such a line is a
 * replay: explained when its message is one of the release's Warning Events the suite saw
 * recorded (each of which was checked in its own release).
 */
export const REPLAYED_EVENT = /kubernetes:apps\/v1:Deployment podinfo-canary .*; warning: Synced: (.*)$/;

/** Every row, with its release. */
export function allRows(): { release: Release; row: Row }[] {
    return RELEASES.flatMap((release) => release.rows.map((row) => ({ release, row })));
}

/** The table's own consistency: unique ids, one outcome per release, every fault at two phases or more. */
export function tableProblems(): string[] {
    const problems: string[] = [];
    const rows = allRows();
    const ids = rows.map((r) => r.row.id);
    for (const id of new Set(ids)) if (ids.filter((i) => i === id).length > 1) problems.push(`row id ${id} is not unique`);
    for (const rel of RELEASES) {
        const outcomes = new Set(rel.rows.map((r) => r.expected));
        if (outcomes.size !== 1) problems.push(`release "${rel.name}" expects several outcomes: ${[...outcomes].join(", ")}`);
        if (outcomes.has("rolled back") && rel.rows.length > 1) problems.push(`release "${rel.name}" has more than one rollback fault: which one rolled it back?`);
    }
    const faults = new Set(rows.map((r) => r.row.fault));
    for (const f of faults) {
        const phases = new Set(rows.filter((r) => r.row.fault === f).map((r) => r.row.phase));
        if (phases.size < 2) problems.push(`fault "${f}" is injected at one phase only`);
    }
    return problems;
}
