// LinkerdCerts: a dynamic resource that mints Linkerd's trust anchor and identity issuer
// once, on create, and keeps them in the stack state (keys secret). Later `pulumi up`s
// reuse them: only a change of names or validity replaces them (a new trust anchor means
// restarting every meshed pod, so it must never happen by accident).
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { load, TS } from "../canary/provider/resource";

const X509_MODULE = path.join(__dirname, "x509");

export interface LinkerdCertsInputs {
    readonly trustDomainRoot: string;
    readonly issuerName: string;
    readonly trustAnchorValidityHours: number;
    readonly issuerValidityHours: number;
}

const REPLACE_ON: readonly (keyof LinkerdCertsInputs)[] = ["trustDomainRoot", "issuerName", "trustAnchorValidityHours", "issuerValidityHours"];

export const certsProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        const failures: { property: string; reason: string }[] = [];
        for (const k of ["trustAnchorValidityHours", "issuerValidityHours"]) {
            const v = news[k];
            if (typeof v === "number" && (!Number.isInteger(v) || v < 1)) failures.push({ property: k, reason: `${k}: must be an integer >= 1, got ${v}` });
        }
        if (typeof news.issuerValidityHours === "number" && typeof news.trustAnchorValidityHours === "number" && news.issuerValidityHours > news.trustAnchorValidityHours) {
            failures.push({ property: "issuerValidityHours", reason: `issuerValidityHours: must not exceed trustAnchorValidityHours ${news.trustAnchorValidityHours}, got ${news.issuerValidityHours}` });
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        const replaces = REPLACE_ON.filter((k) => olds[k] !== news[k]);
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },
    async create(inputs) {
        const x509 = load(X509_MODULE, TS);
        const certs = x509.mintLinkerdCerts(inputs);
        return { id: `linkerd-certs-${Date.now()}`, outs: { ...inputs, ...certs } };
    },
};

export interface LinkerdCertsArgs {
    /** Default "root.linkerd.cluster.local". */
    readonly trustDomainRoot?: string;
    /** Default "identity.linkerd.cluster.local". */
    readonly issuerName?: string;
    /** Default 87600 (10 years). */
    readonly trustAnchorValidityHours?: number;
    /** Default 8760 (1 year). */
    readonly issuerValidityHours?: number;
}

export class LinkerdCertificates extends pulumi.dynamic.Resource {
    declare readonly trustAnchorPEM: pulumi.Output<string>;
    declare readonly trustAnchorKeyPEM: pulumi.Output<string>;
    declare readonly issuerCertPEM: pulumi.Output<string>;
    declare readonly issuerKeyPEM: pulumi.Output<string>;

    constructor(name: string, args: LinkerdCertsArgs = {}, opts: pulumi.CustomResourceOptions = {}) {
        const inputs: LinkerdCertsInputs = {
            trustDomainRoot: args.trustDomainRoot ?? "root.linkerd.cluster.local",
            issuerName: args.issuerName ?? "identity.linkerd.cluster.local",
            trustAnchorValidityHours: args.trustAnchorValidityHours ?? 87600,
            issuerValidityHours: args.issuerValidityHours ?? 8760,
        };
        super(certsProvider, name, { ...inputs, trustAnchorPEM: undefined, trustAnchorKeyPEM: undefined, issuerCertPEM: undefined, issuerKeyPEM: undefined },
            { ...opts, additionalSecretOutputs: ["trustAnchorKeyPEM", "issuerKeyPEM"] }, "canary", "LinkerdCertificates");
    }
}
