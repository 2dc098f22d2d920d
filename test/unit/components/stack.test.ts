// Every component under Pulumi mocks: names, labels, ports, annotations, parents, secrets.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";

interface Registered { type: string; name: string; inputs: Record<string, any> } // eslint-disable-line @typescript-eslint/no-explicit-any
let registered: Registered[] = [];
/** What the mocked release reports as promoted config; undefined: its inputs (a promotion). */
let promotedConfig: { configMaps: unknown; secrets: unknown } | undefined;

void pulumi.runtime.setMocks({
    newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const outs: Record<string, unknown> = { ...args.inputs };
        if (args.type === "pulumi-nodejs:dynamic/canary:CanaryRelease") {
            Object.assign(outs, {
                phase: "Initialized", promotedRevision: args.inputs.revision, promotedTemplate: args.inputs.template, primaryWeight: 100, canaryWeight: 0,
                promotedConfigMaps: promotedConfig?.configMaps ?? args.inputs.configMaps ?? {}, promotedSecrets: promotedConfig?.secrets ?? args.inputs.secrets ?? {},
            });
        }
        if (args.type === "pulumi-nodejs:dynamic/canary:CanaryFinalize") {
            Object.assign(outs, { finalPhase: args.inputs.phase, message: "", primaryWeight: 100, canaryWeight: 0 });
        }
        if (args.type === "pulumi-nodejs:dynamic/canary:LinkerdCertificates") {
            Object.assign(outs, { trustAnchorPEM: "ROOT-PEM", trustAnchorKeyPEM: "ROOT-KEY", issuerCertPEM: "ISSUER-PEM", issuerKeyPEM: "ISSUER-KEY" });
        }
        return { id: `${args.name}-id`, state: outs };
    },
    call: (args) => args.inputs,
}, "canary", "unit", false);

// modules under test after setMocks
import { CONFIG_CHECKSUM_ANNOTATION, configChecksum, revisionOf, withConfigChecksum, withRole } from "../../../components/canaryApp";
import { ConfigSource, readStackConfig, StackConfig } from "../../../components/config";
import { deployStack } from "../../../components/stack";
import { Podinfo } from "../../../components/podinfo";

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

/** Config as pulumi.Config gives it; the kubeconfig, when given, was set with --secret. */
function source(values: Record<string, unknown>, kubeconfig?: string): ConfigSource {
    const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
    const get = (k: string) => (k === "kubeconfig" && kubeconfig !== undefined ? kubeconfig : values[k] === undefined ? undefined : text(values[k]));
    return {
        get,
        getObject: <T>(k: string) => (values[k] === undefined ? undefined : (JSON.parse(text(values[k])) as T)),
        getSecret: (k) => {
            const v = get(k);
            return v === undefined ? undefined : pulumi.secret(v);
        },
        isSecret: (k) => k === "kubeconfig" && kubeconfig !== undefined,
        keys: () => [...Object.keys(values), ...(kubeconfig === undefined ? [] : ["kubeconfig"])],
    };
}

const walkthrough = {
    analysis: {
        interval: "30s", threshold: 5, maxWeight: 50, stepWeight: 10,
        webhooks: [{ name: "acceptance-test", type: "pre-rollout", url: "http://flagger-loadtester.test/", timeout: "30s", metadata: { type: "bash", cmd: "curl" } }],
    },
};

/** Lets the mocked registrations settle. */
async function settle(outputs: { phase: pulumi.Output<string>; revision: pulumi.Output<string> }): Promise<void> {
    await promiseOf(outputs.phase);
    await promiseOf(outputs.revision);
    await new Promise((r) => setTimeout(r, 50));
}

