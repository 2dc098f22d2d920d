// Grafana by plain manifests, optional (canary:installGrafana): the stack's Prometheus as its
// datasource and the canary releases dashboard (canary/telemetry/dashboard.ts) provisioned from
// ConfigMaps, so nothing is clicked together by hand and a new dashboard version is an up.
import { createHash } from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { MeshProvider } from "./canary/metrics/templates";
import { DATASOURCE, releaseDashboard } from "./canary/telemetry/dashboard";

export interface GrafanaArgs {
    /** Default "monitoring" (beside Prometheus). */
    readonly namespace?: string;
    /** Prometheus as Grafana reaches it. Default http://prometheus.monitoring:9090. */
    readonly prometheusUrl?: string;
    /** Whose builtin queries the dashboard's success-rate and latency panels run. */
    readonly routing: MeshProvider;
    /** Default "grafana/grafana:11.3.0". */
    readonly image?: string;
    /** Create the namespace (when no Prometheus component created it). Default false. */
    readonly createNamespace?: boolean;
}

export const GRAFANA_IMAGE = "grafana/grafana:11.3.0";

/** The provisioning files: datasource, dashboard provider and the dashboard, by file name. */
export function grafanaProvisioning(routing: MeshProvider, prometheusUrl: string): { datasources: Record<string, string>; dashboards: Record<string, string> } {
    return {
        datasources: {
            "prometheus.yaml": YAML.stringify({ apiVersion: 1, datasources: [{ name: "Prometheus", type: DATASOURCE.type, uid: DATASOURCE.uid, access: "proxy", url: prometheusUrl, isDefault: true }] }),
        },
        dashboards: {
            "provider.yaml": YAML.stringify({ apiVersion: 1, providers: [{ name: "canary", folder: "Canary", type: "file", options: { path: "/var/lib/grafana/dashboards" } }] }),
            "canary-releases.json": JSON.stringify(releaseDashboard(routing), null, 2),
        },
    };
}

export class Grafana extends pulumi.ComponentResource {
    readonly deployment: k8s.apps.v1.Deployment;
    readonly service: k8s.core.v1.Service;

    constructor(name: string, args: GrafanaArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("canary:infra:Grafana", name, {}, opts);
        const ns = args.namespace ?? "monitoring";
        const labels = { app: "grafana" };
        const parent = { parent: this };
        const namespaced = args.createNamespace === true
            ? { ...parent, dependsOn: [new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: ns } }, parent)] }
            : parent;
        const files = grafanaProvisioning(args.routing, args.prometheusUrl ?? `http://prometheus.${ns}:9090`);
        const datasources = new k8s.core.v1.ConfigMap(`${name}-datasources`, { metadata: { name: "grafana-datasources", namespace: ns }, data: files.datasources }, namespaced);
        const dashboards = new k8s.core.v1.ConfigMap(`${name}-dashboards`, { metadata: { name: "grafana-dashboards", namespace: ns }, data: files.dashboards }, namespaced);
        const checksum = createHash("sha256").update(JSON.stringify(files)).digest("hex").slice(0, 16);
        this.deployment = new k8s.apps.v1.Deployment(name, {
            metadata: { name: "grafana", namespace: ns, labels },
            spec: {
                replicas: 1,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels, annotations: { "checksum/provisioning": checksum } },
                    spec: {
                        containers: [{
                            name: "grafana",
                            image: args.image ?? GRAFANA_IMAGE,
                            imagePullPolicy: "IfNotPresent",
                            ports: [{ name: "http", containerPort: 3000 }],
                            env: [{ name: "GF_AUTH_ANONYMOUS_ENABLED", value: "true" }, { name: "GF_AUTH_ANONYMOUS_ORG_ROLE", value: "Viewer" }],
                            readinessProbe: { httpGet: { path: "/api/health", port: "http" }, periodSeconds: 5 },
                            livenessProbe: { httpGet: { path: "/api/health", port: "http" }, periodSeconds: 10 },
                            resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                            volumeMounts: [
                                { name: "datasources", mountPath: "/etc/grafana/provisioning/datasources" },
                                { name: "dashboards", mountPath: "/etc/grafana/provisioning/dashboards" },
                                { name: "dashboard-files", mountPath: "/var/lib/grafana/dashboards" },
                            ],
                        }],
                        volumes: [
                            { name: "datasources", configMap: { name: datasources.metadata.name } },
                            { name: "dashboards", configMap: { name: dashboards.metadata.name, items: [{ key: "provider.yaml", path: "provider.yaml" }] } },
                            { name: "dashboard-files", configMap: { name: dashboards.metadata.name, items: [{ key: "canary-releases.json", path: "canary-releases.json" }] } },
                        ],
                    },
                },
            },
        }, namespaced);
        this.service = new k8s.core.v1.Service(name, {
            metadata: { name: "grafana", namespace: ns, labels },
            spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: 3000, targetPort: "http", protocol: "TCP" }] },
        }, namespaced);
        this.registerOutputs({});
    }
}
