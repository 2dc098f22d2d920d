// Test exporter: tails NGINX's JSON access log (the real traffic) and exposes, on /metrics,
// the series each provider's builtin queries read, with those providers' names and labels:
//
//   ingress-nginx  nginx_ingress_controller_requests{namespace,ingress,service,canary,status,...}
//                  nginx_ingress_controller_request_duration_seconds_{bucket,sum,count}
//                  `canary` is the canary upstream's name (<ns>-<app>-canary-<port>) for requests
//                  routed to the canary, "" for the primary; duration is NGINX's $request_time.
//   Linkerd        response_total{direction="inbound",namespace,deployment,classification,status_code,...}
//                  response_latency_ms_bucket{...}; latency is $upstream_response_time (the proxy
//                  beside the app sees the app's time).
//   Istio          istio_requests_total{reporter="destination",destination_workload,
//                  destination_workload_namespace,response_code,...}
//                  istio_request_duration_milliseconds_bucket{...}
//
// One access-log line feeds all three families, attributed to the workload whose address
// served it (`$upstream_addr`): `workloadAt(port)` names it (app, namespace, role, Ingress).
// The integration tier has one app on two fixed ports (`fixedWorkloads`); the e2e data plane
// (test/e2e/dataplane) looks ports up in what it read from the API server. Counts are also
// kept per role for assertions.
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import { Target } from "../../components/canary/engine/types";
import { SERVICE_PORT } from "./nginx-router";

export type Role = "primary" | "canary";

/** An access-log line, as `canary_json` in harness/nginx.ts writes it. */
export interface AccessLine {
    readonly msec: number;
    readonly request_id: string;
    readonly method: string;
    readonly uri: string;
    readonly host: string;
    readonly status: number;
    readonly upstream_addr: string;
    readonly upstream_status: string;
    readonly request_time: number;
    readonly upstream_response_time: string;
    readonly backend: string;
}

// Bucket bounds of each provider's histogram.
const NGINX_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LINKERD_BUCKETS_MS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000];
const ISTIO_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** The Ingress rule's host, ingress-nginx's `host` label. */
export const INGRESS_HOST = "app.example.com";

