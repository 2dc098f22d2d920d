// KubeApi for the integration tier, limited to what this tier is about: the canary
// Deployment's scale and readiness. Scaling `<app>-canary` to N > 0 starts the canary app
// process, to 0 stops it; readiness is its /readyz answering. Any other call is an error: the
// real API server is the e2e tier's business.
import { DeploymentStatus, KubeApi, KubeObject } from "../../components/canary/kube/api";
import { Target } from "../../components/canary/engine/types";
import { AppInstance } from "./harness/app";
import { httpGet } from "./harness/process";

export class ProcessKube implements KubeApi {
    private replicas = 0;
    /** Every scale call, in order. */
    readonly scaleCalls: number[] = [];

    constructor(readonly target: Target, readonly canary: AppInstance) {}

    private check(namespace: string, name: string): void {
        const want = `${this.target.name}-canary`;
        if (namespace !== this.target.namespace || name !== want) {
            throw new Error(`integration kube: only deployment ${want}.${this.target.namespace} exists here, got ${name}.${namespace}`);
        }
    }

    async getDeployment(namespace: string, name: string): Promise<DeploymentStatus> {
        this.check(namespace, name);
        let ready = 0;
        if (this.replicas > 0 && this.canary.running) {
            const r = await httpGet(`${this.canary.url}/readyz`, {}, 1000).catch(() => undefined);
            if (r?.status === 200) ready = this.replicas;
        }
        return { exists: true, replicas: this.replicas, readyReplicas: ready, updatedReplicas: this.replicas, observed: true };
    }

    async scaleDeployment(namespace: string, name: string, replicas: number): Promise<void> {
        this.check(namespace, name);
        this.scaleCalls.push(replicas);
        this.replicas = replicas;
        if (replicas > 0) await this.canary.start();
        else await this.canary.stop();
    }

    private unsupported(verb: string): never {
        throw new Error(`integration kube: ${verb} is not part of this tier (the e2e tier uses a real API server)`);
    }

    async get(_apiVersion: string, _kind: string, _namespace: string, _name: string): Promise<KubeObject | undefined> {
        return this.unsupported("get");
    }
    async create(_obj: KubeObject): Promise<void> {
        this.unsupported("create");
    }
    async patch(_obj: KubeObject): Promise<void> {
        this.unsupported("patch");
    }
    async delete(_apiVersion: string, _kind: string, _namespace: string, _name: string): Promise<void> {
        this.unsupported("delete");
    }
    async event(_namespace: string, _involved: { kind: string; name: string; apiVersion: string }, _type: "Normal" | "Warning", _reason: string, _message: string): Promise<void> {
        this.unsupported("event");
    }
}
