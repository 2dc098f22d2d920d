// Policy pack: `pulumi preview --policy-pack policies` (rules in rules.ts).
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules";

new PolicyPack("canary-policies", { policies: allPolicies() });
