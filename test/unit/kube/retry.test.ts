import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { ClientKubeApi, DEFAULT_RETRY, RetryPolicy } from "../../../components/canary/kube/client";
import { KubeObject } from "../../../components/canary/kube/api";
import { kubeconfig } from "./kubeconfig";

// ClientKubeApi's retries, with the real client-node 1.4 against a local stand-in for the
// API server (one per test, on a free port) that answers from a small store unless the
// test's `fault` hook answers first: a Status with an error code, or a dropped connection.
// Waits are milliseconds; every test counts the requests, so a missing or extra retry fails.
type Req = { method: string; path: string; at: number; body: unknown };
/** Answers a request instead of the store (returns true), or lets it through. `n` counts requests to the same method and path, from 1. */
type Fault = (req: Req, res: http.ServerResponse, n: number) => boolean;

const FAST: Partial<RetryPolicy> = { initialDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 300, budgetMs: 5000 };

function status(res: http.ServerResponse, code: number, reason: string, message: string, headers: Record<string, string> = {}): true {
    res.writeHead(code, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason, message, code }));
    return true;
}

function ok(res: http.ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
}

/** Drops the connection without an answer: the client sees a reset ("socket hang up"). */
function drop(res: http.ServerResponse): true {
    res.socket?.destroy();
    return true;
}

const INGRESSES = "/apis/networking.k8s.io/v1/namespaces/test/ingresses";
const INGRESS = `${INGRESSES}/podinfo-canary`;
const SCALE = "/apis/apps/v1/namespaces/test/deployments/podinfo-canary/scale";
const DEPLOYMENT = "/apis/apps/v1/namespaces/test/deployments/podinfo-canary";
const EVENTS = "/api/v1/namespaces/test/events";
const DISCOVERY = "/apis/networking.k8s.io/v1";
const APPS_DISCOVERY = "/apis/apps/v1";

