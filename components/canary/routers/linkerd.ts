// Linkerd router: shifts traffic on the apex Service `<app>` between `<app>-primary` and
// `<app>-canary`, either with a Gateway API HTTPRoute whose parent is the Service (Linkerd
// 2.14+, the default) or with an SMI TrafficSplit (linkerd-smi extension; SMI is archived).
// The routing object is named `<app>` and owned by the release.
import { MatchCondition, Routes, Target } from "../engine/types";
import { KubeApi, KubeObject } from "../kube/api";
import { Router } from "./router";
import { MANAGED_BY, cookieRegex, deleteIfPresent, mustGet, reconcileObject } from "./objects";

export const HTTPROUTE_API = "gateway.networking.k8s.io/v1beta1";
export const TRAFFICSPLIT_API = "split.smi-spec.io/v1alpha2";

export interface LinkerdRouterOptions {
    /** "httproute" (default) or "smi". */
    readonly route?: "httproute" | "smi";
    /** The Services' port, required by Gateway API backend references. Default 9898 (podinfo). */
    readonly port?: number;
}

interface HttpRouteMatch {
    headers: { type: "Exact" | "RegularExpression"; name: string; value: string }[];
}

/** Gateway API header matches for Flagger-style match conditions (one match per condition). */
export function httpRouteMatches(match: readonly MatchCondition[]): HttpRouteMatch[] {
    return match.map((m) => {
        const headers: HttpRouteMatch["headers"] = [];
        for (const [name, cond] of Object.entries(m.headers ?? {})) {
            if (cond.exact !== undefined) headers.push({ type: "Exact", name, value: cond.exact });
            else if (cond.regex !== undefined) headers.push({ type: "RegularExpression", name, value: cond.regex });
        }
        if (m.cookie !== undefined) headers.push({ type: "RegularExpression", name: "Cookie", value: cookieRegex(m.cookie) });
        return { headers };
    });
}

export function httpRouteSpec(target: Target, port: number, routes: Routes, match: readonly MatchCondition[]): Record<string, unknown> {
    const backends = (primary: number, canary: number) => [
        { group: "", kind: "Service", name: `${target.name}-primary`, port, weight: primary },
        { group: "", kind: "Service", name: `${target.name}-canary`, port, weight: canary },
    ];
    const rules: Record<string, unknown>[] = [];
    // A/B: requests matching the conditions go to the canary while routes.match is on
    if (match.length > 0) rules.push({ matches: httpRouteMatches(match), backendRefs: routes.match === true ? backends(0, 100) : backends(100, 0) });
    rules.push({ backendRefs: backends(routes.primary, routes.canary) });
    return {
        parentRefs: [{ group: "core", kind: "Service", name: target.name, namespace: target.namespace, port }],
        rules,
    };
}

export function httpRoute(target: Target, port: number, routes: Routes, match: readonly MatchCondition[]): KubeObject & { spec: unknown } {
    return {
        apiVersion: HTTPROUTE_API,
        kind: "HTTPRoute",
        metadata: { name: target.name, namespace: target.namespace, labels: { ...MANAGED_BY } },
        spec: httpRouteSpec(target, port, routes, match),
    };
}

export function trafficSplit(target: Target, routes: Routes): KubeObject & { spec: unknown } {
    return {
        apiVersion: TRAFFICSPLIT_API,
        kind: "TrafficSplit",
        metadata: { name: target.name, namespace: target.namespace, labels: { ...MANAGED_BY } },
        spec: {
            service: target.name,
            backends: [
                { service: `${target.name}-primary`, weight: routes.primary },
                { service: `${target.name}-canary`, weight: routes.canary },
            ],
        },
    };
}

const ALL_PRIMARY: Routes = { primary: 100, canary: 0 };

type Backend = { name?: string; service?: string; weight?: number };

export class LinkerdRouter implements Router {
    readonly route: "httproute" | "smi";
    readonly port: number;
    /** Match conditions from the last reconcile; setRoutes keeps them. */
    private match: readonly MatchCondition[] = [];

    constructor(private readonly kube: KubeApi, opts: LinkerdRouterOptions = {}) {
        this.route = opts.route ?? "httproute";
        this.port = opts.port ?? 9898;
    }

    async reconcile(target: Target, match: readonly MatchCondition[]): Promise<void> {
        if (this.route === "smi" && match.length > 0) {
            throw new Error(`TrafficSplit ${target.name}.${target.namespace}: SMI cannot route by header or cookie (A/B match); use linkerdRoute httproute`);
        }
        this.match = match;
        // keep the current weights: reconcile must not move traffic
        const current = await this.kube.get(this.apiVersion(), this.kind(), target.namespace, target.name);
        const routes = current === undefined ? ALL_PRIMARY : this.routesOf(current);
        await reconcileObject(this.kube, this.desired(target, routes));
    }

    async setRoutes(target: Target, routes: Routes): Promise<void> {
        await reconcileObject(this.kube, this.desired(target, routes));
    }

    async getRoutes(target: Target): Promise<Routes> {
        return this.routesOf(await mustGet(this.kube, this.apiVersion(), this.kind(), target.namespace, target.name));
    }

    async finalize(target: Target): Promise<void> {
        await deleteIfPresent(this.kube, this.apiVersion(), this.kind(), target.namespace, target.name);
    }

    private apiVersion(): string {
        return this.route === "smi" ? TRAFFICSPLIT_API : HTTPROUTE_API;
    }

    private kind(): string {
        return this.route === "smi" ? "TrafficSplit" : "HTTPRoute";
    }

    private desired(target: Target, routes: Routes): KubeObject & { spec: unknown } {
        return this.route === "smi" ? trafficSplit(target, routes) : httpRoute(target, this.port, routes, this.match);
    }

    private routesOf(obj: KubeObject): Routes {
        const spec = (obj.spec ?? {}) as { backends?: Backend[]; rules?: { matches?: unknown[]; backendRefs?: Backend[] }[] };
        const weights = (backends: Backend[] | undefined) => {
            const w = (suffix: string) => (backends ?? []).find((b) => (b.name ?? b.service ?? "").endsWith(suffix))?.weight ?? 0;
            return { primary: w("-primary"), canary: w("-canary") };
        };
        if (this.route === "smi") return weights(spec.backends);
        const rules = spec.rules ?? [];
        const plain = rules.find((r) => r.matches === undefined || r.matches.length === 0);
        const ab = rules.find((r) => r.matches !== undefined && r.matches.length > 0);
        const routes = weights(plain?.backendRefs);
        if (ab === undefined) return routes;
        return { ...routes, match: weights(ab.backendRefs).canary === 100 };
    }
}
