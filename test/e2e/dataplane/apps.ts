// The pods of `<app>-primary` / `<app>-canary` Deployments, as one test-app process each
// (test/integration/app/server.ts through AppInstance).
//
// - A Deployment is "scaled up" when spec.replicas > 0 (unset counts as 1, the API default):
//   its process runs, whatever the number of replicas. Replicas 0 or a deleted Deployment stop it.
// - Behaviour comes from the first container's image tag (`repo:6.5.5` -> "6.5.5"; no tag or a
//   digest -> "latest"): `images[tag]` gives the faults; a tag not in the table runs with no
//   faults (a good release) and is logged. The app answers with `version` = the tag.
// - A change of the pod template (any field: a new image, an annotation) restarts the process
//   with the new behaviour, as a rollout replaces the pods.
// - Each Deployment keeps the loopback port it was first given for the data plane's lifetime, so
//   a restarted process comes back where NGINX expects it. The port is below the kernel's
//   ephemeral range, so no client connection can take it while the process is down.
// - Errors are drawn from the app's seeded PRNG: the seed mixes `seed`, the Deployment's name
//   and how many times it was started, so primary and canary (and a restart) draw different
//   sequences, the same from run to run.
// - Requests to `/` each process counted (its /admin/faults counters) are read before it stops
//   and added to its Deployment's total, so counts survive restarts (a process that crashed
//   loses the requests it counted since the last read).
import * as fs from "fs";
import * as net from "net";
import { V1Deployment } from "@kubernetes/client-node";
import { AppFaults, AppInstance } from "../../integration/harness/app";

export type Role = "primary" | "canary";

/** `<app>-primary` / `<app>-canary`: the Deployments the data plane runs; undefined for others. */
export function roleOf(deployment: string): { app: string; role: Role } | undefined {
    const m = /^(.+)-(primary|canary)$/.exec(deployment);
    return m === null ? undefined : { app: m[1], role: m[2] as Role };
}

/** The tag of an image reference: after the last `:` of its last path segment; digest or none -> "latest". */
export function imageTag(image: string): string {
    if (image.includes("@")) return "latest";
    const last = image.split("/").pop() ?? "";
    const i = last.lastIndexOf(":");
    return i < 0 || i === last.length - 1 ? "latest" : last.slice(i + 1);
}

/** Order-insensitive JSON of an object (the pod template's identity). */
function canonical(v: unknown): string {
    const canon = (x: unknown): unknown => {
        if (Array.isArray(x)) return x.map(canon);
        if (x !== null && typeof x === "object") {
            const o = x as Record<string, unknown>;
            return Object.fromEntries(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, canon(o[k])]));
        }
        return x;
    };
    return JSON.stringify(canon(v));
}

/** A free loopback port below the ephemeral range (ip_local_port_range), tried at random. */
export async function fixedPort(): Promise<number> {
    let low = 32768;
    try {
        low = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    } catch {
        // not Linux: the IANA range starts at 49152, 32768 is below it too
    }
    const from = 10000;
    for (let i = 0; i < 50; i++) {
        const port = from + Math.floor(Math.random() * Math.max(low - from, 1));
        const free = await new Promise<boolean>((resolve) => {
            const srv = net.createServer();
            srv.once("error", () => resolve(false));
            srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
        });
        if (free) return port;
    }
    throw new Error(`no free loopback port in ${from}..${low - 1} after 50 tries`);
}

function fnv1a(s: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h;
}

/** Requests to `/` in an app's counters (`"/ 200": n`, `"/ 500": m`, ...). */
export function rootRequests(counts: Readonly<Record<string, number>>): number {
    return Object.entries(counts).filter(([k]) => k.startsWith("/ ")).reduce((n, [, v]) => n + v, 0);
}

interface Pod {
    readonly instance: AppInstance;
    /** The pod template the running process realizes (canonical JSON); undefined: not running. */
    template: string | undefined;
    /** Requests to / counted by processes of this Deployment that have stopped. */
    served: number;
    /** The running process's counters are not yet in `served`. */
    live: boolean;
    starts: number;
}

export interface AppsOptions {
    readonly images: Readonly<Record<string, AppFaults>>;
    readonly seed: number;
    readonly log: (line: string) => void;
    /** Called when a Deployment's process stops being an endpoint, before it is stopped: resolves once no new request reaches it. */
    readonly drain: (deployment: string) => Promise<void>;
}

export class Apps {
    private readonly pods = new Map<string, Pod>();
    private stopped = false;

    constructor(private readonly opts: AppsOptions) {}

