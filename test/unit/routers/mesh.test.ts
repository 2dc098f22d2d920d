// The mesh routers' pieces: the shared reconcile helpers (objects.ts), Istio and Linkerd objects
// for every routes value, weights read back, errors naming kind, name.namespace and verb.
import { strict as assert } from "assert";
import { MatchCondition, Routes, Target } from "../../../components/canary/engine/types";
import { KubeObject } from "../../../components/canary/kube/api";
import { createRouter } from "../../../components/canary/routers/factory";
import { IstioRouter, ISTIO_API, istioMatches, virtualService, virtualServiceSpec } from "../../../components/canary/routers/istio";
import { HTTPROUTE_API, httpRouteMatches, httpRouteSpec, LinkerdRouter, TRAFFICSPLIT_API, trafficSplit } from "../../../components/canary/routers/linkerd";
import { canonical, cookieRegex, deleteIfPresent, mustGet, reconcileObject } from "../../../components/canary/routers/objects";
import { MemoryKube } from "../provider/fakes";

const t: Target = { name: "podinfo", namespace: "test" };
const managed = { "app.kubernetes.io/managed-by": "pulumi-canary" };
const obj = (spec: unknown): KubeObject & { spec: unknown } => ({ apiVersion: "example.com/v1", kind: "Thing", metadata: { name: "a", namespace: "ns", labels: managed }, spec });

describe("routers/objects", () => {
    it("canonical: key order does not matter, undefined keys are dropped, array order matters", () => {
        assert.equal(canonical({ b: 1, a: { d: [1, "x"], c: null } }), '{"a":{"c":null,"d":[1,"x"]},"b":1}');
        assert.equal(canonical({ a: 1, b: undefined }), canonical({ a: 1 }));
        assert.notEqual(canonical([1, 2]), canonical([2, 1]));
        assert.equal(canonical("s"), '"s"');
    });

    it("reconcileObject: created, then unchanged, then updated when the spec differs", async () => {
        const kube = new MemoryKube();
        assert.equal(await reconcileObject(kube, obj({ w: 1, h: "x" })), "created");
        assert.equal(await reconcileObject(kube, obj({ h: "x", w: 1 })), "unchanged");
        assert.equal(await reconcileObject(kube, obj({ w: 2, h: "x" })), "updated");
        assert.deepEqual(kube.calls, ["create Thing a", "patch Thing a"]);
        assert.deepEqual((await kube.get("example.com/v1", "Thing", "ns", "a"))?.spec, { w: 2, h: "x" });
    });

    it("errors name the kind, name.namespace and the verb, for Errors and for anything thrown", async () => {
        const kube = new MemoryKube();
        kube.get = async () => { throw new Error("connection refused"); };
        await assert.rejects(reconcileObject(kube, obj({})), /^Error: Thing a\.ns get failed: connection refused$/);
        const k2 = new MemoryKube();
        k2.create = async () => { throw "quota exceeded"; };
        await assert.rejects(reconcileObject(k2, obj({})), /^Error: Thing a\.ns create failed: quota exceeded$/);
        const k3 = new MemoryKube();
        await reconcileObject(k3, obj({ w: 1 }));
        k3.patch = async () => { throw new Error("conflict"); };
        await assert.rejects(reconcileObject(k3, obj({ w: 2 })), /^Error: Thing a\.ns update failed: conflict$/);
        k3.delete = async () => { throw new Error("forbidden"); };
        await assert.rejects(deleteIfPresent(k3, "example.com/v1", "Thing", "ns", "a"), /^Error: Thing a\.ns delete failed: forbidden$/);
    });

    it("an object without a namespace is looked up in the empty namespace", async () => {
        const kube = new MemoryKube();
        const seen: string[] = [];
        kube.get = async (_a, _k, ns, name) => { seen.push(`${ns}/${name}`); return undefined; };
        await reconcileObject(kube, { apiVersion: "v1", kind: "Thing", metadata: { name: "a" }, spec: {} });
        assert.deepEqual(seen, ["/a"]);
    });

    it("mustGet names the missing object; deleteIfPresent deletes once and is then a no-op", async () => {
        const kube = new MemoryKube();
        await assert.rejects(mustGet(kube, "example.com/v1", "Thing", "ns", "a"), /^Error: Thing a\.ns get failed: not found \(was the release initialized\?\)$/);
        await reconcileObject(kube, obj({}));
        assert.deepEqual((await mustGet(kube, "example.com/v1", "Thing", "ns", "a")).spec, {});
        await deleteIfPresent(kube, "example.com/v1", "Thing", "ns", "a");
        await deleteIfPresent(kube, "example.com/v1", "Thing", "ns", "a");
        assert.deepEqual(kube.calls, ["create Thing a", "delete Thing a"]);
    });

    it("cookieRegex: the named cookie set to always, anywhere in the Cookie header", () => {
        const re = new RegExp(cookieRegex("canary"));
        assert.equal(cookieRegex("canary"), "^(.*?;)?(canary=always)(;.*)?$");
        assert.ok(re.test("canary=always"));
        assert.ok(re.test("a=1;canary=always;b=2"));
        assert.ok(!re.test("canary=never"));
    });
});

