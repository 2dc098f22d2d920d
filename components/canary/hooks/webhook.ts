// WebhookClient over HTTP, compatible with Flagger's loadtester (pkg/controller/webhook.go):
// POST a JSON payload; the hook passes when 200 <= status <= 202 and fails on anything else.
// Unlike Flagger, each call has a per-attempt timeout and retries transient failures
// (connection errors, timeouts, 5xx, 429) with a short exponential backoff; a definite
// answer (4xx, 203+, 3xx) is not retried: a closed gate stays closed until the next tick.
import type { Agent as HttpsAgent } from "https";
import axios, { AxiosError, AxiosInstance } from "axios";
import { Clock, systemClock } from "../engine/clock";
import { Webhook } from "../engine/types";
import { HookPayload, HookResult, WebhookClient } from "./client";

export interface HttpWebhookOptions {
    /** Waits between attempts go through it, so tests do not sleep. Default: the system clock. */
    readonly clock?: Clock;
    /** First backoff; doubles per attempt up to maxBackoffMs. Default 500. */
    readonly backoffMs?: number;
    /** Default 5000. */
    readonly maxBackoffMs?: number;
    /** A preconfigured instance, e.g. one that talks through the API server's service proxy. */
    readonly axios?: AxiosInstance;
    /** TLS settings for https hook URLs. */
    readonly httpsAgent?: HttpsAgent;
    /** Extra headers on every call. */
    readonly headers?: Readonly<Record<string, string>>;
}

/** Body sent to a hook: Flagger's CanaryWebhookPayload, plus the seam's top-level event fields. */
export type WebhookBody = HookPayload;

/**
 * The JSON a hook receives. Metadata is the hook's merged with the payload's; for event hooks
 * `eventMessage` and `eventType` are also put in metadata, where Flagger puts them.
 */
export function webhookBody(hook: Webhook, payload: HookPayload): WebhookBody {
    const metadata: Record<string, string> = { ...hook.metadata, ...payload.metadata };
    if (payload.eventMessage !== undefined) {
        metadata.eventMessage = payload.eventMessage;
    }
    if (payload.eventType !== undefined) {
        metadata.eventType = payload.eventType;
    }
    return {
        name: payload.name,
        namespace: payload.namespace,
        phase: payload.phase,
        checksum: payload.checksum,
        metadata,
        ...(payload.eventMessage !== undefined ? { eventMessage: payload.eventMessage } : {}),
        ...(payload.eventType !== undefined ? { eventType: payload.eventType } : {}),
    };
}

/** Flagger's rule: anything above 202 (and anything below 200) fails. */
export function isPassingStatus(status: number): boolean {
    return status >= 200 && status <= 202;
}

interface Attempt {
    readonly ok: boolean;
    readonly status?: number;
    readonly message: string;
    readonly retryable: boolean;
}

export class HttpWebhookClient implements WebhookClient {
    private readonly clock: Clock;
    private readonly backoffMs: number;
    private readonly maxBackoffMs: number;
    private readonly http: AxiosInstance;
    private readonly httpsAgent?: HttpsAgent;
    private readonly headers: Readonly<Record<string, string>>;

    constructor(opts: HttpWebhookOptions = {}) {
        this.clock = opts.clock ?? systemClock;
        this.backoffMs = opts.backoffMs ?? 500;
        this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
        this.http = opts.axios ?? axios.create();
        this.httpsAgent = opts.httpsAgent;
        this.headers = opts.headers ?? {};
    }

    async call(hook: Webhook, payload: HookPayload): Promise<HookResult> {
        const what = `webhook "${hook.name}" (${hook.type}) POST ${maskUrl(hook.url)}`;
        // Bad settings fail the hook, naming the field; they are never replaced by defaults.
        if (!/^https?:\/\//.test(hook.url) || !URL.canParse(hook.url)) {
            return { ok: false, message: `${what}: url must be an http(s) URL` };
        }
        if (!(hook.timeoutSeconds > 0)) {
            return { ok: false, message: `${what}: timeoutSeconds must be > 0, got ${hook.timeoutSeconds}` };
        }
        if (!Number.isInteger(hook.retries) || hook.retries < 0) {
            return { ok: false, message: `${what}: retries must be an integer >= 0, got ${hook.retries}` };
        }
        const body = webhookBody(hook, payload);
        const attempts = 1 + hook.retries;
        let last: Attempt | undefined;
        for (let i = 0; i < attempts; i++) {
            if (i > 0) {
                await this.clock.sleep(Math.min(this.backoffMs * 2 ** (i - 1), this.maxBackoffMs));
            }
            last = await this.attempt(hook, body);
            if (last.ok) {
                return { ok: true, status: last.status as number };
            }
            // A definite answer is not asked again.
            if (!last.retryable) {
                return { ok: false, message: `${what}: ${last.message}` };
            }
        }
        const tries = attempts > 1 ? ` (${attempts} attempts)` : "";
        return { ok: false, message: `${what}: ${(last as Attempt).message}${tries}` };
    }

