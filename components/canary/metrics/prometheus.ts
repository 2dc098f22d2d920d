// MetricProvider over Prometheus' HTTP API (GET /api/v1/query), as Flagger's
// providers/prometheus.go, but every way a query can go wrong is a distinct, explained
// failure: no data, NaN/Inf, a query error, a timeout, an unreachable server.
import type { Agent as HttpsAgent } from "https";
import axios, { AxiosError, AxiosInstance, AxiosResponse } from "axios";
import { MetricProvider, QueryResult } from "./provider";

export interface PrometheusOptions {
    /**
     * Prometheus' base URL, e.g. `http://prometheus.monitoring:9090`, or the API server's
     * service proxy `https://APISERVER/api/v1/namespaces/NS/services/NAME:PORT/proxy`
     * (see kube/client.ts `serviceProxyUrl` and `apiServerAxios`).
     */
    readonly baseURL: string;
    /** Per query. Default 5000 (Flagger's). */
    readonly timeoutMs?: number;
    /** Sent as `Authorization: Bearer ...`. Exclusive with basicAuth. */
    readonly bearerToken?: string;
    readonly basicAuth?: { readonly username: string; readonly password: string };
    /** Extra request headers. */
    readonly headers?: Readonly<Record<string, string>>;
    /** TLS settings (CA, client certificate) for an https baseURL. */
    readonly httpsAgent?: HttpsAgent;
    /** A preconfigured instance, e.g. one that carries the kubeconfig's credentials. Default: a new one. */
    readonly axios?: AxiosInstance;
}

/** Prometheus' JSON envelope (https://prometheus.io/docs/prometheus/latest/querying/api/). */
interface PromResponse {
    status?: string;
    errorType?: string;
    error?: string;
    warnings?: string[];
    data?: { resultType?: string; result?: unknown };
}

interface PromSample {
    metric?: Record<string, string>;
    value?: [number, string];
}

