// Istio by Helm: the base chart (CRDs) and istiod, in istio-system.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, ChartSource, DEFAULTS, helmChart } from "./config";

export interface IstioArgs {
    /** Default "istio-system". */
    readonly namespace?: string;
    /** Chart version of base and istiod from a repository. Default "1.22.3". A chart folder installs the versions their Chart.yaml have. */
    readonly version?: string;
    /** A Helm repository, or a folder holding istio-base/ (the base chart) and istiod/. Default { repository: "https://istio-release.storage.googleapis.com/charts" }. */
    readonly charts?: ChartSource;
    /** Extra istiod values, merged last. Default none. */
    readonly istiodValues?: Record<string, unknown>;
}

export class Istio extends pulumi.ComponentResource {
    readonly namespace: k8s.core.v1.Namespace;
    readonly base: k8s.helm.v3.Release;
    readonly istiod: k8s.helm.v3.Release;

    constructor(name: string, args: IstioArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        super("canary:infra:Istio", name, {}, opts);
        const version = args.version ?? "1.22.3";
        const charts = args.charts ?? { repository: DEFAULTS.istioCharts };
        this.namespace = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: args.namespace ?? "istio-system" } }, { parent: this });
        this.base = new k8s.helm.v3.Release(`${name}-base`, {
            name: "istio-base", ...helmChart(charts, CHARTS.istioBase, version),
            namespace: this.namespace.metadata.name,
            values: { defaultRevision: "default" },
        }, { parent: this });
        this.istiod = new k8s.helm.v3.Release(`${name}-istiod`, {
            name: "istiod", ...helmChart(charts, CHARTS.istiod, version),
            namespace: this.namespace.metadata.name,
            // Prometheus scrapes the sidecars' merged metrics (prometheus.io annotations)
            values: { meshConfig: { enablePrometheusMerge: true }, pilot: { resources: { requests: { cpu: "100m", memory: "256Mi" } } }, ...(args.istiodValues ?? {}) },
        }, { parent: this, dependsOn: [this.base] });
        this.registerOutputs({});
    }
}
