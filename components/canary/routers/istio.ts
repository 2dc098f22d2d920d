// Istio router: a VirtualService `<app>` for the apex host, weights on its unmatched route
// (http[0] without A/B), and for A/B a preceding http route with header/cookie matches;
// DestinationRules `<app>-primary` and `<app>-canary`. All owned by the release.
import { MatchCondition, Routes, Target } from "../engine/types";
import { KubeApi, KubeObject } from "../kube/api";
import { Router } from "./router";
import { MANAGED_BY, cookieRegex, deleteIfPresent, mustGet, reconcileObject } from "./objects";

export const ISTIO_API = "networking.istio.io/v1beta1";

export interface IstioRouterOptions {
    /** Gateways the VirtualService binds to. Default ["mesh"] (sidecar traffic). */
    readonly gateways?: readonly string[];
    /** Extra hosts (e.g. the public host of an Istio ingress gateway). Default none. */
    readonly hosts?: readonly string[];
}

type StringMatch = { exact: string } | { regex: string };

/** Istio HTTPMatchRequests for Flagger-style match conditions. */
export function istioMatches(match: readonly MatchCondition[]): { headers: Record<string, StringMatch> }[] {
    return match.map((m) => {
        const headers: Record<string, StringMatch> = {};
        for (const [name, cond] of Object.entries(m.headers ?? {})) {
            if (cond.exact !== undefined) headers[name] = { exact: cond.exact };
            else if (cond.regex !== undefined) headers[name] = { regex: cond.regex };
        }
        if (m.cookie !== undefined) headers.cookie = { regex: cookieRegex(m.cookie) };
        return { headers };
    });
}

export function virtualServiceSpec(target: Target, routes: Routes, match: readonly MatchCondition[], opts: IstioRouterOptions = {}): Record<string, unknown> {
    const route = (primary: number, canary: number) => [
        { destination: { host: `${target.name}-primary` }, weight: primary },
        { destination: { host: `${target.name}-canary` }, weight: canary },
    ];
    const http: Record<string, unknown>[] = [];
    if (match.length > 0) http.push({ match: istioMatches(match), route: routes.match === true ? route(0, 100) : route(100, 0) });
    http.push({ route: route(routes.primary, routes.canary) });
    return {
        hosts: [target.name, ...(opts.hosts ?? [])],
        gateways: [...(opts.gateways ?? ["mesh"])],
        http,
    };
}

export function virtualService(target: Target, routes: Routes, match: readonly MatchCondition[], opts: IstioRouterOptions = {}): KubeObject & { spec: unknown } {
    return {
        apiVersion: ISTIO_API,
        kind: "VirtualService",
        metadata: { name: target.name, namespace: target.namespace, labels: { ...MANAGED_BY } },
        spec: virtualServiceSpec(target, routes, match, opts),
    };
}

export function destinationRule(target: Target, role: "primary" | "canary"): KubeObject & { spec: unknown } {
    const name = `${target.name}-${role}`;
    return {
        apiVersion: ISTIO_API,
        kind: "DestinationRule",
        metadata: { name, namespace: target.namespace, labels: { ...MANAGED_BY } },
        spec: { host: name },
    };
}

const ALL_PRIMARY: Routes = { primary: 100, canary: 0 };

type HttpRoute = { match?: unknown[]; route?: { destination?: { host?: string }; weight?: number }[] };

export class IstioRouter implements Router {
    /** Match conditions from the last reconcile; setRoutes keeps them. */
    private match: readonly MatchCondition[] = [];

    constructor(private readonly kube: KubeApi, private readonly opts: IstioRouterOptions = {}) {}

    async reconcile(target: Target, match: readonly MatchCondition[]): Promise<void> {
        this.match = match;
        await reconcileObject(this.kube, destinationRule(target, "primary"));
        await reconcileObject(this.kube, destinationRule(target, "canary"));
        // keep the current weights: reconcile must not move traffic
        const current = await this.kube.get(ISTIO_API, "VirtualService", target.namespace, target.name);
        const routes = current === undefined ? ALL_PRIMARY : routesOf(current);
        await reconcileObject(this.kube, virtualService(target, routes, match, this.opts));
    }

    async setRoutes(target: Target, routes: Routes): Promise<void> {
        await reconcileObject(this.kube, virtualService(target, routes, this.match, this.opts));
    }

    async getRoutes(target: Target): Promise<Routes> {
        return routesOf(await mustGet(this.kube, ISTIO_API, "VirtualService", target.namespace, target.name));
    }

    async finalize(target: Target): Promise<void> {
        await deleteIfPresent(this.kube, ISTIO_API, "VirtualService", target.namespace, target.name);
        await deleteIfPresent(this.kube, ISTIO_API, "DestinationRule", target.namespace, `${target.name}-canary`);
        await deleteIfPresent(this.kube, ISTIO_API, "DestinationRule", target.namespace, `${target.name}-primary`);
    }
}

function routesOf(vs: KubeObject): Routes {
    const http = ((vs.spec as { http?: HttpRoute[] } | undefined)?.http ?? []);
    const weights = (r: HttpRoute | undefined) => {
        const w = (suffix: string) => (r?.route ?? []).find((d) => (d.destination?.host ?? "").endsWith(suffix))?.weight ?? 0;
        return { primary: w("-primary"), canary: w("-canary") };
    };
    const plain = http.find((r) => r.match === undefined || r.match.length === 0);
    const ab = http.find((r) => r.match !== undefined && r.match.length > 0);
    const routes = weights(plain);
    if (ab === undefined) return routes;
    return { ...routes, match: weights(ab).canary === 100 };
}
