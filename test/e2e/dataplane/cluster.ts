// What the data plane reads from the API server: Deployments, Services and Ingresses of one
// namespace, each kept by a client-node informer (list, then watch from its resourceVersion;
// the informer re-lists on 410 Gone). An informer that errors (the API server unreachable, a
// watch cut) is started again after a second, until `stop`. Every add, update or delete calls
// `onChange`; readers take the informers' caches as they are at that moment.
import * as k8s from "@kubernetes/client-node";

export interface ClusterView {
    deployments(): readonly k8s.V1Deployment[];
    services(): readonly k8s.V1Service[];
    ingresses(): readonly k8s.V1Ingress[];
    /** Starts the informers; resolves once each has listed once. */
    start(): Promise<void>;
    /** Stops the informers (closes their watches). */
    stop(): Promise<void>;
}

export function watchNamespace(kubeconfigYaml: string, namespace: string, onChange: (kind: string) => void, log: (line: string) => void): ClusterView {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfigYaml);
    const appsApi = kc.makeApiClient(k8s.AppsV1Api);
    const coreApi = kc.makeApiClient(k8s.CoreV1Api);
    const netApi = kc.makeApiClient(k8s.NetworkingV1Api);
    let stopped = false;
    const timers = new Set<NodeJS.Timeout>();

    function informer<T extends k8s.KubernetesObject>(kind: string, path: string, list: () => Promise<k8s.KubernetesListObject<T>>): k8s.Informer<T> & k8s.ObjectCache<T> {
        const inf = k8s.makeInformer<T>(kc, path, list);
        for (const verb of [k8s.ADD, k8s.UPDATE, k8s.DELETE] as const) inf.on(verb, () => onChange(kind));
        inf.on(k8s.ERROR, (err: unknown) => {
            if (stopped) return;
            log(`watch of ${kind} in ${namespace} failed (restarting in 1 s): ${err instanceof Error ? err.message : String(err)}`);
            const t = setTimeout(() => {
                timers.delete(t);
                if (!stopped) inf.start().catch((e: unknown) => log(`restarting the ${kind} informer failed: ${String(e)}`));
            }, 1000);
            timers.add(t);
        });
        return inf;
    }

    const deployments = informer<k8s.V1Deployment>("Deployment", `/apis/apps/v1/namespaces/${namespace}/deployments`,
        () => appsApi.listNamespacedDeployment({ namespace }));
    const services = informer<k8s.V1Service>("Service", `/api/v1/namespaces/${namespace}/services`,
        () => coreApi.listNamespacedService({ namespace }));
    const ingresses = informer<k8s.V1Ingress>("Ingress", `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses`,
        () => netApi.listNamespacedIngress({ namespace }));
    const all = [deployments, services, ingresses];

    return {
        deployments: () => deployments.list(namespace),
        services: () => services.list(namespace),
        ingresses: () => ingresses.list(namespace),
        async start() {
            await Promise.all(all.map((i) => i.start()));
        },
        async stop() {
            stopped = true;
            for (const t of timers) clearTimeout(t);
            await Promise.all(all.map((i) => i.stop()));
        },
    };
}
