// Router for ingress-nginx (Flagger's pkg/router/ingress.go): a canary Ingress
// `<ingress>-canary`, a copy of the app's Ingress whose backends point at `<app>-canary`,
// annotated `nginx.ingress.kubernetes.io/canary: "true"` and `canary-weight`; for A/B,
// `canary-by-header` (+ `-value` or `-pattern`) and `canary-by-cookie`.
//
// The canary Ingress is owned by the release: reconcile creates it, keeps its spec, labels
// and copied annotations equal to the app's Ingress, and leaves the route annotations alone;
// setRoutes changes only the route annotations; finalize deletes it.
//
// Routes map to annotations one to one, so getRoutes(setRoutes(r)) == r: `canary-weight` is
// always the canary weight (what non-matching requests get), and `match: true` adds the
// header/cookie annotations, which send matching requests to the canary whatever the weight.
// (Flagger writes weight 0 and reports 0/100 in A/B mode; an A/B run here is
// `{ primary: 100, canary: 0, match: true }`.)
import { MatchCondition, Routes, Target } from "../engine/types";
import { KubeApi, KubeObject } from "../kube/api";
import { Router } from "./router";

const PREFIX = "nginx.ingress.kubernetes.io/";
export const ANNOTATIONS = {
    canary: `${PREFIX}canary`,
    weight: `${PREFIX}canary-weight`,
    header: `${PREFIX}canary-by-header`,
    headerValue: `${PREFIX}canary-by-header-value`,
    headerPattern: `${PREFIX}canary-by-header-pattern`,
    cookie: `${PREFIX}canary-by-cookie`,
} as const;

const INGRESS_API = "networking.k8s.io/v1";
const MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGER = "pulumi-canary";

/** Route annotations are every `nginx.ingress.kubernetes.io/canary*` key. */
function isRouteAnnotation(key: string): boolean {
    return key.startsWith(`${PREFIX}canary`);
}

/** Annotations of the app's Ingress that are not copied: route ones, and other tools' bookkeeping. */
function isCopiedAnnotation(key: string): boolean {
    return !isRouteAnnotation(key) && key !== "kubectl.kubernetes.io/last-applied-configuration" &&
        !key.startsWith("pulumi.com/");
}

export function canaryIngressName(ingressName: string): string {
    return `${ingressName}-canary`;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function clone<T>(v: T): T {
    return JSON.parse(JSON.stringify(v)) as T;
}

/** Order-insensitive for object keys, order-sensitive for arrays. */
export function sameJson(a: unknown, b: unknown): boolean {
    const canon = (v: unknown): Json => {
        if (Array.isArray(v)) {
            return v.map(canon);
        }
        if (v !== null && typeof v === "object") {
            const o = v as Record<string, unknown>;
            return Object.fromEntries(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, canon(o[k])]));
        }
        return (v ?? null) as Json;
    };
    return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

interface IngressBackend { service?: { name?: string } }
interface IngressSpec {
    defaultBackend?: IngressBackend;
    rules?: { http?: { paths?: { backend?: IngressBackend }[] } }[];
}

/**
 * The canary Ingress for an app's Ingress: same spec with every backend service `<app>`
 * swapped to `<app>-canary`, same labels (managed-by ours), the app's annotations minus route
 * and bookkeeping ones, plus `canary: "true"` and `canary-weight: "0"`.
 * Throws when no backend of the app's Ingress is the Service `<app>`.
 */
export function buildCanaryIngress(app: KubeObject, target: Target): KubeObject {
    const name = app.metadata.name;
    const spec = clone((app.spec ?? {}) as IngressSpec);
    const swap = (b: IngressBackend | undefined): number => {
        if (b?.service?.name === target.name) {
            b.service.name = `${target.name}-canary`;
            return 1;
        }
        return 0;
    };
    let swapped = swap(spec.defaultBackend);
    for (const rule of spec.rules ?? []) {
        for (const path of rule.http?.paths ?? []) {
            swapped += swap(path.backend);
        }
    }
    if (swapped === 0) {
        throw new Error(`Ingress ${name}.${target.namespace} has no backend service "${target.name}" ` +
            `to route to "${target.name}-canary"`);
    }
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(app.metadata.annotations ?? {})) {
        if (isCopiedAnnotation(k)) {
            annotations[k] = v;
        }
    }
    annotations[ANNOTATIONS.canary] = "true";
    annotations[ANNOTATIONS.weight] = "0";
    return {
        apiVersion: INGRESS_API,
        kind: "Ingress",
        metadata: {
            name: canaryIngressName(name),
            namespace: target.namespace,
            labels: { ...(app.metadata.labels ?? {}), [MANAGED_BY]: MANAGER },
            annotations,
        },
        spec: spec as unknown as Record<string, unknown>,
    };
}

