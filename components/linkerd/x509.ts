// Just enough X.509 to mint Linkerd's trust anchor and identity issuer with node's crypto:
// ECDSA P-256 keys, a DER encoder for the certificate, signatures by crypto.sign.
// Node can parse certificates (X509Certificate) but not create them; nothing else is needed.
import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from "crypto";

function len(n: number): Buffer {
    if (n < 0x80) return Buffer.from([n]);
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, body: Buffer) => tlv(0xa0 + n, body);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));

function integer(b: Buffer): Buffer {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const body = b.subarray(i);
    return tlv(0x02, body[0] & 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body);
}

function oid(dotted: string): Buffer {
    const parts = dotted.split(".").map(Number);
    const out = [40 * parts[0] + parts[1]];
    for (const p of parts.slice(2)) {
        const chunk: number[] = [p & 0x7f];
        for (let v = p >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
        out.push(...chunk);
    }
    return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
    const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14); // YYYYMMDDHHMMSS
    // UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5)
    return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));
const name = (cn: string) => seq(set(seq(oid("2.5.4.3"), utf8(cn))));

/** SubjectKeyIdentifier: SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
function keyId(publicKey: KeyObject): Buffer {
    const spki = publicKey.export({ type: "spki", format: "der" });
    // P-256 SPKI: the last 65 bytes are the uncompressed point
    return createHash("sha1").update(spki.subarray(spki.length - 65)).digest();
}

export interface CaSpec {
    readonly commonName: string;
    readonly validityHours: number;
    /** Signer; absent for a self-signed root. */
    readonly issuer?: { readonly commonName: string; readonly key: KeyObject; readonly publicKey: KeyObject };
    /** pathLenConstraint; default none. */
    readonly pathLen?: number;
    readonly now?: Date;
}

export interface Minted {
    readonly certPEM: string;
    readonly keyPEM: string;
    readonly key: KeyObject;
    readonly publicKey: KeyObject;
}

/** A CA certificate (basicConstraints CA, keyUsage certSign|cRLSign) with a new P-256 key. */
export function mintCa(spec: CaSpec): Minted {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const now = spec.now ?? new Date();
    const notBefore = new Date(now.getTime() - 5 * 60 * 1000); // tolerate clock skew
    const notAfter = new Date(now.getTime() + spec.validityHours * 3600 * 1000);
    const signer = spec.issuer ?? { commonName: spec.commonName, key: privateKey, publicKey };
    const serial = randomBytes(16);
    serial[0] &= 0x7f;
    const constraints = spec.pathLen === undefined ? seq(bool(true)) : seq(bool(true), integer(Buffer.from([spec.pathLen])));
    const extensions = seq(
        seq(oid("2.5.29.19"), bool(true), octets(constraints)),
        seq(oid("2.5.29.15"), bool(true), octets(bits(Buffer.from([0x06]), 1))),
        seq(oid("2.5.29.14"), octets(octets(keyId(publicKey)))),
        seq(oid("2.5.29.35"), octets(seq(tlv(0x80, keyId(signer.publicKey))))),
    );
    const tbs = seq(
        explicit(0, integer(Buffer.from([2]))),
        integer(serial),
        ECDSA_SHA256,
        name(signer.commonName),
        seq(time(notBefore), time(notAfter)),
        name(spec.commonName),
        publicKey.export({ type: "spki", format: "der" }),
        explicit(3, extensions),
    );
    const signature = sign("sha256", tbs, signer.key);
    const der = seq(tbs, ECDSA_SHA256, bits(signature));
    const b64 = der.toString("base64").match(/.{1,64}/g)?.join("\n") ?? "";
    return {
        certPEM: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
        keyPEM: privateKey.export({ type: "sec1", format: "pem" }).toString(),
        key: privateKey,
        publicKey,
    };
}

export interface LinkerdCertsSpec {
    /** Default "root.linkerd.cluster.local". */
    readonly trustDomainRoot?: string;
    /** Default "identity.linkerd.cluster.local". */
    readonly issuerName?: string;
    readonly trustAnchorValidityHours: number;
    readonly issuerValidityHours: number;
    readonly now?: Date;
}

export interface LinkerdCerts {
    readonly trustAnchorPEM: string;
    readonly trustAnchorKeyPEM: string;
    readonly issuerCertPEM: string;
    readonly issuerKeyPEM: string;
}

/** Linkerd's trust anchor (self-signed root) and the identity issuer it signs. */
export function mintLinkerdCerts(spec: LinkerdCertsSpec): LinkerdCerts {
    const rootName = spec.trustDomainRoot ?? "root.linkerd.cluster.local";
    const root = mintCa({ commonName: rootName, validityHours: spec.trustAnchorValidityHours, now: spec.now });
    const issuer = mintCa({
        commonName: spec.issuerName ?? "identity.linkerd.cluster.local",
        validityHours: spec.issuerValidityHours,
        issuer: { commonName: rootName, key: root.key, publicKey: root.publicKey },
        pathLen: 0,
        now: spec.now,
    });
    return { trustAnchorPEM: root.certPEM, trustAnchorKeyPEM: root.keyPEM, issuerCertPEM: issuer.certPEM, issuerKeyPEM: issuer.keyPEM };
}
