// podinfo (github.com/stefanprodan/podinfo), the app of Flagger's walkthroughs, released
// through a CanaryApp. The pod spec is built with kubernetesx (kept inside this component).
import * as k8s from "@pulumi/kubernetes";
import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import { CanaryApp, CanaryAppArgs, PodTemplate } from "./canaryApp";

export interface PodinfoArgs extends Omit<CanaryAppArgs, "template" | "port" | "targetPort" | "configMaps" | "secrets"> {
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
    /** Environment from the ConfigMap `<app>-config` (e.g. PODINFO_UI_MESSAGE), tracked. Default none. */
    readonly env?: Record<string, string>;
    /** Environment from the Secret `<app>-secrets`, tracked; pass a secret Output. Default none. */
    readonly secretEnv?: pulumi.Input<Record<string, string>>;
}

export const PODINFO_IMAGE = "ghcr.io/stefanprodan/podinfo:6.5.3";

/** podinfo's pod spec, as kubernetesx builds it (ports by name, probes, resources). */
export function podinfoPodSpec(image: string, httpPort: number, metricsPort: number, resources: NonNullable<PodinfoArgs["resources"]>,
    envFrom: k8s.types.input.core.v1.EnvFromSource[] = []): pulumi.Output<Record<string, unknown>> {
    const pb = new kx.PodBuilder({
        containers: [{
            name: "podinfod",
            image,
            imagePullPolicy: "IfNotPresent",
            ports: { http: httpPort, "http-metrics": metricsPort, grpc: 9999 },
            command: ["./podinfo", `--port=${httpPort}`, `--port-metrics=${metricsPort}`, "--grpc-port=9999", "--grpc-service-name=podinfo", "--level=info", "--random-delay=false", "--random-error=false"],
            env: { PODINFO_UI_COLOR: "#34577c" },
            ...(envFrom.length === 0 ? {} : { envFrom }),
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
        const { env, secretEnv, ...appArgs } = args;
        const app = args.appName ?? name;
        const configMaps = env === undefined || Object.keys(env).length === 0 ? {} : { [`${app}-config`]: env };
        const secrets = secretEnv === undefined ? {} : { [`${app}-secrets`]: secretEnv };
        const envFrom = [
            ...Object.keys(configMaps).map((n) => ({ configMapRef: { name: n } })),
            ...Object.keys(secrets).map((n) => ({ secretRef: { name: n } })),
        ];
        const spec = podinfoPodSpec(args.image ?? PODINFO_IMAGE, httpPort, metricsPort, resources, envFrom);
        this.template = spec.apply((s) => ({
            metadata: {
                labels: { "app.kubernetes.io/name": app },
                annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(metricsPort), ...(args.podAnnotations ?? {}) },
            },
            spec: s,
        }));
        this.app = new CanaryApp(name, { ...appArgs, template: this.template, port: httpPort, targetPort: "http", configMaps, secrets }, { parent: this });
        this.registerOutputs({ template: this.template, revision: this.app.revision, phase: this.app.phase });
    }
}
