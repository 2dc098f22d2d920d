// Alerts to chat (Flagger's AlertProvider and `analysis.alerts[]`), as plain values.
import { Target } from "../engine/types";

export type AlertProviderType = "slack" | "msteams" | "discord" | "gchat" | "webhook";
export const ALERT_PROVIDER_TYPES: readonly AlertProviderType[] = ["slack", "msteams", "discord", "gchat", "webhook"];

/** Ordered: an alert receives the messages at its severity or above. */
export type AlertSeverity = "info" | "warn" | "error";
export const ALERT_SEVERITIES: readonly AlertSeverity[] = ["info", "warn", "error"];

/** Where an alert goes. `address` is the incoming-webhook URL: a secret (it carries the token). */
export interface AlertProvider {
    readonly type: AlertProviderType;
    readonly address: string;
    /** Slack and Discord: the channel (Flagger's default "general"). */
    readonly channel?: string;
    /** Slack and Discord: the name shown as the sender (Flagger's default "flagger"). */
    readonly username?: string;
}

/** One entry of `analysis.alerts[]`, its provider resolved. */
export interface Alert {
    readonly name: string;
    readonly severity: AlertSeverity;
    readonly provider: AlertProvider;
}

export interface AlertField {
    readonly name: string;
    readonly value: string;
}

/** What is sent: one line about one app, at one severity, with optional facts. */
export interface AlertMessage {
    readonly target: Target;
    readonly severity: AlertSeverity;
    readonly message: string;
    readonly fields: readonly AlertField[];
    /** Unix ms. */
    readonly at: number;
}

/** Whether an alert at `alert` severity receives a message at `message` severity. */
export function receives(alert: AlertSeverity, message: AlertSeverity): boolean {
    return ALERT_SEVERITIES.indexOf(message) >= ALERT_SEVERITIES.indexOf(alert);
}
