// Linkerd by Helm: linkerd-crds (includes the Gateway API HTTPRoute CRD), the control plane
// with a trust anchor and issuer minted once (LinkerdCertificates), optionally linkerd-smi
// for TrafficSplit routing.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, ChartSource, DEFAULTS, helmChart } from "./config";
import { LinkerdCertificates, LinkerdCertsArgs } from "./linkerd/certs";

export interface LinkerdArgs {
    /** Default "linkerd". */
    readonly namespace?: string;
    /** linkerd-crds chart version from a repository. Default "1.8.0" (Linkerd stable-2.14). */
    readonly crdsVersion?: string;
    /** linkerd-control-plane chart version from a repository. Default "1.16.11" (Linkerd stable-2.14.10). */
    readonly controlPlaneVersion?: string;
    /** linkerd-crds and linkerd-control-plane: a Helm repository, or a folder holding both. Default { repository: "https://helm.linkerd.io/stable" }. */
    readonly charts?: ChartSource;
    /** Install linkerd-smi (TrafficSplit). Default false. */
    readonly smi?: boolean;
    /** linkerd-smi chart version from a repository. Default "1.0.4". */
    readonly smiVersion?: string;
    /** linkerd-smi: a Helm repository, or a folder holding linkerd-smi/. Default { repository: "https://linkerd.github.io/linkerd-smi" }. */
    readonly smiCharts?: ChartSource;
    /** Certificate names and validity. Defaults: see LinkerdCertsArgs. */
    readonly certs?: LinkerdCertsArgs;
}

export class Linkerd extends pulumi.ComponentResource {
    readonly namespace: k8s.core.v1.Namespace;
    readonly certs: LinkerdCertificates;
    readonly crds: k8s.helm.v3.Release;
    readonly controlPlane: k8s.helm.v3.Release;
    readonly smi?: k8s.helm.v3.Release;

    constructor(name: string, args: LinkerdArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        super("canary:infra:Linkerd", name, {}, opts);
        // a chart folder installs the version its Chart.yaml has; the versions are for a repository
        const charts = args.charts ?? { repository: DEFAULTS.linkerdCharts };
        const ns = args.namespace ?? "linkerd";
        this.namespace = new k8s.core.v1.Namespace(`${name}-ns`, {
            metadata: { name: ns, labels: { "linkerd.io/is-control-plane": "true", "config.linkerd.io/admission-webhooks": "disabled", "linkerd.io/control-plane-ns": ns } },
        }, { parent: this });
        this.certs = new LinkerdCertificates(`${name}-certs`, args.certs ?? {}, { parent: this });
        this.crds = new k8s.helm.v3.Release(`${name}-crds`, {
            name: "linkerd-crds", ...helmChart(charts, CHARTS.linkerdCrds, args.crdsVersion ?? "1.8.0"),
            namespace: this.namespace.metadata.name,
        }, { parent: this });
        this.controlPlane = new k8s.helm.v3.Release(`${name}-control-plane`, {
            name: "linkerd-control-plane", ...helmChart(charts, CHARTS.linkerdControlPlane, args.controlPlaneVersion ?? "1.16.11"),
            namespace: this.namespace.metadata.name,
            values: {
                identityTrustAnchorsPEM: this.certs.trustAnchorPEM,
                identity: { issuer: { tls: { crtPEM: this.certs.issuerCertPEM, keyPEM: this.certs.issuerKeyPEM } } },
            },
        }, { parent: this, dependsOn: [this.crds] });
        if (args.smi === true) {
            this.smi = new k8s.helm.v3.Release(`${name}-smi`, {
                name: "linkerd-smi", ...helmChart(args.smiCharts ?? { repository: DEFAULTS.linkerdSmiCharts }, CHARTS.linkerdSmi, args.smiVersion ?? "1.0.4"),
                namespace: "linkerd-smi", createNamespace: true,
            }, { parent: this, dependsOn: [this.controlPlane] });
        }
        this.registerOutputs({ trustAnchorPEM: this.certs.trustAnchorPEM });
    }
}
