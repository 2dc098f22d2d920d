// The release graph of one app (DESIGN.md "The release graph"):
//   Deployment <app>-canary   desired template, replicas owned by the release (0 when idle)
//   ConfigMaps/Secrets <name> the tracked config the template uses (the canary reads these)
//   CanaryRelease <app>       analyses a new revision; a promotion routes all traffic to the
//                             primary and scales the canary to 0; its output template feeds the primary
//   ConfigMaps/Secrets <name>-primary  data = the release's promotedConfigMaps/promotedSecrets
//   Deployment <app>-primary  template = the release's promotedTemplate, reading the -primary copies
//   CanaryFinalize <app>      after the primary is ready: post-rollout hooks, events (and the
//                             routes and canary scale again, which the release already set)
//   Services <app> (apex -> primary), <app>-primary, <app>-canary; Ingress <app> for nginx.
import { createHash } from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Alert } from "./canary/alerts/types";
import { AnalysisSpec } from "./canary/engine/types";
import { REVISION_ANNOTATION } from "./canary/kube/api";
import { ConfigRef, primaryCopyName, withPrimaryConfigRefs } from "./canary/kube/configRefs";
import { CanaryFinalize, CanaryRelease } from "./canary/provider/resource";
import { ConfigData, LinkerdRoute, MetricsServer, Routing } from "./canary/provider/types";

/** A pod template as plain values (what kubernetesx or a literal produces). */
export type PodTemplate = {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: Record<string, unknown>;
};

export interface CanaryAppArgs {
    /** Namespace of every object. */
    readonly namespace: string;
    /** Name of the app: <app>-primary, <app>-canary, Services and routing objects. Default: the component's name. */
    readonly appName?: string;
    /** The desired pod template; its `app` label is set per role. */
    readonly template: pulumi.Input<PodTemplate>;
    /** Service port, named "http". Default 9898. */
    readonly port?: number;
    /** Container port the Services target. Default: "http" (the named port). */
    readonly targetPort?: number | string;
    /** Replicas of the primary and of the canary under analysis. Default 2. */
    readonly replicas?: number;
    readonly routing: Routing;
    /** linkerd only. Default "httproute". */
    readonly linkerdRoute?: LinkerdRoute;
    /** nginx only: host of the app's Ingress. Default "app.example.com". */
    readonly host?: string;
    /** nginx only. Default "nginx". */
    readonly ingressClassName?: string;
    /** A secret Output when it holds secrets (a webhook URL with a token): state keeps it encrypted. */
    readonly analysis: pulumi.Input<AnalysisSpec>;
    readonly metricsServer: MetricsServer;
    /** A Prometheus Pushgateway the release's state goes to at every step (release metrics). Default none. */
    readonly pushgateway?: MetricsServer;
    /** Kubeconfig contents for the release's provider (kept secret). Default: the ambient kubeconfig. */
    readonly kubeconfig?: pulumi.Input<string>;
    /** Default: the kubeconfig's current context. */
    readonly kubeContext?: string;
    /** Retry a revision that already failed analysis. Default false. */
    readonly retry?: boolean;
    /** false: no release, the primary takes the template directly (baseline). Default true. */
    readonly releaseEnabled?: boolean;
    /**
     * ConfigMaps the template uses, name -> data, created here (config tracking, as Flagger's):
     * the canary reads them, the primary reads `<name>-primary` copies holding the data of the
     * last promoted revision. A change of the data alone starts a release. The Kubernetes
     * provider must have enableConfigMapMutable / enableSecretMutable (else it replaces a copy,
     * deleting it under the primary's pods). Default none.
     */
    readonly configMaps?: Record<string, pulumi.Input<Record<string, string>>>;
    /** Secrets the template uses, name -> stringData, tracked as configMaps; kept secret in state. Default none. */
    readonly secrets?: Record<string, pulumi.Input<Record<string, string>>>;
    /** How long finalization waits for the primary. Default 300 s. */
    readonly readyTimeoutSeconds?: number;
    /** Where the release's moments are sent; pass a secret Output (the addresses carry tokens). Default none. */
    readonly alerts?: pulumi.Input<Alert[]>;
}

