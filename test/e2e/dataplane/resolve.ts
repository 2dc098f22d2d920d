// In-cluster names -> 127.0.0.1 ports, for the loadtester's commands and acceptance URLs (it
// rewrites every `http(s)://` word before running anything; nothing goes through a resolver
// or a shell).
//
//   <svc>.<ns>[.svc[.cluster.local]][:port]   a Service of the watched namespace: the port must be
//                                             one of its ports (none: 80); the host port of a
//                                             process behind it (selector matched against the
//                                             Deployments' pod-template labels, round robin over
//                                             the running ones)
//   ingress-nginx-controller.ingress-nginx    the data plane's NGINX (port 80 or none)
//   127.0.0.1, localhost                      as given
// Plain http only. Anything else is an error naming the host. A Service whose Deployments are scaled up but not
// running yet (kwok reports pods Ready at once; the process takes a second to start) is waited
// for up to `waitMs`; one with no endpoints after that is an error, as a refused connection.

export const INGRESS_CONTROLLER = { service: "ingress-nginx-controller", namespace: "ingress-nginx" } as const;

export interface ServiceDirectory {
    readonly namespace: string;
    /** NGINX's loopback port. */
    readonly ingressPort: number;
    /**
     * Ports of the running processes behind `service`'s `port`, and whether more are starting;
     * throws when the Service or the port does not exist.
     */
    endpoints(service: string, port: number): { ports: readonly number[]; starting: boolean };
}

const LOCAL = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Service and namespace of an in-cluster host name; undefined when it is not one. */
export function serviceOf(host: string): { service: string; namespace: string } | undefined {
    const parts = host.toLowerCase().split(".");
    const tail = parts.slice(2).join(".");
    if (parts.length < 2 || !["", "svc", "svc.cluster.local"].includes(tail)) return undefined;
    if (parts[0] === "" || parts[1] === "") return undefined;
    return { service: parts[0], namespace: parts[1] };
}

export function makeResolver(dir: ServiceDirectory, waitMs = 20000): (url: string) => Promise<string> {
    let next = 0;
    return async (raw: string) => {
        const url = new URL(raw);
        if (LOCAL.has(url.hostname)) return raw;
        if (url.protocol !== "http:") throw new Error(`${raw}: the data plane serves plain http only`);
        const svc = serviceOf(url.hostname);
        if (svc === undefined) throw new Error(`cannot resolve host ${url.hostname}: not <service>.<namespace>[.svc[.cluster.local]]`);
        const port = url.port === "" ? 80 : Number(url.port);
        let target: number;
        if (svc.service === INGRESS_CONTROLLER.service && svc.namespace === INGRESS_CONTROLLER.namespace) {
            if (port !== 80) throw new Error(`${url.host}: the ingress controller serves port 80 only (plain HTTP)`);
            target = dir.ingressPort;
        } else {
            if (svc.namespace !== dir.namespace) throw new Error(`cannot resolve ${url.hostname}: not a Service of namespace ${dir.namespace}, the only one the data plane serves`);
            const deadline = Date.now() + waitMs;
            let e = dir.endpoints(svc.service, port);
            while (e.starting && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 100));
                e = dir.endpoints(svc.service, port);
            }
            if (e.ports.length === 0) throw new Error(`service ${svc.service}.${svc.namespace}:${port} has no ready endpoints`);
            target = e.ports[next++ % e.ports.length];
        }
        url.hostname = "127.0.0.1";
        url.port = String(target);
        return url.toString();
    };
}
