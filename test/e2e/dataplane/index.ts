// The e2e tier's host data plane: what a real cluster would do with the objects the stack
// writes, realized on 127.0.0.1. kwok runs no pods; this reads Deployments, Services and
// Ingresses of one namespace from the API server (informers, cluster.ts) and nothing else:
//
//   apps.ts     a test-app process (test/integration/app/server.ts) per scaled-up
//               `<app>-primary` / `<app>-canary` Deployment, behaviour by image tag from
//               `images`, version = the tag, restarted on a template change, stopped at 0
//               replicas, on a port fixed per Deployment
//   ingress.ts  a real NGINX configured as ingress-nginx would be from the Ingresses: the app's
//               Ingress and the canary Ingress the release writes (weight, by-header(-value,
//               -pattern), by-cookie), upstreams `<ns>-<service>-<port>`; the config is
//               test/integration/nginx-conf.ts's, reloaded (SIGHUP to the master pid) on each
//               change; Services select Deployments by pod-template labels
//   exporter    test/integration/exporter.ts turns NGINX's JSON access log into
//               nginx_ingress_controller_* series (and Linkerd's, Istio's); a real Prometheus
//               scrapes it every second
//   loadtester  test/integration/loadtester.ts (Flagger-loadtester-compatible): hey, curl|grep
//               pipelines (`type: bash`) and /acceptance, with in-cluster names rewritten to
//               127.0.0.1 ports from the API server's objects (resolve.ts)
//
// API:
//   startDataPlane(o) starts everything (missing nginx/prometheus/hey/curl: fails naming the
//     apt-get line) and resolves once what the API server holds now is realized.
//   ingressUrl / prometheusUrl / pushgatewayUrl / loadtesterUrl   http://127.0.0.1:<port> (send the
//     Ingress host in a Host header; set `canary:metricsServer` to prometheusUrl,
//     `canary:pushgateway` to pushgatewayUrl, webhooks to loadtesterUrl); Prometheus scrapes the
//     Pushgateway and evaluates the release alert rules (CanaryFailed, CanaryStuck)
//   nginx.generation()   config generation the workers serve (1 = the empty start config)
//   nginx.weight(ingress?)  canary weight NGINX serves for the location of `ingress` (main or
//     canary Ingress name; default: the only location with a canary); undefined: no canary
//     there (or its canary has no running process); throws when ambiguous
//   nginx.routes()       every location served: host, path, Ingress, upstreams, weight, rules
//   nginx.reloads()      each reload: generation, when (`at`), ms from the first API event it
//     realizes to NGINX serving it (`latencyMs`), ms of the SIGHUP alone (`reloadMs`), canary
//     weights served from then on by Ingress (`weights`)
//   nginx.waitWeight(w, timeoutMs)  resolves once nginx.weight() === w
//   counts()             requests to `/` served by the primary and canary processes, from the
//     apps' own counters, totals over restarts of the same Deployment
//   running(d)           a Deployment's process is alive (false once it has exited)
//   ready(d)             it is an endpoint: alive, realizing the Deployment's current template
//   port(d) / version(d) its fixed port (once first scaled up), the tag it answers with (ready)
//   settled()            resolves once no reconcile is pending (events already received)
//   problems()           what was not realized (bad annotations, a process that failed to start)
//   log()                what it did, timestamped
//   loadtester, prometheus   the servers, for assertions (calls, runs, query)
//   stop()               closes the watches, stops every child by pid; idempotent
//
// Choices and limits:
// - Only Deployments named `<app>-primary` / `<app>-canary` get a process (the loadtester's,
//   other apps' are ignored); one process whatever spec.replicas > 0 says. An image tag missing
//   from `images` runs with no faults (logged, not a problem): the table names the bad ones.
// - Services are matched to Deployments by selector against pod-template labels; an endpoint is
//   a process that runs the Deployment's current template. No Endpoints objects, no readiness:
//   kwok reports pods Ready at once, the data plane's own notion is its process answering.
// - A template change stops the old process before the new one starts on the same port (about
//   a second with no endpoint: NGINX sends that location's traffic to the canary or answers 503),
//   where a rolling update would keep serving.
// - NGINX serves a change 0.1-0.4 s after the API write (informer event, render, `nginx -t`,
//   SIGHUP, old workers gone); requests in that window see the previous routes.
// - Only the watched namespace resolves (plus the ingress controller's name); plain http only.
import * as fs from "fs";
import * as path from "path";
import { V1Deployment, V1Service } from "@kubernetes/client-node";
import { AppFaults } from "../../integration/harness/app";
import { NginxServer } from "../../integration/harness/nginx";
import * as YAML from "yaml";
import { releaseAlertRules } from "../../../components/canary/telemetry/alertRules";
import { PrometheusServer } from "../../integration/harness/prometheus";
import { PushgatewayServer } from "../../integration/harness/pushgateway";
import { requireBinary } from "../../integration/harness/process";
import { TestExporter, Workload } from "../../integration/exporter";
import { LoadTester } from "../../integration/loadtester";
import { renderNginxConf } from "../../integration/nginx-conf";
import { Apps, roleOf } from "./apps";
import { ClusterView, watchNamespace } from "./cluster";
import { IngressModel, RouteInfo, ingressModel } from "./ingress";
import { INGRESS_CONTROLLER, makeResolver } from "./resolve";

