// EventSink seam: where Flagger-worded events go (Kubernetes Events, the CLI, a test list).
import { Target } from "../engine/types";

export type EventType = "Normal" | "Warning";

export interface ReleaseEvent {
    readonly type: EventType;
    /** Flagger uses "Synced" for every canary event. */
    readonly reason: string;
    readonly message: string;
}

export interface EventSink {
    emit(target: Target, event: ReleaseEvent): Promise<void>;
    /** Waits for deliveries still in flight (alerts); before a provider method returns. */
    flush?(): Promise<void>;
}

/** Keeps events in memory; used by tests and to build the error message of a failed release. */
export class MemoryEventSink implements EventSink {
    readonly events: ReleaseEvent[] = [];
    async emit(_target: Target, event: ReleaseEvent): Promise<void> {
        this.events.push(event);
    }
}