/** A value the mock monitor received as a secret (Pulumi's secret signature), unwrapped; fails when it was plain. */
function secretValue(v: unknown): unknown {
    const o = v as Record<string, unknown>;
    assert.equal(o?.[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig, `not a secret: ${JSON.stringify(v)}`);
    return o.value;
}

const one = (type: string, name: string) => {
    const found = registered.filter((r) => r.type === type && r.name === name);
    assert.equal(found.length, 1, `${type} ${name}: registered ${found.length} times; have ${registered.map((r) => `${r.type} ${r.name}`).join(", ")}`);
    return found[0].inputs;
};

describe("deployStack (nginx walkthrough)", () => {
    let cfg: StackConfig;
    let out: ReturnType<typeof deployStack>;
    before(async () => {
        registered = [];
        cfg = readStackConfig(source(walkthrough, "apiVersion: v1\nkind: Config\n"));
        out = deployStack(cfg);
        await settle(out);
    });

    it("uses one Kubernetes provider on the kind context, with the kubeconfig", () => {
        const p = one("pulumi:providers:kubernetes", "k8s");
        assert.equal(p.context, "kind-kind");
        // provider inputs reach the mock as strings
        assert.deepEqual([p.enableConfigMapMutable, p.enableSecretMutable], ["true", "true"]);
        assert.equal(JSON.stringify(p.kubeconfig).includes("kind: Config"), true, JSON.stringify(p.kubeconfig));
    });

    it("canary Deployment: desired template, 0 replicas owned by the release, podinfo ports and probes", () => {
        const d = one("kubernetes:apps/v1:Deployment", "podinfo-canary");
        assert.equal(d.metadata.name, "podinfo-canary");
        assert.equal(d.metadata.namespace, "test");
        assert.equal(d.metadata.annotations["pulumi.com/patchForce"], "true");
        assert.equal(d.spec.replicas, 0);
        assert.deepEqual(d.spec.selector, { matchLabels: { app: "podinfo-canary" } });
        assert.deepEqual(d.spec.template.metadata.labels, { "app.kubernetes.io/name": "podinfo", app: "podinfo-canary" });
        assert.deepEqual(d.spec.template.metadata.annotations, {
            "prometheus.io/scrape": "true", "prometheus.io/port": "9797",
            [CONFIG_CHECKSUM_ANNOTATION]: configChecksum({ "podinfo-config": { PODINFO_UI_MESSAGE: "greetings from podinfo" } }, {}),
        });
        const c = d.spec.template.spec.containers[0];
        assert.equal(c.image, "ghcr.io/stefanprodan/podinfo:6.5.3");
        assert.deepEqual(c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]), [["http", 9898], ["http-metrics", 9797], ["grpc", 9999]]);
        assert.deepEqual(c.readinessProbe.exec.command, ["podcli", "check", "http", "localhost:9898/readyz"]);
        assert.deepEqual(c.livenessProbe.exec.command, ["podcli", "check", "http", "localhost:9898/healthz"]);
        assert.deepEqual(c.resources, { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1000m", memory: "128Mi" } });
    });

    it("primary Deployment takes the release's promoted template with the primary label", () => {
        const d = one("kubernetes:apps/v1:Deployment", "podinfo-primary");
        assert.equal(d.spec.replicas, 2);
        assert.deepEqual(d.spec.selector, { matchLabels: { app: "podinfo-primary" } });
        assert.equal(d.spec.template.metadata.labels.app, "podinfo-primary");
        assert.equal(d.spec.template.spec.containers[0].image, "ghcr.io/stefanprodan/podinfo:6.5.3");
        assert.equal(d.metadata.annotations["pulumi.com/patchForce"], undefined);
    });

    it("Services: apex and primary select the primary pods, canary the canary pods, port http 9898", () => {
        for (const [name, app] of [["podinfo", "podinfo-primary"], ["podinfo-primary", "podinfo-primary"], ["podinfo-canary", "podinfo-canary"]]) {
            const s = one("kubernetes:core/v1:Service", name);
            assert.equal(s.metadata.name, name);
            assert.deepEqual(s.spec.selector, { app });
            assert.deepEqual(s.spec.ports, [{ name: "http", port: 9898, targetPort: "http", protocol: "TCP" }]);
        }
    });

    it("Ingress podinfo: nginx class, the host, apex backend, skipAwait", () => {
        const i = one("kubernetes:networking.k8s.io/v1:Ingress", "podinfo");
        assert.equal(i.metadata.annotations["pulumi.com/skipAwait"], "true");
        assert.equal(i.spec.ingressClassName, "nginx");
        assert.equal(i.spec.rules[0].host, "app.example.com");
        assert.deepEqual(i.spec.rules[0].http.paths[0].backend, { service: { name: "podinfo", port: { number: 9898 } } });
    });

    it("CanaryRelease: target, revision, analysis, routing, metrics server; kubeconfig secret", async () => {
        const r = one("pulumi-nodejs:dynamic/canary:CanaryRelease", "podinfo-release");
        assert.deepEqual(r.target, { name: "podinfo", namespace: "test" });
        assert.match(r.revision, /^[0-9a-f]{16}$/);
        assert.equal(r.routing, "nginx");
        assert.equal(r.ingressName, "podinfo");
        assert.equal(r.canaryReplicas, 2);
        assert.equal(r.retry, false);
        assert.equal(r.analysis.intervalSeconds, 30);
        assert.deepEqual(r.metricsServer, { service: "prometheus", namespace: "monitoring", port: 9090 });
        assert.equal(r.template.metadata.labels.app, "podinfo-canary");
        assert.equal(typeof r.__provider, "string");
        const podinfo = registered.find((x) => x.type === "canary:app:Podinfo");
        assert.ok(podinfo);
        assert.equal(await promiseOf(out.revision), r.revision);
    });

    it("CanaryFinalize follows the release's promoted revision and phase", () => {
        const f = one("pulumi-nodejs:dynamic/canary:CanaryFinalize", "podinfo-finalize");
        const r = one("pulumi-nodejs:dynamic/canary:CanaryRelease", "podinfo-release");
        assert.equal(f.revision, r.revision);
        assert.equal(f.phase, "Initialized");
        assert.equal(f.readyTimeoutSeconds, 300);
    });

    it("ingress-nginx: chart 4.11.3 from its repository, metrics on, scrape annotations, no admission webhooks", () => {
        const h = one("kubernetes:helm.sh/v3:Release", "ingress-nginx");
        assert.deepEqual([h.name, h.chart, h.version, h.repositoryOpts], ["ingress-nginx", "ingress-nginx", "4.11.3", { repo: "https://kubernetes.github.io/ingress-nginx" }]);
        assert.deepEqual(h.values.controller.admissionWebhooks, { enabled: false });
        assert.deepEqual(h.values.controller.metrics, { enabled: true, port: 10254 });
        assert.deepEqual(h.values.controller.podAnnotations, { "prometheus.io/scrape": "true", "prometheus.io/port": "10254" });
    });

    it("Prometheus: 5s scrape interval, jobs for the Pushgateway, ingress-nginx, linkerd, istio and app pods, the release alert rules", () => {
        const cm = one("kubernetes:core/v1:ConfigMap", "prometheus");
        const conf = JSON.parse(cm.data["prometheus.yml"]);
        assert.equal(conf.global.scrape_interval, "5s");
        assert.deepEqual(conf.scrape_configs.map((j: { job_name: string }) => j.job_name), ["pushgateway", "ingress-nginx", "linkerd-proxy", "istio-envoy", "kubernetes-pods"]);
        assert.deepEqual(conf.scrape_configs[0], { job_name: "pushgateway", honor_labels: true, static_configs: [{ targets: ["pushgateway.monitoring:9091"] }] });
        assert.deepEqual(conf.rule_files, ["/etc/prometheus/canary-rules.yml"]);
        const rules = YAML.parse(cm.data["canary-rules.yml"]) as { groups: { rules: { alert: string; expr: string }[] }[] };
        assert.deepEqual(rules.groups[0].rules.map((r) => r.alert), ["CanaryFailed", "CanaryStuck"]);
        assert.match(rules.groups[0].rules[1].expr, /> 900$/, "stuck after 15 minutes by default");
        const svc = one("kubernetes:core/v1:Service", "prometheus");
        assert.deepEqual([svc.metadata.name, svc.metadata.namespace, svc.spec.ports[0].port], ["prometheus", "monitoring", 9090]);
    });

    it("Pushgateway: a Deployment with probes and the Service pushgateway:9091 the release pushes to", () => {
        const d = one("kubernetes:apps/v1:Deployment", "pushgateway");
        assert.match(d.spec.template.spec.containers[0].image, /^prom\/pushgateway:v\d/);
        assert.ok(d.spec.template.spec.containers[0].readinessProbe !== undefined);
        const svc = one("kubernetes:core/v1:Service", "pushgateway");
        assert.deepEqual([svc.metadata.name, svc.metadata.namespace, svc.spec.ports[0].port], ["pushgateway", "monitoring", 9091]);
        const r = one("pulumi-nodejs:dynamic/canary:CanaryRelease", "podinfo-release");
        assert.deepEqual(r.pushgateway, { service: "pushgateway", namespace: "monitoring", port: 9091 });
        assert.deepEqual(one("pulumi-nodejs:dynamic/canary:CanaryFinalize", "podinfo-finalize").pushgateway, r.pushgateway);
    });

    it("loadtester: flagger-loadtester Deployment and Service on port 80", () => {
        const d = one("kubernetes:apps/v1:Deployment", "loadtester");
        assert.equal(d.metadata.name, "flagger-loadtester");
        assert.match(d.spec.template.spec.containers[0].image, /^ghcr\.io\/fluxcd\/flagger-loadtester:\d/);
        const s = one("kubernetes:core/v1:Service", "loadtester");
        assert.deepEqual(s.spec.ports, [{ name: "http", port: 80, protocol: "TCP", targetPort: "http" }]);
    });

    it("no mesh is installed for nginx routing", () => {
        assert.equal(registered.filter((r) => r.type === "canary:infra:Linkerd" || r.type === "canary:infra:Istio").length, 0);
    });
});

describe("components: parents and secrets", () => {
    it("children are parented to their component (URN type chain) and the kubeconfig stays secret", async () => {
        registered = [];
        const p = new Podinfo("podinfo", {
            namespace: "test", routing: "nginx", analysis: readStackConfig(source({})).release.analysis,
            metricsServer: { url: "http://prometheus:9090" }, kubeconfig: "secret-kubeconfig",
        });
        const canaryUrn = await promiseOf(p.app.canary!.urn);
        assert.match(canaryUrn, /::canary:app:CanaryApp\$kubernetes:apps\/v1:Deployment::podinfo-canary$/);
        assert.match(await promiseOf(p.app.urn), /::canary:app:Podinfo\$canary:app:CanaryApp::podinfo$/);
        const releaseUrn = await promiseOf(p.app.release!.urn);
        assert.match(releaseUrn, /canary:app:CanaryApp\$pulumi-nodejs:dynamic\/canary:CanaryRelease::podinfo-release$/);
        assert.equal(await pulumi.isSecret(p.app.release!.kubeconfig), true);
    });

    it("installGrafana: Grafana in monitoring with the provisioned datasource and dashboard; no Grafana by default", async () => {
        registered = [];
        await settle(deployStack(readStackConfig(source({ installGrafana: true }))));
        const d = one("kubernetes:apps/v1:Deployment", "grafana");
        assert.deepEqual([d.metadata.name, d.metadata.namespace], ["grafana", "monitoring"]);
        assert.match(d.spec.template.spec.containers[0].image, /^grafana\/grafana:\d/);
        const ds = YAML.parse(one("kubernetes:core/v1:ConfigMap", "grafana-datasources").data["prometheus.yaml"]);
        assert.equal(ds.datasources[0].url, "http://prometheus.monitoring:9090");
        const dash = JSON.parse(one("kubernetes:core/v1:ConfigMap", "grafana-dashboards").data["canary-releases.json"]);
        assert.equal(dash.uid, "canary-releases");
        assert.equal(registered.filter((r) => r.type === "kubernetes:core/v1:Namespace" && r.name === "grafana-ns").length, 0, "Prometheus' namespace is used");
        // an existing Prometheus by URL: Grafana's datasource, and its own namespace
        registered = [];
        await settle(deployStack(readStackConfig(source({ installGrafana: true, installPrometheus: false, metricsServer: "https://prom.example.com" }))));
        assert.equal(YAML.parse(one("kubernetes:core/v1:ConfigMap", "grafana-datasources").data["prometheus.yaml"]).datasources[0].url, "https://prom.example.com");
        assert.equal(one("kubernetes:core/v1:Namespace", "grafana-ns").metadata.name, "monitoring");
        registered = [];
        await settle(deployStack(readStackConfig(source({}))));
        assert.equal(registered.filter((r) => r.name === "grafana").length, 0);
    });

    it("release switched off: no release, the primary takes the template directly", async () => {
        registered = [];
        const cfg = readStackConfig(source({ releaseEnabled: false, installIngressNginx: false, installPrometheus: false, installLoadtester: false }));
        const out = deployStack(cfg);
        await settle(out);
        assert.equal(registered.filter((r) => r.type.startsWith("pulumi-nodejs:")).length, 0);
        assert.equal(registered.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").length, 0);
        const d = one("kubernetes:apps/v1:Deployment", "podinfo-primary");
        assert.equal(d.spec.template.metadata.labels.app, "podinfo-primary");
        assert.equal(await promiseOf(out.phase), "Disabled");
    });
});

describe("config tracking (canary:appConfig, canary:appSecrets)", () => {
    const secretSource = (values: Record<string, unknown>) => {
        const base = source(values);
        return { ...base, isSecret: (k: string) => k === "appSecrets" };
    };
    const envFrom = (role: string) => one("kubernetes:apps/v1:Deployment", `podinfo-${role}`).spec.template.spec.containers[0].envFrom;
    afterEach(() => {
        promotedConfig = undefined;
    });

    it("the canary reads the originals, the primary the -primary copies of the promoted data; secrets stay secret", async () => {
        registered = [];
        const out = deployStack(readStackConfig(secretSource({ appConfig: { PODINFO_UI_MESSAGE: "hi", RETRIES: 3 }, appSecrets: { TOKEN: "s3cret" } })));
        await settle(out);
        assert.deepEqual(one("kubernetes:core/v1:ConfigMap", "podinfo-config").data, { PODINFO_UI_MESSAGE: "hi", RETRIES: "3" });
        assert.deepEqual(secretValue(one("kubernetes:core/v1:Secret", "podinfo-secrets").stringData), { TOKEN: "s3cret" });
        assert.deepEqual(envFrom("canary"), [{ configMapRef: { name: "podinfo-config" } }, { secretRef: { name: "podinfo-secrets" } }]);
        assert.deepEqual(envFrom("primary"), [{ configMapRef: { name: "podinfo-config-primary" } }, { secretRef: { name: "podinfo-secrets-primary" } }]);
        assert.deepEqual(one("kubernetes:core/v1:ConfigMap", "podinfo-config-primary").data, { PODINFO_UI_MESSAGE: "hi", RETRIES: "3" });
        assert.deepEqual(secretValue(one("kubernetes:core/v1:Secret", "podinfo-secrets-primary").stringData), { TOKEN: "s3cret" });
        const release = one("pulumi-nodejs:dynamic/canary:CanaryRelease", "podinfo-release");
        assert.deepEqual(release.configMaps, { "podinfo-config": { PODINFO_UI_MESSAGE: "hi", RETRIES: "3" } });
        assert.deepEqual(secretValue(release.secrets), { "podinfo-secrets": { TOKEN: "s3cret" } });
        // the checksum covers the secret's data without making the template or the revision secret
        assert.equal(await pulumi.isSecret(out.revision), false);
        const checksum = one("kubernetes:apps/v1:Deployment", "podinfo-canary").spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION];
        assert.equal(checksum, configChecksum({ "podinfo-config": { PODINFO_UI_MESSAGE: "hi", RETRIES: "3" } }, { "podinfo-secrets": { TOKEN: "s3cret" } }));
    });

    it("the copies take the release's promoted data, not the desired one (a failed release changes nothing there)", async () => {
        registered = [];
        promotedConfig = { configMaps: { "podinfo-config": { PODINFO_UI_MESSAGE: "old" } }, secrets: { "podinfo-secrets": { TOKEN: "old" } } };
        await settle(deployStack(readStackConfig(secretSource({ appConfig: { PODINFO_UI_MESSAGE: "new" }, appSecrets: { TOKEN: "new" } }))));
        assert.deepEqual(one("kubernetes:core/v1:ConfigMap", "podinfo-config").data, { PODINFO_UI_MESSAGE: "new" });
        assert.deepEqual(one("kubernetes:core/v1:ConfigMap", "podinfo-config-primary").data, { PODINFO_UI_MESSAGE: "old" });
        assert.deepEqual(secretValue(one("kubernetes:core/v1:Secret", "podinfo-secrets-primary").stringData), { TOKEN: "old" });
    });

    it("a promoted state from before config tracking: no copy is referenced, an object not yet promoted gets an empty copy", async () => {
        registered = [];
        promotedConfig = { configMaps: {}, secrets: {} };
        await settle(deployStack(readStackConfig(source({}))));
        assert.equal(envFrom("primary")[0].configMapRef.name, "podinfo-config");
        assert.deepEqual(one("kubernetes:core/v1:ConfigMap", "podinfo-config-primary").data, {});
    });

    it("no tracked config: no ConfigMap, no envFrom, no checksum (the template of earlier versions)", async () => {
        registered = [];
        await settle(deployStack(readStackConfig(source({ appConfig: {} }))));
        assert.equal(registered.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name.startsWith("podinfo")).length, 0);
        assert.equal(envFrom("canary"), undefined);
        const d = one("kubernetes:apps/v1:Deployment", "podinfo-canary");
        assert.equal(d.spec.template.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION], undefined);
        assert.equal(one("pulumi-nodejs:dynamic/canary:CanaryRelease", "podinfo-release").configMaps, undefined);
    });
});

