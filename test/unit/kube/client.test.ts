import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import {
    apiServerAxios, buildEvent, ClientKubeApi, loadKubeConfig, serviceProxyUrl,
} from "../../../components/canary/kube/client";
import { KubeObject } from "../../../components/canary/kube/api";
import { kubeconfig } from "./kubeconfig";

// The real client-node 1.4 against a small HTTP stand-in for the API server: discovery, a
// store of Ingresses with resourceVersions, a Deployment and its scale, Events. The real
// API server is exercised by the e2e tier.
type Req = { method: string; path: string; contentType: string; auth: string; body: unknown };

describe("kube/client", () => {
    let server: http.Server;
    let base: string;
    let requests: Req[];
    let store: Map<string, Record<string, unknown>>;
    let rv: number;
    let beforePut: (() => void) | undefined;

    const status = (res: http.ServerResponse, code: number, reason: string, message: string) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason, message, code }));
    };
    const ok = (res: http.ServerResponse, code: number, body: unknown) => {
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
    };
    const discovery: Record<string, unknown> = {
        "/apis/networking.k8s.io/v1": { kind: "APIResourceList", groupVersion: "networking.k8s.io/v1", resources: [{ name: "ingresses", singularName: "ingress", namespaced: true, kind: "Ingress", verbs: ["get", "create", "update", "delete"] }] },
        "/apis/apps/v1": { kind: "APIResourceList", groupVersion: "apps/v1", resources: [{ name: "deployments", singularName: "deployment", namespaced: true, kind: "Deployment", verbs: ["get"] }] },
    };
    const deployment = {
        apiVersion: "apps/v1", kind: "Deployment",
        metadata: { name: "podinfo-canary", namespace: "test", uid: "uid-canary", generation: 3, creationTimestamp: "2026-01-01T00:00:00Z", annotations: { "canary.pulumi.com/revision": "rev-2" } },
        spec: { replicas: 2, selector: {}, template: {} },
        status: { observedGeneration: 3, readyReplicas: 1, updatedReplicas: 2 },
    };

    before(async () => {
        server = http.createServer((req, res) => {
            let raw = "";
            req.on("data", (c) => (raw += c));
            req.on("end", () => {
                const path = (req.url ?? "").split("?")[0];
                const body = raw === "" ? undefined : JSON.parse(raw);
                requests.push({ method: req.method ?? "", path, contentType: req.headers["content-type"] ?? "", auth: req.headers.authorization ?? "", body });
                if (req.method === "GET" && discovery[path] !== undefined) {
                    return ok(res, 200, discovery[path]);
                }
                if (path === "/apis/apps/v1/namespaces/test/deployments/podinfo-canary" && req.method === "GET") {
                    return ok(res, 200, deployment);
                }
                if (path.startsWith("/apis/apps/v1/namespaces/test/deployments/") && req.method === "GET") {
                    return status(res, 404, "NotFound", `deployments.apps "${path.split("/").pop()}" not found`);
                }
                if (path.endsWith("/scale") && req.method === "PATCH") {
                    return ok(res, 200, { kind: "Scale", apiVersion: "autoscaling/v1", metadata: { name: "podinfo-canary" }, spec: { replicas: 0 } });
                }
                if (path === "/api/v1/namespaces/test/events" && req.method === "POST") {
                    return ok(res, 201, body);
                }
                const m = /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/ingresses(?:\/([^/]+))?$/.exec(path);
                if (m !== null) {
                    const [, ns, name] = m;
                    if (name === "forbidden") {
                        return status(res, 403, "Forbidden", `ingresses.networking.k8s.io "forbidden" is forbidden: User "u" cannot ${req.method} resource`);
                    }
                    const key = `${ns}/${name ?? (body as KubeObject)?.metadata?.name}`;
                    const cur = store.get(key);
                    switch (req.method) {
                        case "GET":
                            return cur === undefined ? status(res, 404, "NotFound", `ingresses "${name}" not found`) : ok(res, 200, cur);
                        case "POST": {
                            if (cur !== undefined) {
                                return status(res, 409, "AlreadyExists", "already exists");
                            }
                            const obj = { ...(body as object), metadata: { ...(body as KubeObject).metadata, resourceVersion: String(rv++), uid: "u1" } };
                            store.set(key, obj);
                            return ok(res, 201, obj);
                        }
                        case "PUT": {
                            const sent = body as KubeObject;
                            const hook = beforePut;
                            beforePut = undefined;
                            hook?.();
                            if (cur === undefined) {
                                return status(res, 404, "NotFound", "not found");
                            }
                            const now = store.get(key) as unknown as KubeObject;
                            if (sent.metadata.resourceVersion !== now.metadata.resourceVersion) {
                                // a writer got in between: bump and refuse once
                                return status(res, 409, "Conflict", "the object has been modified");
                            }
                            const obj = { ...sent, metadata: { ...sent.metadata, resourceVersion: String(rv++) } };
                            store.set(key, obj);
                            return ok(res, 200, obj);
                        }
                        case "DELETE":
                            if (cur === undefined) {
                                return status(res, 404, "NotFound", `ingresses "${name}" not found`);
                            }
                            store.delete(key);
                            return ok(res, 200, { kind: "Status", status: "Success" });
                    }
                }
                status(res, 404, "NotFound", `no route for ${req.method} ${path}`);
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
        requests = [];
        store = new Map();
        rv = 1;
        beforePut = undefined;
    });

    const ingress = (annotations: Record<string, string>): KubeObject => ({
        apiVersion: "networking.k8s.io/v1", kind: "Ingress",
        metadata: { name: "podinfo-canary", namespace: "test", labels: { a: "1" }, annotations },
        spec: { rules: [{ host: "app.example.com" }] },
    });

    it("get: 404 is undefined; an object comes back as plain JSON (dates as strings)", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        assert.strictEqual(await api.get("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary"), undefined);
        await api.create(ingress({ x: "1" }));
        const got = await api.get("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary");
        assert.deepStrictEqual(got?.metadata.annotations, { x: "1" });
        assert.strictEqual(requests.find((r) => r.method === "POST")?.auth, "Bearer tok");
        const d = await api.get("apps/v1", "Deployment", "test", "podinfo-canary");
        assert.strictEqual(d?.metadata.creationTimestamp, "2026-01-01T00:00:00.000Z");
    });

    it("patch reads again and retries when another writer got in between (409)", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        await api.create(ingress({ a: "1" }));
        beforePut = () => {
            const cur = store.get("test/podinfo-canary") as unknown as KubeObject;
            store.set("test/podinfo-canary", { ...cur, metadata: { ...cur.metadata, resourceVersion: "99" } });
        };
        await api.patch(ingress({ a: "2" }));
        const puts = requests.filter((r) => r.method === "PUT").map((r) => (r.body as KubeObject).metadata.resourceVersion);
        assert.deepStrictEqual(puts, ["1", "99"]);
        assert.deepStrictEqual((store.get("test/podinfo-canary") as unknown as KubeObject).metadata.annotations, { a: "2" });
    });

    it("patch replaces labels, annotations and spec (removed keys go), with the read resourceVersion", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        await api.create(ingress({ keep: "1", drop: "1" }));
        await api.patch({ ...ingress({ keep: "2" }), spec: { rules: [{ host: "b.example.com" }] } });
        const got = store.get("test/podinfo-canary") as unknown as KubeObject;
        assert.deepStrictEqual(got.metadata.annotations, { keep: "2" });
        assert.deepStrictEqual(got.spec, { rules: [{ host: "b.example.com" }] });
        assert.strictEqual(got.metadata.uid, "u1", "server fields kept");
        const put = requests.find((r) => r.method === "PUT") as Req;
        assert.strictEqual((put.body as KubeObject).metadata.resourceVersion, "1");
    });

    it("patch of a missing object fails naming it", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        await assert.rejects(api.patch(ingress({})), /^Error: patch Ingress podinfo-canary\.test: not found$/);
    });

    it("errors name the verb, kind, name.namespace and the API server's reason", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        await assert.rejects(api.get("networking.k8s.io/v1", "Ingress", "test", "forbidden"),
            /^Error: get Ingress forbidden\.test: HTTP 403 Forbidden: ingresses\.networking\.k8s\.io "forbidden" is forbidden/);
        await assert.rejects(api.create(ingress({})).then(() => api.create(ingress({}))),
            /^Error: create Ingress podinfo-canary\.test: HTTP 409 AlreadyExists: already exists$/);
    });

    it("delete is idempotent", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        await api.create(ingress({}));
        await api.delete("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary");
        await api.delete("networking.k8s.io/v1", "Ingress", "test", "podinfo-canary");
        assert.deepStrictEqual(requests.filter((r) => r.method === "DELETE").length, 2);
        assert.strictEqual(store.size, 0);
    });

    it("getDeployment: desired replicas from spec, ready/updated from status, the revision annotation; missing is exists:false", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        assert.deepStrictEqual(await api.getDeployment("test", "podinfo-canary"),
            { exists: true, revision: "rev-2", replicas: 2, readyReplicas: 1, updatedReplicas: 2, observed: true });
        assert.deepStrictEqual(await api.getDeployment("test", "nope"),
            { exists: false, replicas: 0, readyReplicas: 0, updatedReplicas: 0, observed: false });
    });

    it("scaleDeployment JSON-patches the scale subresource", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        await api.scaleDeployment("test", "podinfo-canary", 0);
        const p = requests.find((r) => r.method === "PATCH") as Req;
        assert.strictEqual(p.path, "/apis/apps/v1/namespaces/test/deployments/podinfo-canary/scale");
        assert.strictEqual(p.contentType, "application/json-patch+json");
        assert.deepStrictEqual(p.body, [{ op: "replace", path: "/spec/replicas", value: 0 }]);
        await assert.rejects(api.scaleDeployment("test", "podinfo-canary", -1), /replicas must be an integer >= 0/);
    });

    it("event: a core/v1 Event on the subject, with its uid, source pulumi-canary", async () => {
        const api = ClientKubeApi.fromString(kubeconfig(base));
        await api.event("test", { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo-canary" }, "Warning", "Synced",
            "Halt podinfo.test advancement success rate 91.60% < 99%");
        const post = requests.find((r) => r.path === "/api/v1/namespaces/test/events") as Req;
        const ev = post.body as Record<string, unknown> & { metadata: { name: string } };
        assert.match(ev.metadata.name, /^podinfo-canary\.[0-9a-f]+$/);
        assert.deepStrictEqual({ ...ev, metadata: undefined, firstTimestamp: undefined, lastTimestamp: undefined }, {
            apiVersion: "v1", kind: "Event", metadata: undefined,
            involvedObject: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo-canary", namespace: "test", uid: "uid-canary" },
            type: "Warning", reason: "Synced", message: "Halt podinfo.test advancement success rate 91.60% < 99%",
            source: { component: "pulumi-canary" }, count: 1, firstTimestamp: undefined, lastTimestamp: undefined,
        });
        assert.strictEqual(typeof ev.firstTimestamp, "string");
        assert.strictEqual(ev.firstTimestamp, ev.lastTimestamp);
    });

    it("buildEvent names events <subject>.<hex nanoseconds><random>", () => {
        const now = new Date("2026-01-01T00:00:00Z");
        const e = buildEvent("test", { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo-canary" }, undefined, "Normal", "Synced", "m", now);
        const hex = (BigInt(now.getTime()) * BigInt(1000000)).toString(16);
        assert.ok(e.metadata?.name?.startsWith(`podinfo-canary.${hex}`), e.metadata?.name);
        assert.strictEqual(e.metadata?.name?.length, `podinfo-canary.${hex}`.length + 3);
        assert.deepStrictEqual(e.involvedObject, { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo-canary", namespace: "test" });
    });

    it("serviceProxyUrl and apiServerAxios reach a Service through the API server with the kubeconfig's token", async () => {
        const kc = loadKubeConfig(kubeconfig(`${base}/`, "s3cret"));
        const url = serviceProxyUrl(kc, "monitoring", "prometheus", 9090);
        assert.strictEqual(url, `${base}/api/v1/namespaces/monitoring/services/prometheus%3A9090/proxy`);
        assert.strictEqual(serviceProxyUrl(kc, "ns", "loadtester", "http", "https"), `${base}/api/v1/namespaces/ns/services/https%3Aloadtester%3Ahttp/proxy`);
        const ax = await apiServerAxios(kc);
        await ax.get(`${url}/api/v1/query`, { params: { query: "up" }, validateStatus: () => true });
        const r = requests[requests.length - 1];
        assert.strictEqual(r.path, "/api/v1/namespaces/monitoring/services/prometheus%3A9090/proxy/api/v1/query");
        assert.strictEqual(r.auth, "Bearer s3cret");
    });

    it("loadKubeConfig selects a context and refuses an unknown one", () => {
        assert.strictEqual(loadKubeConfig(kubeconfig(base), "other").getCurrentContext(), "other");
        assert.throws(() => loadKubeConfig(kubeconfig(base), "prod"), /kubeconfig has no context "prod" \(contexts: ctx, other\)/);
    });
});
