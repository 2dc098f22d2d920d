// Prometheus by plain manifests (no chart to fetch): one Deployment, a Service
// `prometheus:9090` in `monitoring`, RBAC for pod discovery, and a scrape config for
// ingress-nginx, Linkerd proxies, Istio sidecars and annotated app pods. The scrape interval
// is short (5s) so a 1m analysis window holds enough samples. Beside it a Pushgateway
// (`pushgateway:9091`), where releases push their state, and the alert rules over that state
// (CanaryFailed, CanaryStuck).
import { createHash } from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { releaseAlertRules } from "./canary/telemetry/alertRules";

export interface PrometheusArgs {
    /** Default "monitoring". */
    readonly namespace?: string;
    /** Default "prom/prometheus:v2.53.2". */
    readonly image?: string;
    /** Default "5s". */
    readonly scrapeInterval?: string;
    /** Default "2h" (analysis looks minutes back). */
    readonly retention?: string;
    /** Install the Pushgateway releases push their state to, and the alert rules over it. Default true. */
    readonly pushgateway?: boolean;
    /** Default "prom/pushgateway:v1.9.0". */
    readonly pushgatewayImage?: string;
    /** CanaryStuck fires for a running release with no transition for this long. Default "15m". */
    readonly stuckAfter?: string;
}

export const PROMETHEUS_IMAGE = "prom/prometheus:v2.53.2";
export const PUSHGATEWAY_IMAGE = "prom/pushgateway:v1.9.0";
/** The rules file beside prometheus.yml in the ConfigMap. */
export const RULES_FILE = "canary-rules.yml";

/** Keep pods annotated prometheus.io/scrape=true, scraping prometheus.io/port and /path. */
const annotatedPods = [
    { source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], action: "keep", regex: "true" },
    { source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_path"], action: "replace", target_label: "__metrics_path__", regex: "(.+)" },
    { source_labels: ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"], action: "replace", regex: "([^:]+)(?::\\d+)?;(\\d+)", replacement: "$1:$2", target_label: "__address__" },
    { source_labels: ["__meta_kubernetes_namespace"], action: "replace", target_label: "namespace" },
    { source_labels: ["__meta_kubernetes_pod_name"], action: "replace", target_label: "pod" },
];

/**
 * The prometheus.yml: jobs for ingress-nginx, Linkerd, Istio and app pods; with a Pushgateway
 * (host:port), its job (honor_labels: the pushed app and namespace labels win) and the rules.
 */
export function prometheusConfig(scrapeInterval: string, pushgateway?: string): Record<string, unknown> {
    const releases = pushgateway === undefined ? [] : [{ job_name: "pushgateway", honor_labels: true, static_configs: [{ targets: [pushgateway] }] }];
    return {
        global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
        ...(pushgateway === undefined ? {} : { rule_files: [`/etc/prometheus/${RULES_FILE}`] }),
        scrape_configs: [
            ...releases,
            {
                // the controller's metrics port; series carry ingress, namespace, canary labels
                job_name: "ingress-nginx",
                kubernetes_sd_configs: [{ role: "pod" }],
                relabel_configs: [
                    { source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], action: "keep", regex: "ingress-nginx" },
                    ...annotatedPods,
                ],
            },
            {
                // Linkerd proxies (Flagger's linkerd-prometheus job): response_total, response_latency_ms
                job_name: "linkerd-proxy",
                kubernetes_sd_configs: [{ role: "pod" }],
                relabel_configs: [
                    { source_labels: ["__meta_kubernetes_pod_container_name", "__meta_kubernetes_pod_container_port_name", "__meta_kubernetes_pod_label_linkerd_io_control_plane_ns"], action: "keep", regex: "^linkerd-proxy;linkerd-admin;linkerd$" },
                    { source_labels: ["__meta_kubernetes_namespace"], action: "replace", target_label: "namespace" },
                    { source_labels: ["__meta_kubernetes_pod_name"], action: "replace", target_label: "pod" },
                    { action: "labelmap", regex: "__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)" },
                    { action: "labelmap", regex: "__meta_kubernetes_pod_label_(.+)" },
                ],
            },
            {
                // Istio sidecars: istio_requests_total, istio_request_duration_milliseconds
                job_name: "istio-envoy",
                metrics_path: "/stats/prometheus",
                kubernetes_sd_configs: [{ role: "pod" }],
                relabel_configs: [
                    { source_labels: ["__meta_kubernetes_pod_container_port_name"], action: "keep", regex: ".*-envoy-prom" },
                    { source_labels: ["__meta_kubernetes_namespace"], action: "replace", target_label: "namespace" },
                    { source_labels: ["__meta_kubernetes_pod_name"], action: "replace", target_label: "pod" },
                ],
            },
            {
                // app pods (podinfo, the loadtester), except the jobs above
                job_name: "kubernetes-pods",
                kubernetes_sd_configs: [{ role: "pod" }],
                relabel_configs: [
                    { source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], action: "drop", regex: "ingress-nginx" },
                    ...annotatedPods,
                ],
            },
        ],
    };
}