    private async attempt(hook: Webhook, body: WebhookBody): Promise<Attempt> {
        const timeoutMs = hook.timeoutSeconds * 1000;
        // axios' timeout is a socket-idle timer; the abort is a hard deadline on the attempt.
        const abort = new AbortController();
        const deadline = setTimeout(() => abort.abort(), timeoutMs + 250);
        try {
            const res = await this.http.request({
                method: "POST",
                url: hook.url,
                data: JSON.stringify(body),
                headers: { "Content-Type": "application/json", ...this.headers },
                httpsAgent: this.httpsAgent,
                timeout: timeoutMs,
                signal: abort.signal,
                responseType: "text",
                transformResponse: (d: unknown) => d,
                validateStatus: () => true,
                maxRedirects: 0,
            });
            const text = typeof res.data === "string" ? res.data : JSON.stringify(res.data ?? "");
            if (isPassingStatus(res.status)) {
                return { ok: true, status: res.status, message: "", retryable: false };
            }
            const redirect = res.status >= 300 && res.status < 400 && res.headers.location !== undefined
                ? ` (redirect to ${maskUrl(String(res.headers.location))} not followed)` : "";
            return {
                ok: false,
                status: res.status,
                // a server may echo the request URL in its answer: its secret parts stay out
                message: `status ${res.status}${redirect}: ${snippet(redactUrlSecrets(text, hook.url))}`,
                retryable: res.status >= 500 || res.status === 429,
            };
        } catch (err) {
            const e = err as AxiosError;
            const code = e?.code ?? "";
            if (abort.signal.aborted || code === "ECONNABORTED" || code === "ETIMEDOUT" || /timeout/i.test(e?.message ?? "")) {
                return { ok: false, message: `no answer within ${hook.timeoutSeconds}s (timeout)`, retryable: true };
            }
            return { ok: false, message: `request failed: ${code !== "" ? `${code}: ` : ""}${e?.message ?? String(err)}`, retryable: true };
        } finally {
            clearTimeout(deadline);
        }
    }
}

/**
 * The URL as messages show it: scheme, host and port only. A webhook URL often carries its
 * token in the path (Slack, Discord), the query or the userinfo, and messages go to events,
 * state and CI logs; the hook's name says which one it was.
 */
export function maskUrl(raw: string): string {
    try {
        const u = new URL(raw);
        const rest = u.pathname === "/" && u.search === "" && u.hash === "" ? "/" : "/…";
        return `${u.protocol}//${u.host}${rest}`;
    } catch {
        return "(not a URL)";
    }
}

/**
 * The text with the URL's likely secrets replaced by "…": its userinfo, its query values and
 * the path segments that look like tokens (8+ characters with a digit, or 16+), wherever they
 * appear (e.g. a 404 body that echoes the request). Path words such as "services" are left, so
 * the text stays readable.
 */
export function redactUrlSecrets(text: string, raw: string): string {
    let u: URL;
    try {
        u = new URL(raw);
    } catch {
        return text;
    }
    const parts = [u.username, u.password, ...[...u.searchParams.values()], ...u.pathname.split("/").filter(looksLikeToken)]
        .flatMap((p) => [p, safeDecode(p)])
        .filter((p) => p.length >= 4);
    // longest first, so a part is never left half-replaced by a shorter one inside it
    return [...new Set(parts)].sort((a, b) => b.length - a.length).reduce((t, p) => t.split(p).join("…"), text);
}

function looksLikeToken(segment: string): boolean {
    return (segment.length >= 8 && /\d/.test(segment)) || segment.length >= 16;
}

function safeDecode(s: string): string {
    try {
        return decodeURIComponent(s);
    } catch {
        return s;
    }
}

function snippet(text: string, max = 200): string {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat === "" ? "(empty body)" : flat.length > max ? `${flat.slice(0, max)}...` : flat;
}