export { imageTag, roleOf, rootRequests } from "./apps";
export { INGRESS_CONTROLLER } from "./resolve";
export type { RouteInfo } from "./ingress";

export interface DataPlaneOptions {
    /** Kubeconfig YAML with read access to the namespace's Deployments, Services and Ingresses. */
    readonly kubeconfig: string;
    /** The namespace to realize (it may not exist yet). */
    readonly namespace: string;
    /** Working directory: nginx/ (config, access log) and prometheus/ (config, TSDB). */
    readonly dir: string;
    /** Faults of the test app per image tag, e.g. `{ "6.5.4": {}, "6.5.5": { errorRate: 0.1 } }`; unknown tag: none. */
    readonly images: Readonly<Record<string, AppFaults>>;
    /** Base seed of the apps' error draws. Default 1. */
    readonly seed?: number;
    /** Also called with each log line (e.g. to print it). */
    readonly onLog?: (line: string) => void;
    /** The release alert rules' CanaryStuck delay. Default "15m". */
    readonly stuckAfter?: string;
}

export interface NginxReload {
    readonly generation: number;
    readonly at: number;
    /** From the first API event (or process change) this config realizes to NGINX serving it. */
    readonly latencyMs: number;
    /** SIGHUP to the new workers serving it (old ones gone). */
    readonly reloadMs: number;
    /** Canary weight served from then on, by main Ingress name (locations whose canary has a running process). */
    readonly weights: Readonly<Record<string, number>>;
}

export interface DataPlaneNginx {
    readonly pid: number | undefined;
    generation(): number;
    weight(ingress?: string): number | undefined;
    routes(): readonly RouteInfo[];
    reloads(): readonly NginxReload[];
    waitWeight(weight: number | undefined, timeoutMs?: number): Promise<void>;
}

export interface DataPlane {
    readonly namespace: string;
    readonly ingressUrl: string;
    readonly prometheusUrl: string;
    /** The Pushgateway Prometheus scrapes (set `canary:pushgateway` to it). */
    readonly pushgatewayUrl: string;
    readonly loadtesterUrl: string;
    readonly nginx: DataPlaneNginx;
    readonly loadtester: LoadTester;
    readonly prometheus: PrometheusServer;
    counts(): Promise<{ primary: number; canary: number }>;
    running(deployment: string): boolean;
    ready(deployment: string): boolean;
    port(deployment: string): number | undefined;
    version(deployment: string): string | undefined;
    settled(): Promise<void>;
    problems(): readonly string[];
    log(): readonly string[];
    stop(): Promise<void>;
}

/** Runs `fn` serially: a kick while it runs schedules one more run; remembers when the first unserved kick came. */
class Loop {
    private current: Promise<void> | undefined;
    private again = false;
    private pendingSince: number | undefined;
    stopped = false;

