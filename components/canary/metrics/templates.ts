// What a builtin query is, per provider (Flagger's observers/{nginx,linkerd,istio}.go).
// Where it runs is the MetricProvider's business; placeholders are filled by render.ts.
//
// Two deliberate departures from Flagger, both so that "no traffic" can never pass:
// - success rate: the numerator falls back to 0 (`or vector(0)`) so a canary that answers
//   only 5xx reads 0% instead of "no data", and the denominator is filtered with `> 0` so a
//   canary without requests yields an empty vector (no data) instead of NaN or 100%;
// - duration: P99 from the histogram, kept only when the window holds requests
//   (`and on() (... le="+Inf" ... > 0)`), so an idle canary yields no data, not NaN.
// For NGINX Flagger measures the whole Ingress (primary and canary together) and averages
// `_sum / _count`; we select the canary's share with `canary!=""` (ingress-nginx puts the
// canary upstream's name, `<namespace>-<app>-canary-<port>`, in the `canary` label of the
// requests it routed there, and leaves it empty otherwise) and take the P99 of
// `nginx_ingress_controller_request_duration_seconds_bucket`.
import { MetricCheck, Target } from "../engine/types";
import { render, TemplateContext } from "./render";

export type MeshProvider = "nginx" | "linkerd" | "istio";
export const MESH_PROVIDERS: readonly MeshProvider[] = ["nginx", "linkerd", "istio"];

export type BuiltinMetric = "request-success-rate" | "request-duration";
export const BUILTIN_METRICS: readonly BuiltinMetric[] = ["request-success-rate", "request-duration"];

/** Percentage (0-100) of requests in the window that did not fail. */
function successRate(metric: string, selector: string, ok: string): string {
    return `(sum(rate(${metric}{${selector}, ${ok}}[{{ interval }}])) or vector(0))` +
        ` / (sum(rate(${metric}{${selector}}[{{ interval }}])) > 0) * 100`;
}

/** P99 in milliseconds over the window, only when the window holds requests. */
function p99(bucket: string, selector: string, toMs: string): string {
    return `(histogram_quantile(0.99, sum by (le) (rate(${bucket}{${selector}}[{{ interval }}])))${toMs})` +
        ` and on() (sum(rate(${bucket}{${selector}, le="+Inf"}[{{ interval }}])) > 0)`;
}

/**
 * Which side of the split a query measures. The meshes tell the sides apart by workload, so
 * their templates are the same and `{{ target }}` names the side's Deployment; NGINX by the
 * `canary` label of the one Ingress' requests (empty: the primary's).
 */
export type Side = "canary" | "primary";

type Queries = Readonly<Record<MeshProvider, Readonly<Record<BuiltinMetric, string>>>>;

function queriesOf(side: Side): Queries {
    const nginx = `namespace="{{ namespace }}", ingress="{{ ingress }}", canary${side === "canary" ? "!=" : "="}""`;
    const linkerd = 'namespace="{{ namespace }}", deployment="{{ target }}", direction="inbound"';
    const istio = 'reporter="destination", destination_workload_namespace="{{ namespace }}", destination_workload="{{ target }}"';
    return {
        nginx: {
            "request-success-rate": successRate("nginx_ingress_controller_requests", nginx, 'status!~"5.."'),
            "request-duration": p99("nginx_ingress_controller_request_duration_seconds_bucket", nginx, " * 1000"),
        },
        linkerd: {
            "request-success-rate": successRate("response_total", linkerd, 'classification!="failure"'),
            "request-duration": p99("response_latency_ms_bucket", linkerd, ""),
        },
        istio: {
            "request-success-rate": successRate("istio_requests_total", istio, 'response_code!~"5.."'),
            "request-duration": p99("istio_request_duration_milliseconds_bucket", istio, ""),
        },
    };
}

/** What the checks run: the canary's side. */
export const BUILTIN_QUERIES: Queries = queriesOf("canary");
const PRIMARY_QUERIES: Queries = queriesOf("primary");