/**
 * The A/B annotations for match conditions (OR-ed, as ingress-nginx checks header, then
 * cookie). NGINX supports one header and one cookie: more, a header with both exact and
 * regex, or a header named "cookie" is an error saying so.
 */
export function matchAnnotations(match: readonly MatchCondition[]): Record<string, string> {
    const headers = new Map<string, { exact?: string; regex?: string }>();
    const cookies = new Set<string>();
    for (const m of match) {
        for (const [h, v] of Object.entries(m.headers ?? {})) {
            const prev = headers.get(h);
            if (prev !== undefined && !sameJson(prev, v)) {
                throw new Error(`nginx: header "${h}" is matched twice with different values`);
            }
            headers.set(h, v);
        }
        if (m.cookie !== undefined) {
            cookies.add(m.cookie);
        }
    }
    if (headers.size > 1) {
        throw new Error(`nginx supports one canary header, got ${[...headers.keys()].join(", ")}`);
    }
    if (cookies.size > 1) {
        throw new Error(`nginx supports one canary cookie, got ${[...cookies].join(", ")}`);
    }
    if (headers.size === 0 && cookies.size === 0) {
        throw new Error("nginx: A/B routing needs a header or cookie match condition");
    }
    const out: Record<string, string> = {};
    for (const [h, v] of headers) {
        if (h.toLowerCase() === "cookie") {
            throw new Error('nginx: match the cookie with `cookie: "<name>"`, not a "cookie" header');
        }
        if (v.exact !== undefined && v.regex !== undefined) {
            throw new Error(`nginx: header "${h}" has both exact and regex; set one`);
        }
        out[ANNOTATIONS.header] = h;
        if (v.exact !== undefined) {
            out[ANNOTATIONS.headerValue] = v.exact;
        }
        if (v.regex !== undefined) {
            out[ANNOTATIONS.headerPattern] = v.regex;
        }
    }
    for (const c of cookies) {
        out[ANNOTATIONS.cookie] = c;
    }
    return out;
}

/** Checks a routes value: integer weights in 0..100 that add up to 100. */
export function validateRoutes(routes: Routes): void {
    const ok = (w: number) => Number.isInteger(w) && w >= 0 && w <= 100;
    if (!ok(routes.primary) || !ok(routes.canary) || routes.primary + routes.canary !== 100) {
        throw new Error(`nginx: weights must be integers in 0..100 adding up to 100, got primary ${routes.primary}, canary ${routes.canary}`);
    }
}

/** The route annotations for a routes value. */
export function routeAnnotations(routes: Routes, match: readonly MatchCondition[]): Record<string, string> {
    validateRoutes(routes);
    return {
        [ANNOTATIONS.canary]: "true",
        [ANNOTATIONS.weight]: String(routes.canary),
        ...(routes.match === true ? matchAnnotations(match) : {}),
    };
}

/** `obj` with its route annotations replaced by `route`. */
export function withRouteAnnotations(obj: KubeObject, route: Record<string, string>): KubeObject {
    const kept = Object.entries(obj.metadata.annotations ?? {}).filter(([k]) => !isRouteAnnotation(k));
    return { ...obj, metadata: { ...obj.metadata, annotations: { ...Object.fromEntries(kept), ...route } } };
}

/** Reads routes back from a canary Ingress. */
export function routesOf(obj: KubeObject): Routes {
    const a = obj.metadata.annotations ?? {};
    if (a[ANNOTATIONS.canary] !== "true") {
        return { primary: 100, canary: 0 };
    }
    const raw = a[ANNOTATIONS.weight] ?? "0";
    const canary = Number(raw);
    if (!/^\d+$/.test(raw) || canary > 100) {
        throw new Error(`Ingress ${obj.metadata.name}.${obj.metadata.namespace}: ${ANNOTATIONS.weight} "${raw}" is not a weight in 0..100`);
    }
    const match = a[ANNOTATIONS.header] !== undefined || a[ANNOTATIONS.cookie] !== undefined;
    return match ? { primary: 100 - canary, canary, match } : { primary: 100 - canary, canary };
}

