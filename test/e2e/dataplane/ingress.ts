// Ingress objects -> the NGINX splits ingress-nginx would serve (test/integration/nginx-conf.ts
// renders them). Pure: the caller supplies the endpoints of each Service.
//
// What is read, as ingress-nginx reads it:
// - Ingresses of class `nginx` (spec.ingressClassName, or the kubernetes.io/ingress.class
//   annotation), or of no class; others are ignored.
// - A main Ingress: each rule's host and each HTTP path (Prefix and ImplementationSpecific as
//   a prefix, Exact as exact) is a location whose backend is the upstream
//   `<namespace>-<service>-<port>` (the port's number, or its name), with the endpoints of that
//   Service. spec.defaultBackend is not served (reported as a problem).
// - A canary Ingress (`nginx.ingress.kubernetes.io/canary: "true"`) adds, to the main location
//   with the same host and path, an alternative backend: its own Service's upstream, and
//     canary-by-header H           H: always -> canary, H: never -> main, else the weight
//     canary-by-header-value V     H == V -> canary, else the weight (header-pattern ignored)
//     canary-by-header-pattern P   H matches the regex P -> canary, else the weight
//     canary-by-cookie C           cookie C: always -> canary, never -> main, else the weight
//     canary-weight W              W% of the rest (0..100; absent: 0)
//   in that order (header first, then cookie, then weight). A canary Ingress with no main
//   location to join, a second canary for the same location, a bad weight or
//   canary-weight-total (not supported) is a problem, and the canary is left out.
import { V1Ingress, V1IngressBackend } from "@kubernetes/client-node";
import { CanaryRule, Split, headerVar, regexEscape } from "../../integration/nginx-conf";

const PREFIX = "nginx.ingress.kubernetes.io/";
export const CANARY = `${PREFIX}canary`;
export const WEIGHT = `${PREFIX}canary-weight`;
export const WEIGHT_TOTAL = `${PREFIX}canary-weight-total`;
export const BY_HEADER = `${PREFIX}canary-by-header`;
export const BY_HEADER_VALUE = `${PREFIX}canary-by-header-value`;
export const BY_HEADER_PATTERN = `${PREFIX}canary-by-header-pattern`;
export const BY_COOKIE = `${PREFIX}canary-by-cookie`;

/** What a location routes to, for the report and for attributing traffic. */
export interface RouteInfo {
    readonly host: string | undefined;
    readonly path: string;
    /** The main Ingress (ingress-nginx's `ingress` metric label, also for canary traffic). */
    readonly ingress: string;
    readonly service: string;
    readonly upstream: string;
    readonly canary?: {
        readonly ingress: string;
        readonly service: string;
        readonly upstream: string;
        readonly weight: number;
        /** Header/cookie rules in force, for the report: e.g. `header x-canary == insider`. */
        readonly rules: readonly string[];
    };
}

export interface IngressModel {
    readonly splits: readonly Split[];
    /** One per split, same order. */
    readonly routes: readonly RouteInfo[];
    /** What ingress-nginx would log as an error and not serve. */
    readonly problems: readonly string[];
}

/** The loopback ports behind `service`'s `port` (number or name); [] when none is ready. */
export type Endpoints = (service: string, port: number | string) => readonly number[];

const isNginxClass = (ing: V1Ingress) => {
    const cls = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.["kubernetes.io/ingress.class"];
    return cls === undefined || cls === "nginx";
};

const isCanary = (ing: V1Ingress) => ing.metadata?.annotations?.[CANARY] === "true";

interface Path { host: string | undefined; path: string; exact: boolean; service: string; port: number | string }

function pathsOf(ing: V1Ingress, problems: string[]): Path[] {
    const id = `Ingress ${ing.metadata?.name}.${ing.metadata?.namespace}`;
    if (ing.spec?.defaultBackend !== undefined) problems.push(`${id}: spec.defaultBackend is not served by the data plane`);
    const out: Path[] = [];
    for (const rule of ing.spec?.rules ?? []) {
        for (const p of rule.http?.paths ?? []) {
            const backend: V1IngressBackend = p.backend;
            const svc = backend.service;
            if (svc === undefined) {
                problems.push(`${id}: path ${p.path ?? "/"} has no service backend`);
                continue;
            }
            const port = svc.port?.number ?? svc.port?.name;
            if (port === undefined) {
                problems.push(`${id}: path ${p.path ?? "/"} backend ${svc.name} has no port`);
                continue;
            }
            out.push({ host: rule.host, path: p.path ?? "/", exact: p.pathType === "Exact", service: svc.name, port });
        }
    }
    return out;
}

