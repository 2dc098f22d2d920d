import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { AlertingEventSink, alertSeverity, analysisFields } from "../../../components/canary/alerts/sink";
import { HttpAlertNotifier } from "../../../components/canary/alerts/notifier";
import { alertUrl } from "../../../components/canary/alerts/payloads";
import { Alert, AlertMessage, AlertProvider, AlertSeverity } from "../../../components/canary/alerts/types";
import { FakeClock } from "../../../components/canary/engine/clock";
import { msg } from "../../../components/canary/engine/messages";
import { AnalysisSpec, Target } from "../../../components/canary/engine/types";
import { validateAlerts } from "../../../components/canary/provider/validate";
import { MemoryEventSink, ReleaseEvent } from "../../../components/canary/events/sink";
import { freePort } from "../../integration/harness/process";

// A real HTTP receiver on loopback, as a chat's incoming webhook: it records every request and
// answers what the test scripts (200 by default).
type Answer = { status: number; body?: string; delayMs?: number };

const target: Target = { name: "podinfo", namespace: "test" };
const AT = Date.UTC(2026, 11, 3, 12, 0, 0);
const message = (severity: AlertSeverity, text: string, fields: AlertMessage["fields"] = []): AlertMessage => ({ target, severity, message: text, fields, at: AT });

