// Router seam: shifts traffic between <app>-primary and <app>-canary.
import { MatchCondition, Routes, Target } from "../engine/types";

export interface Router {
    /** Create the routing objects if missing; update them only when the desired spec differs. */
    reconcile(target: Target, match: readonly MatchCondition[]): Promise<void>;
    setRoutes(target: Target, routes: Routes): Promise<void>;
    getRoutes(target: Target): Promise<Routes>;
    /** Remove every object reconcile created. */
    finalize(target: Target): Promise<void>;
}