const header: MatchCondition = { headers: { "x-canary": { exact: "insider" } } };
const regex: MatchCondition = { headers: { "user-agent": { regex: ".*Firefox.*" } } };

describe("routers/istio objects", () => {
    it("matches: exact and regex headers, the cookie as a cookie-header regex, a header with neither left out", () => {
        assert.deepEqual(istioMatches([header, regex, { cookie: "canary" }, { headers: { "x-any": {} } }]), [
            { headers: { "x-canary": { exact: "insider" } } },
            { headers: { "user-agent": { regex: ".*Firefox.*" } } },
            { headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } },
            { headers: {} },
        ]);
    });

    const route = (p: number, c: number) => [{ destination: { host: "podinfo-primary" }, weight: p }, { destination: { host: "podinfo-canary" }, weight: c }];
    it("without match: one weighted route, mesh gateway, the app's host", () => {
        assert.deepEqual(virtualServiceSpec(t, { primary: 70, canary: 30 }, []), { hosts: ["podinfo"], gateways: ["mesh"], http: [{ route: route(70, 30) }] });
    });

    it("A/B with match off keeps matching requests on the primary", () => {
        assert.deepEqual(virtualServiceSpec(t, { primary: 100, canary: 0 }, [header]).http, [
            { match: [{ headers: { "x-canary": { exact: "insider" } } }], route: route(100, 0) },
            { route: route(100, 0) },
        ]);
    });

    it("the VirtualService and its metadata", () => {
        assert.deepEqual(virtualService(t, { primary: 100, canary: 0 }, [], { gateways: ["gw"], hosts: ["app.example.com"] }), {
            apiVersion: "networking.istio.io/v1beta1", kind: "VirtualService",
            metadata: { name: "podinfo", namespace: "test", labels: managed },
            spec: { hosts: ["podinfo", "app.example.com"], gateways: ["gw"], http: [{ route: route(100, 0) }] },
        });
    });
});

