import { strict as assert } from "assert";
import { PodTemplate } from "../../../components/canaryApp";
import { configRefs, withPrimaryConfigRefs } from "../../../components/canary/kube/configRefs";

// every place Kubernetes lets a pod template name a ConfigMap or a Secret
const template: PodTemplate = {
    metadata: { labels: { app: "podinfo" } },
    spec: {
        initContainers: [{ name: "init", envFrom: [{ configMapRef: { name: "init-env" } }] }],
        containers: [{
            name: "podinfod",
            env: [
                { name: "PODINFO_UI_MESSAGE", valueFrom: { configMapKeyRef: { name: "podinfo-config", key: "message" } } },
                { name: "TOKEN", valueFrom: { secretKeyRef: { name: "podinfo-token", key: "token" } } },
                { name: "PLAIN", value: "x" },
                { name: "FIELD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            ],
            envFrom: [{ configMapRef: { name: "podinfo-config" } }, { secretRef: { name: "podinfo-env" } }],
        }],
        volumes: [
            { name: "cfg", configMap: { name: "podinfo-files" } },
            { name: "tls", secret: { secretName: "podinfo-tls" } },
            { name: "all", projected: { sources: [{ configMap: { name: "podinfo-projected" } }, { secret: { name: "podinfo-projected-secret" } }, { serviceAccountToken: { path: "t" } }] } },
            { name: "tmp", emptyDir: {} },
        ],
    },
};

describe("config tracking: the ConfigMaps and Secrets a pod template uses", () => {
    it("finds each once, from env, envFrom, volumes and projected volumes, init containers too", () => {
        assert.deepEqual(configRefs(template).map((r) => `${r.kind}/${r.name}`), [
            "ConfigMap/init-env", "ConfigMap/podinfo-config", "Secret/podinfo-token", "Secret/podinfo-env",
            "ConfigMap/podinfo-files", "Secret/podinfo-tls", "ConfigMap/podinfo-projected", "Secret/podinfo-projected-secret",
        ]);
        assert.deepEqual(configRefs({ spec: { containers: [{ name: "a" }] } }), []);
    });

    it("the primary's template names the primary copies of the tracked ones only, and the canary's is untouched", () => {
        const before = JSON.stringify(template);
        const tracked = configRefs(template).filter((r) => r.name !== "podinfo-tls");
        const primary = withPrimaryConfigRefs(template, tracked);
        assert.equal(JSON.stringify(template), before);
        assert.deepEqual(configRefs(primary).map((r) => r.name), [
            "init-env-primary", "podinfo-config-primary", "podinfo-token-primary", "podinfo-env-primary",
            "podinfo-files-primary", "podinfo-tls", "podinfo-projected-primary", "podinfo-projected-secret-primary",
        ]);
        const c = (primary.spec.containers as { env: { valueFrom?: { configMapKeyRef?: { key: string } } }[] }[])[0];
        assert.equal(c.env[0].valueFrom?.configMapKeyRef?.key, "message");
    });

    it("a ConfigMap and a Secret of the same name are told apart", () => {
        const t: PodTemplate = { spec: { containers: [{ name: "a", envFrom: [{ configMapRef: { name: "x" } }, { secretRef: { name: "x" } }] }] } };
        const primary = withPrimaryConfigRefs(t, [{ kind: "Secret", name: "x" }]);
        assert.deepEqual((primary.spec.containers as { envFrom: unknown[] }[])[0].envFrom, [{ configMapRef: { name: "x" } }, { secretRef: { name: "x-primary" } }]);
    });
});
