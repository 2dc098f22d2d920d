// One factory with an exhaustive switch (Flagger's pkg/router/factory.go), except that an
// unknown name is an error instead of a silent fallback to Istio.
import { KubeApi } from "../kube/api";
import { IstioRouter, IstioRouterOptions } from "./istio";
import { LinkerdRouter } from "./linkerd";
import { NginxRouter } from "./nginx";
import { Router } from "./router";

export type RouterKind = "nginx" | "linkerd" | "istio";
export const ROUTER_KINDS: readonly RouterKind[] = ["nginx", "linkerd", "istio"];

export interface RouterOptions {
    /** nginx: the app's Ingress, copied to `<ingress>-canary`. Required for nginx. */
    readonly ingressName?: string;
    /** linkerd: "httproute" (default) or "smi". */
    readonly linkerdRoute?: "httproute" | "smi";
    /** linkerd HTTPRoute: the Services' port. Default 9898. */
    readonly port?: number;
    readonly istio?: IstioRouterOptions;
}

export function createRouter(kind: RouterKind, kube: KubeApi, opts: RouterOptions = {}): Router {
    switch (kind) {
        case "nginx":
            if (opts.ingressName === undefined || opts.ingressName === "") throw new Error("nginx router: ingressName is required");
            return new NginxRouter(kube, opts.ingressName);
        case "linkerd":
            return new LinkerdRouter(kube, { route: opts.linkerdRoute, port: opts.port });
        case "istio":
            return new IstioRouter(kube, opts.istio);
        default: {
            const unknown: never = kind;
            throw new Error(`unknown router "${String(unknown)}"; expected one of ${ROUTER_KINDS.join(", ")}`);
        }
    }
}