describe("IstioRouter", () => {
    it("reconcile keeps the current weights and match state, and writes nothing when unchanged", async () => {
        const kube = new MemoryKube();
        const r = new IstioRouter(kube);
        await r.reconcile(t, [header]);
        await r.setRoutes(t, { primary: 100, canary: 0, match: true });
        kube.calls.length = 0;
        const again = new IstioRouter(kube);
        await again.reconcile(t, [header]);
        assert.deepEqual(kube.calls, []);
        assert.deepEqual(await again.getRoutes(t), { primary: 100, canary: 0, match: true });
        await again.setRoutes(t, { primary: 100, canary: 0 });
        assert.deepEqual(await again.getRoutes(t), { primary: 100, canary: 0, match: false });
    });

    it("reconcile after a weight shift keeps the weight", async () => {
        const kube = new MemoryKube();
        const r = new IstioRouter(kube);
        await r.reconcile(t, []);
        await r.setRoutes(t, { primary: 60, canary: 40 });
        await new IstioRouter(kube).reconcile(t, []);
        assert.deepEqual(await r.getRoutes(t), { primary: 60, canary: 40 });
    });

    it("reads weights by destination host suffix, whatever the order; missing ones read 0", async () => {
        const kube = new MemoryKube();
        await kube.create({ apiVersion: ISTIO_API, kind: "VirtualService", metadata: { name: "podinfo", namespace: "test" }, spec: { http: [{ route: [{ destination: { host: "podinfo-canary" }, weight: 25 }, { destination: { host: "podinfo-primary" }, weight: 75 }] }] } });
        assert.deepEqual(await new IstioRouter(kube).getRoutes(t), { primary: 75, canary: 25 });
        await kube.patch({ apiVersion: ISTIO_API, kind: "VirtualService", metadata: { name: "podinfo", namespace: "test" }, spec: { http: [{ match: [], route: [{ destination: { host: "podinfo-primary" } }] }] } });
        assert.deepEqual(await new IstioRouter(kube).getRoutes(t), { primary: 0, canary: 0 });
        await kube.patch({ apiVersion: ISTIO_API, kind: "VirtualService", metadata: { name: "podinfo", namespace: "test" }, spec: {} });
        assert.deepEqual(await new IstioRouter(kube).getRoutes(t), { primary: 0, canary: 0 });
    });

    it("getRoutes before reconcile names the missing VirtualService", async () => {
        await assert.rejects(new IstioRouter(new MemoryKube()).getRoutes(t), /^Error: VirtualService podinfo\.test get failed: not found/);
    });

    it("finalize deletes the VirtualService, then the canary and primary DestinationRules, and is idempotent", async () => {
        const kube = new MemoryKube();
        const r = new IstioRouter(kube);
        await r.reconcile(t, []);
        kube.calls.length = 0;
        await r.finalize(t);
        await r.finalize(t);
        assert.deepEqual(kube.calls, ["delete VirtualService podinfo", "delete DestinationRule podinfo-canary", "delete DestinationRule podinfo-primary"]);
    });
});

describe("routers/linkerd objects", () => {
    it("HTTPRoute matches: exact, regex, the cookie as a Cookie regex; a header with neither left out", () => {
        assert.deepEqual(httpRouteMatches([{ headers: { "x-canary": { exact: "insider" }, "x-any": {} } }, regex, { cookie: "canary" }]), [
            { headers: [{ type: "Exact", name: "x-canary", value: "insider" }] },
            { headers: [{ type: "RegularExpression", name: "user-agent", value: ".*Firefox.*" }] },
            { headers: [{ type: "RegularExpression", name: "Cookie", value: "^(.*?;)?(canary=always)(;.*)?$" }] },
        ]);
    });

    const backends = (p: number, c: number, port = 9898) => [
        { group: "", kind: "Service", name: "podinfo-primary", port, weight: p },
        { group: "", kind: "Service", name: "podinfo-canary", port, weight: c },
    ];
    it("A/B with match off keeps matching requests on the primary", () => {
        assert.deepEqual(httpRouteSpec(t, 8080, { primary: 100, canary: 0 }, [header]), {
            parentRefs: [{ group: "core", kind: "Service", name: "podinfo", namespace: "test", port: 8080 }],
            rules: [
                { matches: [{ headers: [{ type: "Exact", name: "x-canary", value: "insider" }] }], backendRefs: backends(100, 0, 8080) },
                { backendRefs: backends(100, 0, 8080) },
            ],
        });
    });

    it("TrafficSplit for a routes value", () => {
        assert.deepEqual(trafficSplit(t, { primary: 35, canary: 65 }), {
            apiVersion: "split.smi-spec.io/v1alpha2", kind: "TrafficSplit",
            metadata: { name: "podinfo", namespace: "test", labels: managed },
            spec: { service: "podinfo", backends: [{ service: "podinfo-primary", weight: 35 }, { service: "podinfo-canary", weight: 65 }] },
        });
    });
});

