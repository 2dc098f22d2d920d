import * as assert from "assert";
import { MatchCondition, Target } from "../../../components/canary/engine/types";
import { DeploymentStatus, KubeApi, KubeObject } from "../../../components/canary/kube/api";
import {
    ANNOTATIONS, buildCanaryIngress, matchAnnotations, NginxRouter, routeAnnotations, routesOf, sameJson, validateRoutes, withRouteAnnotations,
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

describe("routers/nginx: edges", () => {
    it("sameJson: key order and undefined keys do not matter, array order and values do", () => {
        assert.ok(sameJson({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }));
        assert.ok(sameJson({ a: 1, b: undefined }, { a: 1 }));
        assert.ok(sameJson(undefined, null));
        assert.ok(!sameJson([1, 2], [2, 1]));
        assert.ok(!sameJson({ a: 1 }, { a: "1" }));
        assert.ok(!sameJson({ a: { b: 1 } }, { a: { b: 2 } }));
    });

    it("the canary Ingress copies the app's labels and annotations except routes and other tools' bookkeeping", () => {
        const app = appIngress();
        const out = buildCanaryIngress({
            ...app,
            metadata: {
                ...app.metadata,
                labels: { app: "podinfo", "app.kubernetes.io/managed-by": "pulumi", team: "web" },
                annotations: {
                    "nginx.ingress.kubernetes.io/canary": "false",
                    "nginx.ingress.kubernetes.io/canary-by-header": "x",
                    "nginx.ingress.kubernetes.io/ssl-redirect": "true",
                    "pulumi.com/patchForce": "true",
                    "kubectl.kubernetes.io/last-applied-configuration": "{}",
                    "kubectl.kubernetes.io/restartedAt": "now",
                },
            },
        }, target);
        assert.deepStrictEqual(out.metadata.labels, { app: "podinfo", "app.kubernetes.io/managed-by": "pulumi-canary", team: "web" });
        assert.deepStrictEqual(out.metadata.annotations, {
            "nginx.ingress.kubernetes.io/ssl-redirect": "true",
            "kubectl.kubernetes.io/restartedAt": "now",
            [ANNOTATIONS.canary]: "true",
            [ANNOTATIONS.weight]: "0",
        });
    });

    it("an app Ingress without labels, annotations or spec", () => {
        const bare: KubeObject = { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "web", namespace: "test" }, spec: { defaultBackend: { service: { name: "podinfo" } }, rules: [{ host: "a" }, { http: {} }] } };
        assert.deepStrictEqual(buildCanaryIngress(bare, target), {
            apiVersion: "networking.k8s.io/v1", kind: "Ingress",
            metadata: { name: "web-canary", namespace: "test", labels: { "app.kubernetes.io/managed-by": "pulumi-canary" }, annotations: { [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "0" } },
            spec: { defaultBackend: { service: { name: "podinfo-canary" } }, rules: [{ host: "a" }, { http: {} }] },
        });
        assert.throws(() => buildCanaryIngress({ ...bare, spec: undefined }, target), /^Error: Ingress web\.test has no backend service "podinfo"/);
    });

    it("the same header matched twice with the same value is one header; with another value it is refused", () => {
        assert.deepStrictEqual(matchAnnotations([header[0], { headers: { "x-canary": { exact: "insider" } } }]), { [ANNOTATIONS.header]: "x-canary", [ANNOTATIONS.headerValue]: "insider" });
        assert.throws(() => matchAnnotations([header[0], { headers: { "x-canary": { exact: "other" } } }]), /^Error: nginx: header "x-canary" is matched twice with different values$/);
        assert.deepStrictEqual(matchAnnotations([{ cookie: "c" }, { cookie: "c" }]), { [ANNOTATIONS.cookie]: "c" });
    });

    it("refusals say exactly what NGINX cannot do", () => {
        assert.throws(() => matchAnnotations([{ headers: { a: { exact: "1" }, b: { exact: "2" } } }]), /^Error: nginx supports one canary header, got a, b$/);
        assert.throws(() => matchAnnotations([{ cookie: "a" }, { cookie: "b" }]), /^Error: nginx supports one canary cookie, got a, b$/);
        assert.throws(() => matchAnnotations([]), /^Error: nginx: A\/B routing needs a header or cookie match condition$/);
        assert.throws(() => matchAnnotations([{ headers: { Cookie: { exact: "x" } } }]), /^Error: nginx: match the cookie with `cookie: "<name>"`, not a "cookie" header$/);
        assert.throws(() => matchAnnotations([{ headers: { a: { exact: "1", regex: "1" } } }]), /^Error: nginx: header "a" has both exact and regex; set one$/);
    });

    it("validateRoutes: the bounds 0 and 100 are weights, one past them is not; the message gives both weights", () => {
        assert.deepStrictEqual(routeAnnotations({ primary: 0, canary: 100 }, []), { [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "100" });
        assert.deepStrictEqual(routeAnnotations({ primary: 100, canary: 0 }, []), { [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "0" });
        assert.throws(() => validateRoutes({ primary: 101, canary: -1 }), /^Error: nginx: weights must be integers in 0\.\.100 adding up to 100, got primary 101, canary -1$/);
        assert.throws(() => validateRoutes({ primary: -1, canary: 101 }), /got primary -1, canary 101$/);
        assert.throws(() => validateRoutes({ primary: 50, canary: 49 }), /got primary 50, canary 49$/);
        assert.throws(() => validateRoutes({ primary: 50.5, canary: 49.5 }), /got primary 50\.5, canary 49\.5$/);
    });

    it("routesOf: weight 100 and a missing weight; 101 and a signed number are refused", () => {
        const obj = (a: Record<string, string>): KubeObject => ({ apiVersion: "v1", kind: "Ingress", metadata: { name: "c", namespace: "n", annotations: a } });
        assert.deepStrictEqual(routesOf(obj({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "100" })), { primary: 0, canary: 100 });
        assert.deepStrictEqual(routesOf(obj({ [ANNOTATIONS.canary]: "true" })), { primary: 100, canary: 0 });
        assert.deepStrictEqual(routesOf(obj({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "20", [ANNOTATIONS.header]: "x" })), { primary: 80, canary: 20, match: true });
        assert.deepStrictEqual(routesOf({ apiVersion: "v1", kind: "Ingress", metadata: { name: "c" } }), { primary: 100, canary: 0 });
        assert.throws(() => routesOf(obj({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "101" })),
            /^Error: Ingress c\.n: nginx\.ingress\.kubernetes\.io\/canary-weight "101" is not a weight in 0\.\.100$/);
        assert.throws(() => routesOf(obj({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "+5" })), /"\+5" is not a weight/);
        assert.throws(() => routesOf(obj({ [ANNOTATIONS.canary]: "true", [ANNOTATIONS.weight]: "5 " })), /"5 " is not a weight/);
    });

    it("withRouteAnnotations replaces every canary* annotation and keeps the others", () => {
        const o: KubeObject = { apiVersion: "v1", kind: "Ingress", metadata: { name: "c", annotations: { a: "1", [ANNOTATIONS.weight]: "30", [ANNOTATIONS.cookie]: "x" } } };
        assert.deepStrictEqual(withRouteAnnotations(o, { [ANNOTATIONS.weight]: "40" }).metadata.annotations, { a: "1", [ANNOTATIONS.weight]: "40" });
        assert.deepStrictEqual(withRouteAnnotations({ ...o, metadata: { name: "c" } }, { b: "2" }).metadata.annotations, { b: "2" });
    });

    it("an empty ingress name is refused", () => {
        assert.throws(() => new NginxRouter(new FakeKube(), ""), /^Error: nginx router: ingressName is empty$/);
    });
});

describe("routers/nginx: NginxRouter edges", () => {
    let kube: FakeKube;
    let router: NginxRouter;
    beforeEach(() => {
        kube = new FakeKube();
        kube.seed(appIngress());
        router = new NginxRouter(kube, "podinfo");
    });

    it("patches send only name, namespace, labels, annotations and spec", async () => {
        await router.reconcile(target, []);
        const sent: KubeObject[] = [];
        const patch = kube.patch.bind(kube);
        kube.patch = async (o) => { sent.push(o); return patch(o); };
        await router.setRoutes(target, { primary: 80, canary: 20 });
        assert.deepStrictEqual(Object.keys(sent[0]).sort(), ["apiVersion", "kind", "metadata", "spec"]);
        assert.deepStrictEqual(Object.keys(sent[0].metadata).sort(), ["annotations", "labels", "name", "namespace"]);
        assert.strictEqual(sent[0].apiVersion, "networking.k8s.io/v1");
    });

    it("reconcile keeps the A/B annotations of the current canary Ingress and restores canary: true", async () => {
        await router.reconcile(target, header);
        await router.setRoutes(target, { primary: 100, canary: 0, match: true });
        const cur = kube.canary();
        kube.seed({ ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, [ANNOTATIONS.canary]: "false" } } });
        await router.reconcile(target, header);
        assert.strictEqual(kube.canary().metadata.annotations?.[ANNOTATIONS.canary], "true");
        assert.deepStrictEqual(await router.getRoutes(target), { primary: 100, canary: 0, match: true });
    });

    it("reconcile without match conditions does not check them; a labels-only drift is patched", async () => {
        await router.reconcile(target, []);
        const cur = kube.canary();
        kube.seed({ ...cur, metadata: { ...cur.metadata, labels: { app: "podinfo" } } });
        await router.reconcile(target, []);
        assert.deepStrictEqual(kube.writes, ["create podinfo-canary", "patch podinfo-canary"]);
        assert.deepStrictEqual(kube.canary().metadata.labels, { app: "podinfo", "app.kubernetes.io/managed-by": "pulumi-canary" });
    });

    it("A/B routes with no canary Ingress are an error, even at weight 0", async () => {
        await router.reconcile(target, header);
        kube.objects.delete("Ingress/test/podinfo-canary");
        await assert.rejects(router.setRoutes(target, { primary: 100, canary: 0, match: true }), /^Error: patch Ingress podinfo-canary\.test: not found/);
    });

    it("A/B routes refused without conditions name the app", async () => {
        await assert.rejects(router.setRoutes(target, { primary: 100, canary: 0, match: true }),
            /^Error: nginx router: A\/B routes for podinfo\.test need match conditions; call reconcile\(target, match\) first$/);
    });

    it("invalid weights are refused before any call", async () => {
        let gets = 0;
        kube.get = async () => { gets++; return undefined; };
        await assert.rejects(router.setRoutes(target, { primary: 50, canary: 60 }), /weights must be integers/);
        assert.strictEqual(gets, 0);
    });

    it("an error that already names the Ingress is not prefixed again; one that is not an Error is shown as text", async () => {
        kube.get = async () => { throw new Error("Ingress podinfo-canary.test is being deleted"); };
        await assert.rejects(router.getRoutes(target), /^Error: Ingress podinfo-canary\.test is being deleted$/);
        kube.delete = async () => { throw "timeout"; };
        await assert.rejects(router.finalize(target), /^Error: delete Ingress podinfo-canary\.test: timeout$/);
    });

    it("a failing create names the verb", async () => {
        kube.create = async () => { throw new Error("quota"); };
        await assert.rejects(router.reconcile(target, []), /^Error: create Ingress podinfo-canary\.test: quota$/);
    });
});
