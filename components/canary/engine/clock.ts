// Clock seam: the scheduler waits through it, so tests advance time without sleeping.

export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Manual clock for tests: sleep returns at once and moves time forward. */
export class FakeClock implements Clock {
    constructor(private t = 0) {}
    now(): number {
        return this.t;
    }
    async sleep(ms: number): Promise<void> {
        this.t += ms;
    }
}
