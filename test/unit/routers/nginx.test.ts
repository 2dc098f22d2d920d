import * as assert from "assert";
import { MatchCondition, Target } from "../../../components/canary/engine/types";
import { DeploymentStatus, KubeApi, KubeObject } from "../../../components/canary/kube/api";
import {
    ANNOTATIONS, buildCanaryIngress, matchAnnotations, NginxRouter, routeAnnotations, routesOf,
} from "../../../components/canary/routers/nginx";

const target: Target = { name: "podinfo", namespace: "test" };

// The app's Ingress as the Kubernetes provider would create it.
const appIngress = (): KubeObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
        name: "podinfo",
        namespace: "test",
        uid: "123",
        resourceVersion: "42",
        labels: { app: "podinfo", "app.kubernetes.io/managed-by": "pulumi" },
        annotations: {
            "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
            "pulumi.com/skipAwait": "true",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "nginx.ingress.kubernetes.io/canary-weight": "30",
        },
    },
    spec: {
        ingressClassName: "nginx",
        tls: [{ hosts: ["app.example.com"], secretName: "app-tls" }],
        rules: [{
            host: "app.example.com",
            http: {
                paths: [
                    { path: "/", pathType: "Prefix", backend: { service: { name: "podinfo", port: { number: 9898 } } } },
                    { path: "/static", pathType: "Prefix", backend: { service: { name: "static", port: { number: 80 } } } },
                ],
            },
        }],
    },
    status: { loadBalancer: {} },
});

const expectedCanary = (annotations: Record<string, string>): KubeObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
        name: "podinfo-canary",
        namespace: "test",
        labels: { app: "podinfo", "app.kubernetes.io/managed-by": "pulumi-canary" },
        annotations: { "nginx.ingress.kubernetes.io/proxy-body-size": "1m", ...annotations },
    },
    spec: {
        ingressClassName: "nginx",
        tls: [{ hosts: ["app.example.com"], secretName: "app-tls" }],
        rules: [{
            host: "app.example.com",
            http: {
                paths: [
                    { path: "/", pathType: "Prefix", backend: { service: { name: "podinfo-canary", port: { number: 9898 } } } },
                    { path: "/static", pathType: "Prefix", backend: { service: { name: "static", port: { number: 80 } } } },
                ],
            },
        }],
    },
});

/** An in-memory API server for Ingresses: stores objects, records the writes, sets server fields. */
class FakeKube implements KubeApi {
    readonly objects = new Map<string, KubeObject>();
    readonly writes: string[] = [];
    private rv = 100;
    private key(kind: string, ns: string, name: string) {
        return `${kind}/${ns}/${name}`;
    }
    seed(obj: KubeObject) {
        this.objects.set(this.key(obj.kind, obj.metadata.namespace ?? "", obj.metadata.name), JSON.parse(JSON.stringify(obj)));
    }
    async get(_api: string, kind: string, ns: string, name: string) {
        const o = this.objects.get(this.key(kind, ns, name));
        return o === undefined ? undefined : (JSON.parse(JSON.stringify(o)) as KubeObject);
    }
    async create(obj: KubeObject) {
        const k = this.key(obj.kind, obj.metadata.namespace ?? "", obj.metadata.name);
        if (this.objects.has(k)) {
            throw new Error("already exists");
        }
        this.writes.push(`create ${obj.metadata.name}`);
        this.seed({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv++) } });
    }
    async patch(obj: KubeObject) {
        const k = this.key(obj.kind, obj.metadata.namespace ?? "", obj.metadata.name);
        const cur = this.objects.get(k);
        if (cur === undefined) {
            throw new Error("not found");
        }
        this.writes.push(`patch ${obj.metadata.name}`);
        this.seed({ ...cur, spec: obj.spec, metadata: { ...cur.metadata, labels: obj.metadata.labels, annotations: obj.metadata.annotations, resourceVersion: String(this.rv++) } });
    }
    async delete(_api: string, kind: string, ns: string, name: string) {
        this.writes.push(`delete ${name}`);
        this.objects.delete(this.key(kind, ns, name));
    }
    async getDeployment(): Promise<DeploymentStatus> {
        throw new Error("unused");
    }
    async scaleDeployment(): Promise<void> {
        throw new Error("unused");
    }
    async event(): Promise<void> {
        throw new Error("unused");
    }
    canary(): KubeObject {
        return this.objects.get("Ingress/test/podinfo-canary") as KubeObject;
    }
}

const strip = (o: KubeObject): KubeObject => {
    const metadata: Record<string, unknown> = { ...o.metadata };
    delete metadata.resourceVersion;
    return { ...o, metadata: metadata as KubeObject["metadata"] };
};

