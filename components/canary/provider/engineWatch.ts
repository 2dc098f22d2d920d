// Notices when the Pulumi engine that started this provider process is gone.
//
// The CLI runs each plugin in a process group of its own and holds the write end of the
// plugin's stdin. When the CLI dies without shutting its plugins down (SIGKILL, a CI runner
// killed, an OOM kill), the provider lives on as an orphan, and a release it is running would
// keep shifting traffic to a canary nobody analyses any more. End of file on stdin is the one
// signal such an orphan gets: the release is aborted (traffic back to the primary, canary to
// zero, recorded in the cluster), then the process exits.
import * as fs from "fs";
import * as path from "path";
import { Readable } from "stream";

export class EngineWatch {
    private readonly handlers = new Set<() => void>();
    private gone = false;

    constructor(input: Readable, private readonly exit: () => void) {
        const onGone = () => this.engineGone();
        input.once("end", onGone);
        input.once("error", onGone);
        input.resume(); // nothing is ever written to it: reading only waits for the end
    }

    /** Calls `handler` if the engine goes away while registered; the returned function unregisters. */
    watch(handler: () => void): () => void {
        this.handlers.add(handler);
        if (this.gone) handler();
        return () => {
            this.handlers.delete(handler);
            if (this.gone && this.handlers.size === 0) this.exit();
        };
    }

    private engineGone(): void {
        if (this.gone) return;
        this.gone = true;
        if (this.handlers.size === 0) {
            this.exit(); // idle: nothing to clean up
            return;
        }
        // each handler's release cleans up, then unregisters; the last one out exits
        for (const h of [...this.handlers]) h();
    }
}

let processWatch: EngineWatch | undefined | null = null;

/**
 * The watch over this process' engine, or undefined when this process is not a plugin started
 * by the Pulumi CLI (a Pulumi program, a test): their stdin belongs to somebody else.
 */
export function engineWatch(): EngineWatch | undefined {
    if (processWatch === null) processWatch = runsAsDynamicProvider() ? new EngineWatch(process.stdin, () => process.exit(1)) : undefined;
    return processWatch;
}

function runsAsDynamicProvider(): boolean {
    const main = require.main?.filename ?? "";
    if (path.basename(path.dirname(main)) !== "dynamic-provider") return false;
    try {
        return fs.fstatSync(0).isFIFO();
    } catch {
        return false;
    }
}