/** ingress-nginx's canary rules from a canary Ingress's annotations, with a readable form each. */
export function canaryRules(annotations: Readonly<Record<string, string>>): { rules: CanaryRule[]; described: string[] } {
    const rules: CanaryRule[] = [];
    const described: string[] = [];
    const header = annotations[BY_HEADER];
    if (header !== undefined && header !== "") {
        const v = headerVar(header);
        const value = annotations[BY_HEADER_VALUE];
        const pattern = annotations[BY_HEADER_PATTERN];
        if (value !== undefined && value !== "") {
            rules.push({ source: v, pattern: `^${regexEscape(value)}$`, to: "canary" });
            described.push(`header ${header} == ${value}`);
        } else if (pattern !== undefined && pattern !== "") {
            rules.push({ source: v, pattern, to: "canary" });
            described.push(`header ${header} =~ ${pattern}`);
        } else {
            rules.push({ source: v, pattern: "^always$", to: "canary" }, { source: v, pattern: "^never$", to: "stable" });
            described.push(`header ${header} always/never`);
        }
    }
    const cookie = annotations[BY_COOKIE];
    if (cookie !== undefined && cookie !== "") {
        if (!/^[A-Za-z0-9_]+$/.test(cookie)) throw new Error(`${BY_COOKIE} "${cookie}": only [A-Za-z0-9_] cookie names are supported`);
        const v = `$cookie_${cookie}`;
        rules.push({ source: v, pattern: "^always$", to: "canary" }, { source: v, pattern: "^never$", to: "stable" });
        described.push(`cookie ${cookie} always/never`);
    }
    return { rules, described };
}

function weightOf(annotations: Readonly<Record<string, string>>): number {
    if (annotations[WEIGHT_TOTAL] !== undefined) throw new Error(`${WEIGHT_TOTAL} is not supported`);
    const raw = annotations[WEIGHT] ?? "0";
    const w = Number(raw);
    if (!/^\d+$/.test(raw) || w > 100) throw new Error(`${WEIGHT} "${raw}" is not a weight in 0..100`);
    return w;
}

/** The splits ingress-nginx would serve for `ingresses` of `namespace`. */
export function ingressModel(namespace: string, ingresses: readonly V1Ingress[], endpoints: Endpoints): IngressModel {
    const problems: string[] = [];
    const upstream = (service: string, port: number | string) => `${namespace}-${service}-${port}`;
    const served = ingresses.filter((i) => i.metadata?.namespace === namespace && isNginxClass(i))
        .sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));

    interface Loc { split: Split; route: RouteInfo }
    const locs = new Map<string, Loc>(); // `${host} ${exact} ${path}`
    const key = (p: Path) => `${p.host ?? ""} ${p.exact ? "=" : "^"} ${p.path}`;
    for (const ing of served.filter((i) => !isCanary(i))) {
        for (const p of pathsOf(ing, problems)) {
            if (locs.has(key(p))) {
                problems.push(`Ingress ${ing.metadata?.name}.${namespace}: host ${p.host ?? "*"} path ${p.path} is already served by Ingress ${locs.get(key(p))?.route.ingress}`);
                continue;
            }
            const up = upstream(p.service, p.port);
            locs.set(key(p), {
                split: { host: p.host, path: p.path, exact: p.exact, stable: { upstream: up, ports: endpoints(p.service, p.port) } },
                route: { host: p.host, path: p.path, ingress: ing.metadata?.name ?? "", service: p.service, upstream: up },
            });
        }
    }
    for (const ing of served.filter(isCanary)) {
        const name = ing.metadata?.name ?? "";
        const annotations = ing.metadata?.annotations ?? {};
        let weight: number;
        let rules: { rules: CanaryRule[]; described: string[] };
        try {
            weight = weightOf(annotations);
            rules = canaryRules(annotations);
        } catch (e) {
            problems.push(`canary Ingress ${name}.${namespace}: ${e instanceof Error ? e.message : String(e)}`);
            continue;
        }
        for (const p of pathsOf(ing, problems)) {
            const loc = locs.get(key(p));
            if (loc === undefined) {
                problems.push(`canary Ingress ${name}.${namespace}: no main Ingress serves host ${p.host ?? "*"} path ${p.path}`);
                continue;
            }
            if (loc.route.canary !== undefined) {
                problems.push(`canary Ingress ${name}.${namespace}: host ${p.host ?? "*"} path ${p.path} already has canary Ingress ${loc.route.canary.ingress}`);
                continue;
            }
            const up = upstream(p.service, p.port);
            loc.split = { ...loc.split, canary: { upstream: up, ports: endpoints(p.service, p.port), weight, rules: rules.rules, weighted: `${loc.route.upstream}-split-${up}` } };
            loc.route = { ...loc.route, canary: { ingress: name, service: p.service, upstream: up, weight, rules: rules.described } };
        }
    }
    const all = [...locs.values()];
    return { splits: all.map((l) => l.split), routes: all.map((l) => l.route), problems };
}
