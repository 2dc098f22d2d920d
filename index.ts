// Entry point: read the stack config once, deploy the stack. Everything else is in
// components/ (deployStack is what an Automation API inline program calls too).
import { pulumiConfigSource, readStackConfig } from "./components/config";
import { deployStack } from "./components/stack";

const outputs = deployStack(readStackConfig(pulumiConfigSource()));

export const namespace = outputs.namespace;
export const routing = outputs.routing;
export const revision = outputs.revision;
export const phase = outputs.phase;
export const primaryWeight = outputs.primaryWeight;
export const canaryWeight = outputs.canaryWeight;
export const loadtesterUrl = outputs.loadtesterUrl;
