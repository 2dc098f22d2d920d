// WebhookClient seam: calls a Flagger-loadtester-compatible webhook.
import { HookType, Webhook } from "../engine/types";

/** Body POSTed to every hook, as Flagger's CanaryWebhookPayload. */
export interface HookPayload {
    readonly name: string;
    readonly namespace: string;
    readonly phase: string;
    readonly checksum: string;
    readonly metadata: Readonly<Record<string, string>>;
    /** Only for the "event" hook type. */
    readonly eventMessage?: string;
    readonly eventType?: string;
}

export type HookResult =
    | { readonly ok: true; readonly status: number }
    | { readonly ok: false; readonly message: string };

export interface WebhookClient {
    call(hook: Webhook, payload: HookPayload): Promise<HookResult>;
}

export type { HookType };