/** The parts of an object the router owns, for comparing desired with actual. */
function owned(obj: KubeObject): unknown {
    return { labels: obj.metadata.labels ?? {}, annotations: obj.metadata.annotations ?? {}, spec: obj.spec ?? {} };
}

/** Only the fields a create or patch sends. */
function forWrite(obj: KubeObject): KubeObject {
    const { name, namespace, labels, annotations } = obj.metadata;
    return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name, namespace, labels, annotations }, spec: obj.spec };
}

export class NginxRouter implements Router {
    /** Match conditions from the last reconcile; setRoutes with `match` needs them. */
    private match: readonly MatchCondition[] = [];

    constructor(private readonly kube: KubeApi, private readonly ingressName: string) {
        if (ingressName === "") {
            throw new Error("nginx router: ingressName is empty");
        }
    }

    async reconcile(target: Target, match: readonly MatchCondition[]): Promise<void> {
        if (match.length > 0) {
            matchAnnotations(match); // unsupported conditions fail before anything is touched
        }
        this.match = match;
        const ns = target.namespace;
        const app = await this.call("get", this.ingressName, ns, () => this.kube.get(INGRESS_API, "Ingress", ns, this.ingressName));
        if (app === undefined) {
            throw new Error(`get Ingress ${this.ingressName}.${ns}: not found (the app's Ingress must exist before the release)`);
        }
        const fresh = buildCanaryIngress(app, target);
        const name = fresh.metadata.name;
        const current = await this.call("get", name, ns, () => this.kube.get(INGRESS_API, "Ingress", ns, name));
        // Missing: create it with all traffic on the primary.
        if (current === undefined) {
            await this.call("create", name, ns, () => this.kube.create(fresh));
            return;
        }
        // Present: keep its route annotations, take everything else from the app's Ingress.
        const currentRoutes = Object.fromEntries(Object.entries(current.metadata.annotations ?? {}).filter(([k]) => isRouteAnnotation(k)));
        const desired = withRouteAnnotations(fresh, { ...currentRoutes, [ANNOTATIONS.canary]: "true" });
        if (!sameJson(owned(desired), owned(current))) {
            await this.call("patch", name, ns, () => this.kube.patch(forWrite(desired)));
        }
    }

    async setRoutes(target: Target, routes: Routes): Promise<void> {
        validateRoutes(routes);
        if (routes.match === true && this.match.length === 0) {
            throw new Error(`nginx router: A/B routes for ${target.name}.${target.namespace} need match conditions; ` +
                "call reconcile(target, match) first");
        }
        const ns = target.namespace;
        const name = canaryIngressName(this.ingressName);
        const current = await this.call("get", name, ns, () => this.kube.get(INGRESS_API, "Ingress", ns, name));
        if (current === undefined) {
            // No canary Ingress: NGINX already sends everything to the primary.
            if (routes.canary === 0 && routes.match !== true) {
                return;
            }
            throw new Error(`patch Ingress ${name}.${ns}: not found; reconcile must create it before traffic is shifted`);
        }
        const desired = withRouteAnnotations(current, routeAnnotations(routes, this.match));
        if (!sameJson(owned(desired), owned(current))) {
            await this.call("patch", name, ns, () => this.kube.patch(forWrite(desired)));
        }
    }

    async getRoutes(target: Target): Promise<Routes> {
        const ns = target.namespace;
        const name = canaryIngressName(this.ingressName);
        const current = await this.call("get", name, ns, () => this.kube.get(INGRESS_API, "Ingress", ns, name));
        return current === undefined ? { primary: 100, canary: 0 } : routesOf(current);
    }

    async finalize(target: Target): Promise<void> {
        const ns = target.namespace;
        const name = canaryIngressName(this.ingressName);
        await this.call("delete", name, ns, () => this.kube.delete(INGRESS_API, "Ingress", ns, name));
    }

    /** Runs a KubeApi call; an error that does not say what failed is prefixed with verb, kind and name.namespace. */
    private async call<T>(verb: string, name: string, ns: string, fn: () => Promise<T>): Promise<T> {
        try {
            return await fn();
        } catch (err) {
            const msg = err instanceof Error ? err.message : String(err);
            throw new Error(msg.includes(`Ingress ${name}.${ns}`) ? msg : `${verb} Ingress ${name}.${ns}: ${msg}`);
        }
    }
}
