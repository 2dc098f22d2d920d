import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { FakeClock } from "../../../components/canary/engine/clock";
import { Webhook } from "../../../components/canary/engine/types";
import { HookPayload } from "../../../components/canary/hooks/client";
import { HttpWebhookClient, isPassingStatus, maskUrl, redactUrlSecrets, webhookBody } from "../../../components/canary/hooks/webhook";

// A real HTTP server on loopback; each test scripts its answers, one per request.
type Answer = { status: number; body?: string; delayMs?: number };

describe("hooks/webhook", () => {
    let server: http.Server;
    let base: string;
    let answers: Answer[];
    let received: { method: string; url: string; contentType: string; body: unknown }[];

    before(async () => {
        server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (c) => (raw += c));
            req.on("end", () => {
                received.push({ method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"] ?? "", body: JSON.parse(raw || "null") });
                const a = answers.shift() ?? { status: 200, body: "ok" };
                const send = () => {
                    if (!res.destroyed) {
                        res.writeHead(a.status);
                        res.end(a.body ?? "");
                    }
                };
                if (a.delayMs !== undefined) {
                    setTimeout(send, a.delayMs);
                } else {
                    send();
                }
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => {
        server.closeAllConnections();
        server.close();
    });
    beforeEach(() => {
        answers = [];
        received = [];
    });

    const hook = (over: Partial<Webhook> = {}): Webhook => ({
        name: "load-test", type: "rollout", url: `${base}/`, timeoutSeconds: 2, retries: 0, metadata: { cmd: "hey -z 1m http://podinfo-canary.test:9898/" }, ...over,
    });
    const payload: HookPayload = { name: "podinfo", namespace: "test", phase: "Progressing", checksum: "abc123", metadata: {} };

    it("POSTs Flagger's payload as JSON and passes on 200", async () => {
        const clock = new FakeClock();
        const r = await new HttpWebhookClient({ clock }).call(hook(), payload);
        assert.deepStrictEqual(r, { ok: true, status: 200 });
        assert.deepStrictEqual(received, [{
            method: "POST", url: "/", contentType: "application/json",
            body: { name: "podinfo", namespace: "test", phase: "Progressing", checksum: "abc123", metadata: { cmd: "hey -z 1m http://podinfo-canary.test:9898/" } },
        }]);
        assert.strictEqual(clock.now(), 0, "no backoff on success");
    });

    it("event hooks carry eventMessage and eventType at the top and in metadata (as Flagger)", async () => {
        await new HttpWebhookClient().call(hook({ type: "event", metadata: {} }),
            { ...payload, eventMessage: "Advance podinfo.test canary weight 10", eventType: "Normal" });
        assert.deepStrictEqual(received[0].body, {
            name: "podinfo", namespace: "test", phase: "Progressing", checksum: "abc123",
            metadata: { eventMessage: "Advance podinfo.test canary weight 10", eventType: "Normal" },
            eventMessage: "Advance podinfo.test canary weight 10", eventType: "Normal",
        });
    });

    it("merges the hook's metadata with the payload's", () => {
        const b = webhookBody(hook({ metadata: { a: "1", b: "1" } }), { ...payload, metadata: { b: "2" } });
        assert.deepStrictEqual(b.metadata, { a: "1", b: "2" });
    });

    it("passes on 200..202 only (Flagger: anything above 202 fails)", async () => {
        assert.deepStrictEqual([199, 200, 201, 202, 203, 204, 302, 400].map(isPassingStatus),
            [false, true, true, true, false, false, false, false]);
        answers = [{ status: 202 }];
        assert.deepStrictEqual(await new HttpWebhookClient().call(hook(), payload), { ok: true, status: 202 });
        answers = [{ status: 204 }];
        const r = await new HttpWebhookClient().call(hook({ retries: 2 }), payload);
        assert.deepStrictEqual(r, { ok: false, message: `webhook "load-test" (rollout) POST ${base}/: status 204: (empty body)` });
        assert.strictEqual(received.length, 2, "a 204 is a definite answer: not retried");
    });

    it("500 then success: retried with backoff, passes", async () => {
        answers = [{ status: 500, body: "command failed" }, { status: 503, body: "busy" }, { status: 200 }];
        const clock = new FakeClock();
        const r = await new HttpWebhookClient({ clock, backoffMs: 100 }).call(hook({ retries: 3 }), payload);
        assert.deepStrictEqual(r, { ok: true, status: 200 });
        assert.strictEqual(received.length, 3);
        assert.strictEqual(clock.now(), 100 + 200, "backoff 100ms then 200ms, through the clock");
    });

    it("500 on every attempt: fails with status, body and the attempt count", async () => {
        answers = [{ status: 500, body: "a" }, { status: 500, body: "b" }, { status: 500, body: "command hey failed: exit status 1" }];
        const r = await new HttpWebhookClient({ clock: new FakeClock() }).call(hook({ retries: 2 }), payload);
        assert.deepStrictEqual(r, {
            ok: false,
            message: `webhook "load-test" (rollout) POST ${base}/: status 500: command hey failed: exit status 1 (3 attempts)`,
        });
    });

    it("403 fails at once with the body, not retried (a closed gate)", async () => {
        answers = [{ status: 403, body: "Forbidden: gate closed" }];
        const r = await new HttpWebhookClient({ clock: new FakeClock() }).call(hook({ type: "confirm-promotion", name: "gate", retries: 3 }), payload);
        assert.deepStrictEqual(r, { ok: false, message: `webhook "gate" (confirm-promotion) POST ${base}/: status 403: Forbidden: gate closed` });
        assert.strictEqual(received.length, 1);
    });

    it("a slow hook times out per attempt, and is retried", async () => {
        answers = [{ status: 200, delayMs: 3000 }, { status: 200, delayMs: 3000 }];
        const t0 = Date.now();
        const r = await new HttpWebhookClient({ clock: new FakeClock() }).call(hook({ timeoutSeconds: 0.2, retries: 1 }), payload);
        assert.deepStrictEqual(r, { ok: false, message: `webhook "load-test" (rollout) POST ${base}/: no answer within 0.2s (timeout) (2 attempts)` });
        assert.strictEqual(received.length, 2);
        assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0}ms`);
    });

    it("a slow hook that answers in time on retry passes", async () => {
        answers = [{ status: 200, delayMs: 3000 }, { status: 201 }];
        const r = await new HttpWebhookClient({ clock: new FakeClock() }).call(hook({ timeoutSeconds: 0.2, retries: 1 }), payload);
        assert.deepStrictEqual(r, { ok: true, status: 201 });
    });

    it("connection refused: fails naming the error, after the retries", async () => {
        const closed = http.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/gate`;
        await new Promise((r) => closed.close(r));
        const clock = new FakeClock();
        const r = await new HttpWebhookClient({ clock, backoffMs: 50 }).call(hook({ url, retries: 2 }), payload);
        assert.strictEqual(r.ok, false);
        assert.match((r as { message: string }).message,
            new RegExp(`^webhook "load-test" \\(rollout\\) POST ${url.replace("/gate", "/…").replace(/[.]/g, "\\.")}: request failed: ECONNREFUSED: .* \\(3 attempts\\)$`));
        assert.strictEqual(clock.now(), 50 + 100);
    });

    it("bad settings fail naming the field, without a request", async () => {
        const c = new HttpWebhookClient();
        assert.match((await c.call(hook({ url: "loadtester/" }), payload) as { message: string }).message, /url must be an http\(s\) URL/);
        assert.match((await c.call(hook({ timeoutSeconds: 0 }), payload) as { message: string }).message, /timeoutSeconds must be > 0, got 0/);
        assert.match((await c.call(hook({ retries: -1 }), payload) as { message: string }).message, /retries must be an integer >= 0, got -1/);
        assert.strictEqual(received.length, 0);
    });

    it("messages show the URL's scheme, host and port only: tokens in userinfo, path or query stay out", async () => {
        answers = [{ status: 401, body: "no" }, { status: 500, body: "no" }];
        const withUser = await new HttpWebhookClient().call(hook({ url: base.replace("http://", "http://user:s3cret@") + "/x" }), payload);
        const withToken = await new HttpWebhookClient().call(hook({ url: `${base}/hooks/T000/B000/s3cret?token=s3cret` }), payload);
        for (const r of [withUser, withToken]) assert.ok(!(r as { message: string }).message.includes("s3cret"), (r as { message: string }).message);
        assert.match((withUser as { message: string }).message, /POST http:\/\/127\.0\.0\.1:\d+\/…: status 401: no/);
        assert.match((withToken as { message: string }).message, /POST http:\/\/127\.0\.0\.1:\d+\/…: status 500: no/);
        assert.deepStrictEqual(["http://flagger-loadtester.test/", "https://a.b:8443/", "not a url"].map(maskUrl), ["http://flagger-loadtester.test/", "https://a.b:8443/", "(not a URL)"]);
    });

    it("an answer that echoes the request URL is reported without the URL's secrets", async () => {
        const token = "tok_9f8e7d6c5b4a";
        answers = [{ status: 404, body: `unknown path /services/T000/B000/${token}?token=${token}&team=a%20b` }];
        const echoed = await new HttpWebhookClient().call(hook({ url: `${base}/services/T000/B000/${token}?token=${token}` }), payload);
        assert.strictEqual((echoed as { message: string }).message,
            `webhook "load-test" (rollout) POST ${base}/…: status 404: unknown path /services/T000/B000/…?token=…&team=a%20b`);
        const url = `http://user:pa55word@127.0.0.1:1/hooks/${token}`;
        assert.strictEqual(redactUrlSecrets(`GET ${url} failed for user pa55word`, url), "GET http://…:…@127.0.0.1:1/hooks/… failed for … …");
        assert.strictEqual(redactUrlSecrets("no secrets here", "not a url"), "no secrets here");
        // a query value sent encoded is found in its decoded form too
        assert.strictEqual(redactUrlSecrets("team blue sky key k&y=1", `${base}/?key=${encodeURIComponent("k&y=1")}&team=blue%20sky`), "team … key …");
    });
});
