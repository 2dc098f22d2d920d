// podinfo (github.com/stefanprodan/podinfo), the app of Flagger's walkthroughs, released
// through a CanaryApp. The pod spec is built with kubernetesx (kept inside this component).
import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import { CanaryApp, CanaryAppArgs, PodTemplate } from "./canaryApp";

export interface PodinfoArgs extends Omit<CanaryAppArgs, "template" | "port" | "targetPort"> {
    /** Default "ghcr.io/stefanprodan/podinfo:6.5.3". */
    readonly image?: string;
    /** HTTP port. Default 9898. */
    readonly httpPort?: number;
    /** Prometheus metrics port. Default 9797. */
    readonly metricsPort?: number;
    /** Container resources. Default requests 100m CPU / 64Mi, limits 1000m / 128Mi. */
    readonly resources?: { requests: Record<string, string>; limits: Record<string, string> };
    /** Extra pod annotations (e.g. `linkerd.io/inject: enabled`). Default none. */
    readonly podAnnotations?: Record<string, string>;
}

export const PODINFO_IMAGE = "ghcr.io/stefanprodan/podinfo:6.5.3";

/** podinfo's pod spec, as kubernetesx builds it (ports by name, probes, resources). */
export function podinfoPodSpec(image: string, httpPort: number, metricsPort: number, resources: NonNullable<PodinfoArgs["resources"]>): pulumi.Output<Record<string, unknown>> {
    const pb = new kx.PodBuilder({
        containers: [{
            name: "podinfod",
            image,
            imagePullPolicy: "IfNotPresent",
            ports: { http: httpPort, "http-metrics": metricsPort, grpc: 9999 },
            command: ["./podinfo", `--port=${httpPort}`, `--port-metrics=${metricsPort}`, "--grpc-port=9999", "--grpc-service-name=podinfo", "--level=info", "--random-delay=false", "--random-error=false"],
            env: { PODINFO_UI_COLOR: "#34577c" },
            livenessProbe: { exec: { command: ["podcli", "check", "http", `localhost:${httpPort}/healthz`] }, initialDelaySeconds: 5, timeoutSeconds: 5 },
            readinessProbe: { exec: { command: ["podcli", "check", "http", `localhost:${httpPort}/readyz`] }, initialDelaySeconds: 5, timeoutSeconds: 5 },
            resources,
        }],
    });
    return pb.podSpec as unknown as pulumi.Output<Record<string, unknown>>;
}

export class Podinfo extends pulumi.ComponentResource {
    readonly app: CanaryApp;
    readonly template: pulumi.Output<PodTemplate>;

    constructor(name: string, args: PodinfoArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("canary:app:Podinfo", name, {}, opts);
        const httpPort = args.httpPort ?? 9898;
        const metricsPort = args.metricsPort ?? 9797;
        const resources = args.resources ?? { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1000m", memory: "128Mi" } };
        const spec = podinfoPodSpec(args.image ?? PODINFO_IMAGE, httpPort, metricsPort, resources);
        this.template = spec.apply((s) => ({
            metadata: {
                labels: { "app.kubernetes.io/name": args.appName ?? name },
                annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(metricsPort), ...(args.podAnnotations ?? {}) },
            },
            spec: s,
        }));
        this.app = new CanaryApp(name, { ...args, template: this.template, port: httpPort, targetPort: "http" }, { parent: this });
        this.registerOutputs({ template: this.template, revision: this.app.revision, phase: this.app.phase });
    }
}