describe("deployStack (linkerd on minikube)", () => {
    before(async () => {
        registered = [];
        const cfg = readStackConfig(source({ cluster: "minikube", routing: "linkerd", installLinkerd: true, installIngressNginx: false }));
        await settle(deployStack(cfg));
    });
    it("Linkerd: CRDs, control plane with the minted certificates, issuer key secret", () => {
        const certs = one("pulumi-nodejs:dynamic/canary:LinkerdCertificates", "linkerd-certs");
        assert.deepEqual([certs.trustDomainRoot, certs.issuerName, certs.trustAnchorValidityHours, certs.issuerValidityHours], ["root.linkerd.cluster.local", "identity.linkerd.cluster.local", 87600, 8760]);
        assert.equal(one("kubernetes:helm.sh/v3:Release", "linkerd-crds").chart, "linkerd-crds");
        const cp = one("kubernetes:helm.sh/v3:Release", "linkerd-control-plane");
        assert.equal(cp.values.identityTrustAnchorsPEM, "ROOT-PEM");
        assert.deepEqual(cp.values.identity.issuer.tls, { crtPEM: "ISSUER-PEM", keyPEM: "ISSUER-KEY" });
    });
    it("the app namespace and pods are meshed, no Ingress, routing linkerd/httproute", () => {
        assert.equal(one("kubernetes:core/v1:Namespace", "test").metadata.annotations["linkerd.io/inject"], "enabled");
        assert.equal(registered.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress").length, 0);
        const r = one("pulumi-nodejs:dynamic/canary:CanaryRelease", "podinfo-release");
        assert.deepEqual([r.routing, r.linkerdRoute, r.ingressName], ["linkerd", "httproute", undefined]);
        assert.equal(one("pulumi:providers:kubernetes", "k8s").context, "minikube");
    });
});

describe("kubeconfig \"\" (the Pulumi.yaml default): the ambient kubeconfig", () => {
    before(async () => {
        registered = [];
        const cfg = readStackConfig(source({ kubeconfig: "", installIngressNginx: false, installPrometheus: false, installLoadtester: false }));
        assert.equal(cfg.kubeconfig, undefined);
        await settle(deployStack(cfg));
    });
    it("the Kubernetes provider and the release get no kubeconfig", () => {
        const p = one("pulumi:providers:kubernetes", "k8s");
        assert.equal(p.context, "kind-kind");
        // provider inputs reach the mock as strings
        assert.deepEqual([p.enableConfigMapMutable, p.enableSecretMutable], ["true", "true"]);
        assert.equal(p.kubeconfig, undefined);
        assert.equal(one("pulumi-nodejs:dynamic/canary:CanaryRelease", "podinfo-release").kubeconfig, undefined);
    });
});

describe("chart sources: helm.v3.Release chart arguments", () => {
    let dir: string;
    const release = (name: string) => one("kubernetes:helm.sh/v3:Release", name);
    /** [chart, version, repositoryOpts] of a registered Release. */
    const chartOf = (name: string) => {
        const r = release(name);
        return [r.chart, r.version, r.repositoryOpts];
    };
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "canary-stack-charts-"));
        for (const c of ["ingress-nginx", "linkerd-crds", "linkerd-control-plane", "linkerd-smi", "istio-base", "istiod"]) {
            fs.mkdirSync(path.join(dir, "charts", c), { recursive: true });
            fs.writeFileSync(path.join(dir, "charts", c, "Chart.yaml"), `name: ${c}\n`);
        }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a folder: ingress-nginx from <folder>/ingress-nginx, no version, no repository; values kept", async () => {
        registered = [];
        await settle(deployStack(readStackConfig(source({ ingressNginxCharts: "charts" }), { projectDir: dir })));
        assert.deepEqual(chartOf("ingress-nginx"), [path.join(dir, "charts", "ingress-nginx"), undefined, undefined]);
        assert.deepEqual(release("ingress-nginx").values.controller.admissionWebhooks, { enabled: false });
    });

    it("linkerd: one folder for linkerd-crds, linkerd-control-plane and linkerd-smi", async () => {
        registered = [];
        const cfg = readStackConfig(source({ routing: "linkerd", linkerdRoute: "smi", installLinkerd: true, installIngressNginx: false, linkerdCharts: "charts", linkerdSmiCharts: path.join(dir, "charts") }), { projectDir: dir });
        await settle(deployStack(cfg));
        for (const name of ["linkerd-crds", "linkerd-control-plane", "linkerd-smi"]) {
            assert.deepEqual(chartOf(name), [path.join(dir, "charts", name), undefined, undefined], name);
            assert.equal(release(name).name, name);
        }
    });

    it("linkerd: a repository URL replaces the stable repository; linkerd-smi keeps its own", async () => {
        registered = [];
        const cfg = readStackConfig(source({ routing: "linkerd", linkerdRoute: "smi", installLinkerd: true, installIngressNginx: false, linkerdCharts: "https://mirror.example.com/linkerd" }));
        await settle(deployStack(cfg));
        assert.deepEqual(chartOf("linkerd-crds"), ["linkerd-crds", "1.8.0", { repo: "https://mirror.example.com/linkerd" }]);
        assert.deepEqual(chartOf("linkerd-control-plane"), ["linkerd-control-plane", "1.16.11", { repo: "https://mirror.example.com/linkerd" }]);
        assert.deepEqual(chartOf("linkerd-smi"), ["linkerd-smi", "1.0.4", { repo: "https://linkerd.github.io/linkerd-smi" }]);
    });

    it("istio: base and istiod 1.22.3 from the default repository, or from istio-base/ and istiod/ of a folder", async () => {
        registered = [];
        await settle(deployStack(readStackConfig(source({ routing: "istio", installIstio: true, installIngressNginx: false }))));
        assert.deepEqual(chartOf("istio-base"), ["base", "1.22.3", { repo: "https://istio-release.storage.googleapis.com/charts" }]);
        assert.deepEqual(chartOf("istio-istiod"), ["istiod", "1.22.3", { repo: "https://istio-release.storage.googleapis.com/charts" }]);
        registered = [];
        await settle(deployStack(readStackConfig(source({ routing: "istio", installIstio: true, installIngressNginx: false, istioCharts: "charts" }), { projectDir: dir })));
        assert.deepEqual(chartOf("istio-base"), [path.join(dir, "charts", "istio-base"), undefined, undefined]);
        assert.deepEqual(chartOf("istio-istiod"), [path.join(dir, "charts", "istiod"), undefined, undefined]);
    });

    it("an oci:// registry: the chart's oci:// reference at the pinned version, no repository", async () => {
        registered = [];
        await settle(deployStack(readStackConfig(source({ ingressNginxCharts: "oci://registry.example.com/charts" }))));
        assert.deepEqual(chartOf("ingress-nginx"), ["oci://registry.example.com/charts/ingress-nginx", "4.11.3", undefined]);
    });
});

