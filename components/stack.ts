// The whole program as one function of the typed config, so that `index.ts` and an
// Automation API inline program (the e2e tier) run the same thing.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { contextFor, StackConfig } from "./config";
import { IngressNginx } from "./ingressNginx";
import { Istio } from "./istio";
import { Linkerd } from "./linkerd";
import { Loadtester } from "./loadtester";
import { Podinfo } from "./podinfo";
import { Grafana } from "./grafana";
import { Prometheus } from "./prometheus";

export interface StackOutputs {
    readonly namespace: string;
    readonly routing: string;
    /** Revision of podinfo's desired template. */
    readonly revision: pulumi.Output<string>;
    /** Release phase after this up ("Initialized", "Succeeded", "Disabled"). */
    readonly phase: pulumi.Output<string>;
    readonly primaryWeight: pulumi.Output<number>;
    readonly canaryWeight: pulumi.Output<number>;
    readonly loadtesterUrl?: string;
}

/** Pod annotations that put the app and the loadtester into the mesh. */
function meshAnnotations(cfg: StackConfig): Record<string, string> {
    switch (cfg.routing) {
        case "linkerd": return { "linkerd.io/inject": "enabled" };
        case "istio": return { "sidecar.istio.io/inject": "true" };
        case "nginx": return {};
    }
}

export function deployStack(cfg: StackConfig): StackOutputs {
    const context = contextFor(cfg);
    const provider = new k8s.Provider("k8s", {
        context,
        // tracked config is updated in place: by default the provider replaces a ConfigMap or
        // Secret whose data changes, and a fixed name means deleting it first, under the pods
        enableConfigMapMutable: true,
        enableSecretMutable: true,
        ...(cfg.kubeconfig === undefined ? {} : { kubeconfig: cfg.kubeconfig }),
    });
    const opts: pulumi.ComponentResourceOptions = { providers: { kubernetes: provider } };
    const infra: pulumi.Resource[] = [];
    if (cfg.infra.ingressNginx) infra.push(new IngressNginx("ingress-nginx", { charts: cfg.charts.ingressNginx }, opts));
    if (cfg.infra.prometheus) infra.push(new Prometheus("prometheus", {}, opts));
    const metricsServer = cfg.release.metricsServer;
    if (cfg.infra.grafana) {
        const prometheusUrl = "url" in metricsServer ? metricsServer.url : `http://${metricsServer.service}.${metricsServer.namespace}:${metricsServer.port}`;
        infra.push(new Grafana("grafana", { routing: cfg.routing, prometheusUrl, createNamespace: !cfg.infra.prometheus }, { ...opts, dependsOn: infra.slice() }));
    }
    if (cfg.infra.linkerd) infra.push(new Linkerd("linkerd", { smi: cfg.linkerdRoute === "smi", charts: cfg.charts.linkerd, smiCharts: cfg.charts.linkerdSmi }, opts));
    if (cfg.infra.istio) infra.push(new Istio("istio", { charts: cfg.charts.istio }, opts));

    const namespace = new k8s.core.v1.Namespace(cfg.namespace, {
        metadata: {
            name: cfg.namespace,
            ...(cfg.routing === "istio" ? { labels: { "istio-injection": "enabled" } } : {}),
            ...(cfg.routing === "linkerd" ? { annotations: { "linkerd.io/inject": "enabled" } } : {}),
        },
    }, { provider, dependsOn: infra });
    const appOpts: pulumi.ComponentResourceOptions = { ...opts, dependsOn: [namespace] };

    const loadtester = cfg.infra.loadtester
        ? new Loadtester("loadtester", { namespace: cfg.namespace, podAnnotations: meshAnnotations(cfg) }, appOpts)
        : undefined;

    const podinfo = new Podinfo(cfg.app.name, {
        namespace: cfg.namespace,
        appName: cfg.app.name,
        image: cfg.app.image,
        replicas: cfg.app.replicas,
        host: cfg.app.host,
        env: cfg.app.env,
        ...(cfg.app.secretEnv === undefined ? {} : { secretEnv: cfg.app.secretEnv }),
        routing: cfg.routing,
        linkerdRoute: cfg.linkerdRoute,
        analysis: cfg.release.secretAnalysis ? pulumi.secret(cfg.release.analysis) : cfg.release.analysis,
        metricsServer,
        ...(cfg.release.pushgateway === undefined ? {} : { pushgateway: cfg.release.pushgateway }),
        kubeconfig: cfg.kubeconfig,
        kubeContext: context,
        retry: cfg.release.retry,
        ...(cfg.release.alerts === undefined ? {} : { alerts: cfg.release.alerts }),
        releaseEnabled: cfg.release.enabled,
        podAnnotations: meshAnnotations(cfg),
    }, { ...appOpts, dependsOn: [namespace, ...(loadtester === undefined ? [] : [loadtester])] });

    return {
        namespace: cfg.namespace,
        routing: cfg.routing,
        revision: podinfo.app.revision,
        phase: podinfo.app.phase,
        primaryWeight: podinfo.app.primaryWeight,
        canaryWeight: podinfo.app.canaryWeight,
        loadtesterUrl: loadtester?.url,
    };
}
