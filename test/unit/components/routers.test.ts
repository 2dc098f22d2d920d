// The linkerd and istio routers' exact objects, against the in-memory KubeApi; the factory.
import { strict as assert } from "assert";
import { Target } from "../../../components/canary/engine/types";
import { createRouter } from "../../../components/canary/routers/factory";
import { IstioRouter, ISTIO_API } from "../../../components/canary/routers/istio";
import { HTTPROUTE_API, LinkerdRouter, TRAFFICSPLIT_API } from "../../../components/canary/routers/linkerd";
import { NginxRouter } from "../../../components/canary/routers/nginx";
import { MemoryKube } from "../provider/fakes";

const t: Target = { name: "podinfo", namespace: "test" };
const managed = { "app.kubernetes.io/managed-by": "pulumi-canary" };

describe("LinkerdRouter (HTTPRoute)", () => {
    it("creates HTTPRoute podinfo on the apex Service with primary/canary backends", async () => {
        const kube = new MemoryKube();
        const r = new LinkerdRouter(kube);
        await r.reconcile(t, []);
        await r.setRoutes(t, { primary: 70, canary: 30 });
        assert.deepEqual(await kube.get(HTTPROUTE_API, "HTTPRoute", "test", "podinfo"), {
            apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "HTTPRoute",
            // patched: the KubeApi replaces labels and annotations with the desired ones
            metadata: { name: "podinfo", namespace: "test", labels: managed, annotations: {} },
            spec: {
                parentRefs: [{ group: "core", kind: "Service", name: "podinfo", namespace: "test", port: 9898 }],
                rules: [{ backendRefs: [
                    { group: "", kind: "Service", name: "podinfo-primary", port: 9898, weight: 70 },
                    { group: "", kind: "Service", name: "podinfo-canary", port: 9898, weight: 30 },
                ] }],
            },
        });
        assert.deepEqual(await r.getRoutes(t), { primary: 70, canary: 30 });
        assert.deepEqual(kube.calls, ["create HTTPRoute podinfo", "patch HTTPRoute podinfo"]);
    });
    it("reconcile keeps the current weights and writes nothing when unchanged", async () => {
        const kube = new MemoryKube();
        const r = new LinkerdRouter(kube);
        await r.reconcile(t, []);
        await r.setRoutes(t, { primary: 60, canary: 40 });
        kube.calls.length = 0;
        await new LinkerdRouter(kube).reconcile(t, []);
        assert.deepEqual(kube.calls, []);
        assert.deepEqual(await r.getRoutes(t), { primary: 60, canary: 40 });
    });
    it("A/B: a header and cookie matched rule sends matching requests to the canary", async () => {
        const kube = new MemoryKube();
        const r = new LinkerdRouter(kube, { port: 8080 });
        await r.reconcile(t, [{ headers: { "x-canary": { exact: "insider" } } }, { cookie: "canary" }]);
        await r.setRoutes(t, { primary: 100, canary: 0, match: true });
        const spec = (await kube.get(HTTPROUTE_API, "HTTPRoute", "test", "podinfo"))?.spec as { rules: { matches?: unknown; backendRefs: { weight: number }[] }[] };
        assert.deepEqual(spec.rules[0].matches, [
            { headers: [{ type: "Exact", name: "x-canary", value: "insider" }] },
            { headers: [{ type: "RegularExpression", name: "Cookie", value: "^(.*?;)?(canary=always)(;.*)?$" }] },
        ]);
        assert.deepEqual(spec.rules[0].backendRefs.map((b) => b.weight), [0, 100]);
        assert.deepEqual(spec.rules[1].backendRefs.map((b) => b.weight), [100, 0]);
        assert.deepEqual(await r.getRoutes(t), { primary: 100, canary: 0, match: true });
    });
    it("finalize deletes the HTTPRoute, twice without error", async () => {
        const kube = new MemoryKube();
        const r = new LinkerdRouter(kube);
        await r.reconcile(t, []);
        await r.finalize(t);
        await r.finalize(t);
        assert.equal(await kube.get(HTTPROUTE_API, "HTTPRoute", "test", "podinfo"), undefined);
    });
    it("getRoutes before reconcile names the missing object", async () => {
        await assert.rejects(new LinkerdRouter(new MemoryKube()).getRoutes(t), /HTTPRoute podinfo.test get failed: not found/);
    });
});