const header: MatchCondition[] = [{ headers: { "x-canary": { exact: "insider" } } }];

describe("routers/nginx: generated objects", () => {
    it("copies the app's Ingress: backend swapped to <app>-canary, canary annotations, bookkeeping dropped", () => {
        assert.deepStrictEqual(buildCanaryIngress(appIngress(), target), expectedCanary({
            [ANNOTATIONS.canary]: "true",
            [ANNOTATIONS.weight]: "0",
        }));
    });

    it("swaps a defaultBackend too", () => {
        const app = appIngress();
        const spec = { defaultBackend: { service: { name: "podinfo", port: { number: 9898 } } } };
        const out = buildCanaryIngress({ ...app, spec }, target);
        assert.deepStrictEqual(out.spec, { defaultBackend: { service: { name: "podinfo-canary", port: { number: 9898 } } } });
    });

    it("fails when the app's Ingress has no backend for the app", () => {
        assert.throws(() => buildCanaryIngress(appIngress(), { name: "other", namespace: "test" }),
            /^Error: Ingress podinfo\.test has no backend service "other" to route to "other-canary"$/);
    });

    it("does not modify the app's Ingress object", () => {
        const app = appIngress();
        buildCanaryIngress(app, target);
        assert.deepStrictEqual(app, appIngress());
    });

    const table: [string, MatchCondition[], Record<string, string>][] = [
        ["header exact", header, { [ANNOTATIONS.header]: "x-canary", [ANNOTATIONS.headerValue]: "insider" }],
        ["header regex", [{ headers: { "user-agent": { regex: ".*Firefox.*" } } }],
            { [ANNOTATIONS.header]: "user-agent", [ANNOTATIONS.headerPattern]: ".*Firefox.*" }],
        ["header without value (always/never)", [{ headers: { "x-canary": {} } }], { [ANNOTATIONS.header]: "x-canary" }],
        ["cookie", [{ cookie: "canary" }], { [ANNOTATIONS.cookie]: "canary" }],
        ["header or cookie", [{ headers: { "x-canary": { exact: "insider" } } }, { cookie: "canary" }],
            { [ANNOTATIONS.header]: "x-canary", [ANNOTATIONS.headerValue]: "insider", [ANNOTATIONS.cookie]: "canary" }],
    ];
    for (const [name, match, expected] of table) {
        it(`A/B annotations: ${name}`, () => {
            assert.deepStrictEqual(matchAnnotations(match), expected);
        });
    }

    const bad: [string, MatchCondition[], RegExp][] = [
        ["two headers", [{ headers: { a: { exact: "1" } } }, { headers: { b: { exact: "2" } } }], /one canary header, got a, b/],
        ["two cookies", [{ cookie: "a" }, { cookie: "b" }], /one canary cookie, got a, b/],
        ["exact and regex", [{ headers: { a: { exact: "1", regex: "1.*" } } }], /header "a" has both exact and regex/],
        ["a cookie header", [{ headers: { cookie: { exact: "canary" } } }], /match the cookie with `cookie:/],
        ["nothing to match", [{}], /needs a header or cookie match condition/],
    ];
    for (const [name, match, re] of bad) {
        it(`A/B annotations refuse ${name}`, () => {
            assert.throws(() => matchAnnotations(match), re);
        });
    }

    it("route annotations: weight, and A/B on top", () => {
        assert.deepStrictEqual(routeAnnotations({ primary: 90, canary: 10 }, header),
            { [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "10" });
        assert.deepStrictEqual(routeAnnotations({ primary: 100, canary: 0, match: true }, header), {
            [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "0",
            [ANNOTATIONS.header]: "x-canary", [ANNOTATIONS.headerValue]: "insider",
        });
    });

    it("rejects weights that are not integers in 0..100 adding up to 100", () => {
        for (const r of [{ primary: 90, canary: 20 }, { primary: 95.5, canary: 4.5 }, { primary: 110, canary: -10 }]) {
            assert.throws(() => routeAnnotations(r, []), /weights must be integers in 0\.\.100 adding up to 100/);
        }
    });

    it("reads routes back", () => {
        const obj = (a: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "Ingress", metadata: { name: "c", namespace: "n", annotations: a } });
        assert.deepStrictEqual(routesOf(obj({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "30" })), { primary: 70, canary: 30 });
        assert.deepStrictEqual(routesOf(obj({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "0", [ANNOTATIONS.cookie]: "c" })),
            { primary: 100, canary: 0, match: true });
        assert.deepStrictEqual(routesOf(obj({ [ANNOTATIONS.canary]: "false", [ANNOTATIONS.weight]: "50" })), { primary: 100, canary: 0 });
        assert.throws(() => routesOf(obj({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "ten" })), /canary-weight "ten" is not a weight/);
    });
});

describe("routers/nginx: NginxRouter over KubeApi", () => {
    let kube: FakeKube;
    let router: NginxRouter;
    beforeEach(() => {
        kube = new FakeKube();
        kube.seed(appIngress());
        router = new NginxRouter(kube, "podinfo");
    });

    it("reconcile creates the canary Ingress once, then writes nothing while nothing differs", async () => {
        await router.reconcile(target, []);
        await router.reconcile(target, []);
        assert.deepStrictEqual(kube.writes, ["create podinfo-canary"]);
        assert.deepStrictEqual(strip(kube.canary()), expectedCanary({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "0" }));
    });

    it("setRoutes and getRoutes round-trip; equal routes write nothing", async () => {
        await router.reconcile(target, []);
        await router.setRoutes(target, { primary: 90, canary: 10 });
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 90, canary: 10 });
        await router.setRoutes(target, { primary: 90, canary: 10 });
        await router.setRoutes(target, { primary: 50, canary: 50 });
        assert.deepStrictEqual(kube.writes, ["create podinfo-canary", "patch podinfo-canary", "patch podinfo-canary"]);
        assert.deepStrictEqual(strip(kube.canary()), expectedCanary({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "50" }));
    });

    it("reconcile follows the app's Ingress but keeps the current weight", async () => {
        await router.reconcile(target, []);
        await router.setRoutes(target, { primary: 70, canary: 30 });
        const app = appIngress();
        kube.seed({ ...app, metadata: { ...app.metadata, annotations: { ...app.metadata.annotations, "nginx.ingress.kubernetes.io/rewrite-target": "/" } } });
        await router.reconcile(target, []);
        assert.deepStrictEqual(kube.writes, ["create podinfo-canary", "patch podinfo-canary", "patch podinfo-canary"]);
        assert.deepStrictEqual(strip(kube.canary()), expectedCanary({
            "nginx.ingress.kubernetes.io/rewrite-target": "/", [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "30",
        }));
    });

    it("A/B: match adds the header annotations, and going back removes them", async () => {
        await router.reconcile(target, header);
        await router.setRoutes(target, { primary: 100, canary: 0, match: true });
        assert.deepStrictEqual(strip(kube.canary()), expectedCanary({
            [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "0",
            [ANNOTATIONS.header]: "x-canary", [ANNOTATIONS.headerValue]: "insider",
        }));
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 100, canary: 0, match: true });
        await router.setRoutes(target, { primary: 100, canary: 0 });
        assert.deepStrictEqual(strip(kube.canary()), expectedCanary({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "0" }));
    });

    it("A/B routes without match conditions are refused before any call", async () => {
        await assert.rejects(router.setRoutes(target, { primary: 100, canary: 0, match: true }), /need match conditions; call reconcile/);
        assert.deepStrictEqual(kube.writes, []);
    });

    it("reconcile refuses unsupported match conditions before touching anything", async () => {
        await assert.rejects(router.reconcile(target, [{ cookie: "a" }, { cookie: "b" }]), /one canary cookie/);
        assert.deepStrictEqual(kube.writes, []);
    });

    it("without a canary Ingress: routes read 100/0, routing to the primary is a no-op, shifting fails", async () => {
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 100, canary: 0 });
        await router.setRoutes(target, { primary: 100, canary: 0 });
        await assert.rejects(router.setRoutes(target, { primary: 90, canary: 10 }),
            /^Error: patch Ingress podinfo-canary\.test: not found; reconcile must create it/);
        assert.deepStrictEqual(kube.writes, []);
    });

    it("a missing app Ingress is an error naming it", async () => {
        router = new NginxRouter(kube, "nope");
        await assert.rejects(router.reconcile(target, []), /^Error: get Ingress nope\.test: not found \(the app's Ingress must exist/);
    });

    it("API errors name the verb, kind and name.namespace", async () => {
        await router.reconcile(target, []);
        kube.patch = async () => {
            throw new Error("connection reset");
        };
        await assert.rejects(router.setRoutes(target, { primary: 80, canary: 20 }), /^Error: patch Ingress podinfo-canary\.test: connection reset$/);
    });

    it("finalize deletes the canary Ingress and leaves the app's", async () => {
        await router.reconcile(target, []);
        await router.finalize(target);
        assert.strictEqual(kube.canary(), undefined);
        assert.ok(await kube.get("networking.k8s.io/v1", "Ingress", "test", "podinfo"));
        assert.deepStrictEqual(kube.writes, ["create podinfo-canary", "delete podinfo-canary"]);
    });
});
