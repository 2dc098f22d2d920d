// One scenario's world on 127.0.0.1: primary (v1) and canary (v2) app processes, a real NGINX
// splitting traffic by the router's weights, the test exporter tailing NGINX's access log, a
// real Prometheus scraping it every second, and the loadtester. Everything is started by
// `Stage.up` and stopped, by the pid it started, in `down`.
import { ReleaseContext, runFinalize, runRelease } from "../../components/canary/engine/scheduler";
import { CheckResult, initialize, startRelease } from "../../components/canary/engine/advance";
import { systemClock } from "../../components/canary/engine/clock";
import { AnalysisSpec, MetricCheck, ReleaseState, Routes, Target, Webhook } from "../../components/canary/engine/types";
import { MemoryEventSink } from "../../components/canary/events/sink";
import { WebhookClient } from "../../components/canary/hooks/client";
import { PrometheusProvider } from "../../components/canary/metrics/prometheus";
import { MeshProvider, renderCheck } from "../../components/canary/metrics/templates";
import { assess } from "../../components/canary/metrics/assess";
import { QueryResult } from "../../components/canary/metrics/provider";
import { MatchCondition } from "../../components/canary/engine/types";
import { Router } from "../../components/canary/routers/router";
import { CheckRecord, metricChecker } from "./check-metric";
import { TestExporter, fixedWorkloads } from "./exporter";
import { AppFaults, AppInstance } from "./harness/app";
import { NginxServer } from "./harness/nginx";
import { PrometheusServer } from "./harness/prometheus";
import { tempDir } from "./harness/process";
import { LoadTester } from "./loadtester";
import { PlainNginxRouter } from "./nginx-router";
import { ProcessKube } from "./process-kube";
import * as fs from "fs";

export const INGRESS = "podinfo";

/** A routes change as the access log saw it: lines before `lineIndex` were served before it. */
export interface RouteMark {
    readonly routes: Routes;
    readonly lineIndex: number;
    readonly at: number;
}

/** The router the engine drives, recording where in the access log each change happened. */
class MeasuringRouter implements Router {
    readonly marks: RouteMark[] = [];
    onSetRoutes: ((r: Routes) => Promise<void>) | undefined;

    constructor(private readonly inner: PlainNginxRouter, private readonly exporter: TestExporter) {}

    async reconcile(target: Target, match: readonly MatchCondition[]): Promise<void> {
        await this.inner.reconcile(target, match);
    }

    async setRoutes(target: Target, routes: Routes): Promise<void> {
        this.exporter.poll();
        const lineIndex = this.exporter.lines.length;
        await this.inner.setRoutes(target, routes);
        this.marks.push({ routes, lineIndex, at: Date.now() });
        await this.onSetRoutes?.(routes);
    }

    getRoutes(target: Target): Promise<Routes> {
        return this.inner.getRoutes(target);
    }

    finalize(target: Target): Promise<void> {
        return this.inner.finalize(target);
    }
}

export interface StageOptions {
    readonly namespace: string;
    readonly canaryFaults?: AppFaults;
}

export const PRIMARY_VERSION = "1.0.0";
export const CANARY_VERSION = "2.0.0";
/** Seed of the canary app's error draws. */
export const CANARY_SEED = 1;

export class Stage {
    readonly events = new MemoryEventSink();
    readonly checks: CheckRecord[] = [];
    readonly log: string[] = [];
    router!: MeasuringRouter;
    nginxRouter!: PlainNginxRouter;
    nginx!: NginxServer;
    exporter!: TestExporter;
    prometheus!: PrometheusServer;
    loadtester!: LoadTester;
    kube!: ProcessKube;
    primary!: AppInstance;
    canary!: AppInstance;
    private stopped = false;

    private constructor(readonly target: Target, readonly dir: string, readonly opts: StageOptions) {}

    static async up(opts: StageOptions): Promise<Stage> {
        const target: Target = { name: "podinfo", namespace: opts.namespace };
        const s = new Stage(target, tempDir(opts.namespace), opts);
        try {
            await s.boot();
        } catch (e) {
            await s.down();
            throw e;
        }
        return s;
    }