/** Deterministic JSON (sorted keys) so the revision does not depend on key order. */
export function canonicalJson(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
    if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
    }
    return JSON.stringify(v);
}

/**
 * The revision of a template: sha256, first 16 hex digits. The data of tracked config is in it
 * through the template's CONFIG_CHECKSUM_ANNOTATION. (`data: []` keeps the revisions that
 * earlier versions computed, so an upgrade starts no release.)
 */
export function revisionOf(template: unknown): string {
    return createHash("sha256").update(canonicalJson({ template, data: [] })).digest("hex").slice(0, 16);
}

/**
 * Pod-template annotation with the checksum of the tracked data: a change of the data alone is
 * a new template, so the canary's pods and, once promoted, the primary's are replaced and read it.
 */
export const CONFIG_CHECKSUM_ANNOTATION = "canary.pulumi.com/config-checksum";

/** sha256 of the tracked data, first 16 hex digits. */
export function configChecksum(configMaps: ConfigData, secrets: ConfigData): string {
    return createHash("sha256").update(canonicalJson({ configMaps, secrets })).digest("hex").slice(0, 16);
}

/** The template with the checksum annotation on its pods. */
export function withConfigChecksum(template: PodTemplate, checksum: string): PodTemplate {
    const metadata = template.metadata ?? {};
    return { ...template, metadata: { ...metadata, annotations: { ...(metadata.annotations ?? {}), [CONFIG_CHECKSUM_ANNOTATION]: checksum } } };
}

/** The tracked objects of promoted data, to rewrite the promoted template with. */
export function trackedRefs(configMaps: ConfigData | undefined, secrets: ConfigData | undefined): ConfigRef[] {
    return [
        ...Object.keys(configMaps ?? {}).map((name) => ({ kind: "ConfigMap" as const, name })),
        ...Object.keys(secrets ?? {}).map((name) => ({ kind: "Secret" as const, name })),
    ];
}

/** The template with the role's selector label (`app: <app>-primary` or `<app>-canary`). */
export function withRole(template: PodTemplate, app: string, role: "primary" | "canary"): PodTemplate {
    const metadata = template.metadata ?? {};
    return {
        ...template,
        metadata: { ...metadata, labels: { ...(metadata.labels ?? {}), app: `${app}-${role}`, "app.kubernetes.io/name": app } },
    };
}

export class CanaryApp extends pulumi.ComponentResource {
    readonly appName: string;
    readonly canary?: k8s.apps.v1.Deployment;
    readonly primary: k8s.apps.v1.Deployment;
    readonly release?: CanaryRelease;
    readonly finalize?: CanaryFinalize;
    readonly services: { readonly apex: k8s.core.v1.Service; readonly primary: k8s.core.v1.Service; readonly canary: k8s.core.v1.Service };
    readonly ingress?: k8s.networking.v1.Ingress;
    /** Revision of the desired template. */
    readonly revision: pulumi.Output<string>;
    /** Phase this up leaves the release in: "Initialized", "Succeeded", or "Disabled" without a release. */
    readonly phase: pulumi.Output<string>;
    /** Traffic split read back from the routing objects at the end of this up. */
    readonly primaryWeight: pulumi.Output<number>;
    readonly canaryWeight: pulumi.Output<number>;