type Labels = Readonly<Record<string, string>>;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const fmtLabels = (l: Labels) => `{${Object.entries(l).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;

class Counter {
    private readonly series = new Map<string, { labels: Labels; value: number }>();
    constructor(readonly name: string, readonly help: string) {}
    inc(labels: Labels, by = 1): void {
        const k = fmtLabels(labels);
        const s = this.series.get(k) ?? { labels, value: 0 };
        s.value += by;
        this.series.set(k, s);
    }
    /** Creates the series at 0, so the first real increment is seen by rate(). */
    zero(labels: Labels): void {
        this.inc(labels, 0);
    }
    expose(): string[] {
        const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
        for (const [k, s] of this.series) out.push(`${this.name}${k} ${s.value}`);
        return out;
    }
}

class Histogram {
    private readonly series = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
    constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[]) {}
    zero(labels: Labels): void {
        const k = fmtLabels(labels);
        if (!this.series.has(k)) this.series.set(k, { labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 });
    }
    observe(labels: Labels, v: number): void {
        this.zero(labels);
        const k = fmtLabels(labels);
        const s = this.series.get(k) ?? { labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
        this.bounds.forEach((le, i) => { if (v <= le) s.buckets[i]++; });
        s.sum += v;
        s.count++;
        this.series.set(k, s);
    }
    expose(): string[] {
        const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
        for (const s of this.series.values()) {
            this.bounds.forEach((le, i) => out.push(`${this.name}_bucket${fmtLabels({ ...s.labels, le: String(le) })} ${s.buckets[i]}`));
            out.push(`${this.name}_bucket${fmtLabels({ ...s.labels, le: "+Inf" })} ${s.count}`);
            out.push(`${this.name}_sum${fmtLabels(s.labels)} ${s.sum}`);
            out.push(`${this.name}_count${fmtLabels(s.labels)} ${s.count}`);
        }
        return out;
    }
}

/** The workload (a Deployment's pods) that served a request, and the labels it is exported with. */
export interface Workload {
    readonly target: Target;
    readonly role: Role;
    /** The app's Ingress name (ingress-nginx's `ingress` label). */
    readonly ingress: string;
    /** ingress-nginx's `canary` label for requests routed to the canary. Default `<ns>-<app>-canary-9898`. */
    readonly canaryUpstream?: string;
}

export interface ExporterOptions {
    readonly accessLog: string;
    /** The workload listening on a loopback port, to attribute `$upstream_addr`; undefined: none. */
    readonly workloadAt: (port: number) => Workload | undefined;
    /** Workloads whose series exist at 0 from the start (more with `addWorkload`). */
    readonly workloads: readonly Workload[];
}

/** One app's primary and canary on fixed ports: the integration tier's world. */
export function fixedWorkloads(target: Target, ingress: string, backends: Readonly<Record<Role, number>>): Pick<ExporterOptions, "workloadAt" | "workloads"> {
    const primary: Workload = { target, ingress, role: "primary" };
    const canary: Workload = { target, ingress, role: "canary" };
    return {
        workloads: [primary, canary],
        workloadAt: (port) => (port === backends.primary ? primary : port === backends.canary ? canary : undefined),
    };
}

export class TestExporter {
    private server: http.Server | undefined;
    private offset = 0;
    private partial = "";
    private timer: NodeJS.Timeout | undefined;
    /** Every access-log line read, in order. */
    readonly lines: AccessLine[] = [];
    private readonly families: { expose(): string[] }[];
    private readonly nginxRequests = new Counter("nginx_ingress_controller_requests", "The total number of client requests");
    private readonly nginxDuration = new Histogram("nginx_ingress_controller_request_duration_seconds", "The request processing time in seconds", NGINX_BUCKETS_S);
    private readonly linkerdResponses = new Counter("response_total", "Total count of HTTP responses");
    private readonly linkerdLatency = new Histogram("response_latency_ms", "Elapsed times between a request's headers being received and its response stream completing", LINKERD_BUCKETS_MS);
    private readonly istioRequests = new Counter("istio_requests_total", "Total requests");
    private readonly istioDuration = new Histogram("istio_request_duration_milliseconds", "Request duration", ISTIO_BUCKETS_MS);
    port = 0;

    constructor(readonly opts: ExporterOptions) {
        this.families = [this.nginxRequests, this.nginxDuration, this.linkerdResponses, this.linkerdLatency, this.istioRequests, this.istioDuration];
    }

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => {
            this.poll();
            if (req.url !== "/metrics") {
                res.writeHead(404).end();
                return;
            }
            res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
            res.end(this.families.flatMap((f) => f.expose()).join("\n") + "\n");
        });
        await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
        this.port = (this.server.address() as net.AddressInfo).port;
        for (const w of this.opts.workloads) this.addWorkload(w);
        this.timer = setInterval(() => this.poll(), 100);
    }

    async stop(): Promise<void> {
        if (this.timer !== undefined) clearInterval(this.timer);
        const srv = this.server;
        if (srv === undefined) return;
        srv.closeAllConnections();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** The workload that served a line, from its (last) upstream address. */
    workloadOf(line: AccessLine): Workload | undefined {
        const last = line.upstream_addr.split(",").pop()?.trim() ?? "";
        const port = Number(last.split(":").pop());
        return Number.isInteger(port) && port > 0 ? this.opts.workloadAt(port) : undefined;
    }

    /** Role of the workload that served a line. */
    roleOf(line: AccessLine): Role | undefined {
        return this.workloadOf(line)?.role;
    }

    /** Requests to `/` served by each role among lines [from, to). */
    share(from = 0, to = this.lines.length): { primary: number; canary: number; total: number; canaryPercent: number } {
        let primary = 0;
        let canary = 0;
        for (const l of this.lines.slice(from, to)) {
            const r = this.roleOf(l);
            if (r === "primary") primary++;
            else if (r === "canary") canary++;
        }
        const total = primary + canary;
        return { primary, canary, total, canaryPercent: total === 0 ? 0 : (100 * canary) / total };
    }

    /** Reads whatever NGINX appended since the last poll. */
    poll(): void {
        let fd: number;
        try {
            fd = fs.openSync(this.opts.accessLog, "r");
        } catch {
            return; // not created yet
        }
        try {
            const size = fs.fstatSync(fd).size;
            if (size < this.offset) this.offset = 0; // truncated
            if (size === this.offset) return;
            const buf = Buffer.alloc(size - this.offset);
            fs.readSync(fd, buf, 0, buf.length, this.offset);
            this.offset = size;
            const text = this.partial + buf.toString("utf8");
            const parts = text.split("\n");
            this.partial = parts.pop() ?? "";
            for (const p of parts) if (p.trim() !== "") this.record(JSON.parse(p) as AccessLine);
        } finally {
            fs.closeSync(fd);
        }
    }

    /**
     * Series for the statuses the test app answers (200, 500) exist at 0 from the start, as
     * an instrumented app that pre-initializes its label sets: otherwise a series born between
     * two scrapes loses its first increments to rate(), and "10% 5xx" would read as fewer.
     * Zero series carry no traffic, so the builtin queries still see "no data" without load.
     * Idempotent: a workload seen again keeps its counts.
     */
    addWorkload(w: Workload): void {
        for (const status of [200, 500]) {
            const l = this.labelSets(w, status);
            this.nginxRequests.zero(l.nginx);
            this.nginxDuration.zero(l.nginx);
            this.linkerdResponses.zero(l.linkerdResponse);
            this.linkerdLatency.zero(l.linkerd);
            this.istioRequests.zero(l.istio);
            this.istioDuration.zero(l.istio);
        }
    }

    private record(line: AccessLine): void {
        this.lines.push(line);
        const w = this.workloadOf(line);
        if (w === undefined) return; // answered by NGINX itself (no upstream)
        const upstreamSeconds = Number(line.upstream_response_time.split(",").pop()?.trim());
        const appMs = (Number.isFinite(upstreamSeconds) ? upstreamSeconds : line.request_time) * 1000;
        const l = this.labelSets(w, line.status);
        this.nginxRequests.inc(l.nginx);
        this.nginxDuration.observe(l.nginx, line.request_time);
        this.linkerdResponses.inc(l.linkerdResponse);
        this.linkerdLatency.observe(l.linkerd, appMs);
        this.istioRequests.inc(l.istio);
        this.istioDuration.observe(l.istio, appMs);
    }

    /** Labels of a GET answered with `code` by `role` (hey only sends GETs to the Ingress host). */
    private labelSets(w: Workload, code: number): { nginx: Labels; linkerd: Labels; linkerdResponse: Labels; istio: Labels } {
        const { target, ingress, role } = w;
        const workload = `${target.name}-${role}`;
        const status = String(code);

        // ingress-nginx: the controller's view, canary label = canary upstream's name
        const nginxLabels: Labels = {
            canary: role === "canary" ? w.canaryUpstream ?? `${target.namespace}-${target.name}-canary-${SERVICE_PORT}` : "",
            controller_class: "k8s.io/ingress-nginx",
            controller_namespace: "ingress-nginx",
            controller_pod: "ingress-nginx-controller-test",
            host: INGRESS_HOST,
            ingress,
            method: "GET",
            namespace: target.namespace,
            path: "/",
            service: target.name,
            status,
        };

        // Linkerd: the inbound side of the serving workload's proxy
        const linkerdBase: Labels = {
            authority: `${target.name}.${target.namespace}.svc.cluster.local:${SERVICE_PORT}`,
            deployment: workload,
            direction: "inbound",
            namespace: target.namespace,
            pod: `${workload}-test`,
            status_code: status,
            tls: "true",
        };

        // Istio: the destination workload's Envoy
        const istioLabels: Labels = {
            reporter: "destination",
            source_workload: "ingress-nginx-controller",
            source_workload_namespace: "ingress-nginx",
            destination_workload: workload,
            destination_workload_namespace: target.namespace,
            destination_service: `${target.name}.${target.namespace}.svc.cluster.local`,
            destination_service_name: target.name,
            destination_service_namespace: target.namespace,
            request_protocol: "http",
            response_code: status,
            response_flags: "-",
        };
        return {
            nginx: nginxLabels,
            linkerd: linkerdBase,
            linkerdResponse: { ...linkerdBase, classification: code >= 500 ? "failure" : "success" },
            istio: istioLabels,
        };
    }
}
