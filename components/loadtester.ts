// The Flagger loadtester (github.com/fluxcd/flagger/kustomize/tester): runs hey, curl and
// bash commands posted by webhooks, answers 200 when the command succeeds.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface LoadtesterArgs {
    readonly namespace: string;
    /** Default "ghcr.io/fluxcd/flagger-loadtester:0.31.0". */
    readonly image?: string;
    /** Default 1. */
    readonly replicas?: number;
    /** Extra pod annotations (e.g. mesh injection). Default none. */
    readonly podAnnotations?: Record<string, string>;
}

export const LOADTESTER_IMAGE = "ghcr.io/fluxcd/flagger-loadtester:0.31.0";

export class Loadtester extends pulumi.ComponentResource {
    readonly deployment: k8s.apps.v1.Deployment;
    readonly service: k8s.core.v1.Service;
    /** The URL webhooks use: http://flagger-loadtester.<namespace>/ */
    readonly url: string;

    constructor(name: string, args: LoadtesterArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("canary:infra:Loadtester", name, {}, opts);
        const labels = { app: "flagger-loadtester" };
        const probe = { exec: { command: ["wget", "--quiet", "--tries=1", "--timeout=4", "--spider", "http://localhost:8080/healthz"] }, timeoutSeconds: 5 };
        this.deployment = new k8s.apps.v1.Deployment(name, {
            metadata: { name: "flagger-loadtester", namespace: args.namespace, labels },
            spec: {
                replicas: args.replicas ?? 1,
                selector: { matchLabels: labels },
                template: {
                    metadata: { labels, annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "8080", ...(args.podAnnotations ?? {}) } },
                    spec: {
                        containers: [{
                            name: "loadtester",
                            image: args.image ?? LOADTESTER_IMAGE,
                            imagePullPolicy: "IfNotPresent",
                            ports: [{ name: "http", containerPort: 8080 }],
                            command: ["./loadtester", "-port=8080", "-log-level=info", "-timeout=1h"],
                            livenessProbe: probe,
                            readinessProbe: probe,
                            resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { cpu: "1000m", memory: "512Mi" } },
                            securityContext: { readOnlyRootFilesystem: true, runAsUser: 10001 },
                        }],
                    },
                },
            },
        }, { parent: this });
        this.service = new k8s.core.v1.Service(name, {
            metadata: { name: "flagger-loadtester", namespace: args.namespace, labels },
            spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: "http" }] },
        }, { parent: this });
        this.url = `http://flagger-loadtester.${args.namespace}/`;
        this.registerOutputs({ url: this.url });
    }
}
