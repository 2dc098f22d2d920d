// Sends one alert over HTTP. An alert is a notification, never a gate: send() never throws and
// a failure only comes back as a message to log. Each attempt has a hard 5 s deadline; a
// transient failure (connection error, timeout, 5xx, 429) is tried once more after 500 ms
// (Flagger sends once). The address is a secret: messages show only its scheme and host.
import axios, { AxiosInstance } from "axios";
import { Clock, systemClock } from "../engine/clock";
import { maskUrl } from "../hooks/webhook";
import { alertPayload, alertUrl } from "./payloads";
import { Alert, AlertMessage } from "./types";

export interface AlertResult {
    readonly ok: boolean;
    /** Why it failed, naming the alert, its provider type and the masked address. */
    readonly message: string;
}

export interface AlertNotifier {
    send(alert: Alert, message: AlertMessage): Promise<AlertResult>;
}

export interface HttpAlertNotifierOptions {
    readonly clock?: Clock;
    /** Per attempt; default 5000. */
    readonly timeoutMs?: number;
    /** Default 2. */
    readonly attempts?: number;
    readonly axios?: AxiosInstance;
}

export class HttpAlertNotifier implements AlertNotifier {
    private readonly clock: Clock;
    private readonly timeoutMs: number;
    private readonly attempts: number;
    private readonly http: AxiosInstance;

    constructor(opts: HttpAlertNotifierOptions = {}) {
        this.clock = opts.clock ?? systemClock;
        this.timeoutMs = opts.timeoutMs ?? 5000;
        this.attempts = opts.attempts ?? 2;
        this.http = opts.axios ?? axios.create();
    }

    async send(alert: Alert, message: AlertMessage): Promise<AlertResult> {
        let url: string;
        try {
            url = alertUrl(alert.provider);
        } catch {
            return { ok: false, message: `alert "${alert.name}" (${alert.provider.type}): address is not a URL` };
        }
        const what = `alert "${alert.name}" (${alert.provider.type}) POST ${maskUrl(url)}`;
        const body = JSON.stringify(alertPayload(alert.provider, message));
        let last = "";
        for (let i = 0; i < this.attempts; i++) {
            if (i > 0) await this.clock.sleep(500);
            const r = await this.attempt(url, body);
            if (r.ok) return { ok: true, message: "" };
            last = r.message;
            if (!r.retryable) break;
        }
        return { ok: false, message: `${what}: ${last}` };
    }

    private async attempt(url: string, body: string): Promise<{ ok: boolean; message: string; retryable: boolean }> {
        const abort = new AbortController();
        const deadline = setTimeout(() => abort.abort(), this.timeoutMs + 250);
        try {
            const res = await this.http.request({
                method: "POST", url, data: body, headers: { "Content-Type": "application/json" },
                timeout: this.timeoutMs, signal: abort.signal, responseType: "text", transformResponse: (d: unknown) => d,
                validateStatus: () => true, maxRedirects: 0,
            });
            if (res.status >= 200 && res.status < 300) return { ok: true, message: "", retryable: false };
            const text = String(res.data ?? "").slice(0, 200).trim();
            return { ok: false, message: `status ${res.status}${text === "" ? "" : `: ${text}`}`, retryable: res.status >= 500 || res.status === 429 };
        } catch (err) {
            const e = err as { code?: string; message?: string };
            const timedOut = abort.signal.aborted || e.code === "ECONNABORTED" || e.code === "ETIMEDOUT";
            return { ok: false, message: timedOut ? `no answer within ${this.timeoutMs / 1000}s (timeout)` : `request failed: ${e.code ?? e.message ?? String(err)}`, retryable: true };
        } finally {
            clearTimeout(deadline);
        }
    }
}
