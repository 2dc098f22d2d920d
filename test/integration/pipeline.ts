// The loadtester's `type: bash` commands, without a shell: a pipeline of allowed programs
// (`curl -sd 'test' http://podinfo-canary.test:9898/token | grep token`) parsed into argvs and
// run as processes whose stdout feeds the next one's stdin. Like bash without pipefail, the
// pipeline's status is its last command's.
//
// Parsing is a small subset of POSIX sh: words split on blanks, 'single' and "double" quotes
// (inside double quotes only \" \\ escape), a backslash outside quotes escapes the next
// character, `|` separates commands. Anything that would make a shell do more is refused with
// the reason: ; & > < ` $ ( ) { } * ? [ ] ~ ! # and newlines outside single quotes, `$` or
// backticks inside double quotes, an empty command, a program not in the allowed list.
import { spawn } from "child_process";

/** Splits `cmd` into the argv of each command of the pipeline; throws naming what it refuses. */
export function parsePipeline(cmd: string, allowed: readonly string[]): string[][] {
    const commands: string[][] = [[]];
    let word: string | undefined;
    const end = () => {
        if (word !== undefined) commands[commands.length - 1].push(word);
        word = undefined;
    };
    for (let i = 0; i < cmd.length; i++) {
        const c = cmd[i];
        if (c === " " || c === "\t") {
            end();
        } else if (c === "'") {
            const close = cmd.indexOf("'", i + 1);
            if (close < 0) throw new Error(`unterminated ' in ${JSON.stringify(cmd)}`);
            word = (word ?? "") + cmd.slice(i + 1, close);
            i = close;
        } else if (c === '"') {
            let s = "";
            let j = i + 1;
            for (; j < cmd.length && cmd[j] !== '"'; j++) {
                if (cmd[j] === "$" || cmd[j] === "`") throw new Error(`expansion (${cmd[j]}) inside "..." is not supported: ${JSON.stringify(cmd)}`);
                if (cmd[j] === "\\" && (cmd[j + 1] === '"' || cmd[j + 1] === "\\")) j++;
                s += cmd[j];
            }
            if (j >= cmd.length) throw new Error(`unterminated " in ${JSON.stringify(cmd)}`);
            word = (word ?? "") + s;
            i = j;
        } else if (c === "\\") {
            if (i + 1 >= cmd.length) throw new Error(`trailing \\ in ${JSON.stringify(cmd)}`);
            word = (word ?? "") + cmd[++i];
        } else if (c === "|") {
            end();
            if (cmd[i + 1] === "|") throw new Error(`|| is not supported (only pipelines): ${JSON.stringify(cmd)}`);
            commands.push([]);
        } else if (";&><`$(){}*?[]~!#\n\r".includes(c)) {
            throw new Error(`shell syntax ${JSON.stringify(c)} is not supported (only pipelines of ${allowed.join(", ")}): ${JSON.stringify(cmd)}`);
        } else {
            word = (word ?? "") + c;
        }
    }
    end();
    for (const argv of commands) {
        if (argv.length === 0) throw new Error(`empty command in pipeline ${JSON.stringify(cmd)}`);
        if (!allowed.includes(argv[0])) throw new Error(`only ${allowed.join(", ")} are allowed, got ${JSON.stringify(argv[0])} in ${JSON.stringify(cmd)}`);
    }
    return commands;
}

export interface PipelineResult {
    /** The last command's exit status (null: killed). */
    readonly code: number | null;
    /** The last command's stdout. */
    readonly stdout: string;
    /** Every command's stderr, in order. */
    readonly stderr: string;
    /** Pids of the processes it ran. */
    readonly pids: readonly number[];
}

/**
 * Runs argvs as a pipeline; `binary(name)` is the executable of each program. Every process is
 * SIGKILLed (by pid) when `timeoutMs` passes; `onSpawn` sees each pid as it starts.
 */
export function runPipeline(argvs: readonly (readonly string[])[], binary: (name: string) => string, timeoutMs: number, onSpawn: (pid: number, exited: boolean) => void = () => undefined): Promise<PipelineResult> {
    return new Promise((resolve) => {
        const children = argvs.map((argv) => spawn(binary(argv[0]), argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] }));
        const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
        let stdout = "";
        const stderr: string[] = children.map(() => "");
        let open = children.length;
        let code: number | null = null;
        const timer = setTimeout(() => {
            for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
        }, timeoutMs);
        children.forEach((c, i) => {
            if (c.pid !== undefined) onSpawn(c.pid, false);
            c.stderr.on("data", (b: Buffer) => (stderr[i] += b.toString()));
            c.on("error", (e) => (stderr[i] += e.message));
            c.stdin.on("error", () => undefined); // EPIPE when the reader exits first, as in a shell
            if (i === 0) c.stdin.end();
            if (i + 1 < children.length) c.stdout.pipe(children[i + 1].stdin);
            else c.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
            c.on("close", (status) => {
                if (c.pid !== undefined) onSpawn(c.pid, true);
                if (i === children.length - 1) code = status;
                if (--open === 0) {
                    clearTimeout(timer);
                    resolve({ code, stdout, stderr: stderr.join(""), pids });
                }
            });
        });
    });
}