describe("LinkerdRouter", () => {
    it("defaults: HTTPRoute on port 9898", () => {
        const r = new LinkerdRouter(new MemoryKube());
        assert.equal(r.route, "httproute");
        assert.equal(r.port, 9898);
    });

    it("SMI: reconcile keeps the current weights; setRoutes and getRoutes round-trip; finalize deletes the TrafficSplit", async () => {
        const kube = new MemoryKube();
        const r = new LinkerdRouter(kube, { route: "smi" });
        await r.reconcile(t, []);
        await r.setRoutes(t, { primary: 40, canary: 60 });
        kube.calls.length = 0;
        await new LinkerdRouter(kube, { route: "smi" }).reconcile(t, []);
        assert.deepEqual(kube.calls, []);
        assert.deepEqual(await r.getRoutes(t), { primary: 40, canary: 60 });
        await r.finalize(t);
        assert.deepEqual(kube.calls, ["delete TrafficSplit podinfo"]);
        assert.equal(await kube.get(TRAFFICSPLIT_API, "TrafficSplit", "test", "podinfo"), undefined);
        await assert.rejects(r.getRoutes(t), /^Error: TrafficSplit podinfo\.test get failed: not found/);
    });

    it("SMI without A/B match conditions is fine", async () => {
        await new LinkerdRouter(new MemoryKube(), { route: "smi" }).reconcile(t, []);
    });

    it("refuses A/B on SMI naming the TrafficSplit, before touching anything", async () => {
        const kube = new MemoryKube();
        await assert.rejects(new LinkerdRouter(kube, { route: "smi" }).reconcile(t, [header]),
            /^Error: TrafficSplit podinfo\.test: SMI cannot route by header or cookie \(A\/B match\); use linkerdRoute httproute$/);
        assert.deepEqual(kube.calls, []);
    });

    it("HTTPRoute A/B: reconcile keeps the match state; match off reads back as match false", async () => {
        const kube = new MemoryKube();
        const r = new LinkerdRouter(kube);
        await r.reconcile(t, [header]);
        await r.setRoutes(t, { primary: 100, canary: 0, match: true });
        kube.calls.length = 0;
        const again = new LinkerdRouter(kube);
        await again.reconcile(t, [header]);
        assert.deepEqual(kube.calls, []);
        assert.deepEqual(await again.getRoutes(t), { primary: 100, canary: 0, match: true });
        await again.setRoutes(t, { primary: 90, canary: 10 });
        assert.deepEqual(await again.getRoutes(t), { primary: 90, canary: 10, match: false });
    });

    it("reads weights by backend name suffix; an empty spec reads 0/0", async () => {
        const kube = new MemoryKube();
        await kube.create({ apiVersion: HTTPROUTE_API, kind: "HTTPRoute", metadata: { name: "podinfo", namespace: "test" }, spec: { rules: [{ matches: [], backendRefs: [{ name: "podinfo-canary", weight: 5 }, { name: "podinfo-primary", weight: 95 }] }] } });
        assert.deepEqual(await new LinkerdRouter(kube).getRoutes(t), { primary: 95, canary: 5 });
        await kube.patch({ apiVersion: HTTPROUTE_API, kind: "HTTPRoute", metadata: { name: "podinfo", namespace: "test" }, spec: {} });
        assert.deepEqual(await new LinkerdRouter(kube).getRoutes(t), { primary: 0, canary: 0 });
        await kube.create({ apiVersion: TRAFFICSPLIT_API, kind: "TrafficSplit", metadata: { name: "podinfo", namespace: "test" }, spec: { backends: [{ service: "podinfo-canary" }] } });
        assert.deepEqual(await new LinkerdRouter(kube, { route: "smi" }).getRoutes(t), { primary: 0, canary: 0 });
    });
});

describe("createRouter options", () => {
    it("nginx refuses an empty ingress name", () => {
        assert.throws(() => createRouter("nginx", new MemoryKube(), { ingressName: "" }), /^Error: nginx router: ingressName is required$/);
    });
    it("linkerd gets the route and the port; istio its gateways and hosts", async () => {
        const kube = new MemoryKube();
        const l = createRouter("linkerd", kube, { port: 8080 }) as LinkerdRouter;
        assert.deepEqual([l.route, l.port], ["httproute", 8080]);
        const i = createRouter("istio", kube, { istio: { gateways: ["gw"], hosts: ["app.example.com"] } });
        await i.reconcile(t, []);
        const spec = (await kube.get(ISTIO_API, "VirtualService", "test", "podinfo"))?.spec as Record<string, unknown>;
        assert.deepEqual([spec.gateways, spec.hosts], [["gw"], ["podinfo", "app.example.com"]]);
    });
    it("nginx routes through the named Ingress", async () => {
        const kube = new MemoryKube();
        const r = createRouter("nginx", kube, { ingressName: "web" });
        const routes: Routes = await r.getRoutes(t);
        assert.deepEqual(routes, { primary: 100, canary: 0 });
        await assert.rejects(r.reconcile(t, []), /^Error: get Ingress web\.test: not found/);
    });
});