    constructor(private readonly fn: (since: number) => Promise<void>, private readonly onError: (e: unknown) => void) {}

    kick(): void {
        if (this.stopped) return;
        this.pendingSince ??= Date.now();
        if (this.current !== undefined) {
            this.again = true;
            return;
        }
        this.current = this.run();
    }

    private async run(): Promise<void> {
        try {
            do {
                this.again = false;
                const since = this.pendingSince ?? Date.now();
                this.pendingSince = undefined;
                try {
                    await this.fn(since);
                } catch (e) {
                    this.onError(e);
                }
            } while (this.again && !this.stopped);
        } finally {
            this.current = undefined;
        }
    }

    async idle(): Promise<void> {
        while (this.current !== undefined) await this.current;
    }
}

const selects = (svc: V1Service, d: V1Deployment): boolean => {
    const sel = svc.spec?.selector ?? {};
    const labels = d.spec?.template?.metadata?.labels ?? {};
    return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
};

/** One line per location: `host/path -> upstream[ports] canary upstream[ports] w% rules`. */
function describe(model: IngressModel): string {
    const lines = model.routes.map((r, i) => {
        const split = model.splits[i];
        const canary = r.canary === undefined ? "" :
            ` canary ${r.canary.upstream}[${split.canary?.ports.join(",")}] ${r.canary.weight}%${r.canary.rules.length > 0 ? ` ${r.canary.rules.join(", ")}` : ""}`;
        return `${r.host ?? "*"}${r.path} -> ${r.upstream}[${split.stable.ports.join(",")}]${canary}`;
    });
    return lines.length === 0 ? "no routes" : lines.join("; ");
}

