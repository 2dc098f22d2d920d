// The JSON each alert provider takes, in the shapes Flagger sends (pkg/notifier), so channels
// set up for Flagger show the same messages:
//   slack, discord  Slack's attachment format (Discord's Slack-compatible endpoint: the address
//                   gets "/slack" appended, as Flagger does); colour "good", "danger" on error
//   msteams         an Office 365 connector MessageCard; themeColor 0076D7, FF0000 on error
//   gchat           a Google Chat card: a header with the app, one section per fact
//   webhook         ours: a flat JSON object for any receiver (no Flagger counterpart)
import { AlertMessage, AlertProvider } from "./types";

const DEFAULT_USERNAME = "flagger";
const DEFAULT_CHANNEL = "general";

const subject = (m: AlertMessage) => `${m.target.name}.${m.target.namespace}`;

/** Where the provider's payload is POSTed. */
export function alertUrl(p: AlertProvider): string {
    if (p.type !== "discord") return p.address;
    const u = new URL(p.address);
    if (!u.pathname.endsWith("/slack")) u.pathname = `${u.pathname.replace(/\/$/, "")}/slack`;
    return u.toString();
}

export function alertPayload(p: AlertProvider, m: AlertMessage): Record<string, unknown> {
    switch (p.type) {
        case "slack":
        case "discord":
            return {
                channel: p.channel ?? DEFAULT_CHANNEL,
                username: p.username ?? DEFAULT_USERNAME,
                icon_emoji: ":rocket:",
                attachments: [{
                    color: m.severity === "error" ? "danger" : "good",
                    author_name: subject(m),
                    text: m.message,
                    mrkdwn_in: ["text"],
                    fields: m.fields.map((f) => ({ title: f.name, value: f.value, short: false })),
                }],
            };
        case "msteams":
            return {
                "@type": "MessageCard",
                "@context": "http://schema.org/extensions",
                themeColor: m.severity === "error" ? "FF0000" : "0076D7",
                summary: subject(m),
                sections: [{ activityTitle: m.message, activitySubtitle: subject(m), facts: m.fields.map((f) => ({ name: f.name, value: f.value })) }],
            };
        case "gchat":
            return {
                cards: [{
                    header: { title: "Canary release", subtitle: subject(m) },
                    sections: [
                        { widgets: [{ textParagraph: { text: `<b>${escapeHtml(m.message)}</b>` } }] },
                        ...m.fields.map((f) => ({ widgets: [{ keyValue: { topLabel: f.name, content: f.value } }] })),
                    ],
                }],
            };
        case "webhook":
            return {
                name: m.target.name,
                namespace: m.target.namespace,
                severity: m.severity,
                message: m.message,
                fields: Object.fromEntries(m.fields.map((f) => [f.name, f.value])),
                timestamp: new Date(m.at).toISOString(),
            };
    }
}

function escapeHtml(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
