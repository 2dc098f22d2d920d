// The nginx.conf both tiers run: locations that split traffic between a stable and a canary
// backend by weight, with request rules (header, cookie) deciding first. The integration tier
// renders it from the weights the engine sets (nginx-router.ts); the e2e data plane renders it
// from the Ingress objects the release writes (test/e2e/dataplane/ingress.ts).
//
// Per split (a host + path, ingress-nginx's location):
//   upstream <stable>    the stable backend's servers
//   upstream <canary>    the canary backend's servers
//   upstream <weighted>  both, stable `weight=100-w`, canary `weight=w` (smooth weighted round
//                        robin; one worker, so shares are exact); weight 0 leaves the canary out
//                        of it, weight 100 the stable
//   rules                one `map` per rule, its value "c" (canary) or "s" (stable) when the
//                        request matches; the first rule that matches decides, else the weight
// The chosen upstream is `$canary_backend` (logged as `backend`). A backend with no servers
// has no endpoints: a stable one answers 503 (ingress-nginx's answer), a canary one is left
// out (all traffic to the stable, as ingress-nginx skips an alternative backend without
// endpoints). Hosts get their own `server` block; a split without a host goes to the default
// server, which answers 404 otherwise. The admin server returns `report` as JSON: what the
// running workers were configured with.
import { NginxServer } from "./harness/nginx";

export interface Backend {
    /** Upstream name, e.g. ingress-nginx's `<ns>-<service>-<port>`. */
    readonly upstream: string;
    /** Loopback ports of its servers (endpoints); empty: none ready. */
    readonly ports: readonly number[];
}

/** A request rule: when `source` (an NGINX string with variables) matches `pattern`, route `to`. */
export interface CanaryRule {
    readonly source: string;
    /** NGINX (PCRE) regex, case-sensitive, as written: anchor it yourself. */
    readonly pattern: string;
    readonly to: "canary" | "stable";
}

export interface SplitCanary extends Backend {
    /** Share of the requests no rule decided, 0..100. */
    readonly weight: number;
    /** Evaluated in order; the first match decides. */
    readonly rules: readonly CanaryRule[];
    /** Name of the upstream holding both backends. */
    readonly weighted: string;
}

export interface Split {
    /** `server_name`; undefined: the default server. */
    readonly host?: string;
    /** Location path: a prefix, or exact with `exact`. */
    readonly path: string;
    readonly exact?: boolean;
    readonly stable: Backend;
    readonly canary?: SplitCanary;
}

export const quote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
export const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** NGINX's variable for a request header. */
export const headerVar = (header: string) => `$http_${header.toLowerCase().replace(/-/g, "_")}`;

function upstreamBlock(name: string, servers: readonly string[]): string {
    return `upstream ${name} {\n        ${servers.join("\n        ")}\n    }`;
}

/** The full nginx.conf for `splits`; throws on an invalid weight or a name used twice for different servers. */
export function renderNginxConf(nginx: NginxServer, splits: readonly Split[], report: Readonly<Record<string, unknown>>, comment: string): string {
    const upstreams = new Map<string, string>();
    const addUpstream = (name: string, servers: readonly string[]) => {
        const block = upstreamBlock(name, servers);
        const prev = upstreams.get(name);
        if (prev !== undefined && prev !== block) throw new Error(`nginx conf: upstream ${name} is used twice with different servers`);
        upstreams.set(name, block);
    };
    const server = (p: number, extra = "") => `server 127.0.0.1:${p}${extra} max_fails=0;`;
    const maps: string[] = [];
    const locations = new Map<string, string[]>(); // host ("" = default) -> location blocks

    splits.forEach((s, i) => {
        let body: string[];
        const canary = s.canary !== undefined && s.canary.ports.length > 0 ? s.canary : undefined;
        const proxied = s.stable.ports.length > 0 || canary !== undefined;
        if (!proxied) {
            body = ["set $canary_backend \"\";", "return 503;"];
        } else if (canary === undefined) {
            addUpstream(s.stable.upstream, s.stable.ports.map((p) => server(p)));
            body = [`set $canary_backend ${s.stable.upstream};`];
        } else {
            const w = canary.weight;
            if (!Number.isInteger(w) || w < 0 || w > 100) throw new Error(`nginx conf: canary weight must be an integer 0..100, got ${w}`);
            addUpstream(canary.upstream, canary.ports.map((p) => server(p)));
            // no weight=0 in nginx: a backend at weight 0 is not in the group at all
            const weighted = [
                ...(w < 100 ? s.stable.ports.map((p) => server(p, ` weight=${100 - w}`)) : []),
                ...(w > 0 ? canary.ports.map((p) => server(p, ` weight=${w}`)) : []),
            ];
            if (weighted.length === 0) weighted.push(...canary.ports.map((p) => server(p, " weight=100"))); // stable has no endpoints
            addUpstream(canary.weighted, weighted);
            if (s.stable.ports.length > 0) addUpstream(s.stable.upstream, s.stable.ports.map((p) => server(p)));
            const stable = s.stable.ports.length > 0 ? s.stable.upstream : canary.weighted;
            if (canary.rules.length === 0) {
                body = [`set $canary_backend ${canary.weighted};`];
            } else {
                const vars = canary.rules.map((r, j) => {
                    const v = `$canary_rule_${i}_${j}`;
                    maps.push(`map ${quote(r.source)} ${v} {\n        default "";\n        ${quote(`~${r.pattern}`)} ${r.to === "canary" ? "c" : "s"};\n    }`);
                    return v;
                });
                const select = `$canary_select_${i}`;
                maps.push(`map ${quote(vars.join(""))} ${select} {\n        default ${canary.weighted};\n        "~^c" ${canary.upstream};\n        "~^s" ${stable};\n    }`);
                body = [`set $canary_backend ${select};`];
            }
        }
        if (proxied) body.push("proxy_pass http://$canary_backend;", "proxy_set_header Host $host;", "proxy_next_upstream off;");
        const host = s.host ?? "";
        const list = locations.get(host) ?? [];
        list.push(`location ${s.exact === true ? "= " : ""}${s.path} {\n            ${body.join("\n            ")}\n        }`);
        locations.set(host, list);
    });

    const json = JSON.stringify(report);
    if (json.includes("'") || json.includes("$")) throw new Error(`nginx conf: the report cannot carry ' or $: ${json}`);
    // a host (or the default server) without a `/` location answers 404 for everything else
    const notFound = "location / {\n            set $canary_backend \"\";\n            return 404;\n        }";
    const serverBlock = (listen: string, name: string, locs: readonly string[]) => `server {
        listen 127.0.0.1:${nginx.port}${listen};
        server_name ${name};
        ${[...locs, ...(locs.some((l) => l.startsWith("location / ")) ? [] : [notFound])].join("\n        ")}
    }`;
    const servers = [serverBlock(" default_server", "_", locations.get("") ?? [])];
    for (const [host, locs] of locations) if (host !== "") servers.push(serverBlock("", host, locs));
    return `# ${comment}
${nginx.preamble()}
http {
    ${nginx.httpPreamble()}

    ${[...upstreams.values(), ...maps].join("\n    ")}

    ${servers.join("\n    ")}
    server {
        listen 127.0.0.1:${nginx.adminPort};
        access_log off;
        location = /__routes {
            default_type application/json;
            return 200 '${json}';
        }
    }
}
`;
}