const DEFAULT_TIMEOUT_MS = 5000;
// Error codes of a request that never got an HTTP response.
const NETWORK_CODES = new Set([
    "ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH",
    "EPIPE", "ETIMEDOUT", "ECONNABORTED", "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

export class PrometheusProvider implements MetricProvider {
    readonly baseURL: string;
    readonly timeoutMs: number;
    /** The query URL as shown in messages: credentials in the URL are masked. */
    readonly displayUrl: string;
    private readonly http: AxiosInstance;
    private readonly headers: Record<string, string>;
    private readonly httpsAgent?: HttpsAgent;

    constructor(opts: PrometheusOptions) {
        let url: URL;
        try {
            url = new URL(opts.baseURL);
        } catch {
            throw new Error(`prometheus: baseURL "${opts.baseURL}" is not a valid URL`);
        }
        if (url.protocol !== "http:" && url.protocol !== "https:") {
            throw new Error(`prometheus: baseURL "${opts.baseURL}" must be http or https`);
        }
        if (opts.bearerToken !== undefined && opts.basicAuth !== undefined) {
            throw new Error("prometheus: bearerToken and basicAuth are both set; set one");
        }
        const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
            throw new Error(`prometheus: timeoutMs must be a positive number, got ${timeoutMs}`);
        }
        this.baseURL = opts.baseURL.replace(/\/+$/, "");
        if (url.username !== "" || url.password !== "") {
            url.username = "***";
            url.password = "";
        }
        this.displayUrl = `${url.toString().replace(/\/+$/, "")}/api/v1/query`;
        this.timeoutMs = timeoutMs;
        this.http = opts.axios ?? axios.create();
        this.httpsAgent = opts.httpsAgent;
        this.headers = { Accept: "application/json", ...(opts.headers ?? {}) };
        if (opts.bearerToken !== undefined) {
            this.headers.Authorization = `Bearer ${opts.bearerToken}`;
        }
        if (opts.basicAuth !== undefined) {
            const b64 = Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString("base64");
            this.headers.Authorization = `Basic ${b64}`;
        }
    }

    private get queryUrl(): string {
        return `${this.baseURL}/api/v1/query`;
    }

    async query(promql: string): Promise<QueryResult> {
        const q = promql.trim();
        // axios' timeout is a socket-idle timer; the abort is a hard deadline on the whole call.
        const abort = new AbortController();
        const deadline = setTimeout(() => abort.abort(), this.timeoutMs + 250);
        let res: AxiosResponse<unknown>;
        try {
            res = await this.http.request({
                method: "GET",
                url: this.queryUrl,
                params: { query: q },
                headers: this.headers,
                httpsAgent: this.httpsAgent,
                timeout: this.timeoutMs,
                signal: abort.signal,
                responseType: "text",
                transformResponse: (data: unknown) => data,
                validateStatus: () => true,
                maxRedirects: 0,
            });
        } catch (err) {
            return this.requestFailure(err, abort.signal.aborted);
        } finally {
            clearTimeout(deadline);
        }
        return this.interpret(res);
    }

    private requestFailure(err: unknown, deadlineHit: boolean): QueryResult {
        const e = err as AxiosError;
        const code = e?.code ?? "";
        if (deadlineHit || code === "ECONNABORTED" || code === "ETIMEDOUT" || /timeout/i.test(e?.message ?? "")) {
            return fail("timeout", `Prometheus at ${this.displayUrl} did not answer within ${this.timeoutMs}ms`);
        }
        const why = NETWORK_CODES.has(code) || code !== "" ? `${code}: ${e.message}` : String(e?.message ?? err);
        return fail("unreachable", `Prometheus at ${this.displayUrl} is unreachable (${why})`);
    }

    private interpret(res: AxiosResponse<unknown>): QueryResult {
        const text = typeof res.data === "string" ? res.data : JSON.stringify(res.data ?? "");
        let body: PromResponse | undefined;
        try {
            const parsed: unknown = JSON.parse(text);
            body = typeof parsed === "object" && parsed !== null ? (parsed as PromResponse) : undefined;
        } catch {
            body = undefined;
        }

        // Prometheus' own error envelope, with any status code.
        if (body?.status === "error") {
            const kind = body.errorType ?? "error";
            const msg = `Prometheus rejected the query (HTTP ${res.status}, ${kind}): ${body.error ?? "no error text"}`;
            return fail(kind === "timeout" ? "timeout" : "query-error", msg);
        }
        if (res.status < 200 || res.status > 299 || body === undefined) {
            const what = `HTTP ${res.status} from ${this.displayUrl}: ${snippet(text)}`;
            // A proxy (API server, ingress) that cannot reach Prometheus answers 502/503/504.
            if (res.status === 502 || res.status === 503 || res.status === 504) {
                return fail("unreachable", `Prometheus is unreachable: ${what}`);
            }
            return fail("query-error", res.status >= 200 && res.status <= 299
                ? `Prometheus answered something that is not its JSON API (${what})`
                : `Prometheus query failed: ${what}`);
        }
        if (body.status !== "success" || body.data === undefined) {
            return fail("query-error", `Prometheus answered without data: ${snippet(text)}`);
        }

        const { resultType, result } = body.data;
        if (resultType === "scalar") {
            return sampleValue(result);
        }
        if (resultType !== "vector") {
            return fail("query-error", `query returned a ${resultType ?? "missing"} result, expected an instant vector ` +
                "or a scalar");
        }
        const samples = Array.isArray(result) ? (result as PromSample[]) : [];
        if (samples.length === 0) {
            return fail("no-data", "query returned an empty vector (is the canary receiving traffic?)");
        }
        if (samples.length > 1) {
            const series = samples.slice(0, 3).map((s) => labels(s.metric)).join(", ");
            return fail("query-error", `query returned ${samples.length} series, expected exactly one ` +
                `(aggregate it, e.g. with sum(...)): ${series}${samples.length > 3 ? ", ..." : ""}`);
        }
        return sampleValue(samples[0].value);
    }
}

function fail(reason: "no-data" | "nan" | "query-error" | "timeout" | "unreachable", message: string): QueryResult {
    return { ok: false, reason, message };
}

/** A sample value `[ts, "1.5"]`; NaN and +-Inf are failures. */
function sampleValue(v: unknown): QueryResult {
    if (!Array.isArray(v) || v.length !== 2 || typeof v[1] !== "string") {
        return fail("query-error", `malformed sample in Prometheus' answer: ${snippet(JSON.stringify(v))}`);
    }
    const raw = v[1];
    if (raw === "NaN") {
        return fail("nan", "query returned NaN (0/0: no requests in the window?)");
    }
    if (/^[+-]?Inf$/.test(raw)) {
        return fail("nan", `query returned ${raw}, not a finite number (division by zero?)`);
    }
    const value = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(value)) {
        return fail("query-error", `malformed sample value "${raw}" in Prometheus' answer`);
    }
    return { ok: true, value };
}

function labels(metric: Record<string, string> | undefined): string {
    const entries = Object.entries(metric ?? {});
    return `{${entries.map(([k, v]) => `${k}="${v}"`).join(", ")}}`;
}

function snippet(text: string, max = 300): string {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length > max ? `${flat.slice(0, max)}...` : flat === "" ? "(empty body)" : flat;
}