describe("LinkerdRouter (SMI)", () => {
    it("creates TrafficSplit podinfo with weighted backends", async () => {
        const kube = new MemoryKube();
        const r = new LinkerdRouter(kube, { route: "smi" });
        await r.reconcile(t, []);
        await r.setRoutes(t, { primary: 90, canary: 10 });
        assert.deepEqual(await kube.get(TRAFFICSPLIT_API, "TrafficSplit", "test", "podinfo"), {
            apiVersion: "split.smi-spec.io/v1alpha2", kind: "TrafficSplit",
            metadata: { name: "podinfo", namespace: "test", labels: managed, annotations: {} },
            spec: { service: "podinfo", backends: [{ service: "podinfo-primary", weight: 90 }, { service: "podinfo-canary", weight: 10 }] },
        });
        assert.deepEqual(await r.getRoutes(t), { primary: 90, canary: 10 });
    });
    it("refuses A/B matches, which SMI cannot express", async () => {
        await assert.rejects(new LinkerdRouter(new MemoryKube(), { route: "smi" }).reconcile(t, [{ cookie: "canary" }]), /SMI cannot route by header or cookie/);
    });
});

describe("IstioRouter", () => {
    it("creates DestinationRules and a VirtualService with weights on http[0]", async () => {
        const kube = new MemoryKube();
        const r = new IstioRouter(kube);
        await r.reconcile(t, []);
        await r.setRoutes(t, { primary: 80, canary: 20 });
        assert.deepEqual(await kube.get(ISTIO_API, "VirtualService", "test", "podinfo"), {
            apiVersion: "networking.istio.io/v1beta1", kind: "VirtualService",
            metadata: { name: "podinfo", namespace: "test", labels: managed, annotations: {} },
            spec: {
                hosts: ["podinfo"], gateways: ["mesh"],
                http: [{ route: [{ destination: { host: "podinfo-primary" }, weight: 80 }, { destination: { host: "podinfo-canary" }, weight: 20 }] }],
            },
        });
        for (const role of ["primary", "canary"]) {
            assert.deepEqual(await kube.get(ISTIO_API, "DestinationRule", "test", `podinfo-${role}`), {
                apiVersion: "networking.istio.io/v1beta1", kind: "DestinationRule",
                metadata: { name: `podinfo-${role}`, namespace: "test", labels: managed },
                spec: { host: `podinfo-${role}` },
            });
        }
        assert.deepEqual(await r.getRoutes(t), { primary: 80, canary: 20 });
    });
    it("A/B: header and cookie matches route to the canary ahead of the default route", async () => {
        const kube = new MemoryKube();
        const r = new IstioRouter(kube, { gateways: ["public-gateway.istio-system.svc.cluster.local"], hosts: ["app.example.com"] });
        await r.reconcile(t, [{ headers: { "user-agent": { regex: ".*Firefox.*" } } }, { cookie: "canary" }]);
        await r.setRoutes(t, { primary: 100, canary: 0, match: true });
        const spec = (await kube.get(ISTIO_API, "VirtualService", "test", "podinfo"))?.spec as Record<string, unknown>;
        assert.deepEqual(spec.hosts, ["podinfo", "app.example.com"]);
        assert.deepEqual(spec.gateways, ["public-gateway.istio-system.svc.cluster.local"]);
        assert.deepEqual(spec.http, [
            {
                match: [{ headers: { "user-agent": { regex: ".*Firefox.*" } } }, { headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } }],
                route: [{ destination: { host: "podinfo-primary" }, weight: 0 }, { destination: { host: "podinfo-canary" }, weight: 100 }],
            },
            { route: [{ destination: { host: "podinfo-primary" }, weight: 100 }, { destination: { host: "podinfo-canary" }, weight: 0 }] },
        ]);
    });
    it("finalize deletes the VirtualService and both DestinationRules", async () => {
        const kube = new MemoryKube();
        const r = new IstioRouter(kube);
        await r.reconcile(t, []);
        await r.finalize(t);
        assert.equal(kube.objects.size, 0);
    });
});

describe("createRouter", () => {
    it("builds each router by name", () => {
        const kube = new MemoryKube();
        assert.ok(createRouter("nginx", kube, { ingressName: "podinfo" }) instanceof NginxRouter);
        assert.ok(createRouter("istio", kube) instanceof IstioRouter);
        const l = createRouter("linkerd", kube, { linkerdRoute: "smi" });
        assert.ok(l instanceof LinkerdRouter && l.route === "smi");
    });
    it("throws on an unknown name instead of falling back", () => {
        assert.throws(() => createRouter("traefik" as never, new MemoryKube()), /unknown router "traefik"; expected one of nginx, linkerd, istio/);
    });
    it("nginx needs the ingress name", () => {
        assert.throws(() => createRouter("nginx", new MemoryKube()), /nginx router: ingressName is required/);
    });
});