    constructor(name: string, args: CanaryAppArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("canary:app:CanaryApp", name, {}, opts);
        const app = args.appName ?? name;
        const ns = args.namespace;
        const port = args.port ?? 9898;
        const targetPort = args.targetPort ?? "http";
        const replicas = args.replicas ?? 2;
        const enabled = args.releaseEnabled ?? true;
        const parent = { parent: this };
        this.appName = app;

        const labels = (role?: string) => ({ "app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "pulumi", ...(role === undefined ? {} : { "app.kubernetes.io/component": role }) });
        const service = (svcName: string, selectorApp: string, role: string) => new k8s.core.v1.Service(svcName, {
            metadata: { name: svcName, namespace: ns, labels: labels(role) },
            spec: { type: "ClusterIP", selector: { app: selectorApp }, ports: [{ name: "http", port, targetPort, protocol: "TCP" }] },
        }, parent);
        this.services = {
            apex: service(app, `${app}-primary`, "apex"),
            primary: service(`${app}-primary`, `${app}-primary`, "primary"),
            canary: service(`${app}-canary`, `${app}-canary`, "canary"),
        };

        if (args.routing === "nginx") {
            this.ingress = new k8s.networking.v1.Ingress(app, {
                metadata: {
                    name: app, namespace: ns, labels: labels("ingress"),
                    // without a controller publishing a load balancer, Pulumi would wait forever
                    annotations: { "pulumi.com/skipAwait": "true" },
                },
                spec: {
                    ingressClassName: args.ingressClassName ?? "nginx",
                    rules: [{
                        host: args.host ?? "app.example.com",
                        http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: app, port: { number: port } } } }] },
                    }],
                },
            }, { ...parent, dependsOn: [this.services.apex] });
        }

        // tracked config: the originals, which the canary reads
        const configMaps = args.configMaps ?? {};
        const secrets = args.secrets ?? {};
        const tracking = Object.keys(configMaps).length + Object.keys(secrets).length > 0;
        const configMapData = pulumi.output(configMaps) as pulumi.Output<ConfigData>;
        const secretData = pulumi.secret(pulumi.output(secrets) as pulumi.Output<ConfigData>);
        const configObject = (objName: string, kind: "ConfigMap" | "Secret", data: pulumi.Input<Record<string, string>>, role: string): pulumi.CustomResource => {
            const metadata = { name: objName, namespace: ns, labels: labels(role) };
            return kind === "ConfigMap"
                ? new k8s.core.v1.ConfigMap(objName, { metadata, data }, parent)
                : new k8s.core.v1.Secret(objName, { metadata, type: "Opaque", stringData: pulumi.secret(data) }, parent);
        };
        const originals = [
            ...Object.entries(configMaps).map(([n, d]) => configObject(n, "ConfigMap", d, "config")),
            ...Object.entries(secrets).map(([n, d]) => configObject(n, "Secret", d, "config")),
        ];
        // the checksum of secret data is no secret (a hash), and must not make the template one
        const checksum = pulumi.unsecret(pulumi.all([configMapData, secretData]).apply(([c, sec]) => configChecksum(c, sec)));
        const canaryTemplate = pulumi.all([args.template, checksum]).apply(([t, sum]) =>
            withRole(tracking ? withConfigChecksum(t as PodTemplate, sum) : t as PodTemplate, app, "canary"));
        this.revision = pulumi.unsecret(canaryTemplate.apply((t) => revisionOf(t)));
        const deployment = (role: "primary" | "canary", template: pulumi.Input<PodTemplate>, count: number, extra: pulumi.CustomResourceOptions) =>
            new k8s.apps.v1.Deployment(`${app}-${role}`, {
                metadata: {
                    name: `${app}-${role}`, namespace: ns, labels: labels(role),
                    // the release scales the canary through the scale subresource; take the field back on apply.
                    // The revision tells the release which template the canary's pods run.
                    annotations: role === "canary" ? { "pulumi.com/patchForce": "true", [REVISION_ANNOTATION]: this.revision } : {},
                },
                spec: {
                    replicas: count,
                    selector: { matchLabels: { app: `${app}-${role}` } },
                    template: template as pulumi.Input<k8s.types.input.core.v1.PodTemplateSpec>,
                },
            }, { ...parent, ...extra, dependsOn: [...originals, ...((extra.dependsOn as pulumi.Resource[] | undefined) ?? [])] });

        if (!enabled) {
            // baseline without a release: the primary takes the template as is, config too
            this.primary = deployment("primary", canaryTemplate.apply((t) => withRole(t, app, "primary")), replicas, {});
            this.phase = pulumi.output("Disabled");
            this.primaryWeight = pulumi.output(100);
            this.canaryWeight = pulumi.output(0);
            this.registerOutputs({ revision: this.revision, phase: this.phase });
            return;
        }

        // replicas owned by the release: 0 when created, never reset by later applies
        this.canary = deployment("canary", canaryTemplate, 0, { ignoreChanges: ["spec.replicas"] });
        this.release = new CanaryRelease(`${app}-release`, {
            target: { name: app, namespace: ns },
            template: canaryTemplate as unknown as pulumi.Output<Record<string, unknown>>,
            revision: this.revision,
            ...(Object.keys(configMaps).length === 0 ? {} : { configMaps: configMapData }),
            ...(Object.keys(secrets).length === 0 ? {} : { secrets: secretData }),
            analysis: args.analysis,
            routing: args.routing,
            linkerdRoute: args.routing === "linkerd" ? args.linkerdRoute ?? "httproute" : undefined,
            ingressName: args.routing === "nginx" ? app : undefined,
            metricsServer: args.metricsServer,
            kubeconfig: args.kubeconfig,
            kubeContext: args.kubeContext,
            canaryReplicas: replicas,
            retry: args.retry ?? false,
            ...(args.alerts === undefined ? {} : { alerts: args.alerts }),
            ...(args.pushgateway === undefined ? {} : { pushgateway: args.pushgateway }),
        }, { ...parent, dependsOn: [this.canary, this.services.apex, this.services.primary, this.services.canary, ...(this.ingress === undefined ? [] : [this.ingress])] });

        // nothing reaches the primary without passing the release (invariant 2), its config
        // neither: the copies hold the promoted data, so a failed release leaves them as they were
        const release = this.release;
        const copies = [
            ...Object.keys(configMaps).map((n) => configObject(primaryCopyName(n), "ConfigMap", release.promotedConfigMaps.apply((m) => m?.[n] ?? {}), "primary-config")),
            ...Object.keys(secrets).map((n) => configObject(primaryCopyName(n), "Secret", release.promotedSecrets.apply((m) => m?.[n] ?? {}), "primary-config")),
        ];
        const promotedRefs = pulumi.unsecret(pulumi.all([release.promotedConfigMaps, release.promotedSecrets]).apply(([c, sec]) => trackedRefs(c, sec)));
        const promoted = pulumi.all([release.promotedTemplate, promotedRefs]).apply(([t, refs]) =>
            withRole(withPrimaryConfigRefs(t as unknown as PodTemplate, refs), app, "primary"));
        this.primary = deployment("primary", promoted, replicas, { dependsOn: copies });
        this.finalize = new CanaryFinalize(`${app}-finalize`, {
            target: { name: app, namespace: ns },
            revision: this.release.promotedRevision,
            phase: this.release.phase,
            routing: args.routing,
            linkerdRoute: args.routing === "linkerd" ? args.linkerdRoute ?? "httproute" : undefined,
            ingressName: args.routing === "nginx" ? app : undefined,
            analysis: args.analysis,
            kubeconfig: args.kubeconfig,
            kubeContext: args.kubeContext,
            readyTimeoutSeconds: args.readyTimeoutSeconds ?? 300,
            ...(args.alerts === undefined ? {} : { alerts: args.alerts }),
            ...(args.pushgateway === undefined ? {} : { pushgateway: args.pushgateway }),
        }, { ...parent, dependsOn: [this.primary] });
        // after finalization, not the release's promotion-time values (which still show the last canary weight)
        this.phase = this.finalize.finalPhase;
        this.primaryWeight = this.finalize.primaryWeight;
        this.canaryWeight = this.finalize.canaryWeight;
        this.registerOutputs({ revision: this.revision, phase: this.phase, primaryWeight: this.primaryWeight, canaryWeight: this.canaryWeight });
    }
}