/** A builtin of one side (dashboards compare both); render the mesh ones with `target` = that side's Deployment. */
export function sideQuery(provider: MeshProvider, metric: BuiltinMetric, side: Side): string {
    const canary = builtinQuery(provider, metric); // checks the provider and the metric
    return side === "canary" ? canary : PRIMARY_QUERIES[provider][metric];
}

/** What each builtin measures, per provider (for README and `pulumi preview` output). */
export const BUILTIN_DESCRIPTIONS: Readonly<Record<MeshProvider, Readonly<Record<BuiltinMetric, string>>>> = {
    nginx: {
        "request-success-rate": "Percentage of non-5xx responses among the requests ingress-nginx routed to the " +
            "canary (nginx_ingress_controller_requests of the app's Ingress with a non-empty canary label).",
        "request-duration": "P99 in ms of the whole request time seen by ingress-nginx for requests routed to the " +
            "canary (nginx_ingress_controller_request_duration_seconds_bucket, canary label set).",
    },
    linkerd: {
        "request-success-rate": "Percentage of inbound responses of the canary Deployment that the Linkerd proxy did " +
            "not classify as failure (response_total, direction=\"inbound\").",
        "request-duration": "P99 in ms of inbound response latency measured by the canary's Linkerd proxy " +
            "(response_latency_ms_bucket, direction=\"inbound\").",
    },
    istio: {
        "request-success-rate": "Percentage of non-5xx responses reported by the canary workload's Envoy sidecar " +
            "(istio_requests_total, reporter=\"destination\").",
        "request-duration": "P99 in ms of request duration reported by the canary workload's Envoy sidecar " +
            "(istio_request_duration_milliseconds_bucket, reporter=\"destination\").",
    },
};

function assertProvider(provider: string): asserts provider is MeshProvider {
    if (!(MESH_PROVIDERS as readonly string[]).includes(provider)) {
        throw new Error(`unknown metrics provider "${provider}"; expected one of ${MESH_PROVIDERS.join(", ")}`);
    }
}

/** The query template of a builtin metric; throws on an unknown provider or metric. */
export function builtinQuery(provider: MeshProvider, metric: BuiltinMetric): string {
    assertProvider(provider);
    if (!(BUILTIN_METRICS as readonly string[]).includes(metric)) {
        throw new Error(`unknown builtin metric "${metric}"; expected one of ${BUILTIN_METRICS.join(", ")}`);
    }
    return BUILTIN_QUERIES[provider][metric];
}

/** The template a check runs: its builtin's or its own query; exactly one must be set. */
export function checkTemplate(check: MetricCheck, provider: MeshProvider): string {
    const hasQuery = check.query !== undefined && check.query.trim() !== "";
    if (check.builtin !== undefined && hasQuery) {
        throw new Error(`metric "${check.name}": builtin "${check.builtin}" and query are both set; set one`);
    }
    if (check.builtin !== undefined) {
        return builtinQuery(provider, check.builtin);
    }
    if (!hasQuery) {
        throw new Error(`metric "${check.name}": neither builtin nor query is set`);
    }
    return check.query as string;
}

/**
 * The values templates see for a release: `{{ target }}` is the canary Deployment
 * (`<app>-canary`, the workload whose series carry the canary's traffic), `{{ service }}` the
 * apex Service `<app>`, `{{ ingress }}` the app's Ingress when routing goes through NGINX.
 */
export function templateContext(target: Target, check: MetricCheck, ingress?: string): TemplateContext {
    return {
        namespace: target.namespace,
        target: `${target.name}-canary`,
        service: target.name,
        ingress,
        interval: check.interval,
        variables: check.templateVariables,
    };
}

/** The PromQL a check runs for a release. Throws (naming the check) on any template error. */
export function renderCheck(check: MetricCheck, provider: MeshProvider, target: Target, ingress?: string): string {
    try {
        return render(checkTemplate(check, provider), templateContext(target, check, ingress));
    } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(why.startsWith(`metric "${check.name}"`) ? why : `metric "${check.name}": ${why}`);
    }
}
