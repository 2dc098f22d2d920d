// Router for a plain NGINX (no Kubernetes): the integration tier's stand-in for ingress-nginx.
//
// Three upstreams named as ingress-nginx names them, `<namespace>-<service>-<port>`:
//   <ns>-<app>-primary-9898, <ns>-<app>-canary-9898, and <ns>-<app>-weighted-9898 holding both
//   servers with `weight=` (smooth weighted round robin, one worker: exact shares). Weight 0
//   leaves the canary out of the weighted upstream, so it receives no request at all.
// A/B: one `map` per match condition (headers ANDed inside a condition, conditions ORed,
//   cookie `always` as ingress-nginx's canary-by-cookie); a matching request goes to the
//   canary upstream, any other to the weighted one.
// The admin server reports what the running workers were configured with (getRoutes reads it).
// The config itself is nginx-conf.ts's, shared with the e2e data plane.
import { MatchCondition, Routes, Target } from "../../components/canary/engine/types";
import { Router } from "../../components/canary/routers/router";
import { NginxServer } from "./harness/nginx";
import { CanaryRule, Split, headerVar, regexEscape, renderNginxConf } from "./nginx-conf";

/** The service port in upstream names, as ingress-nginx's `<ns>-<svc>-<port>`. */
export const SERVICE_PORT = 9898;

export interface Backends {
    readonly primary: number;
    readonly canary: number;
}

export const upstreamName = (t: Target, role: "primary" | "canary" | "weighted") => `${t.namespace}-${t.name}-${role}-${SERVICE_PORT}`;

interface Desired {
    readonly routes: Routes;
    readonly match: readonly MatchCondition[];
}

export class PlainNginxRouter implements Router {
    private generation = 0;
    private desired: Desired | undefined;
    private match: readonly MatchCondition[] = [];
    /** Every config generation applied, in order (for assertions). */
    readonly applied: Routes[] = [];

    constructor(readonly nginx: NginxServer, readonly target: Target, readonly backends: Backends) {}

    async reconcile(target: Target, match: readonly MatchCondition[]): Promise<void> {
        this.own(target);
        this.match = match;
        const routes = this.desired?.routes ?? { primary: 100, canary: 0 };
        // update only when the desired config differs
        if (this.desired !== undefined && JSON.stringify(this.desired.match) === JSON.stringify(match)) return;
        await this.apply(routes);
    }

    async setRoutes(target: Target, routes: Routes): Promise<void> {
        this.own(target);
        validate(routes);
        if (this.desired !== undefined && sameRoutes(this.desired.routes, routes) && this.desired.match === this.match) return;
        await this.apply(routes);
    }

    async getRoutes(target: Target): Promise<Routes> {
        this.own(target);
        const live = await this.nginx.admin();
        const routes: Routes = { primary: Number(live.primary), canary: Number(live.canary) };
        return live.match === true ? { ...routes, match: true } : routes;
    }

    async finalize(target: Target): Promise<void> {
        this.own(target);
        this.match = [];
        await this.apply({ primary: 100, canary: 0 });
    }

    private own(target: Target): void {
        if (target.name !== this.target.name || target.namespace !== this.target.namespace) {
            throw new Error(`nginx router for ${this.target.name}.${this.target.namespace} asked to route ${target.name}.${target.namespace}`);
        }
    }

    private async apply(routes: Routes): Promise<void> {
        this.generation++;
        const conf = renderConf(this.nginx, this.target, this.backends, routes, this.match, this.generation);
        if (this.generation === 1) await this.nginx.start(conf, this.generation);
        else await this.nginx.reload(conf, this.generation);
        this.desired = { routes, match: this.match };
        this.applied.push(routes);
    }
}

function sameRoutes(a: Routes, b: Routes): boolean {
    return a.primary === b.primary && a.canary === b.canary && (a.match ?? false) === (b.match ?? false);
}

function validate(r: Routes): void {
    const ok = (w: number) => Number.isInteger(w) && w >= 0 && w <= 100;
    if (!ok(r.primary) || !ok(r.canary) || r.primary + r.canary !== 100) {
        throw new Error(`nginx router: weights must be integers 0..100 summing to 100, got primary ${r.primary} canary ${r.canary}`);
    }
}

/** One rule per match condition (headers ANDed inside it, cookie `always`), each sending a match to the canary. */
function matchRules(match: readonly MatchCondition[]): CanaryRule[] {
    return match.map((m, i) => {
        const sources: string[] = [];
        const patterns: string[] = [];
        for (const [name, h] of Object.entries(m.headers ?? {})) {
            sources.push(headerVar(name));
            if (h.exact !== undefined) patterns.push(regexEscape(h.exact));
            else if (h.regex !== undefined) patterns.push(`(?:${h.regex})`);
            else throw new Error(`match[${i}].headers.${name}: set exact or regex`);
        }
        if (m.cookie !== undefined) {
            sources.push(`$cookie_${m.cookie}`);
            patterns.push("always");
        }
        if (sources.length === 0) throw new Error(`match[${i}]: no header or cookie`);
        return { source: sources.join("|"), pattern: `^${patterns.join("\\|")}$`, to: "canary" };
    });
}

export function renderConf(nginx: NginxServer, t: Target, b: Backends, routes: Routes, match: readonly MatchCondition[], generation: number): string {
    const rules = routes.match === true && match.length > 0 ? matchRules(match) : [];
    const split: Split = {
        path: "/",
        stable: { upstream: upstreamName(t, "primary"), ports: [b.primary] },
        canary: { upstream: upstreamName(t, "canary"), ports: [b.canary], weight: routes.canary, rules, weighted: upstreamName(t, "weighted") },
    };
    const report = { generation, primary: routes.primary, canary: routes.canary, match: routes.match === true };
    return renderNginxConf(nginx, [split], report, `generated by test/integration/nginx-router.ts for ${t.name}.${t.namespace}, generation ${generation}`);
}
