// The bench's baseline: the e2e release stack (test/fixtures/release-stack/program.ts) with the
// release switched off, as CanaryApp does for `releaseEnabled: false` (components/canaryApp.ts):
// the same Namespace, Services, Ingress and pod template, and a primary Deployment that takes
// the template directly; no canary Deployment, no CanaryRelease, no CanaryFinalize.
//
// It lives here because releaseProgram() has no switch for it; once it has one, bench.ts uses
// that and this file goes.
import * as pulumi from "@pulumi/pulumi";
import { PodTemplate, withRole } from "../../components/canaryApp";
import { podinfoPodSpec } from "../../components/podinfo";
import { KubeApply } from "../../test/fixtures/release-stack/kube-apply";
import { APP, HOST, PORT, REPLICAS, ReleaseProgramOptions } from "../../test/fixtures/release-stack/program";

export function releaseOffProgram(opts: Pick<ReleaseProgramOptions, "kubeconfig" | "namespace" | "image" | "replicas">): () => Promise<Record<string, unknown>> {
    return async () => {
        const kubeconfig = pulumi.secret(opts.kubeconfig);
        const ns = opts.namespace;
        const app = APP;
        const replicas = opts.replicas ?? REPLICAS;

        const namespace = new KubeApply(ns, { kind: "Namespace", kubeconfig, manifest: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } });
        const component = new pulumi.ComponentResource("canary:app:CanaryApp", app, {}, { dependsOn: [namespace] });
        const parent = { parent: component };
        const labels = (role?: string) => ({ "app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "pulumi", ...(role === undefined ? {} : { "app.kubernetes.io/component": role }) });
        const service = (svcName: string, selectorApp: string, role: string) => new KubeApply(svcName, {
            kind: "Service",
            kubeconfig,
            manifest: {
                apiVersion: "v1", kind: "Service",
                metadata: { name: svcName, namespace: ns, labels: labels(role) },
                spec: { type: "ClusterIP", selector: { app: selectorApp }, ports: [{ name: "http", port: PORT, targetPort: "http", protocol: "TCP" }] },
            },
        }, parent);
        const apex = service(app, `${app}-primary`, "apex");
        service(`${app}-primary`, `${app}-primary`, "primary");
        service(`${app}-canary`, `${app}-canary`, "canary");
        new KubeApply(app, {
            kind: "Ingress",
            kubeconfig,
            manifest: {
                apiVersion: "networking.k8s.io/v1", kind: "Ingress",
                metadata: { name: app, namespace: ns, labels: labels("ingress"), annotations: { "pulumi.com/skipAwait": "true" } },
                spec: {
                    ingressClassName: "nginx",
                    rules: [{ host: HOST, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: app, port: { number: PORT } } } }] } }],
                },
            },
        }, { ...parent, dependsOn: [apex] });

        const template: pulumi.Output<PodTemplate> = podinfoPodSpec(opts.image, PORT, 9797, { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1000m", memory: "128Mi" } })
            .apply((s) => ({
                metadata: { labels: { "app.kubernetes.io/name": app }, annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "9797" } },
                spec: s,
            }));
        // baseline without a release: the primary takes the template as is
        const primaryTemplate = template.apply((t) => withRole(withRole(t, app, "canary"), app, "primary"));
        new KubeApply(`${app}-primary`, {
            kind: "Deployment",
            kubeconfig,
            waitForAvailable: true,
            keepLiveReplicas: false,
            manifest: primaryTemplate.apply((t) => ({
                apiVersion: "apps/v1", kind: "Deployment",
                metadata: { name: `${app}-primary`, namespace: ns, labels: labels("primary"), annotations: {} },
                spec: { replicas, selector: { matchLabels: { app: `${app}-primary` } }, template: t },
            })),
        }, parent);
        return { namespace: ns, phase: "Disabled" };
    };
}
