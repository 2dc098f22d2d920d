// In-memory seams for the provider tests: a KubeApi holding objects and Deployments, a Router
// recording every route change, programmable metrics and hooks, a fake clock.
import { FakeClock } from "../../../components/canary/engine/clock";
import { MatchCondition, Routes, Target, Webhook } from "../../../components/canary/engine/types";
import { MemoryEventSink } from "../../../components/canary/events/sink";
import { HookPayload, HookResult, WebhookClient } from "../../../components/canary/hooks/client";
import { DeploymentStatus, KubeApi, KubeObject } from "../../../components/canary/kube/api";
import { ConfigMapStatusStore } from "../../../components/canary/kube/statusStore";
import { MetricProvider, QueryResult } from "../../../components/canary/metrics/provider";
import { Seams } from "../../../components/canary/provider/seams";
import { Router } from "../../../components/canary/routers/router";

const key = (apiVersion: string, kind: string, ns: string, name: string) => `${apiVersion}/${kind}/${ns}/${name}`;

export class MemoryKube implements KubeApi {
    readonly objects = new Map<string, KubeObject>();
    readonly replicas = new Map<string, number>();
    /** The revision annotation of a Deployment ("ns/name"), when a test sets one. */
    readonly revisions = new Map<string, string>();
    readonly calls: string[] = [];

    async getDeployment(namespace: string, name: string): Promise<DeploymentStatus> {
        const r = this.replicas.get(`${namespace}/${name}`);
        if (r === undefined) return { exists: false, replicas: 0, readyReplicas: 0, updatedReplicas: 0, observed: false };
        const revision = this.revisions.get(`${namespace}/${name}`);
        return { exists: true, ...(revision === undefined ? {} : { revision }), replicas: r, readyReplicas: r, updatedReplicas: r, observed: true };
    }
    async scaleDeployment(namespace: string, name: string, replicas: number): Promise<void> {
        this.calls.push(`scale ${name} ${replicas}`);
        this.replicas.set(`${namespace}/${name}`, replicas);
    }
    async get(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
        const o = this.objects.get(key(apiVersion, kind, namespace, name));
        return o === undefined ? undefined : JSON.parse(JSON.stringify(o));
    }
    async create(obj: KubeObject): Promise<void> {
        const k = key(obj.apiVersion, obj.kind, obj.metadata.namespace ?? "", obj.metadata.name);
        if (this.objects.has(k)) throw new Error(`create ${obj.kind} ${obj.metadata.name}: already exists`);
        this.calls.push(`create ${obj.kind} ${obj.metadata.name}`);
        this.objects.set(k, JSON.parse(JSON.stringify(obj)));
    }
    async patch(obj: KubeObject): Promise<void> {
        const k = key(obj.apiVersion, obj.kind, obj.metadata.namespace ?? "", obj.metadata.name);
        const cur = this.objects.get(k);
        if (cur === undefined) throw new Error(`patch ${obj.kind} ${obj.metadata.name}: not found`);
        this.calls.push(`patch ${obj.kind} ${obj.metadata.name}`);
        // as ClientKubeApi: spec, labels and annotations are replaced; data is not
        const next = { ...cur, metadata: { ...cur.metadata, labels: obj.metadata.labels ?? {}, annotations: obj.metadata.annotations ?? {} } } as Record<string, unknown>;
        if ("spec" in obj) next.spec = obj.spec;
        this.objects.set(k, JSON.parse(JSON.stringify(next)));
    }
    async delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<void> {
        this.calls.push(`delete ${kind} ${name}`);
        this.objects.delete(key(apiVersion, kind, namespace, name));
    }
    async event(): Promise<void> {
        return;
    }
}

export class MemoryRouter implements Router {
    routes: Routes = { primary: 100, canary: 0 };
    readonly history: Routes[] = [];
    reconciled: readonly MatchCondition[] | undefined;
    finalized = false;
    /** Called after each setRoutes (e.g. to interrupt a run at some weight). */
    onSet: (r: Routes) => void = () => undefined;
    async reconcile(_t: Target, match: readonly MatchCondition[]): Promise<void> {
        this.reconciled = match;
    }
    async setRoutes(_t: Target, routes: Routes): Promise<void> {
        this.routes = routes;
        this.history.push(routes);
        this.onSet(routes);
    }
    async getRoutes(): Promise<Routes> {
        return this.routes;
    }
    async finalize(): Promise<void> {
        this.finalized = true;
    }
}

/** Success rate and P99 as numbers the test sets; a builtin's query tells which is asked. */
export class FakeMetrics implements MetricProvider {
    successRate: QueryResult = { ok: true, value: 100 };
    durationMs: QueryResult = { ok: true, value: 120 };
    readonly queries: string[] = [];
    async query(promql: string): Promise<QueryResult> {
        this.queries.push(promql);
        return promql.includes("histogram_quantile") ? this.durationMs : this.successRate;
    }
}

export class FakeHooks implements WebhookClient {
    readonly calls: { hook: string; phase: string }[] = [];
    fail = new Set<string>();
    async call(hook: Webhook, payload: HookPayload): Promise<HookResult> {
        this.calls.push({ hook: hook.name, phase: payload.phase });
        return this.fail.has(hook.name) ? { ok: false, message: `${hook.name} answered 500` } : { ok: true, status: 200 };
    }
}

export interface World {
    readonly kube: MemoryKube;
    readonly router: MemoryRouter;
    readonly events: MemoryEventSink;
    readonly metrics: FakeMetrics;
    readonly hooks: FakeHooks;
    readonly clock: FakeClock;
    readonly lines: string[];
    readonly seams: Seams;
}

export function world(): World {
    const kube = new MemoryKube();
    const router = new MemoryRouter();
    const events = new MemoryEventSink();
    const metrics = new FakeMetrics();
    const hooks = new FakeHooks();
    const clock = new FakeClock(1_700_000_000_000);
    const lines: string[] = [];
    const seams: Seams = { kube, router, events, metrics, hooks, clock, store: new ConfigMapStatusStore(kube), log: (l) => lines.push(l), pollMs: 1000 };
    return { kube, router, events, metrics, hooks, clock, lines, seams };
}