    /** Brings the processes in line with `deployments`; resolves when every start/stop is done. Throws the first failure. */
    async reconcile(deployments: readonly V1Deployment[]): Promise<void> {
        if (this.stopped) return;
        const wanted = new Map<string, V1Deployment>();
        for (const d of deployments) {
            const name = d.metadata?.name ?? "";
            if (roleOf(name) !== undefined && (d.spec?.replicas ?? 1) > 0) wanted.set(name, d);
        }
        const work: Promise<void>[] = [];
        for (const [name, pod] of this.pods) {
            if (pod.template !== undefined && !wanted.has(name)) work.push(this.stopPod(name, pod, "scaled to 0"));
        }
        for (const [name, d] of wanted) {
            const template = canonical(d.spec?.template ?? {});
            const pod = this.pods.get(name) ?? await this.create(name);
            if (pod.template === template && pod.instance.running) continue;
            work.push((async () => {
                if (pod.instance.running) await this.stopPod(name, pod, "new pod template");
                await this.startPod(name, pod, d, template);
            })());
        }
        const results = await Promise.allSettled(work);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed !== undefined) throw failed.reason;
    }

    private async create(name: string): Promise<Pod> {
        const pod: Pod = { instance: await AppInstance.create(name, "latest", {}, { port: await fixedPort() }), template: undefined, served: 0, live: false, starts: 0 };
        this.pods.set(name, pod);
        return pod;
    }

    private async startPod(name: string, pod: Pod, d: V1Deployment, template: string): Promise<void> {
        const image = d.spec?.template?.spec?.containers?.[0]?.image ?? "";
        const tag = imageTag(image);
        const faults = this.opts.images[tag];
        if (faults === undefined) this.opts.log(`${name}: image tag ${JSON.stringify(tag)} (${image}) is not in the images table: no faults`);
        pod.instance.version = tag;
        pod.instance.faults = faults ?? {};
        pod.instance.seed = (this.opts.seed ^ fnv1a(name) ^ Math.imul(pod.starts + 1, 0x9e3779b1)) >>> 0;
        pod.starts++;
        const t0 = Date.now();
        await pod.instance.start();
        pod.live = true;
        pod.template = template;
        this.opts.log(`${name}: started ${tag} ${JSON.stringify(pod.instance.faults)} on port ${pod.instance.port} in ${Date.now() - t0} ms`);
    }

    /** As a pod's termination: out of the endpoints first, then its counters are read, then SIGTERM. */
    private async stopPod(name: string, pod: Pod, why: string): Promise<void> {
        pod.template = undefined;
        await this.opts.drain(name);
        const last = await this.liveRequests(pod);
        pod.served += last;
        pod.live = false;
        await pod.instance.stop();
        this.opts.log(`${name}: stopped (${why})`);
    }

    /** Requests to / the running process counted and `served` does not hold yet. */
    private async liveRequests(pod: Pod): Promise<number> {
        if (!pod.live || !pod.instance.running) return 0;
        try {
            return rootRequests(await pod.instance.requestCounts());
        } catch (e) {
            this.opts.log(`${pod.instance.name}: reading its counters failed: ${e instanceof Error ? e.message : String(e)}`);
            return 0;
        }
    }

    /** Whether the Deployment's process is alive (a draining one too, until it has exited). */
    running(deployment: string): boolean {
        return this.pods.get(deployment)?.instance.running ?? false;
    }

    /** Whether it is an endpoint: alive and realizing the Deployment's current template. */
    ready(deployment: string): boolean {
        const pod = this.pods.get(deployment);
        return pod !== undefined && pod.template !== undefined && pod.instance.running;
    }

    /** The Deployment's fixed loopback port, once it was first scaled up. */
    port(deployment: string): number | undefined {
        return this.pods.get(deployment)?.instance.port;
    }

    /** The Deployment whose process listens on `port`. */
    deploymentAt(port: number): string | undefined {
        for (const [name, pod] of this.pods) if (pod.instance.port === port) return name;
        return undefined;
    }

    /** The version (image tag) a ready Deployment's process answers with. */
    version(deployment: string): string | undefined {
        return this.ready(deployment) ? this.pods.get(deployment)?.instance.version : undefined;
    }

    /** Every process started, by pid (for the report). */
    pids(): number[] {
        return [...this.pods.values()].flatMap((p) => p.instance.pids);
    }

    /** Requests to `/` served by each role, over every process each Deployment ran. */
    async counts(): Promise<Record<Role, number>> {
        const each = await Promise.all([...this.pods].map(async ([name, pod]) => {
            // `served` is read before the live counters: a stop folding them in meanwhile is counted once
            const n = pod.served + await this.liveRequests(pod);
            return { role: roleOf(name)?.role, n };
        }));
        const out: Record<Role, number> = { primary: 0, canary: 0 };
        for (const { role, n } of each) if (role !== undefined) out[role] += n;
        return out;
    }

    /** Stops every process (by pid); later reconciles do nothing. */
    async stop(): Promise<void> {
        this.stopped = true;
        await Promise.allSettled([...this.pods.values()].map((p) => p.instance.stop()));
    }
}