describe("revision", () => {
    const t = { metadata: { labels: {} }, spec: { containers: [{ name: "podinfod", image: "podinfo:6.5.3" }] } };
    it("is stable across key order and changes with the image or referenced data", () => {
        const same = { spec: { containers: [{ image: "podinfo:6.5.3", name: "podinfod" }] }, metadata: { labels: {} } };
        assert.equal(revisionOf(t), revisionOf(same));
        assert.notEqual(revisionOf(t), revisionOf({ ...t, spec: { containers: [{ name: "podinfod", image: "podinfo:6.5.4" }] } }));
        // tracked data reaches the revision through the template's checksum annotation
        const withData = (v: string) => withConfigChecksum(t, configChecksum({ "podinfo-config": { A: v } }, {}));
        assert.notEqual(revisionOf(withData("1")), revisionOf(withData("2")));
        assert.notEqual(configChecksum({}, { s: { A: "1" } }), configChecksum({}, { s: { A: "2" } }));
        assert.equal(withData("1").metadata?.annotations?.[CONFIG_CHECKSUM_ANNOTATION], configChecksum({ "podinfo-config": { A: "1" } }, {}));
    });
    it("withRole sets the selector label per role and keeps the rest", () => {
        assert.deepEqual(withRole({ metadata: { labels: { x: "y" } }, spec: {} }, "podinfo", "primary").metadata, { labels: { x: "y", app: "podinfo-primary", "app.kubernetes.io/name": "podinfo" } });
    });
});
