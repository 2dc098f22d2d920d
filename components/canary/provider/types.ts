// Inputs and outputs of the CanaryRelease and CanaryFinalize dynamic resources, as plain
// values (what the provider process sees). No Pulumi types here: the provider requires this.
import { Alert } from "../alerts/types";
import { AnalysisSpec, MetricsServer, Phase, ReleaseState, Target } from "../engine/types";

export type Routing = "nginx" | "linkerd" | "istio";
export const ROUTINGS: readonly Routing[] = ["nginx", "linkerd", "istio"];

/** Linkerd: Gateway API HTTPRoute (Linkerd 2.14+, default) or SMI TrafficSplit (linkerd-smi). */
export type LinkerdRoute = "httproute" | "smi";
export const LINKERD_ROUTES: readonly LinkerdRoute[] = ["httproute", "smi"];

export type { MetricsServer } from "../engine/types";

/** Data of ConfigMaps or Secrets by object name, then key (config tracking). */
export type ConfigData = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface ReleaseInputs {
    readonly target: Target;
    /** The canary Deployment's pod template (what the primary gets once it passes analysis). */
    readonly template: Record<string, unknown>;
    /** Checksum of the template and the ConfigMaps/Secrets it uses: a new one starts a release. */
    readonly revision: string;
    /** The tracked ConfigMaps' data (the template uses them): promoted with the template, the primary reads copies of it. */
    readonly configMaps?: ConfigData;
    /** The tracked Secrets' data, as configMaps; secret. */
    readonly secrets?: ConfigData;
    readonly analysis: AnalysisSpec;
    readonly routing: Routing;
    /** linkerd only; default httproute. */
    readonly linkerdRoute?: LinkerdRoute;
    /** The app's Ingress (nginx only). */
    readonly ingressName?: string;
    readonly metricsServer: MetricsServer;
    /** Kubeconfig contents (a secret); empty for the ambient one ($KUBECONFIG, ~/.kube/config). */
    readonly kubeconfig?: string;
    readonly kubeContext?: string;
    /** Replicas of the canary while it is analysed. */
    readonly canaryReplicas: number;
    /** Try again a revision that already failed analysis. */
    readonly retry: boolean;
    /** Where the release's moments are sent (`analysis.alerts[]`, providers resolved); secret: the addresses carry tokens. */
    readonly alerts?: readonly Alert[];
    /** A Prometheus Pushgateway the release's state is pushed to at every step; absent: none. */
    readonly pushgateway?: MetricsServer;
}

export interface ReleaseOutputs extends ReleaseInputs {
    readonly phase: Phase;
    /** The revision the primary runs (initialized or passed analysis). */
    readonly promotedRevision: string;
    /** The pod template that passed analysis: the primary Deployment's template. */
    readonly promotedTemplate: Record<string, unknown>;
    /** The configMaps that passed analysis with it: the data of the primary's `<name>-primary` copies. */
    readonly promotedConfigMaps: ConfigData;
    /** As promotedConfigMaps, for the Secrets; secret. */
    readonly promotedSecrets: ConfigData;
    readonly failedRevision: string;
    readonly message: string;
    readonly primaryWeight: number;
    readonly canaryWeight: number;
    /** The engine's state at the end of the last run. */
    readonly state: ReleaseState;
}

export interface FinalizeInputs {
    readonly target: Target;
    /** The release's promotedRevision: a new one runs finalization. */
    readonly revision: string;
    /** The release's phase when it handed the revision over (Promoting after an analysis). */
    readonly phase: Phase;
    readonly routing: Routing;
    readonly linkerdRoute?: LinkerdRoute;
    readonly ingressName?: string;
    readonly analysis: AnalysisSpec;
    readonly kubeconfig?: string;
    readonly kubeContext?: string;
    /** How long to wait for the primary to be ready, in seconds. */
    readonly readyTimeoutSeconds: number;
    /** As the release's: the promotion is alerted from here. */
    readonly alerts?: readonly Alert[];
    /** As the release's: the finalized state is pushed from here. */
    readonly pushgateway?: MetricsServer;
}

export interface FinalizeOutputs extends FinalizeInputs {
    /** The phase this `pulumi up` leaves the release in: Succeeded after a promotion. */
    readonly finalPhase: Phase;
    readonly message: string;
    /** Weights read back from the routing objects once finalized (100/0 when all went well). */
    readonly primaryWeight: number;
    readonly canaryWeight: number;
}