export async function startDataPlane(o: DataPlaneOptions): Promise<DataPlane> {
    for (const [bin, where] of [["nginx", "/usr/sbin/nginx"], ["prometheus", "/usr/bin/prometheus"], ["prometheus-pushgateway", "/usr/bin/prometheus-pushgateway"], ["hey", "/usr/bin/hey"], ["curl", "/usr/bin/curl"]]) {
        requireBinary(bin, [where], "apt-get install -y prometheus prometheus-pushgateway nginx hey curl");
    }
    const ns = o.namespace;
    const lines: string[] = [];
    const problems: string[] = [];
    const log = (line: string) => {
        const l = `${new Date().toISOString()} ${line}`;
        lines.push(l);
        if (lines.length > 1000) lines.shift();
        o.onLog?.(l);
    };
    const problem = (p: string) => {
        problems.push(p);
        log(`PROBLEM ${p}`);
    };
    const nginxDir = path.join(o.dir, "nginx");
    const promDir = path.join(o.dir, "prometheus");
    fs.mkdirSync(nginxDir, { recursive: true });
    fs.mkdirSync(promDir, { recursive: true });

    const nginx = await NginxServer.create(nginxDir);
    const prometheus = await PrometheusServer.create(promDir);
    let pushgateway: PushgatewayServer | undefined;
    let view: ClusterView | undefined;
    let exporter: TestExporter | undefined;
    let loadtester: LoadTester | undefined;
    let stopped = false;

    // the NGINX side: what it serves now
    let generation = 0;
    let served: { key: string; model: IngressModel } | undefined;
    const reloads: NginxReload[] = [];
    let ingressProblems = "";
    const workloads = new Map<string, Workload>(); // deployment -> how its traffic is labelled

    const cluster = () => {
        if (view === undefined) throw new Error("data plane: not watching yet");
        return view;
    };
    const backing = (service: V1Service) => cluster().deployments().filter((d) => roleOf(d.metadata?.name ?? "") !== undefined && selects(service, d));
    const hasPort = (service: V1Service, port: number | string) =>
        (service.spec?.ports ?? []).some((p) => (typeof port === "number" ? p.port === port : p.name === port));
    const service = (name: string) => cluster().services().find((s) => s.metadata?.name === name);

    const apps = new Apps({
        images: o.images,
        seed: o.seed ?? 1,
        log,
        drain: async () => {
            nginxLoop.kick();
            await nginxLoop.idle();
        },
    });

    const render = (model: IngressModel, gen: number) => renderNginxConf(nginx, model.splits, {
        generation: gen,
        routes: model.routes.map((r) => ({ host: r.host ?? "", path: r.path, upstream: r.upstream, canary: r.canary?.upstream ?? "", weight: r.canary?.weight ?? 0 })),
    }, `generated by test/e2e/dataplane for namespace ${ns}, generation ${gen}`);

    const nginxLoop = new Loop(async (since) => {
        const model = ingressModel(ns, cluster().ingresses(), (name, port) => {
            const svc = service(name);
            if (svc === undefined || !hasPort(svc, port)) return [];
            return backing(svc).map((d) => d.metadata?.name ?? "").filter((d) => apps.ready(d)).map((d) => apps.port(d) as number);
        });
        const p = model.problems.join("\n");
        if (p !== "" && p !== ingressProblems) for (const x of model.problems) problem(x);
        ingressProblems = p;
        for (const r of model.routes) {
            const label = (svcName: string, canaryUpstream: string | undefined) => {
                const svc = service(svcName);
                for (const d of svc === undefined ? [] : backing(svc)) {
                    const name = d.metadata?.name ?? "";
                    const role = roleOf(name);
                    if (role === undefined) continue;
                    const w: Workload = { target: { name: role.app, namespace: ns }, role: role.role, ingress: r.ingress, canaryUpstream };
                    workloads.set(name, w);
                    exporter?.addWorkload(w);
                }
            };
            label(r.service, undefined);
            if (r.canary !== undefined) label(r.canary.service, r.canary.upstream);
        }
        const key = render(model, 0);
        if (served?.key === key) return;
        const gen = generation + 1;
        const t0 = Date.now();
        await nginx.reload(render(model, gen), gen);
        generation = gen;
        served = { key, model };
        const now = Date.now();
        const weights = Object.fromEntries(model.routes.flatMap((r, i) =>
            (r.canary !== undefined && (model.splits[i].canary?.ports.length ?? 0) > 0 ? [[r.ingress, r.canary.weight]] : [])));
        reloads.push({ generation: gen, at: now, latencyMs: now - since, reloadMs: now - t0, weights });
        log(`nginx generation ${gen} (${now - since} ms after the change, reload ${now - t0} ms): ${describe(model)}`);
    }, (e) => problem(`nginx reconcile failed: ${e instanceof Error ? e.message : String(e)}`));

    let appsRetry: NodeJS.Timeout | undefined;
    const appsLoop = new Loop(async () => {
        try {
            await apps.reconcile(cluster().deployments());
        } finally {
            nginxLoop.kick();
        }
    }, (e) => {
        problem(`apps reconcile failed (retrying in 1 s): ${e instanceof Error ? e.message : String(e)}`);
        appsRetry ??= setTimeout(() => {
            appsRetry = undefined;
            appsLoop.kick();
        }, 1000);
    });

    async function stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        if (appsRetry !== undefined) clearTimeout(appsRetry);
        await view?.stop();
        appsLoop.stopped = true;
        await appsLoop.idle();
        nginxLoop.stopped = true;
        await nginxLoop.idle();
        await loadtester?.stop({ wait: false });
        await apps.stop();
        await Promise.allSettled([prometheus.stop(), nginx.stop(), pushgateway?.stop()]);
        await exporter?.stop();
        log("stopped");
    }

    const nginxView: DataPlaneNginx = {
        get pid() {
            return nginx.pid;
        },
        generation: () => generation,
        routes: () => served?.model.routes ?? [],
        reloads: () => reloads,
        weight(ingress?: string) {
            const routes = served?.model.routes ?? [];
            const withCanary = (r: RouteInfo) => r.canary !== undefined && (served?.model.splits[routes.indexOf(r)].canary?.ports.length ?? 0) > 0;
            if (ingress !== undefined) {
                const r = routes.find((x) => x.ingress === ingress || x.canary?.ingress === ingress);
                return r !== undefined && withCanary(r) ? r.canary?.weight : undefined;
            }
            const canaries = routes.filter((r) => r.canary !== undefined);
            if (canaries.length > 1) throw new Error(`nginx.weight(): ${canaries.length} locations have a canary; name the Ingress`);
            return canaries.length === 1 && withCanary(canaries[0]) ? canaries[0].canary?.weight : undefined;
        },
        async waitWeight(weight: number | undefined, timeoutMs = 15000) {
            const deadline = Date.now() + timeoutMs;
            while (nginxView.weight() !== weight) {
                if (Date.now() > deadline) throw new Error(`nginx serves canary weight ${nginxView.weight()} after ${timeoutMs} ms, expected ${weight}\n${lines.slice(-10).join("\n")}`);
                await new Promise((r) => setTimeout(r, 50));
            }
        },
    };

    try {
        generation = 1;
        const empty: IngressModel = { splits: [], routes: [], problems: [] };
        await nginx.start(render(empty, 1), 1);
        served = { key: render(empty, 0), model: empty };
        exporter = new TestExporter({
            accessLog: nginx.accessLog,
            workloads: [],
            workloadAt: (port) => {
                const d = apps.deploymentAt(port);
                if (d === undefined) return undefined;
                const known = workloads.get(d);
                if (known !== undefined) return known;
                const r = roleOf(d);
                return r === undefined ? undefined : { target: { name: r.app, namespace: ns }, role: r.role, ingress: r.app };
            },
        });
        await exporter.start();
        // the release metrics' Pushgateway and the Prometheus component's rules over them
        pushgateway = await PushgatewayServer.start();
        const ruleFile = path.join(promDir, "canary-rules.yml");
        fs.writeFileSync(ruleFile, YAML.stringify(releaseAlertRules({ stuckAfter: o.stuckAfter ?? "15m" })));
        await prometheus.start([`127.0.0.1:${exporter.port}`], { pushgateway: pushgateway.target, ruleFile });
        loadtester = new LoadTester({
            resolveUrl: makeResolver({
                namespace: ns,
                ingressPort: nginx.port,
                endpoints(name, port) {
                    const svc = service(name);
                    if (svc === undefined) throw new Error(`service ${name}.${ns} not found`);
                    if (!hasPort(svc, port)) throw new Error(`service ${name}.${ns} has no port ${port}`);
                    const ds = backing(svc).map((d) => ({ name: d.metadata?.name ?? "", up: (d.spec?.replicas ?? 1) > 0 }));
                    return {
                        ports: ds.filter((d) => apps.ready(d.name)).map((d) => apps.port(d.name) as number),
                        starting: ds.some((d) => d.up && !apps.ready(d.name)),
                    };
                },
            }),
        });
        await loadtester.start();
        view = watchNamespace(o.kubeconfig, ns, (kind) => {
            if (kind === "Deployment") appsLoop.kick();
            nginxLoop.kick();
        }, log);
        await view.start();
        appsLoop.kick();
        await appsLoop.idle();
        await nginxLoop.idle();
        log(`started: ingress ${nginx.url} (admin ${nginx.adminPort}), prometheus ${prometheus.url}, pushgateway ${pushgateway.url}, loadtester ${loadtester.url}, exporter ${exporter.url}`);
    } catch (e) {
        await stop();
        throw e;
    }
    const lt = loadtester;
    const pg = pushgateway;

    return {
        namespace: ns,
        ingressUrl: nginx.url,
        prometheusUrl: prometheus.url,
        pushgatewayUrl: pg.url,
        loadtesterUrl: lt.url,
        nginx: nginxView,
        loadtester: lt,
        prometheus,
        counts: () => apps.counts(),
        running: (d) => apps.running(d),
        ready: (d) => apps.ready(d),
        port: (d) => apps.port(d),
        version: (d) => apps.version(d),
        async settled() {
            await appsLoop.idle();
            await nginxLoop.idle();
        },
        problems: () => problems,
        log: () => lines,
        stop,
    };
}

/** The in-cluster URL of the ingress controller, as the stack's load-test commands write it. */
export const INGRESS_CONTROLLER_URL = `http://${INGRESS_CONTROLLER.service}.${INGRESS_CONTROLLER.namespace}/`;
