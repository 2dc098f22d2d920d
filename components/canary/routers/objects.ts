// Shared by the mesh routers: get, create if missing, update only when the desired spec
// differs (Flagger's pkg/router habit); errors name the kind, `name.namespace` and the verb.
import { KubeApi, KubeObject } from "../kube/api";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "pulumi-canary" } as const;

/** Deterministic JSON for comparing specs (key order does not matter). */
export function canonical(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
    }
    return JSON.stringify(v);
}

async function verb<T>(obj: { kind: string; name: string; namespace: string }, what: string, f: () => Promise<T>): Promise<T> {
    try {
        return await f();
    } catch (err) {
        throw new Error(`${obj.kind} ${obj.name}.${obj.namespace} ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
}

/** Creates `desired` or brings its spec in line; returns what the cluster holds afterwards. */
export async function reconcileObject(kube: KubeApi, desired: KubeObject & { spec: unknown }): Promise<"created" | "updated" | "unchanged"> {
    const id = { kind: desired.kind, name: desired.metadata.name, namespace: desired.metadata.namespace ?? "" };
    const current = await verb(id, "get", () => kube.get(desired.apiVersion, desired.kind, id.namespace, id.name));
    if (current === undefined) {
        await verb(id, "create", () => kube.create(desired));
        return "created";
    }
    if (canonical(current.spec) === canonical(desired.spec)) return "unchanged";
    await verb(id, "update", () => kube.patch(desired));
    return "updated";
}

/** Reads an object that reconcile must have created; a missing one is an error naming it. */
export async function mustGet(kube: KubeApi, apiVersion: string, kind: string, namespace: string, name: string): Promise<KubeObject> {
    const id = { kind, name, namespace };
    const obj = await verb(id, "get", () => kube.get(apiVersion, kind, namespace, name));
    if (obj === undefined) throw new Error(`${kind} ${name}.${namespace} get failed: not found (was the release initialized?)`);
    return obj;
}

/** Deletes an object if present (finalize is idempotent). */
export async function deleteIfPresent(kube: KubeApi, apiVersion: string, kind: string, namespace: string, name: string): Promise<void> {
    const id = { kind, name, namespace };
    const obj = await verb(id, "get", () => kube.get(apiVersion, kind, namespace, name));
    if (obj === undefined) return;
    await verb(id, "delete", () => kube.delete(apiVersion, kind, namespace, name));
}

/** Cookie match as a header regex (Flagger's: the named cookie set to "always"). */
export function cookieRegex(cookie: string): string {
    return `^(.*?;)?(${cookie}=always)(;.*)?$`;
}
