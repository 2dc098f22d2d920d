// Config tracking, as Flagger's: the ConfigMaps and Secrets a pod template uses (env valueFrom,
// envFrom, volumes, projected volumes; containers and init containers) are found here, and the
// primary's template is rewritten to use `<name>-primary` copies of the tracked ones, whose data
// is the promoted revision's: a release that fails can never change what the primary reads.

/** The part of a pod template read here (canaryApp's PodTemplate has it). */
export interface TemplateWithSpec {
    readonly metadata?: unknown;
    readonly spec: Record<string, unknown>;
}

export type ConfigKind = "ConfigMap" | "Secret";

export interface ConfigRef {
    readonly kind: ConfigKind;
    readonly name: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/**
 * Calls `visit` on every place of the template's spec that names a ConfigMap or Secret, with
 * the object holding the name and the key it is under; `visit` may replace the name there.
 */
function eachRef(spec: Obj, visit: (holder: Obj, key: string, kind: ConfigKind) => void): void {
    for (const c of [...list(spec.initContainers), ...list(spec.containers)]) {
        for (const e of list(c.env)) {
            const from = isObj(e.valueFrom) ? e.valueFrom : {};
            if (isObj(from.configMapKeyRef)) visit(from.configMapKeyRef, "name", "ConfigMap");
            if (isObj(from.secretKeyRef)) visit(from.secretKeyRef, "name", "Secret");
        }
        for (const e of list(c.envFrom)) {
            if (isObj(e.configMapRef)) visit(e.configMapRef, "name", "ConfigMap");
            if (isObj(e.secretRef)) visit(e.secretRef, "name", "Secret");
        }
    }
    for (const v of list(spec.volumes)) {
        if (isObj(v.configMap)) visit(v.configMap, "name", "ConfigMap");
        if (isObj(v.secret)) visit(v.secret, "secretName", "Secret");
        const projected = isObj(v.projected) ? v.projected : {};
        for (const s of list(projected.sources)) {
            if (isObj(s.configMap)) visit(s.configMap, "name", "ConfigMap");
            if (isObj(s.secret)) visit(s.secret, "name", "Secret");
        }
    }
}

/** Every ConfigMap and Secret the template uses, each once, in the order first met. */
export function configRefs(template: TemplateWithSpec): ConfigRef[] {
    const seen = new Map<string, ConfigRef>();
    eachRef(template.spec, (holder, key, kind) => {
        const name = holder[key];
        if (typeof name === "string" && name !== "") seen.set(`${kind}/${name}`, { kind, name });
    });
    return [...seen.values()];
}

/** The name of a tracked object's primary copy. */
export const primaryCopyName = (name: string) => `${name}-primary`;

/** A copy of the template whose references to the tracked objects name their primary copies. */
export function withPrimaryConfigRefs<T extends TemplateWithSpec>(template: T, tracked: readonly ConfigRef[]): T {
    const copy = JSON.parse(JSON.stringify(template)) as T;
    const isTracked = (kind: ConfigKind, name: unknown) => tracked.some((t) => t.kind === kind && t.name === name);
    eachRef(copy.spec, (holder, key, kind) => {
        if (isTracked(kind, holder[key])) holder[key] = primaryCopyName(holder[key] as string);
    });
    return copy;
}