export class Prometheus extends pulumi.ComponentResource {
    readonly namespace: k8s.core.v1.Namespace;
    readonly deployment: k8s.apps.v1.Deployment;
    readonly service: k8s.core.v1.Service;
    /** Where the release reaches it through the API server's service proxy. */
    readonly server: { readonly service: string; readonly namespace: string; readonly port: number };
    /** The Pushgateway's Deployment and Service, unless switched off. */
    readonly pushgateway?: { readonly deployment: k8s.apps.v1.Deployment; readonly service: k8s.core.v1.Service };

    constructor(name: string, args: PrometheusArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        super("canary:infra:Prometheus", name, {}, opts);
        const ns = args.namespace ?? "monitoring";
        const labels = { app: "prometheus" };
        const parent = { parent: this };
        this.namespace = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: ns } }, parent);
        const sa = new k8s.core.v1.ServiceAccount(name, { metadata: { name: "prometheus", namespace: ns } }, { ...parent, dependsOn: [this.namespace] });
        const role = new k8s.rbac.v1.ClusterRole(name, {
            metadata: { name: `prometheus-${ns}` },
            rules: [
                { apiGroups: [""], resources: ["nodes", "nodes/metrics", "services", "endpoints", "pods"], verbs: ["get", "list", "watch"] },
                { nonResourceURLs: ["/metrics"], verbs: ["get"] },
            ],
        }, parent);
        new k8s.rbac.v1.ClusterRoleBinding(name, {
            metadata: { name: `prometheus-${ns}` },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: ns }],
        }, parent);
        const withPushgateway = args.pushgateway ?? true;
        const pushgatewayTarget = withPushgateway ? `pushgateway.${ns}:9091` : undefined;
        const config = new k8s.core.v1.ConfigMap(name, {
            metadata: { name: "prometheus", namespace: ns },
            data: {
                "prometheus.yml": JSON.stringify(prometheusConfig(args.scrapeInterval ?? "5s", pushgatewayTarget), null, 2),
                ...(withPushgateway ? { [RULES_FILE]: YAML.stringify(releaseAlertRules({ stuckAfter: args.stuckAfter ?? "15m" })) } : {}),
            },
        }, { ...parent, dependsOn: [this.namespace] });
        this.deployment = new k8s.apps.v1.Deployment(name, {
            metadata: { name: "prometheus", namespace: ns, labels },
            spec: {
                replicas: 1,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels, annotations: { "checksum/config": config.data.apply((d) => createHash("sha256").update(JSON.stringify(d)).digest("hex").slice(0, 16)) } },
                    spec: {
                        serviceAccountName: sa.metadata.name,
                        containers: [{
                            name: "prometheus",
                            image: args.image ?? PROMETHEUS_IMAGE,
                            imagePullPolicy: "IfNotPresent",
                            args: ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", `--storage.tsdb.retention.time=${args.retention ?? "2h"}`, "--web.enable-lifecycle"],
                            ports: [{ name: "http", containerPort: 9090 }],
                            readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 5 },
                            livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, periodSeconds: 10 },
                            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
                            volumeMounts: [{ name: "config", mountPath: "/etc/prometheus" }, { name: "data", mountPath: "/prometheus" }],
                        }],
                        volumes: [{ name: "config", configMap: { name: config.metadata.name } }, { name: "data", emptyDir: {} }],
                    },
                },
            },
        }, parent);
        this.service = new k8s.core.v1.Service(name, {
            metadata: { name: "prometheus", namespace: ns, labels },
            spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: 9090, targetPort: "http", protocol: "TCP" }] },
        }, { ...parent, dependsOn: [this.namespace] });
        this.server = { service: "prometheus", namespace: ns, port: 9090 };
        if (withPushgateway) this.pushgateway = pushgatewayResources(ns, args.pushgatewayImage ?? PUSHGATEWAY_IMAGE, { ...parent, dependsOn: [this.namespace] });
        this.registerOutputs({ server: this.server });
    }
}

/** A Pushgateway: releases push their state here (a batch job's last value outlives it), Prometheus scrapes it. */
function pushgatewayResources(ns: string, image: string, opts: pulumi.CustomResourceOptions): { deployment: k8s.apps.v1.Deployment; service: k8s.core.v1.Service } {
    const labels = { app: "pushgateway" };
    const deployment = new k8s.apps.v1.Deployment("pushgateway", {
        metadata: { name: "pushgateway", namespace: ns, labels },
        spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
                metadata: { labels },
                spec: {
                    containers: [{
                        name: "pushgateway",
                        image,
                        imagePullPolicy: "IfNotPresent",
                        ports: [{ name: "http", containerPort: 9091 }],
                        readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 5 },
                        livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, periodSeconds: 10 },
                        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                    }],
                },
            },
        },
    }, opts);
    const service = new k8s.core.v1.Service("pushgateway", {
        metadata: { name: "pushgateway", namespace: ns, labels },
        spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: 9091, targetPort: "http", protocol: "TCP" }] },
    }, opts);
    return { deployment, service };
}
