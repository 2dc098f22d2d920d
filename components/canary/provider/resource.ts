// The CanaryRelease and CanaryFinalize dynamic resources (Pulumi side).
//
// The provider objects are serialized by Pulumi's closure serialization and run in a
// separate process without a TypeScript loader. So each method only captures strings
// (absolute paths computed here at load time), registers ts-loader.js (transpiled output
// cached on disk) if the process has no `.ts` loader yet, and requires the implementation
// (release.ts, finalize.ts) inside the method.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { Alert } from "../alerts/types";
import type { AnalysisSpec, Phase, ReleaseState, Target } from "../engine/types";
import type { ConfigData, LinkerdRoute, MetricsServer, Routing } from "./types";

const RELEASE_MODULE = path.join(__dirname, "release");
const FINALIZE_MODULE = path.join(__dirname, "finalize");
const REPO = path.join(__dirname, "..", "..", "..");
/** Where and how the provider process loads .ts (strings only: captured by serialized methods). */
export const TS = {
    loader: path.join(__dirname, "ts-loader.js"),
    tsconfig: path.join(REPO, "tsconfig.json"),
    cacheDir: path.join(REPO, "node_modules", ".cache", "pulumi-canary", "ts"),
} as const;

/** Requires an implementation module from inside a provider method (also in the provider process). */
export function load(modulePath: string, ts: typeof TS): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    const exts = (require as unknown as { extensions: Record<string, unknown> }).extensions;
    if (exts[".ts"] === undefined) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(ts.loader).register({ tsconfig: ts.tsconfig, cacheDir: ts.cacheDir });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(modulePath);
}

export const releaseProvider: pulumi.dynamic.ResourceProvider = {
    async check(olds, news) {
        return load(RELEASE_MODULE, TS).checkReleaseLive(olds, news);
    },
    async diff(id, olds, news) {
        return load(RELEASE_MODULE, TS).diffReleaseLive(id, olds, news);
    },
    async create(inputs) {
        return load(RELEASE_MODULE, TS).createRelease(inputs);
    },
    async update(id, olds, news) {
        return load(RELEASE_MODULE, TS).updateRelease(id, olds, news);
    },
    async delete(id, props) {
        return load(RELEASE_MODULE, TS).deleteRelease(id, props);
    },
    async read(id, props) {
        return load(RELEASE_MODULE, TS).readRelease(id, props);
    },
};

export const finalizeProvider: pulumi.dynamic.ResourceProvider = {
    async diff(id, olds, news) {
        return load(FINALIZE_MODULE, TS).diffFinalize(id, olds, news);
    },
    async create(inputs) {
        return load(FINALIZE_MODULE, TS).createFinalize(inputs);
    },
    async update(id, olds, news) {
        return load(FINALIZE_MODULE, TS).updateFinalize(id, olds, news);
    },
    // nothing to remove: the release owns the routing objects
    async delete() {
        return;
    },
};

export interface CanaryReleaseArgs {
    readonly target: pulumi.Input<Target>;
    /** The canary Deployment's pod template. */
    readonly template: pulumi.Input<Record<string, unknown>>;
    /** Checksum of the template and the ConfigMaps/Secrets it uses. */
    readonly revision: pulumi.Input<string>;
    /** Data of the tracked ConfigMaps by name: promoted with the template. Default none. */
    readonly configMaps?: pulumi.Input<ConfigData>;
    /** Data of the tracked Secrets by name; made secret here. Default none. */
    readonly secrets?: pulumi.Input<ConfigData>;
    readonly analysis: pulumi.Input<AnalysisSpec>;
    readonly routing: pulumi.Input<Routing>;
    /** linkerd only. Default "httproute". */
    readonly linkerdRoute?: pulumi.Input<LinkerdRoute>;
    /** nginx only: the app's Ingress. */
    readonly ingressName?: pulumi.Input<string>;
    readonly metricsServer: pulumi.Input<MetricsServer>;
    /** Kubeconfig contents; made secret here. Default: the ambient kubeconfig of the provider process. */
    readonly kubeconfig?: pulumi.Input<string>;
    readonly kubeContext?: pulumi.Input<string>;
    readonly canaryReplicas: pulumi.Input<number>;
    /** Try again a revision that already failed analysis. Default false. */
    readonly retry?: pulumi.Input<boolean>;
    /** Where the release's moments are sent; made secret here (the addresses carry tokens). */
    readonly alerts?: pulumi.Input<Alert[]>;
    /** A Pushgateway the release's state is pushed to at every step. Default none. */
    readonly pushgateway?: pulumi.Input<MetricsServer>;
}

