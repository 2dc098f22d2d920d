// Warnings from inside the dynamic provider, shown by the CLI as warnings (in `pulumi preview`
// too): the engine's Log RPC, at the address the CLI gives every plugin as its first argument.
// Outside a provider process started by the CLI (tests, a program) they go to stderr.
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as grpc from "@grpc/grpc-js";

interface EngineClient {
    log(req: unknown, cb: (err: Error | null) => void): void;
}

let client: EngineClient | undefined | null = null;

function engine(): EngineClient | undefined {
    if (client !== null) return client;
    const main = require.main?.filename ?? "";
    const addr = process.argv[2];
    client = undefined;
    if (main.includes("dynamic-provider") && addr !== undefined && /^[\w.-]+:\d+$/.test(addr)) {
        const g = require("@grpc/grpc-js") as typeof grpc;
        const rpc = require("@pulumi/pulumi/proto/engine_grpc_pb.js") as { EngineClient: new (addr: string, creds: grpc.ChannelCredentials) => EngineClient };
        client = new rpc.EngineClient(addr, g.credentials.createInsecure());
    }
    return client;
}

/** A warning in the CLI's diagnostics; never throws (a lost warning must not fail the step). */
export async function warn(message: string): Promise<void> {
    const c = engine();
    if (c === undefined) {
        process.stderr.write(`warning: ${message}\n`);
        return;
    }
    const pb = require("@pulumi/pulumi/proto/engine_pb.js") as { LogRequest: new () => { setSeverity(s: number): unknown; setMessage(m: string): unknown }; LogSeverity: { WARNING: number } };
    const req = new pb.LogRequest();
    req.setSeverity(pb.LogSeverity.WARNING);
    req.setMessage(message);
    await new Promise<void>((resolve) => c.log(req, (err) => {
        if (err !== null) process.stderr.write(`warning: ${message}\n`);
        resolve();
    }));
}
