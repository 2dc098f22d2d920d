// ingress-nginx by Helm, with its Prometheus metrics on and scrape annotations on the
// controller pods (the nginx builtin queries read nginx_ingress_controller_* series).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHARTS, ChartSource, DEFAULTS, helmChart } from "./config";

export interface IngressNginxArgs {
    /** Default "ingress-nginx". */
    readonly namespace?: string;
    /** Chart version from a repository. Default "4.11.3" (controller v1.11.3). A chart folder installs the version its Chart.yaml has. */
    readonly chartVersion?: string;
    /** A Helm repository, or a folder holding ingress-nginx/. Default { repository: "https://kubernetes.github.io/ingress-nginx" }. */
    readonly charts?: ChartSource;
    /** Service type of the controller. Default "NodePort" (kind and minikube have no load balancer). */
    readonly serviceType?: string;
    /** kind: bind ports 80/443 on the node labelled ingress-ready=true. Default false. */
    readonly hostPort?: boolean;
    /** Extra chart values, merged last. Default none. */
    readonly values?: Record<string, unknown>;
}

export const INGRESS_NGINX_METRICS_PORT = 10254;

/** The chart values: metrics enabled, scrape annotations, the service type. */
export function ingressNginxValues(args: IngressNginxArgs): Record<string, unknown> {
    return {
        controller: {
            metrics: { enabled: true, port: INGRESS_NGINX_METRICS_PORT },
            podAnnotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(INGRESS_NGINX_METRICS_PORT) },
            service: { type: args.serviceType ?? "NodePort" },
            hostPort: { enabled: args.hostPort ?? false },
            ...(args.hostPort === true ? { nodeSelector: { "ingress-ready": "true" }, tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Equal", effect: "NoSchedule" }] } : {}),
            admissionWebhooks: { enabled: false },
            ingressClassResource: { name: "nginx", default: true },
        },
        ...(args.values ?? {}),
    };
}

export class IngressNginx extends pulumi.ComponentResource {
    readonly namespace: k8s.core.v1.Namespace;
    readonly release: k8s.helm.v3.Release;
    /** In-cluster address of the controller (for load-test hooks). */
    readonly controllerUrl: pulumi.Output<string>;

    constructor(name: string, args: IngressNginxArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        super("canary:infra:IngressNginx", name, {}, opts);
        const ns = args.namespace ?? "ingress-nginx";
        this.namespace = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: ns } }, { parent: this });
        this.release = new k8s.helm.v3.Release(name, {
            name: "ingress-nginx",
            ...helmChart(args.charts ?? { repository: DEFAULTS.ingressNginxCharts }, CHARTS.ingressNginx, args.chartVersion ?? "4.11.3"),
            namespace: this.namespace.metadata.name,
            values: ingressNginxValues(args),
        }, { parent: this });
        this.controllerUrl = pulumi.interpolate`http://ingress-nginx-controller.${this.namespace.metadata.name}`;
        this.registerOutputs({ controllerUrl: this.controllerUrl });
    }
}
