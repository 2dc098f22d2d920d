// What the e2e tests share about the project's own stack: a ProjectStack on the run's cluster
// and CLI, reads of what the API server holds, and process-tree helpers for the kill scenarios.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@kubernetes/client-node";
import { ProjectStack } from "../../scripts/lib/project-stack";
import { E2eEnv } from "./harness";

/** A new stack of the project (its name unique to this run), driven by the run's CLI; `extraEnv` adds to its environment. */
export function projectStack(env: E2eEnv, role: string, extraEnv: Record<string, string> = {}): ProjectStack {
    return new ProjectStack(`e2e-${role}-${process.pid}`, env.pulumiCommand.command, { ...env.envVars, ...extraEnv });
}

export const is404 = (e: unknown): boolean => e instanceof k8s.ApiException && e.code === 404;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** API clients for the run's cluster. */
export interface Kube {
    readonly core: k8s.CoreV1Api;
    readonly apps: k8s.AppsV1Api;
    readonly net: k8s.NetworkingV1Api;
    readonly rbac: k8s.RbacAuthorizationV1Api;
    readonly ext: k8s.ApiextensionsV1Api;
    readonly custom: k8s.CustomObjectsApi;
}

export function kube(env: E2eEnv): Kube {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(env.kubeconfig);
    return { core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api), net: kc.makeApiClient(k8s.NetworkingV1Api), rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
        ext: kc.makeApiClient(k8s.ApiextensionsV1Api), custom: kc.makeApiClient(k8s.CustomObjectsApi),
    };
}

/** Image, desired and ready replicas of a Deployment. */
export async function deployment(k: Kube, namespace: string, name: string): Promise<{ image: string; replicas: number; ready: number }> {
    const d = await k.apps.readNamespacedDeployment({ name, namespace });
    return { image: d.spec?.template.spec?.containers[0].image ?? "", replicas: d.spec?.replicas ?? -1, ready: d.status?.readyReplicas ?? 0 };
}

/** The weight of the release's canary Ingress `<app>-canary` (0 without the annotation); it must be a canary Ingress. */
export async function canaryIngressWeight(k: Kube, namespace: string, app: string): Promise<number> {
    const ing = await k.net.readNamespacedIngress({ name: `${app}-canary`, namespace });
    assert.strictEqual(ing.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary"], "true");
    return Number(ing.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary-weight"] ?? "0");
}

/** Messages of the release's events in `namespace` (reason Synced, source pulumi-canary), oldest first. */
export async function releaseEvents(k: Kube, namespace: string): Promise<string[]> {
    const list = await k.core.listNamespacedEvent({ namespace });
    return list.items
        .filter((e) => e.source?.component === "pulumi-canary" && e.reason === "Synced")
        .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion))
        .map((e) => e.message ?? "");
}

/** Rejects unless reading the object answers 404. */
export async function assertGone(what: string, read: () => Promise<unknown>): Promise<void> {
    try {
        await read();
    } catch (e) {
        if (is404(e)) return;
        throw e;
    }
    throw new Error(`${what} still exists`);
}

/** Pids of every live descendant of `root` (from /proc; the Pulumi CLI starts plugins in process groups of their own). */
export function descendants(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
        } catch {
            // exited meanwhile
        }
    }
    const out: number[] = [];
    const walk = (pid: number) => {
        for (const c of children.get(pid) ?? []) {
            out.push(c);
            walk(c);
        }
    };
    walk(root);
    return out;
}

/** A process's command line, arguments joined by spaces; "" once it is gone. */
export function commandLine(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
        return "";
    }
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
        return false;
    }
}

/** A signal (default SIGKILL) to a pid (or, negative, a process group); nothing when it is already gone. */
export function kill(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
    try {
        process.kill(pid, signal);
    } catch {
        // already gone
    }
}

export function killAll(pids: readonly number[]): void {
    for (const pid of pids) kill(pid);
}

/** Files under `dir`, relative to it; [] when it does not exist. */
export function listFiles(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));
}
