// The fault suite's proxy (test/e2e/faults/proxy.ts) against real servers on 127.0.0.1: an
// http upstream, and an https upstream that requires a client certificate (certificates made
// with openssl, as the e2e cluster's are). Unmatched requests pass untouched, streams included;
// each action does what it says, `skip` and `times` count as documented, every injection is
// recorded; down refuses connections and up serves again on the same port.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { FaultProxy, kubeconfigUpstream, proxiedKubeconfig } from "../e2e/faults/proxy";
import { requireBinary, tempDir } from "./harness/process";

interface Seen {
    method: string;
    url: string;
    body: string;
    headers: http.IncomingHttpHeaders;
    cert?: string;
}

/** What a request through the proxy got back; `error` is the client's error code when there was no answer. */
interface Answer {
    status?: number;
    headers?: http.IncomingHttpHeaders;
    body?: string;
    error?: string;
    ms: number;
}

function request(url: string, opts: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Answer> {
    const t0 = Date.now();
    return new Promise((resolve) => {
        const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, agent: false }, (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body, ms: Date.now() - t0 }));
            res.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - t0 }));
        });
        req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, ms: Date.now() - t0 }));
        if (opts.timeoutMs !== undefined) req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
        req.end(opts.body);
    });
}

describe("integration: the fault suite's fault-injecting proxy", function () {
    this.timeout(60000);
    let upstream: http.Server;
    let proxy: FaultProxy;
    const seen: Seen[] = [];
    /** Writes of the /stream endpoint: the test releases each chunk. */
    let streamRes: http.ServerResponse | undefined;

    function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
            const sock = req.socket as Partial<import("tls").TLSSocket>;
            const cert = typeof sock.getPeerCertificate === "function" ? sock.getPeerCertificate().subject?.CN : undefined;
            seen.push({ method: req.method ?? "", url: req.url ?? "", body, headers: req.headers, ...(cert === undefined ? {} : { cert }) });
            if (req.url?.startsWith("/stream") === true) {
                res.writeHead(200, { "content-type": "application/json" });
                res.flushHeaders();
                streamRes = res;
                return;
            }
            res.writeHead(201, { "content-type": "application/json", "x-upstream": "yes" });
            res.end(JSON.stringify({ method: req.method, url: req.url, body }));
        });
    }

    before(async function () {
        upstream = http.createServer(handler);
        await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
        proxy = await FaultProxy.start({ name: "test", upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}` });
    });

    after(async function () {
        await proxy?.stop();
        upstream?.closeAllConnections();
        await new Promise<void>((r) => upstream.close(() => r()));
    });

    /** Hits recorded before the current test. */
    let hits0 = 0;
    const hits = () => proxy.hits.slice(hits0);

    beforeEach(() => {
        proxy.clear();
        seen.length = 0;
        hits0 = proxy.hits.length;
    });

    it("forwards an unmatched request untouched: method, path, query, body, headers, status and answer headers", async function () {
        const r = await request(`${proxy.url}/apis/x/y?watch=false&a=1`, { method: "PUT", body: '{"k":"v"}', headers: { "content-type": "application/json", "x-client": "c" } });
        assert.strictEqual(r.status, 201);
        assert.strictEqual(r.headers?.["x-upstream"], "yes");
        assert.deepStrictEqual(JSON.parse(r.body ?? ""), { method: "PUT", url: "/apis/x/y?watch=false&a=1", body: '{"k":"v"}' });
        assert.strictEqual(seen.length, 1);
        assert.strictEqual(seen[0].headers["x-client"], "c");
        assert.strictEqual(seen[0].headers.host, `127.0.0.1:${(upstream.address() as net.AddressInfo).port}`);
        assert.deepStrictEqual(hits(), []);
    });

    it("streams an answer chunk by chunk as the upstream writes it (a watch)", async function () {
        const got: string[] = [];
        const done = new Promise<void>((resolve, reject) => {
            http.get(`${proxy.url}/stream?watch=true`, { agent: false }, (res) => {
                assert.strictEqual(res.statusCode, 200);
                res.on("data", (c: Buffer) => got.push(c.toString()));
                res.on("end", () => resolve());
            }).on("error", reject);
        });
        const until = async (n: number) => {
            const t0 = Date.now();
            while (got.join("").split("\n").filter((l) => l !== "").length < n) {
                assert.ok(Date.now() - t0 < 5000, `chunk ${n} did not arrive: ${JSON.stringify(got)}`);
                await new Promise((r) => setTimeout(r, 10));
            }
        };
        while (streamRes === undefined) await new Promise((r) => setTimeout(r, 10));
        streamRes.write('{"type":"ADDED"}\n');
        await until(1);
        streamRes.write('{"type":"MODIFIED"}\n');
        await until(2);
        streamRes.end();
        await done;
        assert.deepStrictEqual(got.join("").trim().split("\n"), ['{"type":"ADDED"}', '{"type":"MODIFIED"}']);
        streamRes = undefined;
    });

    it("answers a matching request with the rule's status, body and headers, `times` times, and records each injection", async function () {
        const body = JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "TooManyRequests", code: 429 });
        proxy.add({ name: "throttle", match: { method: "PATCH", path: /\/scale$/ }, action: { kind: "answer", status: 429, body, headers: { "retry-after": "1" } }, times: 2 });
        const a = await request(`${proxy.url}/d/scale?x=1`, { method: "PATCH", body: "[]" });
        assert.deepStrictEqual([a.status, a.headers?.["retry-after"], a.body], [429, "1", body]);
        assert.strictEqual((await request(`${proxy.url}/d/scale`, { method: "GET" })).status, 201, "another method is not matched");
        assert.strictEqual((await request(`${proxy.url}/d/scale`, { method: "PATCH" })).status, 429);
        assert.strictEqual((await request(`${proxy.url}/d/scale`, { method: "PATCH" })).status, 201, "the rule expired after 2 injections");
        assert.deepStrictEqual(hits().map((h) => [h.rule, h.method, h.path, h.query, h.action]), [
            ["throttle", "PATCH", "/d/scale", "x=1", "answer"], ["throttle", "PATCH", "/d/scale", "", "answer"],
        ]);
        assert.strictEqual(proxy.hitsOf("throttle"), 2);
        assert.deepStrictEqual(proxy.active(), []);
        assert.deepStrictEqual(seen.map((s) => s.method), ["GET", "PATCH"], "injected requests never reached the upstream");
    });

    it("lets `skip` matching requests through first; matches on the query and on the body", async function () {
        proxy.add({ name: "third", match: { path: /^\/q$/, query: /metric=a/ }, action: { kind: "answer", status: 500, body: "boom" }, skip: 2 });
        proxy.add({ name: "forty", match: { method: "PUT", path: /^\/ing$/, body: /"weight":"40"/ }, action: { kind: "answer", status: 409, body: "conflict" } });
        const statuses: number[] = [];
        for (const q of ["metric=a", "metric=b", "metric=a", "metric=a", "metric=a"]) statuses.push((await request(`${proxy.url}/q?${q}`)).status ?? 0);
        assert.deepStrictEqual(statuses, [201, 201, 201, 500, 500]);
        const put = async (w: string) => (await request(`${proxy.url}/ing`, { method: "PUT", body: `{"weight":"${w}"}` })).status;
        assert.deepStrictEqual([await put("20"), await put("40"), await put("60")], [201, 409, 201]);
        // a buffered body is forwarded whole
        assert.deepStrictEqual(seen.filter((s) => s.method === "PUT").map((s) => s.body), ['{"weight":"20"}', '{"weight":"60"}']);
        assert.deepStrictEqual(hits().map((h) => h.rule), ["third", "third", "forty"]);
    });

    it("delays and then forwards; a client that gave up meanwhile is not forwarded", async function () {
        proxy.add({ name: "slow", match: { method: "POST", path: /^\/hook$/ }, action: { kind: "delay", ms: 600 } });
        const r = await request(`${proxy.url}/hook`, { method: "POST", body: "payload" });
        assert.strictEqual(r.status, 201);
        assert.ok(r.ms >= 600, `answered after ${r.ms} ms`);
        assert.deepStrictEqual(seen.map((s) => s.body), ["payload"]);
        const impatient = await request(`${proxy.url}/hook`, { method: "POST", body: "late", timeoutMs: 200 });
        assert.strictEqual(impatient.error, "TIMEOUT");
        await new Promise((res) => setTimeout(res, 700));
        assert.deepStrictEqual(seen.map((s) => s.body), ["payload"], "the abandoned request reached the upstream");
        assert.strictEqual(proxy.hitsOf("slow"), 2);
    });

    it("resets the connection", async function () {
        proxy.add({ name: "rst", match: { path: /^\/reset$/ }, action: { kind: "reset" }, times: 1 });
        const r = await request(`${proxy.url}/reset`);
        assert.strictEqual(r.error, "ECONNRESET");
        assert.strictEqual((await request(`${proxy.url}/reset`)).status, 201);
        assert.strictEqual(proxy.hitsOf("rst"), 1);
    });

    it("down refuses connections (open keep-alive connections dropped too); up serves again on the same port", async function () {
        const agent = new http.Agent({ keepAlive: true });
        const get = () => new Promise<string>((resolve) => {
            http.get(`${proxy.url}/k`, { agent }, (res) => {
                res.resume();
                res.on("end", () => resolve(String(res.statusCode)));
            }).on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        });
        assert.strictEqual(await get(), "201");
        const port = proxy.port;
        await proxy.down();
        assert.strictEqual(proxy.isUp, false);
        // the client's pooled connection was closed by the proxy: its agent drops it once it sees the FIN
        await new Promise((r) => setTimeout(r, 50));
        assert.strictEqual(await get(), "ECONNREFUSED");
        assert.strictEqual((await request(`${proxy.url}/k`)).error, "ECONNREFUSED");
        await proxy.up();
        assert.strictEqual(proxy.port, port);
        assert.strictEqual(await get(), "201");
        agent.destroy();
    });

    it("an unreachable upstream is a 502 naming it", async function () {
        const dead = await FaultProxy.start({ name: "dead", upstream: `http://127.0.0.1:${proxy.port}` });
        await proxy.down();
        try {
            const r = await request(`${dead.url}/x`);
            assert.strictEqual(r.status, 502);
            assert.match(r.body ?? "", /fault proxy dead: upstream 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
        } finally {
            await dead.stop();
            await proxy.up();
        }
    });

    describe("an https upstream that requires a client certificate (a kube-apiserver)", function () {
        let dir: string;
        let secure: https.Server;
        let kubeconfig: string;

        before(function () {
            const openssl = requireBinary("openssl", ["/usr/bin/openssl"], "apt-get install -y openssl");
            dir = tempDir("fault-proxy-tls");
            const run = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: "pipe" });
            run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca");
            for (const [name, ext] of [["server", "subjectAltName=IP:127.0.0.1"], ["admin", "extendedKeyUsage=clientAuth"]]) {
                run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
                fs.writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
                run("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`);
            }
        });

        after(async function () {
            secure?.closeAllConnections();
            if (secure !== undefined) await new Promise<void>((r) => secure.close(() => r()));
            fs.rmSync(dir, { recursive: true, force: true });
        });

        const read = (f: string) => fs.readFileSync(path.join(dir, f));

        it("authenticates upstream with the kubeconfig's CA, client certificate and key; the client's kubeconfig has no credentials", async function () {
            secure = https.createServer({ key: read("server.key"), cert: read("server.crt"), ca: read("ca.crt"), requestCert: true, rejectUnauthorized: true }, handler);
            await new Promise<void>((r) => secure.listen(0, "127.0.0.1", r));
            const port = (secure.address() as net.AddressInfo).port;
            kubeconfig = YAML.stringify({
                apiVersion: "v1", kind: "Config", "current-context": "e2e",
                clusters: [{ name: "c", cluster: { server: `https://127.0.0.1:${port}`, "certificate-authority-data": read("ca.crt").toString("base64") } }],
                users: [{ name: "admin", user: { "client-certificate-data": read("admin.crt").toString("base64"), "client-key-data": read("admin.key").toString("base64") } }],
                contexts: [{ name: "e2e", context: { cluster: "c", user: "admin" } }],
            });
            const { upstream, tls } = kubeconfigUpstream(kubeconfig);
            assert.strictEqual(upstream, `https://127.0.0.1:${port}`);
            const tlsProxy = await FaultProxy.start({ name: "apiserver", upstream, tls });
            try {
                const r = await request(`${tlsProxy.url}/api/v1/namespaces?limit=1`);
                assert.strictEqual(r.status, 201);
                assert.deepStrictEqual(seen.map((s) => [s.url, s.cert]), [["/api/v1/namespaces?limit=1", "admin"]]);

                const client = YAML.parse(proxiedKubeconfig(kubeconfig, tlsProxy.url)) as Record<string, unknown>;
                // client-node refuses a plain-http server unless TLS verification is off (there is no TLS to verify)
                assert.deepStrictEqual(client.clusters, [{ name: "c", cluster: { server: tlsProxy.url, "insecure-skip-tls-verify": true } }]);
                assert.deepStrictEqual(client.users, [{ name: "admin", user: {} }]);
                assert.deepStrictEqual(client.contexts, [{ name: "e2e", context: { cluster: "c", user: "admin" } }]);
                assert.strictEqual(client["current-context"], "e2e");
            } finally {
                await tlsProxy.stop();
            }
            // without the client certificate the upstream refuses the handshake: the proxy answers 502
            const bare = await FaultProxy.start({ name: "bare", upstream, tls: { ca: read("ca.crt") } });
            try {
                const r = await request(`${bare.url}/api`);
                assert.strictEqual(r.status, 502);
            } finally {
                await bare.stop();
            }
        });
    });
});