    private async boot(): Promise<void> {
        const { target } = this;
        this.primary = await AppInstance.create("podinfo-primary", PRIMARY_VERSION);
        // seed 1: the canary's first error draws fall at requests 2, 18 and 23, so a 10% canary fails
        // its first check at weight 10 run after run (another seed could, 8% of the time, pass it)
        this.canary = await AppInstance.create("podinfo-canary", CANARY_VERSION, this.opts.canaryFaults ?? {}, { seed: CANARY_SEED });
        this.nginx = await NginxServer.create(this.dir);
        this.prometheus = await PrometheusServer.create(this.dir);
        this.loadtester = new LoadTester();
        await this.primary.start();
        const backends = { primary: this.primary.port, canary: this.canary.port };
        this.exporter = new TestExporter({ accessLog: this.nginx.accessLog, ...fixedWorkloads(target, INGRESS, backends) });
        this.nginxRouter = new PlainNginxRouter(this.nginx, target, backends);
        this.router = new MeasuringRouter(this.nginxRouter, this.exporter);
        await this.router.reconcile(target, []); // starts NGINX with all traffic on the primary
        await this.exporter.start();
        await this.loadtester.start();
        await this.prometheus.start([`127.0.0.1:${this.exporter.port}`]);
        this.kube = new ProcessKube(target, this.canary);
    }

    /** Stops everything this stage started, each by its own pid. */
    async down(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        await this.loadtester?.stop();
        await Promise.allSettled([this.prometheus?.stop(), this.nginx?.stop(), this.primary?.stop(), this.canary?.stop()]);
        await this.exporter?.stop();
        if (process.env.KEEP_IT_DIRS === undefined) fs.rmSync(this.dir, { recursive: true, force: true });
    }

    /** Load through NGINX, generated by hey via the loadtester (blocking: one step's load before its checks). */
    loadHook(seconds = 3): Webhook {
        return {
            name: "load-test", type: "rollout", url: `${this.loadtester.url}/`, timeoutSeconds: seconds + 10, retries: 0,
            metadata: { type: "cmd", cmd: `hey -z ${seconds}s -q 20 -c 4 ${this.nginx.url}/`, blocking: "true" },
        };
    }

    /** Acceptance test against the canary's /healthz, before any traffic shifts. */
    acceptanceHook(): Webhook {
        return {
            name: "acceptance-test", type: "pre-rollout", url: `${this.loadtester.url}/acceptance`, timeoutSeconds: 5, retries: 0,
            metadata: { url: `${this.canary.url}/healthz` },
        };
    }

    context(spec: AnalysisSpec, hooks: WebhookClient, mesh: MeshProvider = "nginx"): ReleaseContext {
        const provider = new PrometheusProvider({ baseURL: this.prometheus.url, timeoutMs: 2000 });
        return {
            target: this.target,
            spec,
            canaryReplicas: 1,
            router: this.router,
            checkMetric: metricChecker(provider, mesh, this.target, INGRESS, this.checks),
            hooks,
            kube: this.kube,
            events: this.events,
            clock: systemClock,
            log: (line) => this.log.push(`${new Date().toISOString()} ${line}`),
            pollMs: 300,
        };
    }

    /**
     * From an initialized release on v1 to the end of the analysis of v2: Promoting or Failed.
     * On Promoting the primary takes v2 (the analysed template) and the release is finalized.
     */
    async release(ctx: ReleaseContext): Promise<ReleaseState> {
        const init = initialize(this.target, "rev-v1", systemClock.now());
        const started = startRelease(this.target, init.state, "rev-v2", systemClock.now(), false);
        if (!started.ok) throw new Error(started.message);
        const analysed = await runRelease(ctx, started.step);
        if (analysed.phase !== "Promoting") return analysed;
        await this.primary.redeploy(CANARY_VERSION, this.opts.canaryFaults ?? {});
        return runFinalize(ctx, analysed);
    }

    messages(): string[] {
        return this.events.events.map((e) => e.message);
    }

    /** Canary share of the requests served between consecutive route changes. */
    steps(): { routes: Routes; primary: number; canary: number; total: number; canaryPercent: number }[] {
        this.exporter.poll();
        const marks = this.router.marks;
        return marks.map((m, i) => {
            const end = i + 1 < marks.length ? marks[i + 1].lineIndex : this.exporter.lines.length;
            return { routes: m.routes, ...this.exporter.share(m.lineIndex, end) };
        });
    }

    /** Evaluates a builtin query of any provider against this stage's Prometheus, now. */
    async evaluate(mesh: MeshProvider, check: MetricCheck): Promise<{ promql: string; result: QueryResult; assessment: CheckResult }> {
        const provider = new PrometheusProvider({ baseURL: this.prometheus.url, timeoutMs: 2000 });
        const promql = renderCheck(check, mesh, this.target, mesh === "nginx" ? INGRESS : undefined);
        const result = await provider.query(promql);
        return { promql, result, assessment: assess(check, result, this.target) };
    }
}