describe("alerts: payloads, delivery and severity, against a real local receiver", () => {
    let server: http.Server;
    let base: string;
    let answers: Answer[];
    let received: { path: string; contentType: string; body: unknown }[];

    before(async () => {
        server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (c) => (raw += c));
            req.on("end", () => {
                received.push({ path: req.url ?? "", contentType: req.headers["content-type"] ?? "", body: JSON.parse(raw || "null") });
                const a = answers.shift() ?? { status: 200, body: "ok" };
                const send = () => {
                    if (!res.destroyed) {
                        res.writeHead(a.status);
                        res.end(a.body ?? "");
                    }
                };
                if (a.delayMs === undefined) send();
                else setTimeout(send, a.delayMs);
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));
    beforeEach(() => {
        answers = [];
        received = [];
    });

    const alert = (provider: Partial<AlertProvider> & Pick<AlertProvider, "type">, severity: AlertSeverity = "info", name = "on-call"): Alert =>
        ({ name, severity, provider: { address: `${base}/hooks/T000/B000/secrettoken123`, ...provider } });
    const notifier = () => new HttpAlertNotifier({ clock: new FakeClock(), timeoutMs: 300 });
    const facts = [{ name: "Target", value: "Deployment/podinfo.test" }, { name: "Failed checks threshold", value: "5" }];

    const shapes: [AlertProvider["type"], AlertSeverity, unknown, string][] = [
        ["slack", "info", {
            channel: "deploys", username: "release-bot", icon_emoji: ":rocket:",
            attachments: [{ color: "good", author_name: "podinfo.test", text: "New revision detected! Scaling up podinfo.test", mrkdwn_in: ["text"], fields: [{ title: "Target", value: "Deployment/podinfo.test", short: false }, { title: "Failed checks threshold", value: "5", short: false }] }],
        }, "/hooks/T000/B000/secrettoken123"],
        ["discord", "error", {
            channel: "general", username: "flagger", icon_emoji: ":rocket:",
            attachments: [{ color: "danger", author_name: "podinfo.test", text: "New revision detected! Scaling up podinfo.test", mrkdwn_in: ["text"], fields: [{ title: "Target", value: "Deployment/podinfo.test", short: false }, { title: "Failed checks threshold", value: "5", short: false }] }],
        }, "/hooks/T000/B000/secrettoken123/slack"],
        ["msteams", "error", {
            "@type": "MessageCard", "@context": "http://schema.org/extensions", themeColor: "FF0000", summary: "podinfo.test",
            sections: [{ activityTitle: "New revision detected! Scaling up podinfo.test", activitySubtitle: "podinfo.test", facts: [{ name: "Target", value: "Deployment/podinfo.test" }, { name: "Failed checks threshold", value: "5" }] }],
        }, "/hooks/T000/B000/secrettoken123"],
        ["gchat", "warn", {
            cards: [{
                header: { title: "Canary release", subtitle: "podinfo.test" },
                sections: [
                    { widgets: [{ textParagraph: { text: "<b>New revision detected! Scaling up podinfo.test</b>" } }] },
                    { widgets: [{ keyValue: { topLabel: "Target", content: "Deployment/podinfo.test" } }] },
                    { widgets: [{ keyValue: { topLabel: "Failed checks threshold", content: "5" } }] },
                ],
            }],
        }, "/hooks/T000/B000/secrettoken123"],
        ["webhook", "info", {
            name: "podinfo", namespace: "test", severity: "info", message: "New revision detected! Scaling up podinfo.test",
            fields: { "Target": "Deployment/podinfo.test", "Failed checks threshold": "5" }, timestamp: "2026-12-03T12:00:00.000Z",
        }, "/hooks/T000/B000/secrettoken123"],
    ];
    for (const [type, severity, body, path] of shapes) {
        it(`${type}: the payload the receiver gets, as JSON at ${path.endsWith("/slack") ? "the address + /slack" : "the address"}`, async () => {
            const provider = type === "slack" ? { type, channel: "deploys", username: "release-bot" } : { type };
            const r = await notifier().send(alert(provider), message(severity, msg.newRevision(target), facts));
            assert.deepStrictEqual(r, { ok: true, message: "" });
            assert.deepStrictEqual(received, [{ path, contentType: "application/json", body }]);
        });
    }

    it("discord: an address already ending in /slack is kept", () => {
        assert.strictEqual(alertUrl({ type: "discord", address: "https://discord.com/api/webhooks/1/abc/slack" }), "https://discord.com/api/webhooks/1/abc/slack");
        assert.strictEqual(alertUrl({ type: "discord", address: "https://discord.com/api/webhooks/1/abc/" }), "https://discord.com/api/webhooks/1/abc/slack");
    });

    it("gchat: the message is HTML-escaped", async () => {
        await notifier().send(alert({ type: "gchat" }), message("warn", "Halt podinfo.test advancement latency 600 > <500>"));
        const card = (received[0].body as { cards: { sections: { widgets: { textParagraph: { text: string } }[] }[] }[] }).cards[0];
        assert.strictEqual(card.sections[0].widgets[0].textParagraph.text, "<b>Halt podinfo.test advancement latency 600 &gt; &lt;500&gt;</b>");
    });

    it("a 5xx or 429 is tried once more, a 4xx is not; the message names the alert and masks the secret address", async () => {
        answers = [{ status: 503, body: "busy" }, { status: 200 }];
        assert.deepStrictEqual(await notifier().send(alert({ type: "slack" }), message("info", "x")), { ok: true, message: "" });
        assert.strictEqual(received.length, 2);

        received = [];
        answers = [{ status: 500, body: "down" }, { status: 429, body: "slow down" }];
        const failed = await notifier().send(alert({ type: "slack" }), message("info", "x"));
        assert.deepStrictEqual(failed, { ok: false, message: `alert "on-call" (slack) POST ${base}/…: status 429: slow down` });
        assert.strictEqual(received.length, 2);

        received = [];
        answers = [{ status: 404, body: "no_service" }];
        assert.deepStrictEqual(await notifier().send(alert({ type: "msteams" }), message("info", "x")), { ok: false, message: `alert "on-call" (msteams) POST ${base}/…: status 404: no_service` });
        assert.strictEqual(received.length, 1);
        assert.ok(!failed.message.includes("secrettoken123"));
    });

    it("a receiver that does not answer in time, or a port nothing listens on, fails the alert without throwing", async () => {
        answers = [{ status: 200, delayMs: 1000 }, { status: 200, delayMs: 1000 }];
        assert.deepStrictEqual(await notifier().send(alert({ type: "webhook" }), message("info", "x")), { ok: false, message: `alert "on-call" (webhook) POST ${base}/…: no answer within 0.3s (timeout)` });
        const dead = `http://127.0.0.1:${await freePort()}`;
        const r = await notifier().send(alert({ type: "webhook", address: `${dead}/x` }), message("info", "x"));
        assert.deepStrictEqual(r, { ok: false, message: `alert "on-call" (webhook) POST ${dead}/…: request failed: ECONNREFUSED` });
        assert.deepStrictEqual(await notifier().send(alert({ type: "discord", address: "not a url" }), message("info", "x")), { ok: false, message: `alert "on-call" (discord): address is not a URL` });
    });

    it("which events alert, at which severity", () => {
        const table: [string, AlertSeverity | undefined][] = [
            [msg.initialized(target), "info"],
            [msg.newRevision(target), "info"],
            [msg.skipAnalysis(target), "info"],
            [msg.startingAnalysis(target), undefined],
            [msg.advanceWeight(target, 10), undefined],
            [msg.copying(target), undefined],
            [msg.promotionCompleted(target), "info"],
            [msg.waitingApproval(target, "gate"), "warn"],
            [msg.notReady(target, "waiting for rollout to finish"), "warn"],
            [msg.preRolloutFailed(target, "x"), "warn"],
            [msg.rolloutHookFailed(target, "x"), "warn"],
            ["Halt podinfo.test advancement success rate 91.60% < 99%", "warn"],
            [msg.thresholdReached(target, 5), "error"],
            [msg.manualRollback(target), "error"],
            [msg.interrupted(target), "error"],
            [msg.abandoned(target, "abc"), "error"],
            [msg.deadlineExceeded(target, 60), "error"],
            [msg.canaryFailed(target), undefined],
        ];
        assert.deepStrictEqual(table.map(([m]) => [m, alertSeverity(target, { type: "Normal", reason: "Synced", message: m })]), table);
    });

    it("the sink: every event reaches the inner sink; each alert gets the moments at its severity or above, the facts with a new revision; a failing alert is logged, never thrown", async () => {
        const inner = new MemoryEventSink();
        const lines: string[] = [];
        const alerts = [alert({ type: "webhook", address: `${base}/info` }, "info", "all"), alert({ type: "webhook", address: `${base}/warn` }, "warn", "warnings"),
            alert({ type: "webhook", address: `${base}/error` }, "error", "errors"), alert({ type: "webhook", address: `http://127.0.0.1:${await freePort()}/` }, "info", "broken")];
        const sink = new AlertingEventSink(inner, alerts, notifier(), { fields: facts, now: () => AT, log: (l) => lines.push(l) });
        const events: ReleaseEvent[] = [
            { type: "Normal", reason: "Synced", message: msg.newRevision(target) },
            { type: "Normal", reason: "Synced", message: msg.advanceWeight(target, 10) },
            { type: "Warning", reason: "Synced", message: "Halt podinfo.test advancement success rate 91.60% < 99%" },
            { type: "Warning", reason: "Synced", message: msg.thresholdReached(target, 2) },
        ];
        for (const e of events) await sink.emit(target, e);
        // the release is not held by its alerts: they are in flight until flushed
        assert.deepStrictEqual(inner.events, events);
        await sink.flush();
        const got = (path: string) => received.filter((r) => r.path === path).map((r) => r.body as { severity: string; message: string; fields: Record<string, string> });
        assert.deepStrictEqual(got("/info").map((b) => [b.severity, b.message]), [["info", events[0].message], ["warn", events[2].message], ["error", events[3].message]]);
        assert.deepStrictEqual(got("/warn").map((b) => b.severity), ["warn", "error"]);
        assert.deepStrictEqual(got("/error").map((b) => b.severity), ["error"]);
        assert.deepStrictEqual(got("/info").map((b) => Object.keys(b.fields).length), [2, 0, 0]);
        assert.strictEqual(lines.length, 3, lines.join("\n"));
        assert.ok(lines.every((l) => /^! alert "broken" \(webhook\) POST http:\/\/127\.0\.0\.1:\d+\/: request failed: ECONNREFUSED$/.test(l)), lines.join("\n"));
    });

    it("the facts of a new revision: target, threshold, deadline and the traffic routing, as Flagger's", () => {
        const a = { threshold: 5, progressDeadlineSeconds: 600, stepWeight: 10, maxWeight: 50, stepWeights: [], iterations: 0, match: [] } as unknown as AnalysisSpec;
        assert.deepStrictEqual(analysisFields(target, a), [
            { name: "Target", value: "Deployment/podinfo.test" }, { name: "Failed checks threshold", value: "5" },
            { name: "Progress deadline", value: "600s" }, { name: "Traffic routing", value: "Weight step: 10 max: 50" },
        ]);
        assert.strictEqual(analysisFields(target, { ...a, stepWeights: [5, 25, 80] })[3].value, "Weight steps: 5,25,80 max: 80");
        assert.strictEqual(analysisFields(target, { ...a, iterations: 3 })[3].value, "Blue/Green");
        assert.strictEqual(analysisFields(target, { ...a, iterations: 3, match: [{ headers: { x: { exact: "1" } } }] })[3].value, "A/B Testing");
    });

    it("validateAlerts names the field and never shows an address", () => {
        const ok = { name: "on-call", severity: "warn", provider: { type: "slack", address: "https://hooks.slack.com/services/T/B/tok3n1234567" } };
        assert.deepStrictEqual(validateAlerts(undefined), []);
        assert.deepStrictEqual(validateAlerts([ok]), []);
        const reasons = validateAlerts([
            { ...ok, severity: "critical" },
            { ...ok, provider: { type: "pagerduty", address: "https://x.example/tok3n1234567" } },
            { ...ok, name: "other", provider: { type: "slack", address: "hooks.slack.com/tok3n1234567" } },
            { ...ok, name: "other" },
            { ...ok, name: "" },
        ]).map((p) => p.reason);
        assert.deepStrictEqual(reasons, [
            'alerts[0].severity: must be one of info, warn, error, got "critical"',
            'alerts[1].name: must be unique among alerts, got "on-call"',
            'alerts[1].provider.type: must be one of slack, msteams, discord, gchat, webhook, got "pagerduty"',
            "alerts[2].provider.address: must be an http:// or https:// URL (the value is a secret, not shown)",
            'alerts[3].name: must be unique among alerts, got "other"',
            'alerts[4].name: must be a non-empty string, got ""',
        ]);
    });

    it("a hanging chat does not hold the release: emit returns at once, flush waits for the send's timeout", async () => {
        answers = [{ status: 200, delayMs: 2000 }, { status: 200, delayMs: 2000 }];
        const lines: string[] = [];
        const sink = new AlertingEventSink(new MemoryEventSink(), [alert({ type: "slack" })], notifier(), { log: (l) => lines.push(l) });
        const t0 = Date.now();
        await sink.emit(target, { type: "Warning", reason: "Synced", message: msg.thresholdReached(target, 2) });
        const emitted = Date.now() - t0;
        await sink.flush();
        const flushed = Date.now() - t0;
        assert.ok(emitted < 100, `emit took ${emitted} ms`);
        assert.ok(flushed >= 600 && flushed < 1500, `flush took ${flushed} ms (2 attempts of 300 ms)`);
        assert.deepStrictEqual(lines, [`! alert "on-call" (slack) POST ${base}/…: no answer within 0.3s (timeout)`]);
    });
});