describe("kube/client retries", () => {
    let server: http.Server;
    let base: string;
    let requests: Req[];
    let store: Map<string, KubeObject>;
    let rv: number;
    let fault: Fault;

    const count = (method: string, path: string) => requests.filter((r) => r.method === method && r.path === path).length;
    const api = (retry: Partial<RetryPolicy> = FAST) => ClientKubeApi.fromString(kubeconfig(base), undefined, { retry });
    const ingress = (annotations: Record<string, string>): KubeObject => ({
        apiVersion: "networking.k8s.io/v1", kind: "Ingress",
        metadata: { name: "podinfo-canary", namespace: "test", annotations },
        spec: { rules: [{ host: "app.example.com" }] },
    });
    const put = (obj: KubeObject) => {
        const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv++), uid: "uid-1" } };
        store.set(obj.metadata.name, stored);
        return stored;
    };

    /** The store: discovery, Ingresses with resourceVersions, one Deployment and its scale, Events. */
    function answer(req: Req, res: http.ServerResponse): void {
        const { method, path } = req;
        if (method === "GET" && path === DISCOVERY) {
            return ok(res, 200, { kind: "APIResourceList", groupVersion: "networking.k8s.io/v1", resources: [{ name: "ingresses", singularName: "ingress", namespaced: true, kind: "Ingress", verbs: ["get", "create", "update", "delete"] }] });
        }
        if (method === "GET" && path === APPS_DISCOVERY) {
            return ok(res, 200, { kind: "APIResourceList", groupVersion: "apps/v1", resources: [{ name: "deployments", singularName: "deployment", namespaced: true, kind: "Deployment", verbs: ["get", "update"] }] });
        }
        if (method === "GET" && path === DEPLOYMENT) {
            return ok(res, 200, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "podinfo-canary", namespace: "test", uid: "uid-canary", generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2 } });
        }
        if (method === "PATCH" && path === SCALE) {
            return ok(res, 200, { kind: "Scale", apiVersion: "autoscaling/v1", metadata: { name: "podinfo-canary" }, spec: { replicas: 1 } });
        }
        if (method === "POST" && path === EVENTS) {
            return ok(res, 201, req.body);
        }
        if (path === INGRESSES && method === "POST") {
            const obj = req.body as KubeObject;
            if (store.has(obj.metadata.name)) {
                status(res, 409, "AlreadyExists", `ingresses.networking.k8s.io "${obj.metadata.name}" already exists`);
                return;
            }
            return ok(res, 201, put(obj));
        }
        if (path.startsWith(`${INGRESSES}/`)) {
            const name = path.slice(INGRESSES.length + 1);
            const cur = store.get(name);
            if (cur === undefined) {
                status(res, 404, "NotFound", `ingresses.networking.k8s.io "${name}" not found`);
                return;
            }
            switch (method) {
                case "GET":
                    return ok(res, 200, cur);
                case "PUT": {
                    const sent = req.body as KubeObject;
                    if (sent.metadata.resourceVersion !== cur.metadata.resourceVersion) {
                        status(res, 409, "Conflict", "the object has been modified; please apply your changes to the latest version and try again");
                        return;
                    }
                    return ok(res, 200, put(sent));
                }
                case "DELETE":
                    store.delete(name);
                    return ok(res, 200, { kind: "Status", apiVersion: "v1", status: "Success" });
            }
        }
        status(res, 404, "NotFound", `no route for ${method} ${path}`);
    }

    beforeEach(async () => {
        requests = [];
        store = new Map();
        rv = 1;
        fault = () => false;
        server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (c) => (raw += c));
            req.on("end", () => {
                const r: Req = { method: req.method ?? "", path: (req.url ?? "").split("?")[0], at: Date.now(), body: raw === "" ? undefined : JSON.parse(raw) };
                requests.push(r);
                if (!fault(r, res, count(r.method, r.path))) {
                    answer(r, res);
                }
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
    });

    it("429 with Retry-After: waits what the server asks (capped by maxRetryAfterMs), then succeeds", async () => {
        store.set("podinfo-canary", { ...ingress({ a: "1" }), metadata: { ...ingress({ a: "1" }).metadata, resourceVersion: "1" } });
        fault = (r, res, n) => r.method === "GET" && r.path === INGRESS && n === 1
            && status(res, 429, "TooManyRequests", "too many requests, please try again later", { "Retry-After": "1" });
        const got = await api().get("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary");
        assert.deepStrictEqual(got?.metadata.annotations, { a: "1" });
        const gets = requests.filter((r) => r.path === INGRESS);
        assert.strictEqual(gets.length, 2);
        // Retry-After 1 s capped to 300 ms: far above the 1-5 ms backoff, far below 1 s.
        const waited = gets[1].at - gets[0].at;
        assert.ok(waited >= 280 && waited < 900, `waited ${waited} ms`);
    });

    it("500 then 503 then success: scaleDeployment retries the same patch", async () => {
        fault = (r, res, n) => r.path === SCALE && n <= 2
            && status(res, n === 1 ? 500 : 503, n === 1 ? "InternalError" : "ServiceUnavailable", "etcdserver: leader changed");
        await api().scaleDeployment("test", "podinfo-canary", 1);
        const patches = requests.filter((r) => r.path === SCALE);
        assert.strictEqual(patches.length, 3);
        for (const p of patches) {
            assert.deepStrictEqual(p.body, [{ op: "replace", path: "/spec/replicas", value: 1 }]);
        }
    });

    it("a dropped connection (reset, no response) then success: get reads again", async () => {
        put(ingress({ a: "1" }));
        fault = (r, res, n) => r.method === "GET" && r.path === INGRESS && n === 1 && drop(res);
        const got = await api().get("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary");
        assert.deepStrictEqual(got?.metadata.annotations, { a: "1" });
        assert.strictEqual(count("GET", INGRESS), 2);
    });

    it("502 and 504 then success: getDeployment, and discovery of the generic client too", async () => {
        fault = (r, res, n) => (r.path === DEPLOYMENT && n === 1 && status(res, 502, "", "bad gateway"))
            || (r.path === DISCOVERY && n === 1 && status(res, 504, "Timeout", "gateway timeout"));
        assert.strictEqual((await api().getDeployment("test", "podinfo-canary")).readyReplicas, 2);
        assert.strictEqual(count("GET", DEPLOYMENT), 2);
        await api().delete("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary");
        assert.strictEqual(count("GET", DISCOVERY), 2);
        assert.strictEqual(count("DELETE", INGRESS), 1);
    });

    it("persistent 503: fails after policy.attempts, naming verb, kind, name.namespace, the reason and the attempts", async () => {
        fault = (r, res) => r.path === SCALE && status(res, 503, "ServiceUnavailable", "the server is currently unable to handle the request");
        await assert.rejects(api({ ...FAST, attempts: 6 }).scaleDeployment("test", "podinfo-canary", 0),
            /^Error: scale Deployment podinfo-canary\.test: HTTP 503 ServiceUnavailable: the server is currently unable to handle the request \(after 6 attempts over \d+\.\ds\)$/);
        assert.strictEqual(count("PATCH", SCALE), 6);
    });

    it("the time budget ends the retries before the attempts run out", async () => {
        fault = (r, res) => r.path === SCALE && status(res, 503, "ServiceUnavailable", "unavailable");
        const err: Error = await api({ attempts: 100, initialDelayMs: 20, maxDelayMs: 20, budgetMs: 50, jitter: 0 })
            .scaleDeployment("test", "podinfo-canary", 0).then(() => assert.fail("resolved"), (e: Error) => e);
        const n = count("PATCH", SCALE);
        assert.ok(n >= 2 && n <= 4, `${n} attempts`);
        assert.match(err.message, new RegExp(`\\(after ${n} attempts over 0\\.\\ds\\)$`));
    });

    it("a refused connection is retried, then reported with its code and the attempts", async () => {
        const kube = api({ ...FAST, attempts: 3 });
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await assert.rejects(kube.get("apps/v1", "Deployment", "test", "podinfo-canary"),
            /^Error: get Deployment podinfo-canary\.test: .*ECONNREFUSED.* \(after 3 attempts over \d+\.\ds\)$/);
        server = http.createServer().listen(0, "127.0.0.1"); // for afterEach
    });

    it("404 is an answer, not retried: get is undefined, delete succeeds, getDeployment is exists:false", async () => {
        const kube = api();
        assert.strictEqual(await kube.get("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary"), undefined);
        await kube.delete("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary");
        assert.strictEqual((await kube.getDeployment("test", "missing")).exists, false);
        assert.strictEqual(count("GET", INGRESS), 1);
        assert.strictEqual(count("DELETE", INGRESS), 1);
        assert.strictEqual(count("GET", "/apis/apps/v1/namespaces/test/deployments/missing"), 1);
    });

    // A definite refusal: one request, and the error text as without retries.
    for (const [code, reason] of [[400, "BadRequest"], [401, "Unauthorized"], [403, "Forbidden"], [422, "Invalid"]] as const) {
        it(`${code} is not retried, and its error has no attempt count`, async () => {
            fault = (r, res) => r.path === INGRESS && status(res, code, reason, `refused with ${code}`);
            await assert.rejects(api().get("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary"),
                new RegExp(`^Error: get Ingress podinfo-canary\\.test: HTTP ${code} ${reason}: refused with ${code}$`));
            assert.strictEqual(count("GET", INGRESS), 1);
        });
    }

    it("create: AlreadyExists after a first attempt whose answer was lost is success (that attempt landed)", async () => {
        fault = (r, res, n) => {
            if (r.path === INGRESSES && n === 1) {
                put(r.body as KubeObject); // applied, then the connection drops before the answer
                return drop(res);
            }
            return false;
        };
        await api().create(ingress({ a: "1" }));
        assert.strictEqual(count("POST", INGRESSES), 2);
        assert.deepStrictEqual(store.get("podinfo-canary")?.metadata.annotations, { a: "1" });
    });

    it("create: AlreadyExists on the first attempt, or after a 429 (refused, so not ours), stays an error", async () => {
        put(ingress({ other: "writer" }));
        const message = /^Error: create Ingress podinfo-canary\.test: HTTP 409 AlreadyExists: ingresses\.networking\.k8s\.io "podinfo-canary" already exists/;
        await assert.rejects(api().create(ingress({ a: "1" })), new RegExp(`${message.source}$`));
        assert.strictEqual(count("POST", INGRESSES), 1);
        fault = (r, res, n) => r.path === INGRESSES && n === 2 && status(res, 429, "TooManyRequests", "slow down");
        await assert.rejects(api().create(ingress({ a: "1" })), new RegExp(`${message.source} \\(after 2 attempts over \\d+\\.\\ds\\)$`));
        assert.strictEqual(count("POST", INGRESSES), 3);
    });

    it("event: the subject's read and the create are retried; the retried create sends the same name and takes AlreadyExists as its own", async () => {
        const created: string[] = [];
        fault = (r, res, n) => {
            if (r.path === DEPLOYMENT && n === 1) {
                return status(res, 503, "ServiceUnavailable", "unavailable");
            }
            if (r.path === EVENTS) {
                const name = (r.body as KubeObject).metadata.name;
                if (n === 1) {
                    created.push(name);
                    return drop(res);
                }
                return created.includes(name) && status(res, 409, "AlreadyExists", `events "${name}" already exists`);
            }
            return false;
        };
        await api().event("test", { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo-canary" }, "Normal", "Synced", "Advance podinfo.test canary weight 10");
        const posts = requests.filter((r) => r.path === EVENTS).map((r) => r.body as { metadata: { name: string }; involvedObject: { uid?: string } });
        assert.strictEqual(count("GET", DEPLOYMENT), 2);
        assert.strictEqual(posts.length, 2);
        assert.strictEqual(posts[1].metadata.name, posts[0].metadata.name);
        assert.strictEqual(posts[1].involvedObject.uid, "uid-canary");
    });

    it("patch: a transient error on the update is retried, a Conflict still reads again (GET, PUT 503, PUT 409, GET, PUT)", async () => {
        put(ingress({ a: "1" }));
        fault = (r, res, n) => {
            if (r.method !== "PUT") {
                return false;
            }
            if (n === 1) {
                return status(res, 503, "ServiceUnavailable", "unavailable");
            }
            if (n === 2) {
                // another writer got in between: the read resourceVersion is stale
                const cur = store.get("podinfo-canary") as KubeObject;
                store.set("podinfo-canary", { ...cur, metadata: { ...cur.metadata, resourceVersion: "99" } });
            }
            return false;
        };
        await api().patch(ingress({ a: "2" }));
        assert.deepStrictEqual(requests.filter((r) => r.path === INGRESS).map((r) => r.method), ["GET", "PUT", "PUT", "GET", "PUT"]);
        assert.deepStrictEqual(requests.filter((r) => r.method === "PUT").map((r) => (r.body as KubeObject).metadata.resourceVersion), ["1", "1", "99"]);
        assert.deepStrictEqual(store.get("podinfo-canary")?.metadata.annotations, { a: "2" });
    });

    it("patch: an update that landed but lost its answer answers Conflict on the retry; patch reads again and succeeds", async () => {
        put(ingress({ a: "1" }));
        fault = (r, res, n) => {
            if (r.method === "PUT" && n === 1) {
                answer(r, new http.ServerResponse(r as unknown as http.IncomingMessage)); // applied...
                return drop(res); // ...and the answer lost
            }
            return false;
        };
        await api().patch(ingress({ a: "2" }));
        assert.deepStrictEqual(requests.filter((r) => r.path === INGRESS).map((r) => r.method), ["GET", "PUT", "PUT", "GET", "PUT"]);
        assert.deepStrictEqual(store.get("podinfo-canary")?.metadata.annotations, { a: "2" });
    });

    it("patch: a Conflict on every update fails after 3 reads with the API's reason, as without retries", async () => {
        put(ingress({ a: "1" }));
        fault = (r, res) => r.method === "PUT" && status(res, 409, "Conflict", "the object has been modified");
        await assert.rejects(api().patch(ingress({ a: "2" })), /^Error: patch Ingress podinfo-canary\.test: HTTP 409 Conflict: the object has been modified$/);
        assert.strictEqual(count("GET", INGRESS), 3);
        assert.strictEqual(count("PUT", INGRESS), 3);
    });

    it("the policy defaults to DEFAULT_RETRY and refuses nonsense", () => {
        assert.deepStrictEqual(ClientKubeApi.fromString(kubeconfig("http://127.0.0.1:1")).retry, DEFAULT_RETRY);
        assert.deepStrictEqual(DEFAULT_RETRY, { attempts: 6, initialDelayMs: 200, maxDelayMs: 2000, maxRetryAfterMs: 5000, budgetMs: 10000, jitter: 0.1 });
        assert.strictEqual(api({ attempts: 2 }).retry.maxDelayMs, 5 * 0 + 2000);
        assert.throws(() => api({ attempts: 0 }), /^Error: retry\.attempts must be an integer >= 1, got 0$/);
        assert.throws(() => api({ ...FAST, budgetMs: -1 }), /^Error: retry\.budgetMs must be a number >= 0, got -1$/);
    });
});