/** A canary release of one app: owns its routing objects; its output template feeds the primary. */
export class CanaryRelease extends pulumi.dynamic.Resource {
    declare readonly phase: pulumi.Output<Phase>;
    declare readonly revision: pulumi.Output<string>;
    declare readonly promotedRevision: pulumi.Output<string>;
    /** The pod template that passed analysis (or was initialized): the primary's template. */
    declare readonly promotedTemplate: pulumi.Output<Record<string, unknown>>;
    /** The tracked data that passed analysis with it: the primary's `<name>-primary` copies ({} in a state from before config tracking: undefined). */
    declare readonly promotedConfigMaps: pulumi.Output<ConfigData | undefined>;
    declare readonly promotedSecrets: pulumi.Output<ConfigData | undefined>;
    declare readonly failedRevision: pulumi.Output<string>;
    declare readonly message: pulumi.Output<string>;
    declare readonly primaryWeight: pulumi.Output<number>;
    declare readonly canaryWeight: pulumi.Output<number>;
    declare readonly state: pulumi.Output<ReleaseState>;
    declare readonly kubeconfig: pulumi.Output<string | undefined>;

    constructor(name: string, args: CanaryReleaseArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(releaseProvider, name, {
            ...args,
            kubeconfig: args.kubeconfig === undefined ? undefined : pulumi.secret(args.kubeconfig),
            alerts: args.alerts === undefined ? undefined : pulumi.secret(args.alerts),
            secrets: args.secrets === undefined ? undefined : pulumi.secret(args.secrets),
            linkerdRoute: args.linkerdRoute,
            retry: args.retry ?? false,
            phase: undefined, promotedRevision: undefined, promotedTemplate: undefined, failedRevision: undefined,
            promotedConfigMaps: undefined, promotedSecrets: undefined,
            message: undefined, primaryWeight: undefined, canaryWeight: undefined, state: undefined,
        }, { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "kubeconfig", "alerts", "secrets", "promotedSecrets"] }, "canary", "CanaryRelease");
    }
}

export interface CanaryFinalizeArgs {
    readonly target: pulumi.Input<Target>;
    /** The release's promotedRevision. */
    readonly revision: pulumi.Input<string>;
    /** The release's phase. */
    readonly phase: pulumi.Input<Phase>;
    readonly routing: pulumi.Input<Routing>;
    readonly linkerdRoute?: pulumi.Input<LinkerdRoute>;
    readonly ingressName?: pulumi.Input<string>;
    readonly analysis: pulumi.Input<AnalysisSpec>;
    readonly kubeconfig?: pulumi.Input<string>;
    readonly kubeContext?: pulumi.Input<string>;
    /** Default 300. */
    readonly readyTimeoutSeconds?: pulumi.Input<number>;
    /** As the release's: the promotion is alerted from here. */
    readonly alerts?: pulumi.Input<Alert[]>;
    /** As the release's: the finalized state is pushed from here. */
    readonly pushgateway?: pulumi.Input<MetricsServer>;
}

/** Finalization after the primary is ready: post-rollout hooks, Succeeded (the promotion already moved the traffic and scaled the canary down). */
export class CanaryFinalize extends pulumi.dynamic.Resource {
    declare readonly finalPhase: pulumi.Output<Phase>;
    declare readonly message: pulumi.Output<string>;
    declare readonly primaryWeight: pulumi.Output<number>;
    declare readonly canaryWeight: pulumi.Output<number>;

    constructor(name: string, args: CanaryFinalizeArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(finalizeProvider, name, {
            ...args,
            kubeconfig: args.kubeconfig === undefined ? undefined : pulumi.secret(args.kubeconfig),
            readyTimeoutSeconds: args.readyTimeoutSeconds ?? 300,
            alerts: args.alerts === undefined ? undefined : pulumi.secret(args.alerts),
            finalPhase: undefined, message: undefined, primaryWeight: undefined, canaryWeight: undefined,
        }, { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "kubeconfig", "alerts"] }, "canary", "CanaryFinalize");
    }
}
